"""One import of a study at a time: the lock ``import_records`` takes first in its transaction.

An import looks up which of its records the study already holds, then writes the rest. Two imports of
overlapping files running side by side would each find the shared records new, and the second to write
would fail on the (study, content hash) unique index — a ``UniqueViolation`` for the user instead of a
count of duplicates. So an import of a study waits for the one before it to commit, and then finds its
records as duplicates:

- PostgreSQL: a transaction-level advisory lock on the study (``pg_advisory_xact_lock``), released by
  the commit or rollback — also when the importing process is killed, as the server ends its session.
  Imports of other studies and every reader carry on.
- SQLite: the database's write lock, which every write transaction takes (SQLite has one writer at a
  time); taken here first thing, so that the wait is bounded by ``wait`` rather than the connection's
  busy timeout, and is reported as ``ImportInProgress`` rather than "database is locked".
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.db import OperationalError, connection

from voicescount.collection.errors import ImportInProgress
from voicescount.collection.models import Study

IMPORT_LOCK = 0x56430001
"""First key of the advisory lock of a study's imports (the second is the study's id)."""
DEFAULT_WAIT = 60.0
"""Seconds the upload page and the API wait for another import of the study (the CLI waits on)."""
_SQLITE_STEP = 3600.0  # a busy timeout is an int of milliseconds: wait "forever" an hour at a time


def lock_study_imports(
    study: Study, wait: float | None = DEFAULT_WAIT, waiting: Callable[[], None] | None = None
) -> None:
    """Take the import lock of ``study`` for the current transaction (call it inside ``atomic``).

    Returns at once when no other import of the study is running; otherwise calls ``waiting()`` and
    waits up to ``wait`` seconds (``None``: until the other import ends), then raises
    ``ImportInProgress``.
    """
    if connection.vendor == "postgresql":
        _postgresql(study, wait, waiting)
    else:
        _sqlite(study, wait, waiting)


def _busy(study: Study, wait: float | None) -> ImportInProgress:
    return ImportInProgress(
        f"Another import of study '{study.slug}' is still running (waited {wait:.0f} s): nothing was "
        "imported. Send the file again when that import has finished; records it stored will be counted "
        "as duplicates."
    )


def _postgresql(study: Study, wait: float | None, waiting: Callable[[], None] | None) -> None:
    key = (IMPORT_LOCK, study.pk % 2**31)  # two int4 keys; studies a multiple of 2**31 apart share one
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", key)
        if cursor.fetchone()[0]:
            return
        if waiting is not None:
            waiting()
        # lock_timeout 0 waits as long as it takes; SET LOCAL lasts until the end of this transaction
        timeout = 0 if wait is None else max(1, math.ceil(wait * 1000))
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{timeout}ms"])
        try:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)
        except OperationalError:  # lock_timeout: the transaction is aborted, atomic rolls it back
            raise _busy(study, wait) from None
        cursor.execute("SET LOCAL lock_timeout TO DEFAULT")


def _sqlite(study: Study, wait: float | None, waiting: Callable[[], None] | None) -> None:
    """Take the database's write lock with a write that changes nothing (the first statement of the
    transaction: a transaction that has read first may not take the lock after another's commit)."""
    table = connection.ops.quote_name(Study._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        busy_ms = cursor.fetchone()[0]
        try:
            for attempt, seconds in enumerate(_sqlite_waits(wait)):
                if attempt == 1 and waiting is not None:
                    waiting()
                cursor.execute(f"PRAGMA busy_timeout = {math.ceil(seconds * 1000)}")
                try:
                    cursor.execute(f"UPDATE {table} SET id = id WHERE id = %s", [study.pk])
                    return
                except OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
            raise _busy(study, wait)
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


def _sqlite_waits(wait: float | None):
    """Busy timeouts to try in turn: none first (to tell the user when there is a wait), then ``wait``."""
    yield 0.0
    if wait is None:
        while True:
            yield _SQLITE_STEP
    elif wait > 0:
        yield wait
