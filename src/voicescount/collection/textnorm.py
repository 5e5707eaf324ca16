"""Unicode hygiene for Vietnamese answers: NFC, and legacy encodings that arrive as mojibake.

Vietnamese text reaches us in several shapes. Most is UTF-8 in NFC; some tools (macOS, old Kobo
exports, Windows-1258) write NFD, with tone marks as separate combining characters — the same
words, compared unequal unless normalised. Older offices still type in the legacy 8-bit fonts:

* **TCVN3 (ABC)**, TCVN 5712:1993 VN3 — each Vietnamese letter is one byte in 0x80–0xFF. Read as
  Windows-1252/Latin-1 the bytes show as "Hµ Néi" for "Hà Nội": letters like ``µ ¸ ¶ · ¹ ¨ © ª « ¬
  ® §`` in otherwise Latin words. The byte→Unicode table below is the TCVN 5712 upper half as
  published in GNU libiconv (``tcvn.h``).
* **VNI Windows** — a base letter followed by a second byte for the marks; read as Latin-1 it shows
  as "Vieät Nam" (Việt Nam): a vowel followed by ``ù ø û õ ï â ê ä`` and friends, ``ñ`` for ``đ``.
* **UTF-8 read as Windows-1252** — "Viá»‡t" for "Việt": detected by re-encoding, a precise test.
* **Replacement characters** (U+FFFD) — bytes that were not UTF-8 (often Windows-1258) were
  decoded as UTF-8 with errors replaced: the letters are lost and must be re-exported.

Bytes that are not UTF-8 at all are named by ``looks_windows1258`` when they are Windows-1258:
that code page writes most tones as combining marks after the vowel (bytes 0xCC 0xEC 0xD2 0xDE
0xF2), which is what tells it from Windows-1250, whose letters ``Ě ě Ň Ţ ň`` sit on the same bytes
and which charset-normalizer often prefers on a short sample ("Có", "Phạm Thị Hương").

``normalise`` returns the NFC text and named findings; it never rewrites a legacy encoding itself
(guessing wrong would corrupt good data), but ``decode_tcvn3`` gives the probable intended text
for a coordinator to confirm.
"""

from __future__ import annotations

import re
import unicodedata

NORMALISED = "normalised_to_nfc"
TCVN3 = "legacy_encoding_tcvn3"
VNI = "legacy_encoding_vni"
DOUBLE_UTF8 = "utf8_read_as_windows1252"
REPLACEMENT = "replacement_characters"

MESSAGES = {
    NORMALISED: "Text was not in Unicode NFC form (e.g. decomposed tone marks); it was normalised.",
    TCVN3: "Text looks like TCVN3 (ABC) legacy Vietnamese encoding read as Latin-1; convert the source "
    "to Unicode (e.g. with Unikey's converter) and export again.",
    VNI: "Text looks like VNI Windows legacy Vietnamese encoding read as Latin-1; convert the source to "
    "Unicode and export again.",
    DOUBLE_UTF8: "Text looks like UTF-8 that was read as Windows-1252 (e.g. 'Viá»‡t'); re-export as UTF-8.",
    REPLACEMENT: "Text contains replacement characters (�): the original bytes were not UTF-8 "
    "(Windows-1258?) and letters were lost; export the source again as UTF-8.",
}

# TCVN 5712 bytes 0x80–0xFF as Unicode (GNU libiconv tcvn.h, tcvn_2uni_2); combining marks at 0xB0–0xB4.
_TCVN_UPPER = (
    "\u00c0\u1ea2\u00c3\u00c1\u1ea0\u1eb6\u1eac\u00c8\u1eba\u1ebc\u00c9\u1eb8\u1ec6\u00cc\u1ec8\u0128"
    "\u00cd\u1eca\u00d2\u1ece\u00d5\u00d3\u1ecc\u1ed8\u1edc\u1ede\u1ee0\u1eda\u1ee2\u00d9\u1ee6\u0168"
    "\u00a0\u0102\u00c2\u00ca\u00d4\u01a0\u01af\u0110\u0103\u00e2\u00ea\u00f4\u01a1\u01b0\u0111\u1eb0"
    "\u0300\u0309\u0303\u0301\u0323\u00e0\u1ea3\u00e3\u00e1\u1ea1\u1eb2\u1eb1\u1eb3\u1eb5\u1eaf\u1eb4"
    "\u1eae\u1ea6\u1ea8\u1eaa\u1ea4\u1ec0\u1eb7\u1ea7\u1ea9\u1eab\u1ea5\u1ead\u00e8\u1ec2\u1ebb\u1ebd"
    "\u00e9\u1eb9\u1ec1\u1ec3\u1ec5\u1ebf\u1ec7\u00ec\u1ec9\u1ec4\u1ebe\u1ed2\u0129\u00ed\u1ecb\u00f2"
    "\u1ed4\u1ecf\u00f5\u00f3\u1ecd\u1ed3\u1ed5\u1ed7\u1ed1\u1ed9\u1edd\u1edf\u1ee1\u1edb\u1ee3\u00f9"
    "\u1ed6\u1ee7\u0169\u00fa\u1ee5\u1eeb\u1eed\u1eef\u1ee9\u1ef1\u1ef3\u1ef7\u1ef9\u00fd\u1ef5\u1ed0"
)
assert len(_TCVN_UPPER) == 128
# Bytes whose Latin-1 reading is a symbol almost never typed in Vietnamese or English survey answers,
# but which TCVN3 uses for the commonest letters (à á ả ã ạ ă â ê ô ơ ư đ …).
# 0xB0–0xB4 (° ± ² ³ ´: TCVN's rarely used combining marks) and ¼ ½ ¾ are left out: they are common symbols.
_TCVN_TELLTALE = frozenset("¡¢£¤¥¦§¨©ª«¬\xad®¯µ¶·¸¹º»¿")
# TCVN3 puts lower-case toned letters on bytes that Latin-1 shows as capitals: "TiÕng ViÖt".
_TCVN_INNER_CAPITAL = re.compile("[a-z][À-ÞĐ][a-z]")
_VIETNAMESE_LETTERS = re.compile("[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")  # letters Latin-1 cannot show
# A single telltale touching a letter is enough, except the middle dot ("n·p", "Kinh · Hoa").
_TCVN_IN_WORD = re.compile("[^\\W\\d_][¡-¯µ¶¸-»¿]|[¡-¯µ¶¸-»¿][^\\W\\d_]|[a-z][À-ÞĐ][a-z]")
# VNI puts the tone mark in a byte after the vowel. Read as Latin-1, some of those pairs never occur in
# Vietnamese Unicode nor (often) in Western text; others ("oà", "uâ", "iê") are ordinary Vietnamese
# spelling ("Hoàng", "Quân", "Niê") and only count as weak evidence.
_VNI_STRONG = re.compile("[aeiouyAEIOUY][øõåäØÕÅÄ]|[öÖ][ôùøûõïÔÙØÛÕÏ]")
_VNI_MEDIUM = re.compile("[aeiouyôöAEIOUYÔÖ][ùïûÙÏÛ]")  # French "où", "naïve", "coût" have one
_VNI_WEAK = re.compile("[aeiouyôöAEIOUYÔÖ][áàâêãÁÀÂÊÃ]|[ñÑ][aeiouyAEIOUY]")
_MICRO_UNIT = re.compile(r"(?<![^\W\d_])µ(?=[gmlLsV]\b)")  # "50 µg" is a unit, not TCVN3 "à"
_DOUBLE_UTF8 = re.compile("[ÂÃÄÅÆáº»¼½]|â€|Ä‘|Æ°|Æ¡")
_CP1258_TONE = re.compile("[\u0300\u0301\u0303\u0309\u0323]")  # the five tone marks, combining
_CP1258_TONED_VOWEL = re.compile("[aăâeêioôơuưyAĂÂEÊIOÔƠUƯY][\u0300\u0301\u0303\u0309\u0323]")


def _latin_bytes(text: str) -> bytes | None:
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            if ord(ch) < 256:
                out.append(ord(ch))
            else:
                return None
    return bytes(out)


def decode_tcvn3(text: str) -> str | None:
    """The text as it was probably typed, if ``text`` is TCVN3 bytes read as Windows-1252/Latin-1."""
    raw = _latin_bytes(text)
    if raw is None:
        return None
    decoded = "".join(chr(b) if b < 0x80 else _TCVN_UPPER[b - 0x80] for b in raw)
    return unicodedata.normalize("NFC", decoded)


def looks_tcvn3(text: str) -> bool:
    """True when ``text`` shows TCVN3 telltales and no real Vietnamese Unicode letters."""
    if _VIETNAMESE_LETTERS.search(text):
        return False
    text = _MICRO_UNIT.sub("", text)
    telltales = sum(ch in _TCVN_TELLTALE for ch in text) + len(_TCVN_INNER_CAPITAL.findall(text))
    if telltales == 0 or decode_tcvn3(text) is None:
        return False
    # One stray symbol is not enough: ask for two telltales, or one touching a letter.
    return telltales >= 2 or _TCVN_IN_WORD.search(text) is not None


def looks_vni(text: str) -> bool:
    """True when ``text`` has VNI mark sequences and no Vietnamese letters that Latin-1 cannot show:
    one strong pair, two medium ones, or a medium and a weak one."""
    if _VIETNAMESE_LETTERS.search(text):
        return False
    if _VNI_STRONG.search(text):
        return True
    medium = len(_VNI_MEDIUM.findall(text))
    return medium >= 2 or (medium == 1 and _VNI_WEAK.search(text) is not None)


def looks_double_utf8(text: str) -> bool:
    """True when ``text`` is UTF-8 bytes that were decoded as Windows-1252 (and re-encoding fixes it)."""
    if not _DOUBLE_UTF8.search(text):
        return False
    raw = _latin_bytes(text)
    if raw is None:
        return False
    try:
        fixed = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return fixed != text and not fixed.isascii()


def looks_windows1258(data: bytes) -> bool:
    """True when ``data`` (not UTF-8) reads as Vietnamese in Windows-1258.

    Decoded with that code page, Vietnamese shows its tone marks as combining characters right after
    a vowel (``a`` ``ă`` ``â`` ``ê`` ``ô`` ``ơ`` ``ư`` …); the same bytes read as Windows-1250 are
    ``ě``/``ň`` after consonants ("děkuji"), and Western text has none. Asks for at least one toned
    vowel and nine marks in ten on a vowel.
    """
    try:
        text = data.decode("cp1258")
    except UnicodeDecodeError:  # bytes the code page leaves undefined (0x81, 0x8A, 0x8D–0x90 …)
        return False
    marks = len(_CP1258_TONE.findall(text))
    toned = len(_CP1258_TONED_VOWEL.findall(text))
    return toned > 0 and toned >= 0.9 * marks


def normalise(text: str) -> tuple[str, list[str]]:
    """``text`` in NFC, and the names of what was found (``NORMALISED``, ``TCVN3``, ``VNI`` …).

    ASCII text returns at once (the common case on the import hot path). Findings other than
    ``NORMALISED`` mean the text is probably damaged; ``MESSAGES`` explains each to the user.
    """
    if text.isascii():
        return text, []
    notes: list[str] = []
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        notes.append(NORMALISED)
    if "\ufffd" in nfc:
        notes.append(REPLACEMENT)
    elif looks_double_utf8(nfc):
        notes.append(DOUBLE_UTF8)
    elif looks_tcvn3(nfc):
        notes.append(TCVN3)
    elif looks_vni(nfc):
        notes.append(VNI)
    return nfc, notes
