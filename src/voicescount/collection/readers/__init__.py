"""Readers: one module per source format, each turning an export into a stream of ``RawRecord``.

``kobo`` reads KoboToolbox API v2 JSON, ``odk`` reads ODK Central CSV zips and OData JSON,
``tabular`` reads CSV and XLSX files in the XLSForm's own column naming, and ``safety`` holds the
checks every untrusted container (zip, spreadsheet XML) passes before it is opened. This module holds
what they share: which source keys are metadata rather than answers, timestamps, progress.

Conventions common to every reader:

* ``values`` keys are full question paths with ``/`` between groups; repeats are lists of dicts
  whose keys are relative to the repeat (``children/child`` → ``[{"name": …, "age": …}]``).
* An empty cell is kept as ``None`` (not dropped), so that the record is faithful to its source.
* Text is never altered (no Unicode normalisation, no trimming); numbers stay as the source gave them.
* Messages name the file, row and column, never a cell's value (it may be personal data).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from typing import Any

from voicescount.collection.errors import ImportFileError

Progress = Callable[[int, int], None]

PROGRESS_EVERY = 1000
"""Records between two calls of the progress callback."""

KOBO_META_KEYS = frozenset({"formhub/uuid", "__version__"})
"""Kobo keys that are not answers although they do not start with ``_`` or ``meta/``."""


def is_meta_key(key: str) -> bool:
    """Whether a top-level Kobo/XLSForm-export key is submission metadata rather than an answer.

    Kobo reserves names starting with ``_`` (``_id``, ``_uuid``, ``_submission_time``, ``_status``,
    ``_validation_status``, ``_attachments``, ``_geolocation``, ``_tags``, ``_notes``,
    ``_submitted_by``, ``_xform_id_string``, ``_index``…); the XLSForm ``meta`` group holds
    ``instanceID``, ``deprecatedID`` and ``instanceName``.
    """
    return key.startswith("_") or key.startswith("meta/") or key in KOBO_META_KEYS


def instance_id_from(meta: dict[str, Any]) -> str | None:
    """The de-duplication id: ``meta/instanceID``, else Kobo's ``_uuid`` written as ``uuid:…``, else
    ODK Central's ``__id``; every reader takes its record's id from here.

    Kobo's ``_uuid`` is the instanceID without its ``uuid:`` prefix; restoring the prefix makes a
    CSV export and a JSON export of the same submissions share their ids.
    """
    found = meta.get("meta/instanceID")
    if found not in (None, ""):
        return str(found)
    uuid = meta.get("_uuid")
    if uuid not in (None, ""):
        uuid = str(uuid)
        return uuid if uuid.startswith("uuid:") else f"uuid:{uuid}"
    found = meta.get("__id")  # ODK Central's KEY / OData __id: the instanceID as well
    return str(found) if found not in (None, "") else None


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from an ISO 8601 string or a datetime; naive times are taken as UTC.

    Kobo writes ``_submission_time`` in UTC without an offset; ODK Central writes ``…Z``.
    Returns ``None`` for anything else (the original stays in ``meta`` and ``raw``).
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def make_relative(item: dict[str, Any], repeat_path: str) -> dict[str, Any]:
    """Keys of one repeat instance made relative to the repeat, recursively for nested repeats.

    Kobo writes keys inside a repeat with the repeat's full path (``hh/members/age`` inside
    ``hh/members``); ``RawRecord`` wants ``age``.
    """
    prefix = repeat_path + "/"
    relative: dict[str, Any] = {}
    for key, value in item.items():
        name = key[len(prefix) :] if key.startswith(prefix) else key
        if is_repeat(value):
            value = [make_relative(child, key) for child in value]
        relative[name] = value
    return relative


def is_repeat(value: Any) -> bool:
    """A repeat's answers: a non-empty list whose items are all objects."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def file_size(path: str | os.PathLike[str]) -> int:
    """Size in bytes, 0 when it cannot be known."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class Ticker:
    """Calls ``progress(done_bytes, total_bytes)`` every ``PROGRESS_EVERY`` records and at the end."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.count = 0

    def tick(self, done: Callable[[], int]) -> None:
        """Count one record; ``done`` is asked for the bytes consumed only when reporting."""
        self.count += 1
        if self.progress is not None and self.count % PROGRESS_EVERY == 0:
            self.progress(min(done(), self.total), self.total)

    def finish(self) -> None:
        """Report completion."""
        if self.progress is not None:
            self.progress(self.total, self.total)


class ColumnMap:
    """Maps source headers to question paths relative to ``base`` (a repeat's path, or "" for the form).

    ``questions`` are the form's full question paths (``grp/q``). A header that is itself a known
    path is kept; ``grp-q`` becomes ``grp/q`` when the form has that question; a bare ``q`` becomes
    ``grp/q`` when exactly one question of the form is named ``q``. Anything else is split on ``-``
    when ``dash_groups`` is set (ODK), else kept as is; validation reports unknown names.
    """

    def __init__(self, questions: Iterable[str] | None, *, base: str = "", dash_groups: bool = False) -> None:
        self.dash_groups = dash_groups
        prefix = base + "/" if base else ""
        self.known: set[str] = set()
        self.dashed: dict[str, str | None] = {}
        self.leaves: dict[str, str | None] = {}
        for question in questions or ():
            if prefix and not question.startswith(prefix):
                continue
            path = question[len(prefix) :]
            self.known.add(path)
            dashed = path.replace("/", "-")
            self.dashed[dashed] = None if self.dashed.get(dashed, path) != path else path
            leaf = path.rsplit("/", 1)[-1]
            self.leaves[leaf] = None if self.leaves.get(leaf, path) != path else path

    def path(self, header: str, *, file: str | None = None) -> str:
        """The question path for ``header``; raises when the form makes it ambiguous."""
        if header in self.known or not header:
            return header
        if header in self.dashed:
            found = self.dashed[header]
            if found is None:
                raise ImportFileError(
                    "The column name matches several questions of the form once '-' is read as a group "
                    "separator; rename the groups or export with '/' separators.",
                    file=file,
                    field=header,
                )
            return found
        if header in self.leaves and self.leaves[header] is not None and "/" not in header:
            return self.leaves[header]  # type: ignore[return-value]
        if self.dash_groups:
            return header.replace("-", "/")
        return header
