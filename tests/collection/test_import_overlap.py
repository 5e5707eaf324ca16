"""Two imports of overlapping files of one study started at the same time, through the real entry
points (two ``voicescount import`` processes; two API calls to gunicorn): both succeed — the second
waits for the first — and the study ends with every record once, the shared ones counted as
duplicates. On SQLite and, when ``DATABASE_URL`` points to one, on PostgreSQL (where the second import
used to fail on the unique index: a ``UniqueViolation`` traceback, an HTTP 500).
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.collection.import_site import Site, gunicorn, make_site, write_export

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes in /proc")

FIRST, SECOND = range(0, 3000), range(1500, 4500)  # 1,500 records in both
RECORDS = 4500


@pytest.fixture(scope="module", params=[pytest.param("sqlite", marks=pytest.mark.own_sqlite), "postgresql"])
def site(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"overlap-{request.param}")
    with make_site(request.param, root, 0) as made:
        if made is None:
            pytest.skip("DATABASE_URL does not point to PostgreSQL")
        yield made


def records(seed: int) -> list[dict]:
    """Demo submissions; another seed, other records (each test imports its own into the study)."""
    from voicescount.demo import survey

    return survey.generate_submissions(n=RECORDS, seed=seed)


def assert_every_record_once(
    before: dict[str, list], after: dict[str, list], received: int, shared: int
) -> None:
    """Two batches more, whole; what they accepted or held back is in the study once; the rest are
    duplicates, at least the records the two files share."""
    batches = after["batches"][len(before["batches"]) :]
    assert len(batches) == 2, after
    assert sum(batch[0] for batch in batches) == received
    for batch in batches:
        assert batch[0] == batch[1] + batch[2] + batch[3]  # every record of a batch in one place
    accepted = sum(batch[1] for batch in batches)
    quarantined = sum(batch[3] for batch in batches)
    assert after["submissions"][0][0] - before["submissions"][0][0] == accepted
    assert after["quarantined"][0][0] - before["quarantined"][0][0] == quarantined
    assert sum(batch[2] for batch in batches) >= shared, batches  # the records both had: duplicates
    assert accepted + quarantined + sum(batch[2] for batch in batches) == received


def test_two_cli_imports_of_overlapping_files_both_succeed(site):
    submissions = records(seed=11)
    before = site.counts()
    files = []
    for name, part in (("first.json", FIRST), ("second.json", SECOND)):
        write_export(site.root / name, [submissions[i] for i in part])
        files.append(site.root / name)
    runs = [
        subprocess.Popen(
            site.import_command(path),
            env=site.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    for code, _, err in outcomes:
        assert code == 0 and "Traceback" not in err, err[-3000:]
    assert any("Waiting for another import of study 'survey' to finish" in out for _, out, _ in outcomes)
    assert_every_record_once(before, site.counts(), len(FIRST) + len(SECOND), len(range(1500, 3000)))


def writing(site: Site) -> bool:
    """Whether an import is storing a batch: on PostgreSQL, a connection in a transaction whose last
    statement was a COPY of submissions; on SQLite, a transaction holding the write lock (an import takes
    it when its transaction begins), seen by a probe that asks for it without waiting."""
    if site.database_url is None:
        import sqlite3

        probe = sqlite3.connect(site.data_dir / "voicescount.sqlite3", timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()
    import psycopg

    with psycopg.connect(site.database_url, autocommit=True) as db:
        return (
            db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state IN ('active', 'idle in transaction') AND query LIKE 'COPY %collection_submission%'"
            ).fetchone()[0]
            > 0
        )


def test_two_api_calls_with_overlapping_batches_both_succeed(site):
    """The second call is sent while the first is storing its batch (its transaction open, some of its
    rows written): it waits for the first to commit."""
    import requests

    submissions = records(seed=12)
    # The second call repeats the first call's first chunk, written (not committed) when it is sent.
    first, second = range(0, 4000), range(0, 1000)
    with gunicorn(site, threads=2) as (_, base):
        url = f"{base}/api/v1/studies/survey/instruments/vn_cgd_2022/submissions"
        headers = {"Authorization": f"Bearer {site.token}"}
        # a first call loads what every import needs (the checker's area codes)
        warm = requests.post(url, json=submissions[4400], headers=headers, timeout=120)
        assert warm.status_code == 200, warm.text[:2000]
        before = site.counts()
        answers: dict[int, requests.Response] = {}

        def push(number: int, part: range) -> None:
            body = {"submissions": [submissions[i] for i in part]}
            answers[number] = requests.post(url, json=body, headers=headers, timeout=120)

        threads = [threading.Thread(target=push, args=args) for args in enumerate((first, second))]
        threads[0].start()
        deadline = time.monotonic() + 60
        while not writing(site) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert 0 not in answers, "the first call ended before the second could overlap it"
        threads[1].start()
        for thread in threads:
            thread.join(timeout=150)
    for number in (0, 1):
        assert answers[number].status_code == 200, answers[number].text[:2000]
        assert answers[number].headers["Content-Type"].startswith("application/json")
    assert_every_record_once(before, site.counts(), len(first) + len(second), len(second))


@pytest.mark.django_db
def test_a_call_that_waits_too_long_for_another_import_is_409(
    client, make_instrument, coordinator, monkeypatch
):
    """Another import holding the study (here: its advisory lock, from another connection) past the
    API's wait: a 409 with a JSON error saying what to do, nothing stored."""
    from django.db import connection

    from voicescount.accounts.services import create_api_token
    from voicescount.collection import api, locks
    from voicescount.collection.models import ImportBatch

    if connection.vendor != "postgresql":
        pytest.skip("SQLite: the write lock is taken by the other connection's transaction itself")
    import psycopg

    instrument = make_instrument()
    _, secret = create_api_token(coordinator, "tests")
    monkeypatch.setattr(api, "IMPORT_WAIT", 0.3)
    db = connection.settings_dict
    conninfo = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"] or 5432}
    with psycopg.connect(**conninfo, password=db["PASSWORD"] or None) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", (locks.IMPORT_LOCK, instrument.study.pk))
        response = client.post(
            "/api/v1/studies/s/instruments/f/submissions",
            data='{"age": "30"}',
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
    assert response.status_code == 409 and response["Content-Type"].startswith("application/json")
    assert response.json()["detail"] == (
        "Another import of study 's' is still running (waited 0.3 s): nothing was imported. Try again "
        "when it has finished; the records it stored will count as duplicates."
    )
    assert not ImportBatch.objects.exists()
