"""Streams the list under a key of a top-level JSON object (or a top-level list) with ``json``'s C scanner.

Why this exists: ijson (yajl2_c) builds each item from parser events, about 19 µs for a 1.5 KB Kobo
submission, where the standard library's C scanner (``JSONDecoder.raw_decode``) decodes the same
text in about 9 µs, and imports must reach 10,000 records a second. The scanner needs an item whole
in one ``str``, so the file is read in binary blocks through an incremental UTF-8 decoder into a
text buffer that is trimmed as items are consumed; an item cut by the end of the buffer is scanned
again once more text is read, the read size growing with the item so that a huge item is not
re-scanned quadratically. Memory holds a block and one item (at most ``MAX_ITEM_CHARS``) whatever
the size of the file; the rest of the top-level object is checked to the end of the file, each of
its values dropped as soon as it is scanned.

Items are what ``ijson.items(..., use_float=True)`` gives: dicts, lists, strings, ``int`` for
integers and ``float`` for other numbers. Unlike ijson (yajl), this refuses nesting deeper than
``MAX_DEPTH`` levels (saying at which byte), accepts integers beyond 64 bits, turns a lone UTF-16
surrogate escape (``"\\ud800"``) into U+FFFD (yajl gives ``?`` or garbles it) and treats only JSON's
four whitespace characters as whitespace. ``NaN``, ``Infinity`` and numbers that overflow a float
are refused, as yajl does. No error message quotes the file.

Depth costs nothing measurable on the hot path: an item with no more ``[`` and ``{`` than the levels
left is never walked; a richer one (a long repeat) has its decoded containers walked, and only one
too deep is tokenised (strings skipped by a regular expression) to find its first bracket too deep.
``find_key`` is the format sniffer: it reads at most ``SNIFF_BYTES`` to find a top-level key, with
the same depth guard.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Container, Iterator
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, BinaryIO

from voicescount.collection.readers.jsondepth import MAX_DEPTH, has_room, nests_beyond, too_deep_at

BLOCK_SIZE = 64 * 1024
"""Bytes read at a time: larger ones decode no faster (cache), and text takes up to 4 bytes a character."""
MAX_ITEM_CHARS = 4 * 1024 * 1024
"""Characters of one item (or one other value of the top-level object) beyond which the file is refused.

The text of a cut item is held (up to 4 bytes a character) with the next block and its decoded copy,
about five copies: 4 Mi emoji peak near 100 MB. A large real submission is well under 1 Mi.
"""
MAX_ITEM_VALUES = 200_000
"""Values (counted as commas and opening brackets) of one item beyond which the file is refused.

Objects cost up to 30 times their text (``{},`` is a 64-byte dict): counted before each scan of more
than ``VALUES_CHECK_ABOVE`` characters, so that no scan builds more. A 1,000-member roster with 20
answers each has 20,000.
"""
VALUES_CHECK_ABOVE = 1024 * 1024
"""Characters from an item's start above which its values are counted before it is scanned."""
KEYS_KEPT = 10
"""Keys of the top-level object remembered for an error message."""
SNIFF_BYTES = 256 * 1024
"""Bytes ``find_key`` reads at most to find a top-level key (Kobo and OData put theirs in the first 1 KB)."""

_LOOKAHEAD = 16  # a scan failing this close to the end of the buffer may only mean the text is cut there
_WS = re.compile(r"[ \t\n\r]*").match
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]").search
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONStreamError(ValueError):
    """The file cannot be read as JSON; ``problem`` says why without quoting it."""

    problem = "The JSON is invalid or truncated"


class InvalidJSON(JSONStreamError):
    """Not JSON: a syntax error, a cut, trailing text, NaN/Infinity, an overflowing number, deep nesting."""


class InvalidUTF8(JSONStreamError):
    """Bytes that are not UTF-8."""

    problem = "The file is not valid UTF-8 text"


class TooDeep(JSONStreamError):
    """Arrays or objects nested deeper than ``MAX_DEPTH``; ``offset``: the byte opening one level too many."""

    def __init__(self, offset: int) -> None:
        super().__init__("nesting too deep")
        self.offset = offset
        self.problem = f"The JSON is nested deeper than {MAX_DEPTH} levels at byte {offset}"


class ItemTooLarge(JSONStreamError):
    """One value over ``MAX_ITEM_CHARS``."""

    problem = (
        f"A value in the JSON is larger than {MAX_ITEM_CHARS // 1024**2} Mi characters or holds more than "
        f"{MAX_ITEM_VALUES:,} values (too large to import)"
    )


def _refuse_constant(_name: str) -> Any:
    raise InvalidJSON("NaN and Infinity are not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidJSON("number out of range")
    return value


_scan_value: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(
    parse_constant=_refuse_constant, parse_float=_finite_float
).scan_once  # type: ignore[attr-defined]


def _scan_key(text: str, pos: int) -> tuple[str, int]:
    return scanstring(text, pos + 1, True)  # type: ignore[no-any-return]


def _without_lone_surrogates(value: Any) -> Any:
    """``value`` with each unpaired surrogate (which no database or encoder accepts) made U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


class ListReader:
    """Iterates over the items of the list under ``key`` (or of a top-level list) of a binary file.

    ``handle`` is positioned where the JSON starts (after any BOM). Iteration raises a
    ``JSONStreamError`` for anything that is not one valid UTF-8 JSON value up to the end of the
    file. Afterwards ``found`` tells whether a top-level object had ``key`` (its value may be an
    empty list, or not a list, which gives no item as with ijson) and ``keys`` holds its first keys.
    """

    def __init__(
        self, handle: BinaryIO, key: str, *, block_size: int = BLOCK_SIZE, max_item: int = MAX_ITEM_CHARS
    ) -> None:
        self.handle = handle
        self.key = key
        self.block_size = block_size
        self.max_item = max_item
        self.found = False
        self.keys: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._pos = 0  # where the next token starts in ``_text``
        self._start = 0  # where the last scanned value started
        self._read_to = handle.tell()  # file offset up to which bytes were read
        self._decoded_to = self._read_to  # file offset up to which bytes are in ``_text``
        self._eof = False
        self._bad_utf8 = False

    def tell(self) -> int:
        """File offset just after the last item given (bytes, for progress)."""
        return self._offset(self._pos)

    def _offset(self, index: int) -> int:
        """File offset of the character at ``index`` in ``_text``."""
        return self._decoded_to - len(self._text[index:].encode("utf-8", "surrogatepass"))

    def __iter__(self) -> Iterator[Any]:
        first = self._peek()
        self._pos += 1
        if first == "[":
            yield from self._items(1)
        elif first == "{":
            yield from self._members()
        else:
            raise self._error()
        if self._peek() or self._bad_utf8:
            raise self._error()  # trailing text, or bytes after the JSON that are not UTF-8

    def _members(self) -> Iterator[Any]:
        char = self._peek()
        if char == "}":
            self._pos += 1
            return
        while True:
            if char != '"':
                raise self._error()
            key = self._scan(_scan_key)
            if len(self.keys) < KEYS_KEPT:
                self.keys.append(key)
            if self._peek() != ":":
                raise self._error()
            self._pos += 1
            char = self._peek()
            if key == self.key:
                self.found = True
            if key == self.key and char == "[":
                self._pos += 1
                yield from self._items(2)  # a repeated key gives its items too, as with ijson
            else:
                value = self._scan(_scan_value, 1)  # checked and dropped
                if not has_room(self._text, self._start, self._pos, 1) and nests_beyond(value, MAX_DEPTH - 1):
                    self._check_depth(self._text, self._start, self._pos, 1)
            char = self._peek()
            self._pos += 1
            if char == "}":
                return
            if char != ",":
                raise self._error()
            char = self._peek()

    def _items(self, depth: int) -> Iterator[Any]:
        """The items of a list whose ``[`` was just read; ``depth`` levels are open (the list's included)."""
        if self._peek() == "]":
            self._pos += 1
            return
        reserve = 4096
        while True:
            # the common case inline: a whole item well inside the buffer, then ", " or "]"
            if len(self._text) - self._pos < reserve and not self._eof:
                # read on before a scan that would likely fail: each failure costs a pass over the
                # buffer (JSONDecodeError counts its lines)
                self._more(self._pos, reserve)
            text, start = self._text, self._pos
            try:
                item, end = _scan_value(text, start)
            except Exception:  # noqa: BLE001 - ``_scan`` scans again and says what is wrong
                end = len(text)
            if end + _LOOKAHEAD < len(text):
                self._pos = end
            else:
                item = self._scan(_scan_value, depth)
                text, start, end = self._text, self._start, self._pos
            if not has_room(text, start, end, depth) and nests_beyond(item, MAX_DEPTH - depth):
                self._check_depth(text, start, end, depth)  # says at which byte
            if text.find("\\", start, end) >= 0 and _SURROGATE_ESCAPE(text, start, end):  # find: fast
                item = _without_lone_surrogates(item)
            reserve = min(max(4096, 2 * (end - start)), self.block_size)  # room for the next item
            yield item
            pos = _WS(text, end).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                pos = _WS(text, pos + 1).end()  # type: ignore[union-attr]
                if pos < len(text):
                    self._pos = pos
                    continue
            self._pos = end
            char = self._peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                raise self._error()
            self._peek()

    def _peek(self) -> str:
        """The next character that is not whitespace ('' at the end of the file); ``_pos`` is at it."""
        while True:
            pos = self._pos = _WS(self._text, self._pos).end()  # type: ignore[union-attr]
            if pos < len(self._text):
                return self._text[pos]
            if not self._more(pos):
                return ""

    def _scan(self, scan: Callable[[str, int], tuple[Any, int]], depth: int = 0) -> Any:
        """The value (or key) at ``_pos``, read further until it is whole; ``_pos`` goes past it.

        ``depth`` levels are open where the value starts (for the error of a value nested too deep).
        """
        start = self._pos
        read = self.block_size
        while True:
            text = self._text
            if len(text) - start > VALUES_CHECK_ABOVE and self._values_from(start) > MAX_ITEM_VALUES:
                raise ItemTooLarge("too many values")  # counted on the text: the scan would build them all
            try:
                value, end = scan(text, start)
                if end + _LOOKAHEAD < len(text) or self._eof:  # else a number might go on
                    self._start, self._pos = start, end
                    return value
                cut = False  # whole, unless a number goes on in the next block
            except StopIteration as error:  # "Expecting value"
                cut = self._check_cut(error.value)
            except json.JSONDecodeError as error:
                cut = self._check_cut(len(text) if error.msg.startswith("Unterminated") else error.pos)
            except RecursionError:  # nested hundreds of levels deep: the C scanner's recursion limit
                self._check_depth(text, start, len(text), depth)
                raise InvalidJSON("nesting too deep") from None
            except JSONStreamError:
                raise
            except ValueError:  # an integer over the interpreter's digit limit
                raise InvalidJSON("number out of range") from None
            if len(text) - start > self.max_item:
                raise ItemTooLarge("value too large")
            read = max(read, len(text) - start)  # reads double with the item: no quadratic re-scan
            if not self._more(start, read) and cut:  # cut by the end of the file or by bytes not UTF-8
                raise InvalidUTF8("not UTF-8") if self._bad_utf8 else InvalidJSON("truncated")
            start = 0

    def _values_from(self, start: int) -> int:
        """An upper bound of the values in the text from ``start`` (those after the item included)."""
        text = self._text
        return text.count(",", start) + text.count("[", start) + text.count("{", start)

    def _check_depth(self, text: str, start: int, end: int, depth: int) -> None:
        """Raise ``TooDeep`` if ``text[start:end]`` (``text`` is ``_text``) nests beyond ``MAX_DEPTH``."""
        found = too_deep_at(text, start, end, depth)
        if found is not None:
            raise TooDeep(self._offset(found))

    def _check_cut(self, pos: int) -> bool:
        """Refuse a scan that failed before the end of the text: more text would not help."""
        if pos + _LOOKAHEAD < len(self._text):
            raise InvalidJSON("syntax error")
        return True

    def _more(self, keep: int, size: int = 0) -> bool:
        """Append the next block to the text, dropping what is before ``keep``; False at the end."""
        new = ""
        while not new and not self._eof:
            block = self.handle.read(max(size, self.block_size))
            try:
                new = self._decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:  # keep the good text: the items before the bad byte
                new = error.object[: error.start].decode("utf-8")
                self._bad_utf8 = True
            self._eof = self._bad_utf8 or not block
            self._read_to += len(block)
            self._decoded_to = self._read_to - len(self._decoder.getstate()[0])
        self._text = self._text[keep:] + new
        self._pos -= keep
        return bool(new)

    def _error(self) -> JSONStreamError:
        at_end = _WS(self._text, self._pos).end() >= len(self._text)  # type: ignore[union-attr]
        return InvalidUTF8("not UTF-8") if self._bad_utf8 and at_end else InvalidJSON("syntax error")


def find_key(handle: BinaryIO, keys: Container[str], *, limit: int = SNIFF_BYTES) -> str | None:
    """The first of ``keys`` met among the top-level object's keys in the first ``limit`` bytes, else None.

    ``handle`` is positioned where the JSON starts (after any BOM). Work and memory are bounded by
    ``limit``: the values before the key are scanned, checked for depth and dropped. Raises
    ``InvalidUTF8`` when bytes before the key are not UTF-8 and ``TooDeep`` when a value before it
    nests beyond ``MAX_DEPTH``; other errors give None (reading the file reports them).
    """
    origin = handle.tell()
    raw = handle.read(limit)
    whole = len(raw) < limit
    bad_utf8 = False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:  # keep the text before the bad byte (or a character cut by ``limit``)
        text = raw[: error.start].decode("utf-8")
        bad_utf8 = whole or error.reason != "unexpected end of data"
    pos = _WS(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("{", pos):
        return None
    pos = _WS(text, pos + 1).end()  # type: ignore[union-attr]
    while text.startswith('"', pos):
        try:
            key, pos = _scan_key(text, pos)
        except ValueError:
            break
        pos = _WS(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith(":", pos):
            break
        if key in keys:
            return key
        pos = _WS(text, pos + 1).end()  # type: ignore[union-attr]
        try:
            _value, end = _scan_value(text, pos)
            cut = False
        except (StopIteration, ValueError, RecursionError):  # cut by ``limit``, invalid, or very deep
            end, cut = len(text), True
        found = None if has_room(text, pos, end, 1) else too_deep_at(text, pos, end, 1)
        if found is not None:
            raise TooDeep(origin + len(text[:found].encode("utf-8", "surrogatepass")))
        if cut:
            break
        pos = _WS(text, end).end()  # type: ignore[union-attr]
        if not text.startswith(",", pos):
            break
        pos = _WS(text, pos + 1).end()  # type: ignore[union-attr]
    if bad_utf8:
        raise InvalidUTF8("not UTF-8")
    return None
