"""Imports killed half-way, through the real entry points: ``voicescount import`` and the upload page
served by gunicorn, each in its own process on its own data directory (SQLite, and PostgreSQL when
``DATABASE_URL`` points to a PostgreSQL server).

After every kill (SIGKILL or SIGTERM, while the workers start reading, half-way through the file,
while the last chunks are stored, while the batch is committed):

- the database holds the whole batch or none of it;
- no worker process of the killed import is still alive after a short grace period;
- no temporary file is left in the data directory, in ``$TMPDIR`` or in ``/dev/shm``;
  (the upload page now only receives the file and queues a job: ``test_import_jobs.py`` kills the
  worker that imports it)

and importing the file again afterwards stores every record once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.collection.import_site import Site, alive, bytes_read, descendants, gunicorn, make_site, stop

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes in /proc")

RECORDS = 4000
GRACE = 1.0  # seconds a worker may take to notice that its parent has gone


@pytest.fixture(scope="module", params=[pytest.param("sqlite", marks=pytest.mark.own_sqlite), "postgresql"])
def site(request, tmp_path_factory):
    """A data directory (SQLite, or a scratch PostgreSQL database) with the demo survey and an export."""
    with make_site(request.param, tmp_path_factory.mktemp(f"faults-{request.param}"), RECORDS) as made:
        if made is None:
            pytest.skip("DATABASE_URL does not point to PostgreSQL")
        yield made


# --- killing `voicescount import` -------------------------------------------------------------------


@dataclass
class Kill:
    signal: str
    moment: str
    workers: set[int]
    killed: bool
    returncode: int
    stderr: str
    orphans: set[int] = field(default_factory=set)
    leftovers: list[str] = field(default_factory=list)
    batches: list[tuple] = field(default_factory=list)


def _moment_reached(moment: str, pid: int, workers: set[int], size: int) -> bool:
    """Whether the import ``pid`` with (the ever seen) ``workers`` is at ``moment``."""
    living = {w for w in workers if alive(w)}
    if moment == "reading":  # the workers have started on the file
        return bool(living)
    if moment == "checking":  # half-way through it
        return any(bytes_read(w) > size // 2 for w in living)
    if moment == "storing":  # a worker has read the whole file: the last chunks are being stored
        return any(bytes_read(w) >= size for w in living) or bool(workers and not living)
    return bool(workers) and not living  # "commit": the workers have finished, the batch is saved


def kill_import(site: Site, sig: signal.Signals, moment: str) -> Kill:
    """Run ``voicescount import`` on the site's export and send ``sig`` at ``moment``."""
    command = site.import_command()
    # Output to a file, not a pipe: orphaned workers would hold a pipe open after the import has gone.
    log = site.root / "stderr.txt"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, env=site.env, stdout=subprocess.DEVNULL, stderr=stderr)
    size = site.export.stat().st_size
    workers: set[int] = set()
    killed = False
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        workers |= descendants(process.pid)
        if _moment_reached(moment, process.pid, workers, size):
            process.send_signal(sig)
            killed = True
            break
        time.sleep(0.003)
    process.wait(timeout=30)
    time.sleep(GRACE)
    result = Kill(sig.name, moment, workers, killed, process.returncode, log.read_text(errors="replace"))
    log.unlink()
    result.orphans = {w for w in workers if alive(w)}
    stop(result.orphans)
    result.leftovers = site.leftovers({process.pid, *workers})
    result.batches = site.counts()["batches"]
    return result


def test_a_killed_import_leaves_the_whole_batch_or_nothing_and_no_process_or_file(site):
    kills = [
        kill_import(site, sig, moment)
        for moment in ("reading", "checking", "storing", "commit")
        for sig in (signal.SIGKILL, signal.SIGTERM)
    ]
    for kill in kills:
        print(
            f"{kill.signal} while {kill.moment}: killed={kill.killed} exit={kill.returncode} "
            f"workers={len(kill.workers)} orphans={len(kill.orphans)} leftovers={len(kill.leftovers)} "
            f"batches={len(kill.batches)}"
        )
    # never part of a batch: each batch stored has every record of the file
    assert all(batch[0] == RECORDS for kill in kills for batch in kill.batches), kills
    interrupted = [k for k in kills if k.killed]
    assert len(interrupted) >= 6, [(k.signal, k.moment) for k in kills]  # the kills hit the import
    assert all(k.workers for k in interrupted)
    orphans = sum(len(k.orphans) for k in kills)
    assert orphans == 0, f"{orphans} worker processes outlived their import"
    assert not [k.leftovers for k in kills if k.leftovers]
    for kill in interrupted:
        if kill.signal == "SIGTERM":
            assert kill.returncode == 143, kill.stderr  # stopped as asked, not crashed
            assert "Traceback" not in kill.stderr and "Import stopped" in kill.stderr

    again = subprocess.run(
        site.import_command(),
        env=site.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert not site.leftovers(set())
    counts = site.counts()
    first, *later = counts["batches"]
    received, accepted, duplicates, quarantined = first
    assert accepted > RECORDS // 2 and received == accepted + duplicates + quarantined
    assert all(batch == (RECORDS, 0, RECORDS, 0) for batch in later)  # the same records, recognised
    assert counts["submissions"] == [(accepted,)] and counts["quarantined"] == [(quarantined,)]


# --- killing the gunicorn worker receiving an upload -------------------------------------------------
# The page no longer imports (a background worker does: test_import_jobs.py kills that one); the web
# worker receives the file into an unnamed temporary file and keeps it encrypted for the job.


def test_a_killed_upload_leaves_no_copy_of_the_file_and_no_job(site):
    import requests

    with gunicorn(site) as (server, base):
        cookies = {"sessionid": site.session}
        url = f"{base}/en/studies/survey/import/"
        page = requests.get(url, cookies=cookies, timeout=30)
        assert page.status_code == 200, page.text[:500]
        boundary = "voicescountkill"
        fields = {
            "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1],
            "instrument": re.search(r'<option value="(\d+)"', page.text)[1],
            "format": "auto",
        }
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="export.json"\r\n\r\n'
        data = site.export.read_bytes()
        sent = threading.Event()
        cookies |= page.cookies.get_dict()
        (worker,) = descendants(server.pid)
        before = site.counts()
        answers: list[object] = []

        def upload() -> None:
            import http.client
            from urllib.parse import urlsplit

            tail = f"\r\n--{boundary}--\r\n".encode()
            target = urlsplit(url)
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                connection.putrequest("POST", target.path)
                connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
                connection.putheader("Content-Length", str(len(head.encode()) + len(data) + len(tail)))
                connection.putheader("Cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()))
                connection.endheaders()
                connection.send(head.encode() + data[: len(data) // 2])
                sent.set()
                time.sleep(5)  # the rest never comes before the worker is killed
                connection.send(data[len(data) // 2 :] + tail)
                answers.append(connection.getresponse())
            except OSError as exc:  # the worker was killed: no answer
                answers.append(exc)
            finally:
                connection.close()

        uploading = threading.Thread(target=upload, daemon=True)
        uploading.start()
        assert sent.wait(timeout=30), answers
        time.sleep(0.5)  # half the file is in the worker's temporary file
        os.kill(worker, signal.SIGKILL)
        time.sleep(GRACE)
        left = [p for p in site.leftovers({worker}) if not p.endswith("/jobs") or os.listdir(p)]
        print(f"upload killed: leftovers={left}")
        assert not left
        assert site.counts() == before  # nothing imported, and no job was queued
        uploading.join(timeout=60)
        assert len(answers) == 1 and isinstance(answers[0], OSError), answers
