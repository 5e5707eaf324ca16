"""Vietnamese alphabetical order (geography.collation): letters first — ă after a, â after ă, đ after d —,
then tones in the dictionaries' order; the province picker sorts by the name without 'Tỉnh'/'Thành phố'."""

from __future__ import annotations

from voicescount.geography.collation import place_key, split_place_name, vietnamese_key


def test_letters_come_in_the_vietnamese_alphabets_order():
    words = ["ân", "an", "ăn", "bo", "đi", "di", "ơn", "on", "ôn", "ưa", "ua", "êm", "em"]
    assert sorted(words, key=vietnamese_key) == [
        "an",
        "ăn",
        "ân",
        "bo",
        "di",
        "đi",
        "em",
        "êm",
        "on",
        "ôn",
        "ơn",
        "ua",
        "ưa",
    ]


def test_tones_decide_only_between_the_same_letters():
    # none, huyền, hỏi, ngã, sắc, nặng — and a longer word after all of them only if its letters say so
    words = ["cạ", "cá", "cã", "cả", "cà", "ca", "cách", "cai"]
    assert sorted(words, key=vietnamese_key) == ["ca", "cà", "cả", "cã", "cá", "cạ", "cách", "cai"]


def test_case_and_composition_do_not_matter():
    assert vietnamese_key("Đà Nẵng")[:2] == vietnamese_key("đà nẵng")[:2]
    decomposed = "Đa\u0300 Na\u0306\u0303ng"  # NFD, as some keyboards type it
    assert vietnamese_key(decomposed)[:2] == vietnamese_key("Đà Nẵng")[:2]


def test_provinces_sort_by_their_name_without_tinh_or_thanh_pho():
    names = [
        "Tỉnh Cao Bằng",
        "Thành phố Cần Thơ",
        "Tỉnh Cà Mau",
        "Tỉnh An Giang",
        "Thành phố Đà Nẵng",
        "Tỉnh Điện Biên",
    ]
    assert sorted(names, key=place_key) == [
        "Tỉnh An Giang",
        "Tỉnh Cà Mau",
        "Tỉnh Cao Bằng",
        "Thành phố Cần Thơ",
        "Thành phố Đà Nẵng",
        "Tỉnh Điện Biên",
    ]
    assert split_place_name("Thành phố Huế") == ("Thành phố", "Huế")
    assert split_place_name("Region Hovedstaden") == ("", "Region Hovedstaden")
