"""The embedded SQLite database: private files, and readers that never wait on an import.

The database file holds sessions, password hashes and the studies' pseudonym keys, so it and its
directory are private to the user (0600 / 0700), as the secret and encryption keys beside it are.
Public pages read while an import writes a whole batch in one transaction ("all or nothing"); in
SQLite's default rollback-journal mode the writer locks readers out once its changes no longer fit in
its page cache, so pages stalled for the length of the import. The database runs in WAL mode: readers
see the last committed state, whatever is being written."""

import os
import stat
import threading
import time

import pytest
from django.db import connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper

from voicescount import config


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def embedded(tmp_path, monkeypatch, django_db_blocker):
    """The embedded database settings of a fresh data directory (as ``voicescount demo`` makes them);
    the tests open their own connections to it (not the test database)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    directory = config.ensure_data_dir(tmp_path / "data")
    with django_db_blocker.unblock():
        yield directory, config.database(directory).settings


def _connect(settings: dict, alias: str) -> DatabaseWrapper:
    wrapper = DatabaseWrapper(
        {
            **settings,
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            "TEST": {},
        },
        alias,
    )
    wrapper.ensure_connection()
    return wrapper


def test_data_directory_and_database_files_are_private(embedded):
    directory, settings = embedded
    assert _mode(directory) == 0o700
    connection = _connect(settings, "private")
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE t (x integer)")
            cursor.execute("INSERT INTO t VALUES (1)")
        for suffix in ("", "-wal", "-shm"):
            path = settings["NAME"] + suffix
            if os.path.exists(path):
                assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"
        assert os.path.exists(settings["NAME"])
    finally:
        connection.close()


def test_an_existing_open_data_directory_is_made_private(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    database = directory / "voicescount.sqlite3"
    database.touch()
    os.chmod(database, 0o644)
    config.ensure_data_dir(directory)
    config.database(directory)
    assert _mode(directory) == 0o700
    assert _mode(database) == 0o600


def test_a_reader_does_not_wait_on_a_long_write_transaction(embedded):
    """A writer holding an uncommitted batch much larger than its page cache (the state of a long import);
    a reader on another connection reads the committed rows at once."""
    _directory, settings = embedded
    writer = _connect(settings, "writer")
    reader = _connect(settings, "reader")
    try:
        with writer.cursor() as cursor:
            cursor.execute("CREATE TABLE submission (id integer primary key, payload text)")
            cursor.execute("INSERT INTO submission (payload) VALUES ('committed')")
        writer.set_autocommit(False)
        with writer.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = 50")  # pages: the batch below spills to the file
            cursor.executemany(
                "INSERT INTO submission (payload) VALUES (%s)", [("x" * 2000,) for _ in range(5000)]
            )
        with reader.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 200")
            started = time.monotonic()
            cursor.execute("SELECT count(*), min(payload) FROM submission")
            assert cursor.fetchone() == (1, "committed")
            assert time.monotonic() - started < 2
        writer.rollback()
    finally:
        writer.close()
        reader.close()


def test_writers_take_the_write_lock_at_the_start_of_a_transaction(embedded):
    """Two writers queue (busy timeout) instead of one failing with 'database is locked' when it turns a
    read into a write half-way (SQLite cannot wait for a deferred transaction's upgrade)."""
    _directory, settings = embedded
    setup = _connect(settings, "setup")
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (n integer)")
        cursor.execute("INSERT INTO counter VALUES (0)")
    errors: list[Exception] = []

    def increment(alias: str) -> None:
        connection = _connect(settings, alias)
        try:
            connections[alias] = connection  # transaction.atomic finds connections by alias
            for _ in range(20):
                with transaction.atomic(using=alias), connection.cursor() as cursor:
                    cursor.execute("SELECT n FROM counter")
                    (n,) = cursor.fetchone()
                    time.sleep(0.002)
                    cursor.execute("UPDATE counter SET n = %s", [n + 1])
        except Exception as exc:  # noqa: BLE001 -- reported by the assertion below
            errors.append(exc)
        finally:
            del connections[alias]
            connection.close()

    threads = [threading.Thread(target=increment, args=(alias,)) for alias in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        with setup.cursor() as cursor:
            cursor.execute("SELECT n FROM counter")
            assert cursor.fetchone() == (40,)
    finally:
        setup.close()
