"""A data directory served and imported into by separate processes, for the tests that kill imports
(``test_import_faults.py``) and run them side by side (``test_import_overlap.py``).

``make_site`` prepares it in its own process, as the CLI would see it::

    python -m tests.collection.import_site DATA_DIR EXPORT N

With ``DATABASE_URL`` set the database is that one, else the data directory's SQLite file. It is
migrated and given the reference data, the demo's household survey as study ``survey`` (its XLSForm,
question roles and consent questions, as the coordinator confirms them) and a coordinator ``coord``
with a signed-in session and an API token; ``EXPORT`` gets ``N`` demo submissions as one KoboToolbox
export. Processes are read from ``/proc`` (Linux).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SQLITE_FILES = {"voicescount.sqlite3", *(f"voicescount.sqlite3-{s}" for s in ("journal", "wal", "shm"))}
"""What SQLite itself keeps beside the database (its journal or write-ahead log)."""
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
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def bytes_read(pid: int) -> int:
    """Bytes the process has read so far (``rchar`` of /proc/PID/io)."""
    try:
        return int(re.search(r"^rchar: (\d+)", Path(f"/proc/{pid}/io").read_text(), re.M).group(1))
    except (FileNotFoundError, ProcessLookupError, AttributeError):
        return 0


def stop(pids: set[int]) -> None:
    """End processes a test left behind (orphaned workers) so that they do not outlive it."""
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


# --- the site -------------------------------------------------------------------------------------


@dataclass
class Site:
    """A data directory (``root/data``) with its own ``$TMPDIR`` (``root/tmp``) and export."""

    root: Path
    env: dict[str, str]
    database_url: str | None
    session: str
    token: str

    @property
    def export(self) -> Path:
        return self.root / "export.json"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def import_command(self, export: Path | None = None) -> list[str | Path]:
        """``voicescount import`` of ``export`` (default: the site's) into the study."""
        return [BIN / "voicescount", "import", "survey", export or self.export, "--data-dir", self.data_dir]

    def counts(self) -> dict[str, list]:
        """The batches (received, accepted, duplicates, quarantined), submissions and held records."""
        queries = {
            "batches": "SELECT received, accepted, duplicates, quarantined FROM collection_importbatch "
            "ORDER BY id",
            "submissions": "SELECT count(*) FROM collection_submission",
            "quarantined": "SELECT count(*) FROM collection_quarantinedrecord",
        }
        if self.database_url is None:
            with contextlib.closing(sqlite3.connect(self.data_dir / "voicescount.sqlite3", timeout=30)) as db:
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


def _admin_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def scratch_database(name: str) -> str | None:
    """A fresh PostgreSQL database beside ``DATABASE_URL``'s, or None when that is not PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


@contextlib.contextmanager
def make_site(kind: str, root: Path, records: int) -> Iterator[Site]:
    """A prepared site on ``kind`` ("sqlite", or "postgresql": a scratch database beside
    ``DATABASE_URL``'s, dropped at the end; None is yielded when that is not PostgreSQL)."""
    database_url = None
    if kind == "postgresql":
        database_url = scratch_database(f"vc_{root.name.replace('-', '_')}_{os.getpid()}")
        if database_url is None:
            yield None
            return
    (root / "data").mkdir(parents=True)
    (root / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VOICESCOUNT_DATA_DIR")}
    env |= {"TMPDIR": str(root / "tmp"), "VOICESCOUNT_IMPORT_WORKERS": "2", "COLUMNS": "200"}
    if database_url:
        env["DATABASE_URL"] = database_url
    try:
        made = subprocess.run(
            [sys.executable, "-m", "tests.collection.import_site", root / "data", root / "export.json"]
            + [str(records)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        session, token = made.stdout.split()[-2:]
        yield Site(root, env, database_url, session, token)
    finally:
        if database_url:
            drop_database(database_url)


@contextlib.contextmanager
def gunicorn(site: Site, threads: int = 1) -> Iterator[tuple[subprocess.Popen, str]]:
    """The site served by one gunicorn worker (with ``threads``) on a free loopback port: the master
    process and the base URL."""
    import requests

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [BIN / "gunicorn", "voicescount.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "1", "--threads", str(threads), "--timeout", "120", "--preload"],
        env=site.env | {"VOICESCOUNT_DATA_DIR": str(site.data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/en/studies/", timeout=30)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield server, base
    finally:
        server.terminate()
        server.wait(timeout=30)
        stop(descendants(server.pid))


# --- preparing the data directory (in its own process) ---------------------------------------------


def survey_study(org):
    """The study ``survey`` of ``org`` (a household survey, March–June 2022) with the demo's XLSForm and
    its question roles as a coordinator confirms them: what the import tests import into."""
    from voicescount.collection.instruments import add_instrument
    from voicescount.collection.models import Study
    from voicescount.demo import definitions, survey

    study = Study.objects.create(
        organisation=org,
        slug="survey",
        title_en="Survey",
        method=Study.Method.HOUSEHOLD_SURVEY,
        period_start=dt.date(2022, 3, 1),
        period_end=dt.date(2022, 6, 30),
        consent_procedure=Study.Consent.GUARDIAN_AND_ASSENT,
    )
    instrument = add_instrument(study, "form.xlsx", survey.build_xlsform(), check_permission=False)
    instrument.roles = {**instrument.roles, **definitions.QUESTION_ROLES}
    instrument.save()
    return study, instrument


def prepare(data_dir: Path, export: Path, n: int) -> tuple[str, str]:
    """Set up the database of ``data_dir`` and write ``export``; the coordinator's session key and
    API token."""
    os.environ["VOICESCOUNT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicescount.settings")
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from voicescount.accounts.models import Coalition, Membership, Organisation, Role
    from voicescount.accounts.services import create_api_token
    from voicescount.demo import survey
    from voicescount.framework.loaders import load_all as load_framework
    from voicescount.geography.loaders import load_all as load_geography

    call_command("migrate", interactive=False, verbosity=0)
    load_framework()
    load_geography()
    coalition = Coalition.objects.create(slug="vn", name="VN", country_code="VN")
    org = Organisation.objects.create(slug="org", name="Org", coalition=coalition)
    study, instrument = survey_study(org)
    user = get_user_model().objects.create_user("coord", password="not-used-here")
    Membership.objects.create(user=user, organisation=org, role=Role.COORDINATOR)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    _, token = create_api_token(user, "tests")
    if n:
        write_export(export, survey.generate_submissions(n=n, seed=7))
    return session.session_key, token


def write_export(path: Path, records: list[dict]) -> None:
    """``records`` (demo submissions) as one KoboToolbox export page."""
    from voicescount.demo import survey

    path.write_text(json.dumps(survey.kobo_page(records), ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    print(*prepare(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
