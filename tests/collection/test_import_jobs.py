"""Uploads imported as background jobs (``collection/jobs.py``) by real ``voicescount worker`` processes.

A data directory is prepared as the CLI sees it (``import_site``: SQLite file, or a scratch PostgreSQL
database when ``DATABASE_URL`` points to PostgreSQL), served by gunicorn; the upload goes through the
page, the worker runs as a subprocess, and the test reads the job page, the job's files and the
database as a user or an operator would.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collection.import_site import (
    BIN,
    Site,
    alive,
    descendants,
    gunicorn,
    make_site,
    stop,
    survey_study,
    write_export,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes in /proc")

RECORDS = 6000


@pytest.fixture(scope="module", params=[pytest.param("sqlite", marks=pytest.mark.own_sqlite), "postgresql"])
def site(request, tmp_path_factory):
    """A data directory (SQLite, or a scratch PostgreSQL database) with the demo survey and an export."""
    with make_site(request.param, tmp_path_factory.mktemp(f"jobs-{request.param}"), RECORDS) as made:
        if made is None:
            pytest.skip("DATABASE_URL does not point to PostgreSQL")
        yield made


def upload(site: Site, base: str, export: Path | None = None) -> str:
    """Upload ``export`` (default: the site's) on the import page as the coordinator; the job page's path."""
    import requests

    cookies = {"sessionid": site.session}
    url = f"{base}/en/studies/survey/import/"
    page = requests.get(url, cookies=cookies, timeout=30)
    form = {
        "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1],
        "instrument": re.search(r'<option value="(\d+)"', page.text)[1],
        "format": "auto",
    }
    with open(export or site.export, "rb") as file:
        answer = requests.post(
            url,
            data=form,
            files={"file": file},
            cookies=cookies | page.cookies.get_dict(),
            timeout=60,
            allow_redirects=False,
        )
    assert answer.status_code == 302, answer.text[:500]
    location = answer.headers["Location"]
    assert re.fullmatch(r"/en/studies/survey/imports/jobs/\d+/", location), location
    return location


def progress(site: Site, base: str, job: str) -> tuple[str, int, str]:
    """The job page's fragment (``job``: the page's path): status, percent and the fragment's text."""
    import requests

    text = requests.get(base + job + "progress/", cookies={"sessionid": site.session}, timeout=30).text
    status = re.search(r'data-status="(\w+)"', text)[1]
    percent = int(re.search(r'<progress max="100" value="(\d+)"', text)[1])
    return status, percent, text


@contextlib.contextmanager
def worker(site: Site, *arguments: str) -> Iterator[subprocess.Popen]:
    """``voicescount worker`` on the site's data directory, stopped (SIGTERM) at the end."""
    process = subprocess.Popen(
        [BIN / "voicescount", "worker", "--interval", "0.2", "--data-dir", site.data_dir, *arguments],
        env=site.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        children = descendants(process.pid)
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
        stop(children)


def jobs_dir(site: Site) -> Path:
    return site.data_dir / "jobs"


def job_files(site: Site) -> list[str]:
    return sorted(p.name for p in jobs_dir(site).iterdir()) if jobs_dir(site).exists() else []


def wait_for(condition, timeout: float = 120, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)
    return value


# --- a job from upload to report ----------------------------------------------------------------------


def test_an_upload_is_queued_kept_encrypted_and_imported_by_a_worker_with_progress(site):
    before = site.counts()
    with gunicorn(site) as (_server, base):
        job_url = upload(site, base)
        assert progress(site, base, job_url)[:2] == ("queued", 0)
    # The web server is gone; the job is in the database and its file in the data directory, encrypted.
    (kept,) = job_files(site)
    assert re.fullmatch(r"[0-9a-f]{32}\.upload", kept)
    assert stat.S_IMODE(jobs_dir(site).stat().st_mode) == 0o700
    assert stat.S_IMODE((jobs_dir(site) / kept).stat().st_mode) == 0o600
    plain = site.export.read_bytes()
    sealed = (jobs_dir(site) / kept).read_bytes()
    assert len(sealed) >= len(plain) and plain[:64] not in sealed and b'"results"' not in sealed
    assert not list(site.tmp.iterdir())  # no plaintext copy in the temporary directory either

    with gunicorn(site) as (_server, base), worker(site) as running:
        seen = []

        def ended() -> bool:
            seen.append(progress(site, base, job_url))
            return seen[-1][0] in ("done", "failed")

        wait_for(ended, every=0.01)
        status, percent, text = seen[-1]
        assert status == "done", text
        percents = [p for s, p, _ in seen if s == "running"]
        print(f"polls: {len(seen)}, running percents: {sorted(set(percents))}")
        assert any(0 < p < 100 for p in percents), seen  # the bar moved while the job ran
        assert percents == sorted(percents)  # and never back
        assert "Import report" in text and f"Received: {RECORDS}" in text and "hx-trigger" not in text
        # The job page itself (a refresh) ends with the same report.
        import requests

        page = requests.get(base + job_url, cookies={"sessionid": site.session}, timeout=30).text
        assert f"Received: {RECORDS}" in page
        assert running.poll() is None  # the worker waits for the next job
    after = site.counts()
    assert len(after["batches"]) == len(before["batches"]) + 1
    assert after["batches"][-1][0] == RECORDS
    assert job_files(site) == []  # the encrypted upload and the progress file are gone
    assert not list(site.tmp.iterdir())


def test_a_worker_killed_half_way_leaves_no_batch_and_the_job_failed(site):
    before = site.counts()
    with gunicorn(site) as (_server, base):
        job_url = upload(site, base)
        with worker(site) as running:
            # Killed once the first chunks are stored, inside the import's transaction.
            wait_for(lambda: any(name.endswith(".progress") for name in job_files(site)), every=0.005)
            assert progress(site, base, job_url)[0] == "running"
            processes = {running.pid, *descendants(running.pid)}
            os.kill(running.pid, signal.SIGKILL)
            running.wait(timeout=30)
            time.sleep(1.0)  # import workers notice that their parent has gone
            orphans = {pid for pid in processes if alive(pid)}
            assert not orphans, f"{len(orphans)} processes outlived the killed worker"
        assert site.counts() == before  # nothing of the batch
        status, percent, text = progress(site, base, job_url)
        assert status == "failed" and percent == 100
        assert "nothing from this file was stored" in text and "hx-trigger" not in text
        assert job_files(site) == []  # the encrypted upload was deleted once the job was failed
        assert site.leftovers(processes) == [str(jobs_dir(site))]  # no plaintext, no shared memory left
        # Uploaded again, the file is imported whole.
        again = upload(site, base)
        with worker(site, "--batch") as batch:
            assert batch.wait(timeout=300) == 0, batch.stdout.read()
        assert progress(site, base, again)[0] == "done"
    after = site.counts()
    assert len(after["batches"]) == len(before["batches"]) + 1 and after["batches"][-1][0] == RECORDS


def test_a_worker_stopped_with_sigterm_finishes_its_job_and_a_second_sigterm_fails_it(site):
    before = site.counts()
    with gunicorn(site) as (_server, base):
        finished, forced = upload(site, base), upload(site, base)
        with worker(site) as running:
            wait_for(lambda: progress(site, base, finished)[0] == "running", every=0.005)
            running.send_signal(signal.SIGTERM)  # a deployment stops the worker: it finishes the job
            assert running.wait(timeout=300) == 0, running.stdout.read()
        assert progress(site, base, finished)[0] == "done"
        assert progress(site, base, forced)[0] == "queued"  # left for the next worker
        with worker(site) as running:
            wait_for(lambda: any(name.endswith(".progress") for name in job_files(site)), every=0.005)
            running.send_signal(signal.SIGTERM)
            time.sleep(0.05)
            running.send_signal(signal.SIGTERM)  # the second one stops the job at once
            running.wait(timeout=60)
        status, _, text = progress(site, base, forced)
        assert status == "failed" and "nothing from this file was stored" in text
    after = site.counts()
    assert len(after["batches"]) == len(before["batches"]) + 1  # the finished job's batch only
    assert job_files(site) == []


def test_two_workers_never_run_one_job_twice(site):
    """Several worker processes (a supervisor's two, and a third apart) take six jobs at once."""
    if site.database_url is None:
        pytest.skip("concurrent workers are tested on PostgreSQL (SQLite runs one writer at a time)")
    import psycopg

    from voicescount.demo import survey

    records = survey.generate_submissions(n=3000, seed=11)
    exports = []
    for number in range(6):
        exports.append(site.root / f"part{number}.json")
        write_export(exports[-1], records[number * 500 : (number + 1) * 500])
    before = site.counts()
    with (
        worker(site, "--processes", "2") as pair,
        worker(site) as third,
        gunicorn(site) as (_server, base),
    ):
        time.sleep(1.5)  # past the workers' random start-up delay: all three are looking for jobs
        urls = [upload(site, base, export) for export in exports]
        wait_for(lambda: all(progress(site, base, url)[0] == "done" for url in urls), every=0.2)
        assert pair.poll() is None and third.poll() is None
    ids = [int(url.rstrip("/").rsplit("/", 1)[1]) for url in urls]
    with psycopg.connect(site.database_url) as db:
        jobs = db.execute(
            "SELECT status, task_id, batch_id FROM collection_importjob WHERE id = ANY(%s)", (ids,)
        ).fetchall()
        claims = db.execute(
            "SELECT worker_ids FROM django_tasks_database_dbtaskresult WHERE id::text = ANY(%s)",
            ([task for _, task, _ in jobs],),
        ).fetchall()
    assert [status for status, _, _ in jobs] == ["done"] * 6
    assert len({batch for _, _, batch in jobs}) == 6
    assert sorted(len(ids) for (ids,) in claims) == [1] * 6  # each task claimed once
    assert len({ids[0] for (ids,) in claims}) >= 2  # by more than one worker
    after = site.counts()
    assert len(after["batches"]) == len(before["batches"]) + 6
    assert sum(batch[0] for batch in after["batches"][-6:]) == 3000


# --- the pages, in this process (the job waits in the queue: no worker runs here) -------------------


@pytest.fixture
def coordinator_study(django_user_model):
    from voicescount.accounts.models import Coalition, Membership, Organisation, Role

    coalition = Coalition.objects.create(slug="vn", name="VN", country_code="VN")
    org = Organisation.objects.create(slug="org", name="Org", coalition=coalition)
    study, instrument = survey_study(org)
    user = django_user_model.objects.create_user("coord", password="a long test password")
    Membership.objects.create(user=user, organisation=org, role=Role.COORDINATOR)
    return study, instrument


@pytest.mark.django_db
def test_the_upload_page_after_the_real_sign_in_redirects_to_the_job_page_in_vi_and_en(
    client, coordinator_study, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_tasks_db.models import DBTaskResult

    from voicescount.collection.models import ImportJob
    from voicescount.demo import survey

    settings.DATA_DIR = tmp_path
    study, instrument = coordinator_study
    signed_in = client.post(
        "/en/accounts/sign-in/", {"username": "coord", "password": "a long test password"}
    )
    assert signed_in.status_code == 302
    export = json.dumps(survey.kobo_page(survey.generate_submissions(n=200, seed=5)[:30])).encode()
    response = client.post(
        "/en/studies/survey/import/",
        {"instrument": instrument.pk, "format": "auto", "file": SimpleUploadedFile("export.json", export)},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/en/studies/survey/imports/jobs/{job.pk}/"
    assert (job.status, job.filename, job.bytes_total, job.user.username) == (
        "queued",
        "export.json",
        len(export),
        "coord",
    )
    assert DBTaskResult.objects.get().id.hex == job.task_id.replace("-", "")  # the task waits for a worker
    assert not study.batches.exists()  # nothing imported inside the request
    (kept,) = (tmp_path / "jobs").iterdir()
    assert export[:64] not in kept.read_bytes()

    pages = {
        lang: client.get(f"/{lang}/studies/survey/imports/jobs/{job.pk}/").content.decode()
        for lang in ("en", "vi")
    }
    assert (
        "Status: <strong>Queued</strong>" in pages["en"]
        and "0% of the file read, 0 records processed." in pages["en"]
    )
    assert "<strong>Đang chờ</strong>" in pages["vi"] and "Đã đọc 0% tệp, đã xử lý 0 bản ghi." in pages["vi"]
    for lang, page in pages.items():
        assert '<progress max="100" value="0"' in page
        assert (
            f'hx-get="/{lang}/studies/survey/imports/jobs/{job.pk}/progress/" hx-trigger="every 1s"' in page
        )
        assert "vendor/htmx.min.js" in page
    fragment = client.get(f"/vi/studies/survey/imports/jobs/{job.pk}/progress/").content.decode()
    assert fragment.startswith('<div id="import-job"') and "Đang chờ" in fragment and "<html" not in fragment
    # A job whose worker has gone (running, its file's lock free) is shown failed, in the reader's language.
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    failed = client.get(f"/vi/studies/survey/imports/jobs/{job.pk}/progress/").content.decode()
    assert "Thất bại" in failed and "không có gì từ tệp này được lưu" in failed and "hx-trigger" not in failed
    assert list((tmp_path / "jobs").iterdir()) == []
    # Other users cannot see the job.
    client.logout()
    assert client.get(f"/en/studies/survey/imports/jobs/{job.pk}/").status_code == 302


def test_the_kept_upload_is_authenticated_block_by_block(settings, tmp_path):
    import io

    from voicescount.collection import job_files
    from voicescount.collection.errors import ImportFileError

    settings.DATA_DIR = tmp_path
    plain = os.urandom(job_files.BLOCK * 2 + 5)
    for size in (0, 10, job_files.BLOCK, len(plain)):
        path = tmp_path / f"{size}.upload"
        assert job_files.write_encrypted(io.BytesIO(plain[:size]), path) == size
        out = io.BytesIO()
        assert job_files.decrypt_into(path, out) == size and out.getvalue() == plain[:size]
    sealed = (tmp_path / f"{len(plain)}.upload").read_bytes()
    header = (
        len(job_files.MAGIC) + 4 + int.from_bytes(sealed[len(job_files.MAGIC) : len(job_files.MAGIC) + 4])
    )
    damaged = {
        "cut short": sealed[: header + 4 + job_files.BLOCK + 16],  # the last block missing
        "a byte changed": sealed[:-1] + bytes([sealed[-1] ^ 1]),
        "something added": sealed + b"\0",
    }
    for what, data in damaged.items():
        (tmp_path / "bad.upload").write_bytes(data)
        with pytest.raises(ImportFileError, match="cannot be decrypted"):
            job_files.decrypt_into(tmp_path / "bad.upload", io.BytesIO())
        print(what, "refused")
    settings.VOICESCOUNT_ENCRYPTION_KEYS = ["aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd28="]
    with pytest.raises(ImportFileError, match="encryption keys"):
        job_files.decrypt_into(tmp_path / f"{len(plain)}.upload", io.BytesIO())


# --- `voicescount demo` runs a worker beside the web server ------------------------------------------


@pytest.mark.own_sqlite
@pytest.mark.parametrize("stopped_by", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_demo_runs_a_worker_beside_the_server_and_stops_it_with_the_server(tmp_path, stopped_by):
    import requests

    from voicescount.accounts.demo import DEMO_PASSWORD
    from voicescount.demo import survey

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VOICESCOUNT_DATA_DIR")}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    command = [BIN / "voicescount", "demo", "--respondents", "200", "--port", str(port), "--workers", "1"]
    with log.open("w") as out:
        demo = subprocess.Popen(
            [*command, "--data-dir", tmp_path / "data"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:

        def answering() -> bool:
            assert demo.poll() is None, log.read_text()
            try:
                return requests.get(f"{base}/en/accounts/sign-in/", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(answering, timeout=300, every=0.5)
        workers = [
            pid
            for pid in descendants(demo.pid)
            if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ]
        assert len(workers) == 1  # beside gunicorn's worker
        # The worker runs an upload's job: signed in on the real page as the demo coordinator.
        browser = requests.Session()
        form = browser.get(f"{base}/en/accounts/sign-in/", timeout=30).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]
        signed_in = browser.post(
            f"{base}/en/accounts/sign-in/",
            {"csrfmiddlewaretoken": token, "username": "coordinator", "password": DEMO_PASSWORD},
            headers={"Referer": f"{base}/en/accounts/sign-in/"},
            timeout=30,
        )
        assert "sessionid" in browser.cookies, signed_in.text[:300]
        page = browser.get(f"{base}/en/studies/vn-cgd-2022/import/", timeout=30).text
        export = json.dumps(survey.kobo_page(survey.generate_submissions(n=200, seed=3)[:50])).encode()
        answer = browser.post(
            f"{base}/en/studies/vn-cgd-2022/import/",
            data={
                "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1],
                "instrument": re.search(r'<option value="(\d+)"', page)[1],
                "format": "auto",
            },
            files={"file": ("export.json", export)},
            headers={"Referer": f"{base}/en/studies/vn-cgd-2022/import/"},
            timeout=60,
            allow_redirects=False,
        )
        assert answer.status_code == 302, answer.text[:500]
        fragment = base + answer.headers["Location"] + "progress/"
        wait_for(
            lambda: 'data-status="done"' in browser.get(fragment, timeout=30).text, timeout=120, every=0.2
        )
        assert "Received: 50" in browser.get(fragment, timeout=30).text
        # Stopping the server (the demo process only: SIGTERM, or SIGKILL, when nothing can clean up)
        # stops the worker too.
        os.kill(demo.pid, stopped_by)
        demo.wait(timeout=60)
        wait_for(lambda: not alive(workers[0]), timeout=15, every=0.1)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        stop(descendants(demo.pid))
