"""Do readers wait on an import? Public answers timed while a large import writes (SQLite, embedded mode).

    .venv/bin/python benchmarks/bench_reads_during_import.py                    # 120,000 submissions
    .venv/bin/python benchmarks/bench_reads_during_import.py --records 40000
    .venv/bin/python benchmarks/bench_reads_during_import.py --code /tmp/old/src  # another checkout's code

One run, in a temporary data directory: ``voicescount demo --no-serve`` (400 respondents), a KoboToolbox
export of N demo submissions (``bench_import.write_export``), ``voicescount serve --workers 2``; then a
client asks, one request after another, for the public indicator page and for an API answer that no cache
holds (a new query string each time, so the database is read) — first for a few seconds with nothing else
running, then for as long as ``voicescount import`` of the export runs. It prints the latency of each
(median, p99, maximum) and how many answers were not 200.

The import writes its whole batch in one transaction ("all or nothing"); in SQLite's rollback-journal mode
the writer locks readers out once the batch no longer fits in its page cache (pages stalled up to 18 s in
the hardening issue). In WAL mode (``config.SQLITE_OPTIONS``) readers read the last committed state.
Nothing is asserted: this prints what it measures.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
BIN = Path(sys.executable).with_name("voicescount")
PAGE = "/en/indicators/1.3.1/"
API = "/api/v1/indicators/1.3.1/estimates?by=SEX&n={i}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        status = 0
    return time.perf_counter() - started, status


def poll(base: str, until) -> dict[str, list[tuple[float, int]]]:
    seen: dict[str, list[tuple[float, int]]] = {"page": [], "api": []}
    i = 0
    while not until():
        seen["page"].append(fetch(base + PAGE))
        seen["api"].append(fetch(base + API.format(i=i)))
        i += 1
        time.sleep(0.05)
    return seen


def summary(name: str, timings: list[tuple[float, int]]) -> str:
    times = sorted(t for t, _ in timings)
    if not times:
        return f"{name}: no requests"
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    bad = sum(status != 200 for _, status in timings)
    return (
        f"{name:<34} {len(times):>5} requests  median {statistics.median(times) * 1000:7.1f} ms  "
        f"p99 {p99 * 1000:8.1f} ms  max {times[-1] * 1000:8.1f} ms  not 200: {bad}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=120_000)
    parser.add_argument("--code", help="src directory of another checkout to run instead of this one")
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VOICESCOUNT_MODE")}
    if args.code:
        env["PYTHONPATH"] = args.code
    with tempfile.TemporaryDirectory(prefix="vc-reads-") as tmp:
        data = Path(tmp) / "data"
        env["VOICESCOUNT_DATA_DIR"] = str(data)
        subprocess.run(
            [BIN, "demo", "--no-serve", "--respondents", "400"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        from bench_import import write_export

        export = Path(tmp) / "export.json"
        per_copy = min(args.records, 40_000)
        write_export(export, per_copy, copies=max(1, args.records // per_copy))
        port = free_port()
        server = subprocess.Popen(
            [BIN, "serve", "--workers", "2", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                if fetch(base + "/en/")[1] == 200:
                    break
                time.sleep(0.2)
            quiet_until = time.monotonic() + 5
            quiet = poll(base, lambda: time.monotonic() > quiet_until)
            started = time.monotonic()
            importer = subprocess.Popen(
                [BIN, "import", "vn-cgd-2022", str(export), "--format", "kobo-json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            busy = poll(base, lambda: importer.poll() is not None)
            seconds = time.monotonic() - started
            output = importer.stdout.read() if importer.stdout else ""
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    print(
        f"code: {args.code or REPO / 'src'}   import of {args.records:,} submissions: {seconds:.1f} s "
        f"(exit {importer.returncode})"
    )
    print(output.strip().splitlines()[-1] if output.strip() else "")
    print(summary("indicator page, nothing running", quiet["page"]))
    print(summary("indicator page, during the import", busy["page"]))
    print(summary("uncached API, nothing running", quiet["api"]))
    print(summary("uncached API, during the import", busy["api"]))


if __name__ == "__main__":
    main()
