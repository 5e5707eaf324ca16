"""Writing accepted submissions in bulk: the import's hot path, below the ORM.

``import_records`` (``collection/batches.py``) decides what happens to each record; this module
turns an accepted record into the row Django would store for a ``Submission`` and writes a chunk
of rows in one statement — ``executemany`` on SQLite, ``COPY`` on PostgreSQL — inside the import's
transaction. Going below ``bulk_create`` saves its per-field preparation (a dozen method calls per
value); the stored columns are the same: JSON columns hold ``json.dumps(value)`` exactly as
Django's ``JSONField`` writes it, date-times are adapted by the backend's own operations, and the
tests compare a row written here with one saved through the ORM on both databases.

``RecordKeys`` learns, once per distinct answer key, its leaf name and whether it is a personal
field, so that splitting personal data off a record costs a few set operations instead of a walk
over every key.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.utils import timezone

from voicescount.collection.models import Submission
from voicescount.collection.readers import odk

PERSONAL_MARKER = "[personal data: stored encrypted]"
GEOPOINT_PARTS = frozenset(odk.GEOPOINT_PARTS)
"""Columns ODK Central splits a geopoint into (``gps-Latitude``…): personal when the geopoint is."""
_NESTED = frozenset({dict, list})
_ABSENT = object()
_MAX_KEYS = 100_000  # distinct keys remembered; beyond this (junk columns), keys are classified each time

SUBMISSION_FIELDS = (
    "study",
    "instrument",
    "batch",
    "instance_id",
    "content_hash",
    "respondent",
    "submitted_at",
    "raw",
    "values",
    "meta",
    "warnings",
    "personal",
    "consent_status",
    "created",
)
"""Every stored field of ``Submission`` but its id, in the order of ``submission_row``."""


def _dumps(value: Any) -> str:
    """JSON text of ``value`` for a JSON column: what Django's ``JSONField`` would store, compact and in
    UTF-8 (orjson: a seventh of ``json.dumps``'s time). Values orjson refuses — integers beyond 64 bits,
    keys that are not strings — are written by ``json.dumps`` as Django would. NaN and infinities,
    which no JSON column accepts, never get here: the readers and the API refuse them."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def leaf(name: str) -> str:
    """The question name at the end of a path (``grp/q``, ``grp-q`` → ``q``)."""
    return name.replace("-", "/").rsplit("/", 1)[-1]


class RecordKeys:
    """What an import has learned about the answer keys it met: leaf names and personal fields."""

    def __init__(self, personal: frozenset[str]) -> None:
        self.personal = personal
        self.known: set[Any] = set()
        self.personal_keys: list[Any] = []  # keys whose leaf is a personal field, in order met
        self.by_leaf: dict[str, list[Any]] = {}  # leaf → keys with that leaf
        self._last: Any = None  # the node learned last: a record's answers are asked about repeatedly

    def learn(self, node: dict[Any, Any]) -> None:
        """Classify the keys of ``node`` not met before."""
        if node is self._last or self.known.issuperset(node):
            self._last = node
            return
        for key in node:
            if key in self.known:
                continue
            name = leaf(str(key))
            personal = self.is_personal(str(key))
            if len(self.known) < _MAX_KEYS:
                self.known.add(key)
                self.by_leaf.setdefault(name, []).append(key)
                if personal:
                    self.personal_keys.append(key)
            elif personal and key not in self.personal_keys:
                self.personal_keys.append(key)  # never forget a personal field

    def is_personal(self, key: str) -> bool:
        """Whether the answer under ``key`` is personal data: its question's name is a personal field,
        or it is a part of one (ODK Central's ``gps-Latitude``, ``gps-Longitude``… columns)."""
        parts = key.replace("-", "/").rsplit("/", 2)
        if parts[-1] in self.personal:
            return True
        return len(parts) > 1 and parts[-1] in GEOPOINT_PARTS and parts[-2] in self.personal

    def value_of(self, values: dict[Any, Any], name: str, *, first: bool = False) -> Any:
        """The answer whose key ends in ``name``: the last one in ``values`` when several do (as a
        ``{leaf: value}`` map would keep), or the first one with ``first``."""
        self.learn(values)
        if len(self.known) >= _MAX_KEYS:  # keys met after the cap are not in by_leaf
            return _scan(values, name, first)
        keys = [k for k in self.by_leaf.get(name, ()) if k in values]
        if not keys:
            return None
        if len(keys) == 1:
            return values[keys[0]]
        return _scan(values, name, first)

    def split(self, values: Any) -> tuple[Any, dict[str, Any]]:
        """``values`` with personal fields replaced by a marker, and the removed values by path.

        Parts without personal data are shared with ``values``, not copied: the result is for
        storing, not for changing.
        """
        removed: dict[str, Any] = {}
        return self._split(values, "", removed), removed

    def split_part(self, part: dict[str, Any], whole: Any, whole_split: Any) -> Any:
        """``part`` split like ``split(part)[0]``, taking the values it shares with ``whole`` (a record's
        metadata keys are also in its raw payload) from ``whole_split``, the split of ``whole``."""
        if type(whole) is not dict or type(part) is not dict:
            return self.split(part)[0]
        out = {}
        for key, value in part.items():
            if whole.get(key, _ABSENT) is value:
                out[key] = whole_split[key]
            else:
                return self.split(part)[0]
        return out

    def _split(self, node: Any, path: str, removed: dict[str, Any]) -> Any:
        if type(node) is list:
            return [self._split(v, f"{path}[{i}]", removed) for i, v in enumerate(node)]
        if type(node) is not dict or not node:
            return node
        self.learn(node)
        hits = [k for k in self.personal_keys if k in node]
        # values to look into: objects and lists holding objects or lists (repeats, nested groups)
        deep = [k for k, v in node.items() if type(v) in _NESTED]
        if deep:
            deep = [k for k in deep if _holds_more(node[k])]
        if not hits and not deep:
            return node
        out = dict(node)
        for key in hits:
            value = node[key]
            if value is not None and value != "":
                removed[f"{path}/{key}" if path else str(key)] = value
                out[key] = PERSONAL_MARKER
        for key in deep:
            if out[key] is not PERSONAL_MARKER:
                out[key] = self._split(node[key], f"{path}/{key}" if path else str(key), removed)
        return out


def _sqlite_utc_text(value: dt.datetime | None) -> str | None:
    """A date-time as Django's SQLite backend stores it when the connection's time zone is UTC."""
    if value is None:
        return None
    if value.utcoffset() is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return str(value)


def _holds_more(value: dict[Any, Any] | list[Any]) -> bool:
    """Whether a container may hold personal fields: a non-empty object, or a list of containers."""
    if type(value) is dict:
        return bool(value)
    return not _NESTED.isdisjoint(map(type, value))


def _scan(values: dict[Any, Any], name: str, first: bool) -> Any:
    found = None
    for key, value in values.items():
        if leaf(str(key)) == name:
            if first:
                return value
            found = value
    return found


class SubmissionWriter:
    """Rows of ``Submission`` for one import, written a chunk at a time on the default connection."""

    def __init__(self, withdrawn: frozenset[str] = frozenset()) -> None:
        self.withdrawn = withdrawn  # pseudonyms of respondents who withdrew consent
        meta = Submission._meta
        quote = connection.ops.quote_name
        self.vendor = connection.vendor
        self.table = quote(meta.db_table)
        self.columns = ", ".join(quote(meta.get_field(name).column) for name in SUBMISSION_FIELDS)
        self.adapt_datetime = connection.ops.adapt_datetimefield_value
        if self.vendor == "sqlite" and settings.USE_TZ and connection.timezone == dt.UTC:
            self.adapt_datetime = _sqlite_utc_text  # what Django's operation gives, without its checks
        self.given = Submission.ConsentStatus.GIVEN.value

    def stored(
        self,
        respondent: str,
        submitted_at: Any,
        raw: Any,
        values: Any,
        meta: Any,
        personal: bytes | None,
    ) -> tuple[Any, ...]:
        """The columns of an accepted record from ``respondent`` to ``consent_status``, as the backend
        stores them (JSON as text, date-times adapted); ``row`` adds the rest."""
        return (
            respondent,
            self.adapt_datetime(submitted_at) if self.vendor != "postgresql" else submitted_at,
            _dumps(raw),
            _dumps(values),
            _dumps(meta),
            "[]",
            personal,
            self.given,
        )

    def withdrawn_trace(self, stored: tuple[Any, ...]) -> tuple[Any, ...]:
        """``stored`` of a respondent who withdrew consent as ``withdraw_consent`` leaves a submission:
        the row says a record came, with no answer, no personal field, consent withdrawn."""
        respondent, submitted_at, *_rest = stored
        return (
            respondent,
            submitted_at,
            "{}",
            "{}",
            "{}",
            "[]",
            None,
            Submission.ConsentStatus.WITHDRAWN.value,
        )

    def row(
        self,
        ids: tuple[int, int, int],
        instance_id: str | None,
        content_hash: str,
        stored: tuple[Any, ...],
        created: Any,
    ) -> tuple[Any, ...]:
        """One row in ``SUBMISSION_FIELDS`` order; ``created`` comes from ``self.now()``."""
        return (*ids, instance_id, content_hash, *stored, created)

    def held(self, model: Any, study_id: int, keys: Sequence[str], *columns: str) -> Any:
        """Which of ``keys`` (content hashes) ``model`` (``Submission``, ``QuarantinedRecord``) holds for
        the study: a set of keys, or with ``columns`` a list of ``(key, *columns)`` rows.

        One SQL statement without the ORM's per-parameter preparation (it costs more than the query
        for a thousand keys), looked up in the model's (study, content_hash) unique index."""
        if not keys:
            return [] if columns else set()
        quote = connection.ops.quote_name
        wanted = ", ".join(quote(c) for c in ("content_hash", *columns))
        marks = ", ".join(["%s"] * len(keys))
        sql = (
            f"SELECT {wanted} FROM {quote(model._meta.db_table)} "
            f"WHERE {quote('study_id')} = %s AND {quote('content_hash')} IN ({marks})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [study_id, *keys])
            rows = cursor.fetchall()
        return rows if columns else {row[0] for row in rows}

    def now(self) -> Any:
        """The creation time of the rows of one chunk, as the backend stores it."""
        now = timezone.now()
        return now if self.vendor == "postgresql" else self.adapt_datetime(now)

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (in order) in the current transaction."""
        if not rows:
            return
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                sql = f"COPY {self.table} ({self.columns}) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            return
        # SQLite (the only other database VoicesCount runs on): the driver's own executemany
        connection.ensure_connection()
        marks = ", ".join("?" * len(SUBMISSION_FIELDS))
        connection.connection.executemany(f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})", rows)
