"""Vietnamese alphabetical order, for lists of places a person reads and searches by eye.

Python's ``sorted`` compares code points: "Cà Mau" (à is U+00E0) would come after "Cao Bằng" and "Đà Nẵng"
after "Yên Bái". Vietnamese dictionaries (and ICU's ``vi`` collation) order letters as
a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y, and compare tones only when the letters are the
same, in the order: none, huyền (grave), hỏi (hook), ngã (tilde), sắc (acute), nặng (dot below).
"""

from __future__ import annotations

import unicodedata

ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
"""Vietnamese letters in order, with f, j, w, z (in foreign names) at their Latin places."""

_LETTER_MARKS = frozenset("\u0306\u0302\u031b")  # breve, circumflex, horn: ă â ê ô ơ ư
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # grave, hook, tilde, acute, dot
_RANK = {letter: index + 100 for index, letter in enumerate(ALPHABET)}
_LETTER = {rank: letter for letter, rank in _RANK.items()}
ADMINISTRATIVE_PREFIXES = ("Thành phố ", "Tỉnh ")
"""What a Vietnamese province's name starts with; not part of the name people look for."""


def vietnamese_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """A sort key putting ``text`` in Vietnamese alphabetical order (letters first, then tones)."""
    letters: list[int] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _TONES:
            if tones:
                tones[-1] = _TONES[char]
            continue
        if char in _LETTER_MARKS and letters:
            # a + breve is ă, a + circumflex is â, o + horn is ơ: letters of their own.
            composed = unicodedata.normalize("NFC", _LETTER.get(letters[-1], "") + char)
            if composed in _RANK:
                letters[-1] = _RANK[composed]
            continue
        if unicodedata.combining(char):
            continue
        if char.isspace():
            letters.append(0)
        elif char.isdigit():
            letters.append(10 + int(char))
        else:
            letters.append(_RANK.get(char, 1000 + ord(char)))
        tones.append(0)
    return tuple(letters), tuple(tones), text


def split_place_name(name: str) -> tuple[str, str]:
    """The 'Tỉnh'/'Thành phố' ``name`` starts with (or "") and the rest ("Thành phố", "Đà Nẵng")."""
    for prefix in ADMINISTRATIVE_PREFIXES:
        if name.startswith(prefix):
            return prefix.strip(), name.removeprefix(prefix)
    return "", name


def place_name(name: str) -> str:
    """``name`` without the 'Tỉnh'/'Thành phố' it starts with ("Thành phố Đà Nẵng" → "Đà Nẵng")."""
    return split_place_name(name)[1]


def place_key(name: str) -> tuple:
    """Sort key of a place's name: Vietnamese order of the name without 'Tỉnh'/'Thành phố'."""
    return vietnamese_key(place_name(name))
