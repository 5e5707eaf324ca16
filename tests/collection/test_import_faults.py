"""Imports killed half-way, through the real entry points: ``voicescount import`` and the upload page
served by gunicorn, each in its own process on its own data directory (SQLite, and PostgreSQL when
``DATABASE_URL`` points to a PostgreSQL server).

After every kill (SIGKILL or SIGTERM, while the workers start reading, half-way through the file,
while the last chunks are stored, while the batch is committed):

- the database holds the whole batch or none of it;
- no worker process of the killed import is still alive after a short grace period;
- no temporary file is left in the data directory, in ``$TMPDIR`` or in ``/dev/shm``;

and importing the file again afterwards stores every record once.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes in /proc")

RECORDS = 4000
GRACE = 1.0  # seconds a worker may take to notice that its parent has gone
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SQLITE_FILES = {"voicescount.sqlite3", *(f"voicescount.sqlite3-{s}" for s in ("journal", "wal", "shm"))}
"""What SQLite itself keeps beside the database (a hot journal holds the pages as they were before)."""
DATA_DIR_FILES = {"encryption_key", "secret_key", "static", *SQLITE_FILES}


# --- processes, read from /proc ------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]
    return state, int(ppid)


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[0] != "Z":
            children.setdefault(stat[1], []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def bytes_read(pid: int) -> int:
    try:
        return int(re.search(r"^rchar: (\d+)", Path(f"/proc/{pid}/io").read_text(), re.M).group(1))
    except (FileNotFoundError, ProcessLookupError, AttributeError):
        return 0


def stop(pids: set[int]) -> None:
    """End processes this test left behind (orphaned workers) so that they do not outlive it."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


# --- a data directory with the demo survey --------------------------------------------------------


@dataclass
class Site:
    root: Path
    env: dict[str, str]
    database_url: str | None
    session: str
    export: Path = field(init=False)

    def __post_init__(self) -> None:
        self.export = self.root / "export.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def counts(self) -> dict[str, list]:
        """The study's batches (received, accepted, duplicates, quarantined), submissions, held records."""
        queries = {
            "batches": "SELECT received, accepted, duplicates, quarantined FROM collection_importbatch "
            "ORDER BY id",
            "submissions": "SELECT count(*) FROM collection_submission",
            "quarantined": "SELECT count(*) FROM collection_quarantinedrecord",
        }
        if self.database_url is None:
            with sqlite3.connect(self.data_dir / "voicescount.sqlite3", timeout=30) as db:
                return {k: db.execute(q).fetchall() for k, q in queries.items()}
        import psycopg

        with psycopg.connect(self.database_url) as db:
            return {k: [tuple(r) for r in db.execute(q).fetchall()] for k, q in queries.items()}

    def leftovers(self, pids: set[int]) -> list[str]:
        """Files an import may have left: anything in $TMPDIR, unknown files in the data directory,
        and multiprocessing's shared memory files of ``pids`` in /dev/shm."""
        found = [str(p) for p in self.tmp.iterdir()]
        found += [str(p) for p in self.data_dir.iterdir() if p.name not in DATA_DIR_FILES]
        shm = Path("/dev/shm")
        if shm.is_dir():
            found += [str(p) for p in shm.iterdir() if any(f"-{pid}-" in p.name for pid in pids)]
        return found


def _scratch_database(name: str) -> str | None:
    """A fresh PostgreSQL database beside ``DATABASE_URL``'s, or None when that is not PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request, tmp_path_factory):
    """A data directory (SQLite, or a scratch PostgreSQL database) with the demo survey and an export."""
    database_url = None
    if request.param == "postgresql":
        database_url = _scratch_database(f"vc_import_faults_{os.getpid()}")
        if database_url is None:
            pytest.skip("DATABASE_URL does not point to PostgreSQL")
    root = tmp_path_factory.mktemp(f"faults-{request.param}")
    (root / "data").mkdir()
    (root / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VOICESCOUNT_DATA_DIR")}
    env |= {"TMPDIR": str(root / "tmp"), "VOICESCOUNT_IMPORT_WORKERS": "2", "COLUMNS": "200"}
    if database_url:
        env["DATABASE_URL"] = database_url
    made = subprocess.run(
        [sys.executable, "-m", "tests.collection.import_faults_setup", root / "data", root / "export.json"]
        + [str(RECORDS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    yield Site(root, env, database_url, made.stdout.split()[-1])
    if database_url:
        _drop_database(database_url)


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
    command = [BIN / "voicescount", "import", "survey", site.export, "--data-dir", site.data_dir]
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
        [BIN / "voicescount", "import", "survey", site.export, "--data-dir", site.data_dir],
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


# --- killing the gunicorn worker serving an upload ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, cookies: dict[str, str], seconds: float = 60):
    import requests

    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(url, cookies=cookies, timeout=30)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_killed_upload_leaves_no_copy_of_the_file_and_no_worker(site):
    import requests

    port = _free_port()
    server = subprocess.Popen(
        [BIN / "gunicorn", "voicescount.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "1", "--timeout", "120"],
        env=site.env | {"VOICESCOUNT_DATA_DIR": str(site.data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        cookies = {"sessionid": site.session}
        url = f"http://127.0.0.1:{port}/en/studies/survey/import/"
        page = _wait_for(url, cookies)
        assert page.status_code == 200, page.text[:500]
        form = {
            "csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1],
            "instrument": re.search(r'<option value="(\d+)"', page.text)[1],
            "format": "auto",
        }
        cookies |= page.cookies.get_dict()
        (worker,) = descendants(server.pid)
        before = site.counts()

        answers: list[object] = []

        def upload() -> None:
            with open(site.export, "rb") as export:
                try:
                    answers.append(
                        requests.post(url, data=form, files={"file": export}, cookies=cookies, timeout=20)
                    )
                except requests.RequestException as exc:  # the worker was killed: no answer
                    answers.append(exc)

        uploading = threading.Thread(target=upload, daemon=True)
        uploading.start()
        deadline = time.monotonic() + 30
        while not (import_workers := descendants(worker)) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert import_workers, "the upload was never imported"
        time.sleep(0.3)  # well into the import
        import_workers |= descendants(worker)
        os.kill(worker, signal.SIGKILL)
        time.sleep(GRACE)
        orphans = {pid for pid in import_workers if alive(pid)}
        stop(orphans)
        left = site.leftovers({worker, *import_workers})
        print(f"upload killed: workers={len(import_workers)} orphans={len(orphans)} leftovers={left}")
        assert not orphans, f"{len(orphans)} worker processes outlived the killed upload"
        assert not left
        assert site.counts() == before  # nothing of the batch
        uploading.join(timeout=30)
        # The connection closes with the worker (no orphan holds it open): the browser is told at once.
        assert [type(answer) for answer in answers] == [requests.ConnectionError], answers
    finally:
        server.terminate()
        server.wait(timeout=30)
        stop(descendants(server.pid))
