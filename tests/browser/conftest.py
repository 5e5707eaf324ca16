"""Browser tests against a real demo site: ``voicescount demo`` builds it in a temporary data directory and
``voicescount serve`` (gunicorn, whitenoise) serves it on a free port; Debian's chromium drives it through
Playwright. Nothing is downloaded at run time: ``scripts/install_browser.sh`` installs /usr/bin/chromium, the
``playwright`` package comes with the test extra and axe-core with ``npm install``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
AXE_SCRIPT = REPO / "node_modules" / "axe-core" / "axe.min.js"
DEMO_RESPONDENTS = 400
SERVER_START_TIMEOUT = 60.0
# The demo and the server must use their own SQLite database in the temporary data directory, in the demo
# mode, whatever the calling shell has configured.
ISOLATED_ENV = (
    "DATABASE_URL",
    "VOICESCOUNT_DATA_DIR",
    "VOICESCOUNT_MODE",
    "VOICESCOUNT_ALLOWED_HOSTS",
    "VOICESCOUNT_LANGUAGE",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's chromium through Playwright against a demo site"
    )


def missing_browser_requirement() -> str | None:
    """Why the browser tests cannot run here, or None when chromium and Playwright are both installed."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: run scripts/install_browser.sh as root (installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "the Python package playwright is missing: pip install -e '.[test]' (or pip install playwright)"
        )
    return None


def _voicescount_command() -> list[str]:
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


def _wait_until_answering(
    url: str, server: subprocess.Popen, log: Path, timeout: float = SERVER_START_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(
                f"voicescount serve exited with code {server.returncode} before answering; its output:\n"
                + log.read_text(errors="replace")
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(
        f"voicescount serve did not answer {url} within {timeout:.0f} s; output:\n"
        + log.read_text(errors="replace")
    )


def _stop(server: subprocess.Popen) -> None:
    """Stop gunicorn and its workers: the server runs in its own process group, started by this fixture."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory: pytest.TempPathFactory):
    """Base URL of a running demo site (400 synthetic respondents), built and served once per session."""
    reason = missing_browser_requirement()
    if reason:
        pytest.skip(reason)
    data_dir = tmp_path_factory.mktemp("voicescount-demo")
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    command = _voicescount_command()
    built = subprocess.run(
        [*command, "demo", "--no-serve", "--respondents", str(DEMO_RESPONDENTS), "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0:
        raise RuntimeError(
            f"voicescount demo failed with code {built.returncode}:\n{built.stdout}\n{built.stderr}"
        )
    port = _free_port()
    log = data_dir / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                *command,
                "serve",
                "--data-dir",
                str(data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(f"{base_url}/en/about/", server, log)
        yield base_url
    finally:
        _stop(server)


@pytest.fixture(scope="session")
def demo_with_worker(tmp_path_factory):
    """``voicescount demo`` (it serves and runs a job worker) on a free port: its base URL. One per session
    (per xdist worker): the modules that change its data (imports, pulls, computations) share it."""
    data_dir = tmp_path_factory.mktemp("voicescount-jobs-demo")
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    port = _free_port()
    log = data_dir / "demo.log"
    command = [
        str(Path(sys.executable).with_name("voicescount")),
        "demo",
        "--respondents",
        "200",
        "--data-dir",
        str(data_dir),
    ]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, "--port", str(port), "--workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # the demo builds its data before it serves: longer than a plain server takes to start
        _wait_until_answering(f"{base_url}/en/about/", server, log, timeout=2 * SERVER_START_TIMEOUT)
        yield base_url
    finally:
        _stop(server)


@pytest.fixture(scope="module")
def chromium(demo_site):
    """Debian's chromium, headless, driven by Playwright (no browser download).

    Module-scoped on purpose: while Playwright's sync API is started, an asyncio loop counts as running in
    this thread, and Django then refuses database access (SynchronousOnlyOperation) in the tests that follow.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def js_errors() -> list[str]:
    """Uncaught exceptions and console errors of the page under test."""
    return []


def _record_console_error(message, errors: list[str]) -> None:
    # The site has no /favicon.ico; chromium asks for it by itself, which is not an error of the page.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(f"console: {message.text} ({message.location.get('url')})")


@pytest.fixture
def page(chromium, demo_site, js_errors):
    """A fresh browser tab (its own context: cookies, language) on the demo site."""
    context = chromium.new_context(
        base_url=demo_site, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("pageerror", lambda error: js_errors.append(f"uncaught: {error}"))
    tab.on("console", lambda message: _record_console_error(message, js_errors))
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: $VOICESCOUNT_ARTIFACTS or tests/browser/artifacts (not committed)."""
    directory = Path(os.environ.get("VOICESCOUNT_ARTIFACTS") or Path(__file__).parent / "artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def axe_script() -> str:
    """The axe-core engine from node_modules (installed by npm from package.json)."""
    if not AXE_SCRIPT.exists():
        pytest.skip(
            f"{AXE_SCRIPT.relative_to(REPO)} is missing: run npm install (package.json must list axe-core)"
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def serious_violations(page, axe_script: str) -> dict[str, list[str]]:
    """axe-core's serious and critical violations on the page as it is: rule id → the elements."""
    page.add_script_tag(content=axe_script)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return {
        v["id"]: [" ".join(map(str, node["target"])) for node in v["nodes"]]
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    }
