"""The streaming JSON list reader gives what ijson gives, in bounded memory, and refuses what is not JSON.

Generated documents (seeded) are read with block sizes down to a few bytes, so that block boundaries
fall inside strings, escapes, numbers and multi-byte characters, and compared with
``ijson.items(..., use_float=True)``, types included.
"""

from __future__ import annotations

import io
import json
import random
import unicodedata
from pathlib import Path

import ijson
import pytest

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers.jsondepth import MAX_DEPTH
from voicescount.collection.readers.jsonstream import (
    BLOCK_SIZE,
    InvalidJSON,
    InvalidUTF8,
    ItemTooLarge,
    ListReader,
    TooDeep,
    find_key,
)
from voicescount.collection.readers.kobo import json_items

WORDS = ["Nguyễn", "Trần Thị", "đồng ý", "không", "a\"b", "back\\slash", "tab\there", "line\nbreak",
         "😀 emoji", "\u0000", "\x1f", "/", "", "𝄞", "日本", "é"]  # fmt: skip


def word(rng: random.Random) -> str:
    text = rng.choice(WORDS) + rng.choice(["", str(rng.randint(0, 99))])
    return unicodedata.normalize(rng.choice(["NFC", "NFD"]), text)


def number(rng: random.Random) -> int | float:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randint(-(2**63), 2**63 - 1)
    if kind == 1:
        return rng.randint(-1000, 1000)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind == 3:
        return rng.choice([0.0, -0.0, 1e-300, 1.5e300, 1e5, 2.5e-7, 123456789.0])
    return float(rng.randint(-50, 50))


def value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return word(rng)
    if kind == 1:
        return number(rng)
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    if kind == 4:
        return word(rng) * rng.randint(1, 30)
    if kind == 5:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {word(rng): value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def record(rng: random.Random) -> dict:
    return {f"grp/{word(rng)}": value(rng, 1) for _ in range(rng.randint(0, 8))}


def document(rng: random.Random) -> tuple[bytes, str, str]:
    """(bytes, list key, ijson prefix): a bare list or an object with the list among other keys."""
    items = [record(rng) if rng.random() < 0.8 else value(rng) for _ in range(rng.randint(0, 12))]
    options = rng.choice(
        [{}, {"indent": 1}, {"separators": (",", ":")}, {"indent": "\t"}, {"separators": (" , ", " :  ")}]
    )
    ascii_only = rng.random() < 0.4
    if rng.random() < 0.25:
        return json.dumps(items, ensure_ascii=ascii_only, **options).encode(), "results", "item"
    key = rng.choice(["results", "value"])
    page = {
        k: value(rng)
        for k in rng.sample(["count", "next", "previous", "@odata.context", "x"], rng.randint(0, 4))
    }
    page = dict(list(page.items())[: rng.randint(0, len(page))]) | {key: items} | page
    text = json.dumps(page, ensure_ascii=ascii_only, **options) + rng.choice(["", "\n", " \r\n\t "])
    return text.encode(), key, f"{key}.item"


def typed(item: object) -> object:
    """``item`` with each value tagged by its type, floats by repr (so 1 != 1.0 != True, -0.0 != 0.0)."""
    if isinstance(item, dict):
        return ("dict", [(k, typed(v)) for k, v in item.items()])
    if isinstance(item, list):
        return ("list", [typed(v) for v in item])
    return (type(item).__name__, repr(item))


def stream(data: bytes, key: str = "results", **kwargs) -> list:
    return list(ListReader(io.BytesIO(data), key, **kwargs))


def test_generated_documents_give_what_ijson_gives_at_any_block_size():
    rng = random.Random(20250302)
    for _ in range(300):
        data, key, prefix = document(rng)
        expected = [typed(i) for i in ijson.items(io.BytesIO(data), prefix, use_float=True)]
        for block_size in (1, 7, rng.randint(2, 300), BLOCK_SIZE):
            assert [typed(i) for i in stream(data, key, block_size=block_size)] == expected, (
                data,
                block_size,
            )


def test_vietnamese_nfc_and_nfd_strings_and_escapes_are_kept_exactly():
    texts = ["Nguyễn Văn An", unicodedata.normalize("NFD", "Nguyễn Văn An"), "😀𝄞", 'q"\\/\b\f\n\r\t\u0001']
    for ascii_only in (True, False):
        data = json.dumps({"results": [{"name": t} for t in texts]}, ensure_ascii=ascii_only).encode()
        for block_size in range(1, 12):
            assert stream(data, block_size=block_size) == [{"name": t} for t in texts]


def test_a_lone_surrogate_escape_becomes_the_replacement_character():
    assert stream(b'{"results": [{"a": "x\\ud800y", "\\uDC00": ["\\ud83d\\ude00"]}]}') == [
        {"a": "x\ufffdy", "\ufffd": ["😀"]}
    ]


def test_a_repeated_list_key_gives_the_items_of_both_lists_as_ijson_does():
    data = b'{"results": [1], "next": null, "results": [2.5, {"a": []}]}'
    assert stream(data) == list(ijson.items(io.BytesIO(data), "results.item", use_float=True))


def test_the_list_key_is_looked_for_at_the_top_level_only():
    reader = ListReader(io.BytesIO(b'{"count": 1, "data": {"results": [1]}, "next": null}'), "results")
    assert list(reader) == []
    assert not reader.found and reader.keys == ["count", "data", "next"]


def test_tell_is_the_byte_offset_just_after_each_item():
    items = [{"name": "Trần Thị " * i, "emoji": "😀" * i} for i in range(20)]
    pieces = [json.dumps(i, ensure_ascii=False).encode() for i in items]
    head = b'{"count": 20, "results": ['
    data = head + b", ".join(pieces) + b"]}"
    ends = [len(head) + sum(len(p) + 2 for p in pieces[:i]) + len(pieces[i]) for i in range(len(pieces))]
    for block_size in (3, 64, BLOCK_SIZE):
        reader = ListReader(io.BytesIO(data), "results", block_size=block_size)
        assert [reader.tell() for _item in reader] == ends


class CountingFile(io.BytesIO):
    """Counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.bytes_read += len(block)
        self.reads += 1
        return block


@pytest.mark.parametrize("error", [b"x", b'{"a" 1}', b'{"a": "\x01"}', b"[1,]", b"NaN", b'"\\q"', b"01"])
def test_a_syntax_error_in_a_big_file_is_found_without_reading_the_rest(error):
    item = json.dumps({"name": "Lê " + "z" * 1000}, ensure_ascii=False).encode()
    data = b'{"results": [' + b",".join([item] * 10 + [error] + [item] * 10_000) + b"]}"
    handle = CountingFile(data)
    reader = ListReader(handle, "results", block_size=4096)
    with pytest.raises(InvalidJSON):
        list(reader)
    assert handle.bytes_read < 64 * 1024 < len(data) / 100


def test_a_huge_item_is_read_with_few_reads_and_refused_over_the_limit():
    data = json.dumps({"results": [{"text": "ệ" * 1_000_000}, 1]}, ensure_ascii=False).encode()
    handle = CountingFile(data)
    assert len(list(ListReader(handle, "results", block_size=7))) == 2
    assert handle.reads < 40  # reads double while the item is incomplete: no quadratic re-scan
    handle = CountingFile(data)
    with pytest.raises(ItemTooLarge):
        list(ListReader(handle, "results", block_size=1024, max_item=100_000))
    assert handle.bytes_read < 2 * 300_000


# --- through json_items: the messages users see ----------------------------------------------------------


def page(tmp_path: Path, data: bytes, name: str = "page.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_items(path: Path, key: str = "results") -> list:
    return list(json_items([path], key, name=path.name, progress=None))


def refusal(path: Path, key: str = "results") -> str:
    with pytest.raises(ImportFileError) as caught:
        read_items(path, key)
    assert "Secret" not in str(caught.value)
    return str(caught.value)


def test_locators_name_the_list_key_and_the_page(tmp_path):
    data = json.dumps({"count": 2, "next": None, "results": [{"a": 1}, {"a": 2}]}).encode()
    assert [loc for _i, loc in read_items(page(tmp_path, b"\xef\xbb\xbf" + data))] == [
        "results[0] in page.json",
        "results[1] in page.json",
    ]
    assert [loc for _i, loc in read_items(page(tmp_path, b" [{}] ", "list.json"))] == ["[0] in list.json"]
    assert read_items(page(tmp_path, b'{"value": []}', "empty.json"), "value") == []


def test_progress_counts_bytes_and_ends_at_the_total(tmp_path):
    items = [{"name": f"Phạm {i}"} for i in range(2500)]
    path = page(tmp_path, json.dumps({"results": items}, ensure_ascii=False).encode())
    calls: list[tuple[int, int]] = []
    assert (
        len(list(json_items([path], "results", name="p", progress=lambda d, t: calls.append((d, t))))) == 2500
    )
    size = path.stat().st_size
    assert calls[-1] == (size, size) and len(calls) == 3
    assert calls[0][0] == len(json.dumps({"results": items[:1000]}, ensure_ascii=False).encode()) - 2


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'{"results": [{"a": "Secret"}]} x', "after results[0]"),
        (b'{"results": [{"a": "Secret"}]}{}', "after results[0]"),
        (b'{"results": [{"a": "Secret"}] x}', "after results[0]"),
        (b'{"results": [{"a": "Secret"}], "next": [1,]}', "after results[0]"),
        (b'[{"a": "Secret"}] ]', "after [0]"),
        (b'{"results": [{"a": "Secret"}, {"a": NaN}]}', "after results[0]"),
        (b'{"results": [{"a": Infinity}]}', "before the first record"),
        (b'{"results": [{"a": -Infinity}]}', "before the first record"),
        (b'{"results": [{"a": 1e400}]}', "before the first record"),
        (b'{"next": NaN, "results": []}', "before the first record"),
        (b"{} {}", "before the first record"),
        (b"{", "before the first record"),
    ],
)
def test_invalid_json_is_refused_naming_the_last_good_record(tmp_path, data, where):
    message = refusal(page(tmp_path, data))
    assert message == f"page.json: The JSON is invalid or truncated {where}."


def opening(depth: int) -> bytes:
    """The first ``depth`` openings of ``nest``: lists and objects alternately."""
    return b"".join(b"[" if i % 2 == 0 else b'{"k":' for i in range(depth))


def nest(depth: int, inner: bytes = b"1") -> bytes:
    """``inner`` inside ``depth`` levels, alternating lists and objects."""
    return opening(depth) + inner + b"".join(b"]" if i % 2 == 0 else b"}" for i in reversed(range(depth)))


@pytest.mark.parametrize(
    ("data", "where"),
    [
        # a page is level 1, its list 2, a submission 3: a submission has MAX_DEPTH - 2 levels of its own
        (b'{"results": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", "at byte 75 before the first record"),
        (
            b'{"results": [' + nest(MAX_DEPTH - 1) + b"]}",
            f"at byte {13 + len(opening(MAX_DEPTH - 2))} before the first record",
        ),
        (  # more brackets than levels left: the decoded item is walked
            b'{"results": [[' + nest(MAX_DEPTH - 2) + b"," + b"[]," * 9 + b"[]]]}",
            f"at byte {14 + len(opening(MAX_DEPTH - 3))} before the first record",
        ),
        (  # a bare list is level 1
            b"[" + nest(MAX_DEPTH) + b"]",
            f"at byte {1 + len(opening(MAX_DEPTH - 1))} before the first record",
        ),
        (
            b'{"results": [{"a": "Secret"}, ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"]}",
            "at byte 340 after results[0]",
        ),
        # another top-level value than the list is level 2; a byte offset counts UTF-8 bytes, not characters
        (
            b'{"n\xc3\xa1m": ' + b"[" * 2000 + b"]" * 2000 + b', "results": []}',
            "at byte 72 before the first record",
        ),
    ],
)
def test_nesting_deeper_than_the_limit_is_refused_at_its_byte(tmp_path, data, where):
    message = refusal(page(tmp_path, data))
    assert message == f"page.json: The JSON is nested deeper than {MAX_DEPTH} levels {where}."


def test_nesting_up_to_the_limit_is_read_whatever_the_brackets_in_strings_or_the_block_size():
    deepest = json.loads(nest(MAX_DEPTH - 2))
    many = [{"k": [i, {"x": "[[[[{{{{"}]} for i in range(200)]  # 600 brackets, 5 levels deep
    crowded = [json.loads(nest(MAX_DEPTH - 3)), *[[] for _ in range(10)]]  # at the limit, walked
    strings = ["[" * 500, "{" * 500 + '"\\', '\\"[[[']
    data = json.dumps({"results": [deepest, many, strings, crowded]}).encode()
    for block_size in (7, 100, BLOCK_SIZE):
        assert stream(data, block_size=block_size) == [deepest, many, strings, crowded]


@pytest.mark.parametrize("block_size", [5, 64, BLOCK_SIZE])
def test_the_offset_of_too_deep_a_value_counts_bytes_across_blocks(block_size):
    head = json.dumps({"results": [{"name": "Nguyễn 😀" * 40}] * 3}, ensure_ascii=False).encode()[:-2]
    data = head + b", " + b"[" * 70 + b"]" * 70 + b"]}"
    with pytest.raises(TooDeep) as caught:
        stream(data, block_size=block_size)
    assert caught.value.offset == len(head) + 2 + MAX_DEPTH - 2


def test_find_key_reads_a_bounded_prefix_and_guards_depth():
    assert find_key(io.BytesIO(b'{"count": 3, "next": {"a": [1]}, "results": ['), {"results"}) == "results"
    assert find_key(io.BytesIO(b'{"count": 3}'), {"results"}) is None
    late = b'{"next": "' + b"x" * 300_000 + b'", "results": []}'
    assert find_key(io.BytesIO(late), {"results"}) is None  # not in the first SNIFF_BYTES
    assert find_key(io.BytesIO(late), {"results"}, limit=400_000) == "results"
    for deep in (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, b"[" * 200_000):  # whole, or cut by the prefix
        with pytest.raises(TooDeep) as caught:
            find_key(io.BytesIO(b'{"x": ' + deep + b', "results": []}'), {"results"})
        assert caught.value.offset == 6 + MAX_DEPTH - 1
    assert find_key(io.BytesIO(b'{"x": ' + nest(MAX_DEPTH - 1) + b', "value": []}'), {"value"}) == "value"
    with pytest.raises(InvalidUTF8):
        find_key(io.BytesIO(b'{"t": "caf\xe9", "results": []}'), {"results"})
    cut = b'{"results": [], "t": "' + "đ".encode() * 10
    assert find_key(io.BytesIO(cut), {"results"}, limit=len(cut) - 1) == "results"  # "đ" cut: not an error


def test_a_file_cut_anywhere_is_refused_after_the_records_it_holds(tmp_path):
    items = [{"name": "Secret Nguyễn 😀", "n": 12.5, "k": [1, {"x": None}]}, {"s": "Trần"}, 1234]
    data = json.dumps({"count": 3, "next": None, "results": items}, ensure_ascii=False).encode()
    for cut in range(1, len(data)):
        path = page(tmp_path, data[:cut])
        got = []
        with pytest.raises(ImportFileError) as caught:
            for item, _locator in json_items([path], "results", name=path.name, progress=None):
                got.append(item)
        expected = []
        with pytest.raises((ijson.JSONError, UnicodeDecodeError)):
            for item in ijson.items(io.BytesIO(data[:cut]), "results.item", use_float=True):
                expected.append(item)
        assert got == expected  # a number cut at the very end looks whole to both, until "]" is missed
        where = f"after results[{len(got) - 1}]" if got else "before the first record"
        assert str(caught.value) in (
            f"page.json: The JSON is invalid or truncated {where}.",
            f"page.json: The file is not valid UTF-8 text {where}.",  # cut inside a character
        )


def test_bytes_that_are_not_utf8_are_refused_after_the_last_good_record(tmp_path):
    good = b'{"results": [{"a": "Secret"}, {"b": "\xc3\xa9"}, '
    for bad in (b'{"a": "\xff"}]}', b'{"a": "\xed\xa0\x80"}]}', b'{"a": "\xc0\x80"}]}', b'{"a": "\xc3'):
        message = refusal(page(tmp_path, good + bad))
        assert message == "page.json: The file is not valid UTF-8 text after results[1]."
    assert refusal(page(tmp_path, b'{"results": []}\xff')) == (
        "page.json: The file is not valid UTF-8 text before the first record."
    )


def test_an_object_without_the_list_key_is_refused_listing_its_keys(tmp_path):
    message = refusal(page(tmp_path, b'{"count": 0, "next": null, "detail": {"results": []}}'))
    assert message == (
        "page.json: The JSON object has no 'results' list (its keys: count, next, detail); "
        "is this the right kind of export?"
    )
    assert "(its keys: none)" in refusal(page(tmp_path, b"{}"))


def test_reading_stops_at_the_first_bytes_that_are_not_utf8():
    data = b'{"results": [{"a": 1}, {"b": "\xc3\xa9"}, {"c": "\xff"}' + b', {"d": 4}' * 5000 + b"]}"
    for block_size in (1, 4, 40, BLOCK_SIZE):
        got = []
        with pytest.raises(InvalidUTF8):
            got.extend(ListReader(io.BytesIO(data), "results", block_size=block_size))
        assert got == [{"a": 1}, {"b": "é"}]
