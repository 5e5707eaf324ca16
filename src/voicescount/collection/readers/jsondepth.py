"""How deep JSON nests: the limit, and how to check it on text or on decoded values.

``jsonstream`` (the reader and the format sniffer) refuses a document nested deeper than
``MAX_DEPTH``. On the import hot path ``has_room`` (two ``str.count``) clears almost every item;
``nests_beyond`` walks the decoded containers of the rest, and ``too_deep_at`` finds the byte of
the first bracket too deep for the message.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted, counted from the top of the document.

A Kobo page is level 1, its ``results`` list 2, a submission 3; each repeat adds 2 levels (the list
and an instance), an OData group 1. Real exports stay under 20; 64 is also System.Text.Json's default.
"""

_BRACKET_OR_QUOTE = re.compile(r'[\[\]{}"]')
_STRING_REST = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*"')  # a string after its opening quote


def too_deep_at(text: str, start: int, end: int, depth: int) -> int | None:
    """Index in ``text`` of the first bracket of ``text[start:end]`` that opens level ``MAX_DEPTH`` + 1.

    ``depth`` levels are open at ``start``; brackets inside strings do not count, and a string cut by
    ``end`` ends the search. None when no bracket goes too deep.
    """
    search, match = _BRACKET_OR_QUOTE.search, _STRING_REST.match
    while (found := search(text, start, end)) is not None:
        char, start = found.group(), found.end()
        if char == '"':
            closed = match(text, start, end)
            if closed is None:
                return None
            start = closed.end()
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return found.start()
        else:
            depth -= 1
    return None


def has_room(text: str, start: int, end: int, depth: int) -> bool:
    """Cheap test (two ``str.count``) that ``text[start:end]`` cannot nest beyond ``MAX_DEPTH``.

    ``depth`` levels are open at ``start``; the openings ``[`` and ``{`` bound the depth. False means
    "perhaps" (a long repeat has one ``{`` per instance): walk the decoded value (``nests_beyond``),
    which is cheaper than counting more patterns in Vietnamese text (2 bytes a character in a ``str``,
    where ``str.count`` takes 1 ns a character instead of a ``memchr``).
    """
    return text.count("[", start, end) + text.count("{", start, end) <= MAX_DEPTH - depth


def nests_beyond(value: Any, room: int) -> bool:
    """Whether a decoded ``value`` has more than ``room`` levels of lists and objects (itself included).

    A walk of the containers only: about 30 µs for a submission with an 80-member roster, where
    ``too_deep_at`` on its text would take 750 µs.
    """
    if type(value) is not dict and type(value) is not list:
        return False
    if room < 1:
        return True
    for child in value.values() if type(value) is dict else value:
        if (type(child) is dict or type(child) is list) and nests_beyond(child, room - 1):
            return True
    return False
