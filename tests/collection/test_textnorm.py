"""NFC normalisation and detection of legacy Vietnamese encodings read as Latin-1."""

import unicodedata

import pytest

from voicescount.collection import textnorm
from voicescount.collection.textnorm import decode_tcvn3, normalise

# Unicode → TCVN3 bytes, inverting the published table, then read as Windows-1252 (what Excel does).
_TO_TCVN = {ch: 0x80 + i for i, ch in enumerate(textnorm._TCVN_UPPER)}


def as_tcvn3_mojibake(text: str) -> str:
    raw = bytes(_TO_TCVN.get(ch, ord(ch)) for ch in unicodedata.normalize("NFC", text))
    return "".join(
        chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in raw
    )


def test_nfd_is_normalised_and_reported():
    nfd = unicodedata.normalize("NFD", "Tiếng Việt")
    assert nfd != "Tiếng Việt"
    assert normalise(nfd) == ("Tiếng Việt", [textnorm.NORMALISED])


@pytest.mark.parametrize("text", ["Hà Nội", "Nguyễn Thị Thu Hương", "Đồng ý", "plain ascii", "", "Ørsted"])
def test_good_text_has_no_findings(text):
    assert normalise(text) == (text, [])


@pytest.mark.parametrize(
    "text",
    ["Hà Nội", "Nguyễn Văn An", "Đồng ý tham gia", "Thường xuyên", "Tiếng Việt", "Không", "Dân tộc Kinh"],
)
def test_tcvn3_mojibake_is_detected_and_decodable(text):
    garbled = as_tcvn3_mojibake(text)
    assert normalise(garbled)[1] == [textnorm.TCVN3]
    assert decode_tcvn3(garbled) == text


def test_tcvn3_known_spelling():
    # "Hà Nội" typed with the .VnTime font and opened as Latin-1, as seen in old office spreadsheets.
    assert as_tcvn3_mojibake("Hà Nội") == "Hµ Néi"


@pytest.mark.parametrize("text", ["Vieät Nam", "Thöôøng xuyeân", "Ñoàng yù"])
def test_vni_mojibake_is_detected(text):
    assert normalise(text)[1] == [textnorm.VNI]


@pytest.mark.parametrize(
    "text",
    [
        "café crème",
        "Zürich",
        "10°C",
        "½ kg",
        "50 µg",
        "coût ±5%",
        "naïve",
        "São Paulo",
        "© 2024",
        "estimate ± t·se",
        "Kinh · Hoa",
    ],
)
def test_western_text_is_not_mistaken_for_a_legacy_encoding(text):
    assert normalise(text)[1] == []


def test_utf8_read_as_cp1252_and_replacement_characters():
    assert normalise("Việt Nam".encode().decode("cp1252"))[1] == [textnorm.DOUBLE_UTF8]
    # Windows-1258 bytes (decomposed tone marks) decoded as UTF-8 with errors replaced.
    lost = "Vi\u00ea\u0323t Nam".encode("cp1258").decode("utf-8", errors="replace")
    assert "\ufffd" in lost
    assert normalise(lost)[1] == [textnorm.REPLACEMENT]
    assert "re-export" in textnorm.MESSAGES[textnorm.DOUBLE_UTF8]


def test_real_vietnamese_names_are_not_taken_for_vni():
    # "oà", "uâ", "iê" look like VNI tone bytes but are ordinary Vietnamese spelling.
    for name in ["Hoàng Toàn", "Quách Công Quân", "Niê Gia Toàn", "Hoàng Thu Quyên", "Quàng Minh Toàn"]:
        assert normalise(name) == (name, [])
    assert normalise("Hoaøng Toaøn")[1] == [textnorm.VNI]  # the same name typed in VNI
