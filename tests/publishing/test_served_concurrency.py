"""The served site under concurrent requests: every answer is the one for the request that asked.

Runs the real thing: ``voicescount demo`` builds a small demo in the database of ``DATABASE_URL`` (on
PostgreSQL a database of its own, created and dropped here, since pytest-django's test database is another
one; on SQLite a temporary data directory) and serves it with two gunicorn workers; then ``voicescount
serve --workers 2`` serves it again, with and without migrations first. Each time several client threads
ask for different indicators' API answers and HTML pages at once, and each answer is compared with the one
fetched alone beforehand.

The defect this guards against: the master process kept a database connection open and the forked
workers shared its socket, so on PostgreSQL one request read another's rows (485 of 800 answers wrong).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.slow

DEMO_RESPONDENTS = 300
CLIENTS = 6
REQUESTS_PER_CLIENT = 100
API_CODES = 24
PAGE_CODES = 4
START_TIMEOUT = 60.0
DEMO_TIMEOUT = 300.0  # the demo is built before it is served
ISOLATED_ENV = ("DATABASE_URL", "VOICESCOUNT_DATA_DIR", "VOICESCOUNT_MODE", "VOICESCOUNT_ALLOWED_HOSTS")


def _voicescount() -> list[str]:
    script = Path(sys.executable).with_name("voicescount")
    if script.exists():
        return [str(script)]
    found = shutil.which("voicescount")
    if found is None:
        raise RuntimeError("the voicescount command is not installed next to this Python or on PATH")
    return [found]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_admin(url: str):
    """A connection to the server's maintenance database (autocommit, for CREATE/DROP DATABASE)."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
    return psycopg.connect(admin, autocommit=True)


@dataclass
class Demo:
    env: dict[str, str]  # for the ``voicescount`` commands: this module's database and data directory
    server: Server  # ``voicescount demo``, which built the demo and serves it


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``voicescount demo`` serving a small demo built in a database of this module's own."""
    data_dir = tmp_path_factory.mktemp("served")
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    env["VOICESCOUNT_DATA_DIR"] = str(data_dir)
    url = os.environ.get("DATABASE_URL", "").strip()
    name = None
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        name = f"vc_served_{secrets.token_hex(4)}"
        with _postgres_admin(url) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}", query=""))
    server = Server(env, data_dir / "demo.log", "demo", "--respondents", str(DEMO_RESPONDENTS))
    try:
        server.wait_until_answering(DEMO_TIMEOUT)
        yield Demo(env, server)
    finally:
        server.stop()
        if name is not None:
            with _postgres_admin(url) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Server:
    """``voicescount serve`` (or ``demo``) in its own process group, so that stopping it stops its workers."""

    def __init__(self, env: dict[str, str], log: Path, *arguments: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [*_voicescount(), *arguments, "--port", str(self.port), "--workers", "2"]
        with log.open("w") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_until_answering(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voicescount serve exited early:\n{self.log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/goals", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"voicescount serve did not answer:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        return 0, str(exc).encode()


def _answer(kind: str, status: int, body: bytes):
    """What must match the reference: the parsed JSON of an API answer, the bytes of a page."""
    if status != 200:
        return ("status", status)
    return json.loads(body) if kind == "api" else body


def references(base: str) -> dict[str, tuple[str, object]]:
    """Path → (kind, answer), each fetched alone: the answers the concurrent requests must get."""
    status, body = fetch(f"{base}/api/v1/indicators?limit=1000")
    assert status == 200, body[:300]
    codes = [row["code"] for row in json.loads(body)["items"]]
    paths = {f"/api/v1/indicators/{code}": "api" for code in codes[:: max(1, len(codes) // API_CODES)]}
    # Pages of indicators with published estimates (each page reads many rows) and of goals.
    for code in _with_estimates(base, codes):
        paths[f"/en/indicators/{code}/"] = "page"
        paths[f"/api/v1/indicators/{code}/estimates?limit=100000"] = "api"
    paths["/vi/goals/1/"] = "page"
    paths["/en/"] = "page"
    found = {}
    for path, kind in paths.items():
        status, body = fetch(base + path)
        assert status == 200, f"{path} answered {status} alone: {body[:300]!r}"
        found[path] = (kind, _answer(kind, status, body))
    return found


def _with_estimates(base: str, codes: list[str]) -> list[str]:
    """The first PAGE_CODES indicators with a computed public definition (asked through the API)."""
    found = []
    for code in codes:
        status, body = fetch(f"{base}/api/v1/indicators/{code}/definitions")
        if status == 200 and any(row["computed"] for row in json.loads(body)):
            found.append(code)
            if len(found) == PAGE_CODES:
                break
    assert found, "the demo published no estimates"
    return found


def hammer(base: str, expected: dict[str, tuple[str, object]]) -> Counter:
    """CLIENTS threads × REQUESTS_PER_CLIENT requests over the paths; counts right and wrong answers.

    API requests carry a distinct query parameter (which the API ignores) so that the API's response
    cache never answers them: every one reads the database."""
    paths = sorted(expected)

    def client(number: int) -> Counter:
        tally: Counter = Counter()
        for i in range(REQUESTS_PER_CLIENT):
            path = paths[(number * 7 + i * 5) % len(paths)]
            kind, answer = expected[path]
            url = base + path
            if kind == "api":
                url += ("&" if "?" in path else "?") + f"client={number}-{i}"
            status, body = fetch(url)
            try:
                got = _answer(kind, status, body)
            except ValueError:
                got = ("unreadable", body[:80])
            tally["right" if got == answer else f"wrong ({kind}, status {status})"] += 1
        return tally

    with ThreadPoolExecutor(CLIENTS) as pool:
        return sum(pool.map(client, range(CLIENTS)), Counter())


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("demo",), id="demo"),
        pytest.param(("serve", "--no-migrate"), id="serve"),
        pytest.param(("serve",), id="serve-after-migrate"),
    ],
)
def test_concurrent_requests_get_their_own_answers(demo, tmp_path, command):
    if command == ("demo",):
        server = demo.server
    else:
        demo.server.stop()
        server = Server(demo.env, tmp_path / "serve.log", *command)
    try:
        server.wait_until_answering()
        expected = references(server.base)
        tally = hammer(server.base, expected)
        after = {path: fetch(server.base + path) for path in expected}
    finally:
        server.stop()
    total = CLIENTS * REQUESTS_PER_CLIENT
    log = server.log.read_text(errors="replace")
    wrong = total - tally["right"]
    assert wrong == 0, f"{wrong} of {total} answers wrong: {dict(tally)}; server log:\n{log[-3000:]}"
    # Nothing wrong was cached either: asked again alone, every path gives its reference answer.
    stale = [p for p, (kind, answer) in expected.items() if _answer(kind, *after[p]) != answer]
    assert stale == []
    assert "Traceback" not in log, log[-3000:]


def test_a_new_run_reaches_every_workers_cached_pages(demo, tmp_path):
    """Pages are cached in each worker; ``voicescount compute`` from another process makes drafts, which
    change no page; ``voicescount compute --publish`` publishes them and renews the stamp, and every
    following answer, from whichever worker, shows the new run."""
    demo.server.stop()
    server = Server(demo.env, tmp_path / "serve.log", "serve", "--no-migrate")
    try:
        server.wait_until_answering()
        code = _with_estimates(server.base, [row["code"] for row in _indicators(server.base)])[0]
        page = f"{server.base}/en/indicators/{code}/"
        before = {_runs(fetch(page)) for _ in range(20)}  # both workers have rendered and cached it
        with urllib.request.urlopen(urllib.request.Request(page, method="HEAD"), timeout=20) as head:
            assert (head.status, head.read()) == (200, b"")  # gunicorn sends HEAD's headers only
        study = json.loads(fetch(f"{server.base}/api/v1/studies")[1])["items"][0]["slug"]
        computed = subprocess.run(
            [*_voicescount(), "compute", study, "--force"],
            env=demo.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert computed.returncode == 0, computed.stdout + computed.stderr
        drafts = {_runs(fetch(page)) for _ in range(20)}  # computed, not published: the same page
        published = subprocess.run(
            [*_voicescount(), "compute", study, "--publish"],
            env=demo.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert published.returncode == 0, published.stdout + published.stderr
        assert "0 indicator(s) computed" in published.stdout and "run(s) published" in published.stdout
        after = {_runs(fetch(page)) for _ in range(20)}
    finally:
        server.stop()
    assert len(before) == 1 and len(after) == 1, (
        before,
        after,
        server.log.read_text(errors="replace")[-3000:],
    )
    assert drafts == before
    assert before != after and min(after.pop()) > max(before.pop())


def _indicators(base: str) -> list[dict]:
    status, body = fetch(f"{base}/api/v1/indicators?limit=1000")
    assert status == 200, body[:300]
    return json.loads(body)["items"]


def _runs(answer: tuple[int, bytes]) -> frozenset[int]:
    """The runs an indicator page links to (its breakdown pages)."""
    status, body = answer
    assert status == 200
    return frozenset(int(pk) for pk in re.findall(rb"/runs/(\d+)/", body))
