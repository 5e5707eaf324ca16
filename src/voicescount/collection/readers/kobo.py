"""KoboToolbox API v2 JSON exports, streamed (``jsonstream``).

``/api/v2/assets/{uid}/data/`` returns pages ``{"count", "next", "previous", "results": [...]}``.
A source is one page file, a directory of page files (read in name order) or a bare JSON list of
submissions. Each submission keeps its keys as Kobo writes them (``grp/q``); Kobo's own fields
(``_id``, ``_uuid``, ``_submission_time``, ``_attachments``…, ``formhub/uuid``, ``__version__`` and
the ``meta/`` group) go to ``meta``; repeats become lists of dicts with keys relative to the repeat.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import compress
from pathlib import Path
from typing import Any

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import (
    Progress,
    Ticker,
    file_size,
    instance_id_from,
    is_meta_key,
    is_repeat,
    make_relative,
    parse_timestamp,
)
from voicescount.collection.readers.jsonstream import (
    InvalidUTF8,
    JSONStreamError,
    ListReader,
    TooDeep,
    find_key,
)
from voicescount.collection.records import RawRecord, RecordStream


def json_pages(path: Path, name: str) -> list[Path]:
    """The files of a source: the file itself, or a directory's ``*.json`` files sorted by name."""
    if path.is_dir():
        pages = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".json")
        if not pages:
            raise ImportFileError("The directory holds no .json page files.", file=name)
        return pages
    return [path]


def json_items(
    pages: list[Path], list_key: str, *, name: str, progress: Progress | None
) -> Iterator[tuple[Any, str]]:
    """``(item, locator)`` for each element of ``list_key`` in each page (or of a bare JSON list).

    Memory holds one item at a time whatever the size of a page (see ``jsonstream``).
    """
    total = sum(file_size(p) for p in pages)
    ticker = Ticker(progress, total)
    before = 0
    for page in pages:
        page_name = page.name if len(pages) > 1 or page.name == name else name
        with open(page, "rb") as handle:
            first = _first_char(handle)
            if first == b"[":
                label = ""
            elif first == b"{":
                label = list_key
            else:
                raise ImportFileError(
                    "This is not a JSON export (it does not start with '{' or '[').", file=page_name
                )
            reader = ListReader(handle, list_key)

            def done(reader: ListReader = reader, before: int = before) -> int:
                return before + reader.tell()

            index = -1
            try:
                for index, item in enumerate(reader):
                    yield item, f"{label}[{index}] in {page_name}"
                    ticker.tick(done)
            except JSONStreamError as error:
                # never the text around the error: it may be personal data
                where = f"after {label}[{index}]" if index >= 0 else "before the first record"
                raise ImportFileError(f"{error.problem} {where}.", file=page_name) from None
        if first == b"{" and not reader.found:
            raise ImportFileError(
                f"The JSON object has no '{list_key}' list (its keys: {', '.join(reader.keys) or 'none'}); "
                "is this the right kind of export?",
                file=page_name,
            )
        before += file_size(page)
    ticker.finish()


JSON_LIST_KEYS = {"results": "kobo-json", "value": "odk-odata"}
"""The top-level key that holds the submissions, and the format it names."""


def sniff_json_format(path: Path, name: str) -> str | None:
    """``kobo-json`` / ``odk-odata`` from the top-level keys, or None when this is not JSON.

    Reads at most ``jsonstream.SNIFF_BYTES`` (``find_key``): memory and work are bounded whatever
    the file. A bare list is taken as Kobo's. Raises ``ImportFileError`` for a JSON object without
    either key there, bytes that are not UTF-8, or nesting deeper than ``jsonstream.MAX_DEPTH``.
    """
    with open(path, "rb") as handle:
        first = _first_char(handle)
        if first == b"[":
            return "kobo-json"
        if first != b"{":
            return None
        try:
            key = find_key(handle, JSON_LIST_KEYS)
        except InvalidUTF8:
            raise ImportFileError(
                "The file is not valid UTF-8 text: JSON exports are UTF-8 (was it saved in another "
                "encoding?).",
                file=name,
            ) from None
        except TooDeep as error:
            raise ImportFileError(f"{error.problem}.", file=name) from None
    if key is None:
        raise ImportFileError(
            "This JSON file has neither a 'results' list (KoboToolbox) nor a 'value' list (ODK Central "
            "OData).",
            file=name,
        )
    return JSON_LIST_KEYS[key]


def _first_char(handle: Any) -> bytes:
    """The first significant byte; leaves the handle where the JSON starts (after any BOM)."""
    head = handle.read(4096)
    start = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    stripped = head[start:].lstrip()
    handle.seek(start)
    return stripped[:1]


_KNOWN_KEYS: set[str] = set()  # keys met so far (``is_meta_key`` is a pure function of the key)
_META_KEYS: set[str] = set()  # those of them that are metadata
_KEYS_REMEMBERED = 20_000
_NESTED = frozenset({dict, list})


def _learn_keys(item: dict[str, Any]) -> bool:
    """Sort the keys of ``item`` not met before into metadata and answers; False when too many."""
    for key in item:
        if key not in _KNOWN_KEYS:
            if len(_KNOWN_KEYS) >= _KEYS_REMEMBERED or not isinstance(key, str):
                return False
            _KNOWN_KEYS.add(key)
            if is_meta_key(key):
                _META_KEYS.add(key)
    return True


def kobo_record(item: Any, locator: str, *, name: str) -> RawRecord:
    """One Kobo submission object as a ``RawRecord``."""
    if not isinstance(item, dict):
        raise ImportFileError("A submission is not a JSON object.", file=name, row=locator)
    values: dict[str, Any]
    meta: dict[str, Any]
    # Exports hold the same few dozen keys in every record: sort them once, copy the record in C.
    fast = type(item) is dict and (_KNOWN_KEYS.issuperset(item) or _learn_keys(item))
    if fast:
        meta = {k: item[k] for k in item if k in _META_KEYS}
        values = dict(item)
        for key in meta:
            del values[key]
        nested = list(compress(values, map(_NESTED.__contains__, map(type, values.values()))))
        if any(type(values[k]) is dict and values[k] for k in nested):
            fast = False  # a group as an object: flattened in place below
        else:
            for key in nested:
                if is_repeat(values[key]):
                    values[key] = [make_relative(instance, key) for instance in values[key]]
    if not fast:
        values = {}
        meta = {}
        for key, value in item.items():
            if is_meta_key(key):
                meta[key] = value
            else:
                _answer(key, value, values)
    return RawRecord(
        source="kobo-json",
        locator=locator,
        values=values,
        instance_id=instance_id_from(meta),
        submitted_at=parse_timestamp(meta.get("_submission_time")),
        meta=meta,
        raw=item,
    )


def _answer(key: str, value: Any, values: dict[str, Any]) -> None:
    """Store one answer; a repeat's instances get relative keys, a group object is flattened."""
    if is_repeat(value):
        values[key] = [make_relative(instance, key) for instance in value]
    elif isinstance(value, dict) and value:
        # some Kobo versions nest a group's answers in an object keyed by full or relative paths
        for inner_key, inner in value.items():
            _answer(inner_key if inner_key.startswith(key + "/") else f"{key}/{inner_key}", inner, values)
    else:
        values[key] = value


def read_kobo(path: Path, *, name: str, progress: Progress | None = None) -> RecordStream[tuple[Any, str]]:
    """Records of a Kobo API v2 JSON export: a page, a directory of pages, or a bare list."""

    def items() -> Iterator[tuple[Any, str]]:
        yield from json_items(json_pages(path, name), "results", name=name, progress=progress)

    return RecordStream(items(), lambda pair: kobo_record(pair[0], pair[1], name=name))
