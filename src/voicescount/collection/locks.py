"""One import of a study at a time: the transaction ``import_records`` stores its batch in.

An import looks up which of its records the study already holds, then writes the rest. Two imports of
overlapping files running side by side would each find the shared records new, and the second to write
would fail on the (study, content hash) unique index — a ``UniqueViolation`` for the user instead of a
count of duplicates. So an import of a study waits for the one before it to commit, and then finds its
records as duplicates:

- PostgreSQL: a transaction-level advisory lock on the study (``pg_advisory_xact_lock``), released by
  the commit or rollback — also when the importing process is killed, as the server ends its session.
  Imports of other studies and every reader carry on.
- SQLite: the database's write lock (SQLite has one writer at a time), which the transaction takes as it
  begins (``BEGIN IMMEDIATE``, ``config.SQLITE_OPTIONS``): here with a wait bounded by ``wait`` rather
  than the connection's busy timeout, and reported as ``ImportInProgress`` rather than "database is
  locked".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from django.db import OperationalError, connection, transaction

from voicescount.collection.errors import ImportInProgress
from voicescount.collection.models import Study

IMPORT_LOCK = 0x56430001
"""First key of the advisory lock of a study's imports (the second is the study's id)."""
DEFAULT_WAIT = 60.0
"""Seconds the upload page and the API wait for another import of the study (the CLI waits on)."""
_SQLITE_STEP = 3600.0  # a busy timeout is an int of milliseconds: wait "forever" an hour at a time


@contextmanager
def import_transaction(
    study: Study, wait: float | None = DEFAULT_WAIT, waiting: Callable[[], None] | None = None
) -> Iterator[None]:
    """``transaction.atomic()`` holding the import lock of ``study``.

    Enters at once when no other import of the study is running; otherwise calls ``waiting()`` and
    waits up to ``wait`` seconds (``None``: until the other import ends), then raises
    ``ImportInProgress`` (nothing stored).
    """
    with ExitStack() as stack:
        if connection.vendor == "postgresql":
            stack.enter_context(transaction.atomic())
            _postgresql(study, wait, waiting)
        else:
            _sqlite(stack, study, wait, waiting)
        yield


def _busy(study: Study, wait: float | None) -> ImportInProgress:
    waited = "" if wait is None else f" (waited {wait:g} s)"
    return ImportInProgress(
        f"Another import of study '{study.slug}' is still running{waited}: nothing was imported. Try "
        "again when it has finished; the records it stored will count as duplicates."
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


def _sqlite(stack: ExitStack, study: Study, wait: float | None, waiting: Callable[[], None] | None) -> None:
    """Begin the transaction once the write lock is free: the busy timeout is set to each wait in turn."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        busy_ms = int(cursor.fetchone()[0])
    try:
        for attempt, seconds in enumerate(_sqlite_waits(wait)):
            if attempt == 1 and waiting is not None:
                waiting()
            _busy_timeout(seconds * 1000)
            try:
                stack.enter_context(transaction.atomic())  # BEGIN IMMEDIATE: takes the write lock
                break
            except OperationalError as exc:
                if "locked" not in str(exc):
                    raise
        else:
            raise _busy(study, wait)
    finally:
        _busy_timeout(busy_ms)
    # A write that changes nothing takes the lock where the transaction has not (a deferred BEGIN, an
    # enclosing transaction that has only read); instant after BEGIN IMMEDIATE.
    table = connection.ops.quote_name(Study._meta.db_table)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET id = id WHERE id = %s", [study.pk])
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        raise _busy(study, wait) from None


def _busy_timeout(milliseconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA busy_timeout = {math.ceil(milliseconds)}")


def _sqlite_waits(wait: float | None) -> Iterator[float]:
    """Busy timeouts to try in turn: none first (to tell the user when there is a wait), then ``wait``."""
    yield 0.0
    if wait is None:
        while True:
            yield _SQLITE_STEP
    elif wait > 0:
        yield wait
