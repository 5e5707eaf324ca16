"""The record type that every importer yields and validation consumes.

Readers (``collection/readers/``) turn a source — a KoboToolbox JSON export, an ODK Central export,
a CSV/XLSX file, an API payload — into a stream of ``RawRecord``. Keys of ``values`` are the
question's full path in the XLSForm, with ``/`` between group names (``household/size``), whatever
separator the source used (Kobo ``grp/q``, ODK CSV ``grp-q``). Validation resolves them against the
instrument (``collection/xlsform.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RawRecord:
    """One submission as read from its source, before validation; nothing in it is altered."""

    source: str
    """Reader that produced it: "kobo-json", "odk-csv", "odk-odata", "csv", "xlsx", "api"."""
    locator: str
    """Where the record is in its source, for messages: "row 12", "results[3] on page 2"."""
    values: dict[str, Any]
    """Answers by full question path; repeats are lists of dicts with paths relative to the repeat."""
    instance_id: str | None = None
    """``meta/instanceID`` (e.g. ``uuid:…``) when the source has one: the de-duplication key."""
    submitted_at: dt.datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    """Source metadata kept apart from answers: Kobo ``_id``/``_uuid``, ODK ``__id``, review state."""
    raw: Any = None
    """The original payload (JSON object, CSV row as a dict) verbatim, kept beside the typed values."""
    problems: tuple[tuple[str, str, str], ...] = ()
    """What the reader could not read as an answer, as (column, code, message): each holds the record
    back in quarantine (the cell stays in ``raw``), so that no answer in the file is silently lost."""


class RecordStream(Generic[T]):
    """The records of a source, each converted from what the parser gave when it is reached.

    It is an iterator of ``RawRecord``s, like a reader's generator. An import's worker process that leaves
    some records to another worker passes over ``items`` (what the parser gives) and ``convert``s only
    the ones it checks.
    """

    def __init__(self, items: Iterable[T], convert: Callable[[T], RawRecord]) -> None:
        self.items: Iterator[T] = iter(items)
        self.convert = convert

    def __iter__(self) -> RecordStream[T]:
        return self

    def __next__(self) -> RawRecord:
        return self.convert(next(self.items))
