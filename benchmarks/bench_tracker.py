"""Benchmark the public tracker: the static export, the JSON API under load, and Open SDG's builder.

    .venv/bin/python benchmarks/bench_tracker.py                         # demo in a fresh data dir
    .venv/bin/python benchmarks/bench_tracker.py --data-dir /tmp/t2data  # an existing (demo) data dir
    .venv/bin/python benchmarks/bench_tracker.py --sdg-build-venv /tmp/sdgbuild --duration 20

In one run:

1. **Static export** — ``voicescount publish OUT`` in a fresh process, timed from start to exit (Django
   start-up included, as a user sees it): every public page in both languages (home, 17 goals, a page for
   every indicator of the global framework whether it has community data or not, every breakdown of every
   published run, the map), the JSON API files, the downloads (CSV, SDMX-CSV, SDMX-ML, Open SDG), the data
   package and the static assets. Files, bytes, indicator pages per language against the framework's
   indicators, and the heaviest page before charts (see ``static_site.page_weight``) are reported.
   Without ``--data-dir`` the demo is first loaded into a temporary data dir (``voicescount demo
   --no-serve``; not timed).
2. **JSON API under load** — ``voicescount serve`` (gunicorn, ``--workers``) on a free loopback port in a
   second process, and ``wrk --latency`` in a third, on the dynamic indicator endpoint
   ``/api/v1/indicators/<code>/estimates?by=…`` rotating over the published indicators and their
   breakdowns: (a) as served, where the responses are cached for five minutes (after a warm-up), and
   (b) response-cache misses only — a unique query string on every request, so every response is computed
   (filtered, validated, serialised, stored), from what the workers keep: the latest-run lookup (one
   minute) and each run's estimates (which never change). Without
   wrk a small multi-process Python load generator is used instead (and says so). Both the server and the
   load generator share this machine's cores. Then the public pages as an anonymous visitor sees them:
   the indicator pages of the published indicators (both languages) and the home page, after a warm-up
   (rendered once per worker and publication stamp, then answered from the page cache; ``--cache-url
   dummy:`` serves them without it, as before issue 12).
3. **Open SDG's builder** — where ``sdg-build`` can be imported from ``--sdg-build-venv``'s Python (created
   and ``pip install sdg-build`` tried when it does not exist), the same indicators are built with it:
   our Open SDG export (the ``open-sdg/`` data repository of the data package ``voicescount publish``
   wrote: ``data/indicator_x-y-z.csv``, ``meta/x-y-z.md``, ``translations/{vi,en}/``) plus a metadata
   file for every other framework indicator, ``open_sdg_build`` with languages vi and en and no remote
   translations, timed in a fresh process the same way. sdg-build writes the data and metadata
   JSON/CSV an Open SDG (Jekyll) site is then rendered from, not the HTML pages: the ratio compares our
   whole site with its data step only. When it cannot be installed the reason is printed and it is skipped.

Nothing is asserted; the table gives each figure beside its target (issue 6: export < 30 s; the indicator
endpoint ≥ 500 requests/s with p99 < 100 ms on a 2-core machine; issue 12: the public indicator page
≥ 300 requests/s with p99 < 100 ms on 2 workers).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent
VOICESCOUNT = BIN / "voicescount"

TARGET_PUBLISH_S = 30.0
TARGET_RPS = 500.0
TARGET_PAGE_RPS = 300.0
TARGET_P99_MS = 100.0
PAGE_LIMIT = 500 * 1024
BREAKDOWNS = ("SEX", "AGE", "URBANISATION", "DISABILITY_STATUS", "REGION", "AGE,SEX")


# --- helpers -----------------------------------------------------------------------------------------


def run(cmd: list[str], env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env={**os.environ, **(env or {})}, text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def django_setup(data_dir: Path) -> None:
    os.environ["VOICESCOUNT_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicescount.settings")
    import django

    django.setup()


# --- 1. static export ------------------------------------------------------------------------------------


def load_demo(data_dir: Path, respondents: int) -> float:
    print(f"Loading the demo ({respondents} respondents) into {data_dir} …", flush=True)
    started = time.perf_counter()
    done = run(
        [
            str(VOICESCOUNT),
            "demo",
            "--no-serve",
            "--data-dir",
            str(data_dir),
            "--respondents",
            str(respondents),
        ],
        capture_output=True,
    )
    if done.returncode != 0:
        sys.exit(f"voicescount demo failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def time_publish(data_dir: Path, out: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    print(f"Publishing the site to {out} …", flush=True)
    started = time.perf_counter()
    cpu_before = os.times()
    done = run(
        [str(VOICESCOUNT), "publish", str(out)],
        env={"VOICESCOUNT_DATA_DIR": str(data_dir)},
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    cpu_after = os.times()
    if done.returncode != 0:
        sys.exit(f"voicescount publish failed:\n{done.stdout}\n{done.stderr}")
    files = [p for p in out.rglob("*") if p.is_file()]
    return {
        "seconds": seconds,
        "cpu_seconds": (cpu_after.children_user - cpu_before.children_user)
        + (cpu_after.children_system - cpu_before.children_system),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
    }


def site_facts(out: Path) -> dict[str, Any]:
    """Indicator pages per language against the framework, and the heaviest page before charts."""
    from django.conf import settings

    from voicescount.framework.models import GLOBAL, Indicator
    from voicescount.publishing.static_site import page_weight

    codes = set(Indicator.objects.filter(framework__code=GLOBAL).values_list("code", flat=True))
    pages = {
        lang: {code for code in codes if (out / lang / "indicators" / code / "index.html").is_file()}
        for lang, _ in settings.LANGUAGES
    }
    heaviest = max(((page_weight(out, p), p) for p in out.rglob("*.html")), key=lambda item: item[0]["total"])
    return {
        "framework_indicators": len(codes),
        "indicator_pages": {lang: len(found) for lang, found in pages.items()},
        "heaviest_page": str(heaviest[1].relative_to(out)),
        "heaviest_weight": heaviest[0],
    }


# --- 2. the API under load ---------------------------------------------------------------------------------


def api_urls(out: Path) -> list[str]:
    """Estimate URLs of the published indicators, for the breakdowns each one has (from the export)."""
    urls = []
    for path in sorted((out / "api/v1/indicators").glob("*/estimates.json")):
        code = path.parent.name
        items = json.loads(path.read_text(encoding="utf-8"))["items"]
        have = {",".join(sorted(i["dimensions"])) for i in items}
        urls += [f"/api/v1/indicators/{code}/estimates?by={by}" for by in BREAKDOWNS if by in have]
    return urls


def page_paths(out: Path) -> dict[str, list[str]]:
    """Public pages to load: the indicator pages with published estimates (both languages), the home page."""
    codes = sorted(p.parent.name for p in (out / "api/v1/indicators").glob("*/estimates.json"))
    return {
        "indicator page": [f"/{lang}/indicators/{code}/" for code in codes for lang in ("vi", "en")],
        "home page": ["/vi/", "/en/"],
    }


def start_server(data_dir: Path, port: int, workers: int, cache_url: str = "") -> subprocess.Popen:
    cmd = [str(VOICESCOUNT), "serve", "--no-migrate", "--port", str(port), "--workers", str(workers)]
    log = tempfile.TemporaryFile(mode="w+")
    env = {**os.environ, "VOICESCOUNT_DATA_DIR": str(data_dir)}
    if cache_url:
        env["VOICESCOUNT_CACHE_URL"] = cache_url
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    server.log = log  # type: ignore[attr-defined]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            sys.exit(f"voicescount serve stopped:\n{log.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/goals", timeout=5) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit("voicescount serve did not answer within 90 s")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()  # gunicorn: graceful stop of the master and its workers
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


WRK_SCRIPT = """
local paths = {%(paths)s}
local unique = %(unique)s
local n = 0
request = function()
  n = n + 1
  local path = paths[(n %% #paths) + 1]
  if unique then
    path = path .. "&nocache=" .. n .. "-" .. math.random(1, 1000000000)
  end
  return wrk.format("GET", path)
end
"""


def wrk(port: int, paths: list[str], unique: bool, seconds: int, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        lua_paths = ", ".join(json.dumps(p) for p in paths)
        script.write(WRK_SCRIPT % {"paths": lua_paths, "unique": "true" if unique else "false"})
    try:
        done = run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
        )
    finally:
        os.unlink(script.name)
    return parse_wrk(done.stdout + done.stderr)


def parse_wrk(text: str) -> dict[str, Any]:
    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]

    percentiles = {
        int(p): ms(v, u)
        for p, v, u in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    }
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    if rps is None or 99 not in percentiles:
        sys.exit(f"Could not read wrk's output:\n{text}")
    return {
        "tool": "wrk",
        "rps": float(rps.group(1)),
        "p50_ms": percentiles[50],
        "p99_ms": percentiles[99],
        "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def _python_load_worker(port: int, paths: list[str], unique: bool, seconds: float, seed: int, queue) -> None:
    import http.client

    latencies, bad, n = [], 0, seed * 1_000_000
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        n += 1
        path = paths[n % len(paths)] + (f"&nocache={n}" if unique else "")
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        conn.close()
        latencies.append(time.perf_counter() - started)
        bad += response.status != 200
    queue.put((latencies, bad))


def python_load(port: int, paths: list[str], unique: bool, seconds: int, connections: int) -> dict:
    """Fallback when wrk is missing: ``connections`` processes, one request at a time each."""
    import multiprocessing

    queue = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_python_load_worker, args=(port, paths, unique, seconds, i, queue))
        for i in range(connections)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    latencies = sorted(x for lat, _ in results for x in lat)
    q = statistics.quantiles(latencies, n=100)
    return {
        "tool": "python",
        "rps": len(latencies) / seconds,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "requests": len(latencies),
        "non_2xx": sum(bad for _, bad in results),
        "socket_errors": "",
    }


def load_test(data_dir: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    paths = api_urls(out)
    if not paths:
        return {"skipped": "the export has no published estimates"}
    port = free_port()
    print(
        f"Serving on 127.0.0.1:{port} with {args.workers} gunicorn workers; {len(paths)} URLs …", flush=True
    )
    server = start_server(data_dir, port, args.workers, args.cache_url)
    use_wrk = shutil.which("wrk") is not None

    def load(urls: list[str], unique: bool, seconds: int) -> dict:
        if use_wrk:
            return wrk(port, urls, unique, seconds, args.connections, args.threads)
        return python_load(port, urls, unique, seconds, args.connections)

    pages: dict[str, dict] = {}
    try:
        load(paths, False, 3)  # warm-up: every worker computes (and caches) every URL
        cached = load(paths, False, args.duration)
        misses = load(paths, True, args.duration)
        for label, urls in page_paths(out).items():
            # Warm-up: every worker renders (and, with a cache, keeps) every page once; pages take far
            # longer to render than API answers, so warm up until a pass is fast or a minute has gone.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if load(urls, False, 3)["p99_ms"] < TARGET_P99_MS:
                    break
            pages[label] = load(urls, False, args.duration)
    finally:
        stop_server(server)
    return {
        "urls": paths,
        "cached": cached,
        "misses": misses,
        "pages": pages,
        "workers": args.workers,
        "cache_url": args.cache_url or "default (locmem:)",
    }


# --- 3. Open SDG's sdg-build -----------------------------------------------------------------------------


def sdg_build_python(venv: Path, install: bool) -> tuple[Path | None, str]:
    """The venv's Python if it can import sdg-build (after trying to install it), else the reason."""
    python = venv / "bin" / "python"
    if not python.exists() and install:
        print(f"Creating {venv} and trying `pip install sdg-build` …", flush=True)
        made = run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
        if made.returncode != 0:
            return None, f"could not create the venv {venv}: {made.stderr.strip()[-200:]}"
        pip = run([str(python), "-m", "pip", "install", "-q", "sdg-build"], capture_output=True)
        if pip.returncode != 0:
            last = [line for line in pip.stderr.splitlines() if line.startswith("ERROR")][-1:]
            return None, (
                f"`pip install sdg-build` failed ({last[0] if last else 'pip exit ' + str(pip.returncode)}): "
                "sdg-build is published on GitHub (open-sdg/sdg-build), not on PyPI. Install a checkout into "
                "the venv (it needs yamlmd from github.com/dougmet/yamlmd and numpy<2 for its pandas 1.x) "
                "and pass --sdg-build-venv"
            )
    if not python.exists():
        return None, f"no Python at {python} (pass --sdg-build-venv)"
    probe = run(
        [str(python), "-c", "import sdg, importlib.metadata as m; print(m.version('sdg'))"],
        capture_output=True,
    )
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        return None, f"{python} cannot import sdg-build: {reason}"
    return python, probe.stdout.strip()


def open_sdg_input(out: Path, src: Path) -> dict[str, Any]:
    """An Open SDG data repository: the data package's ``open-sdg/`` folder (data/, meta/, meta/vi/,
    translations/) as ``voicescount publish`` wrote it, plus a metadata file for every other framework
    indicator (reporting status ``notstarted``)."""
    import yaml

    from voicescount.framework.models import GLOBAL, Indicator

    package = next(out.glob("*/open-data/voicescount-open-data.zip"))
    with zipfile.ZipFile(package) as zf:
        for name in zf.namelist():
            if name.startswith("open-sdg/") and not name.endswith("/"):
                target = src / name.removeprefix("open-sdg/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
    fields = set()
    for path in (src / "meta").glob("*.md"):
        fields |= set(yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1]))
    indicators = Indicator.objects.filter(framework__code=GLOBAL).order_by("sort_key")
    for indicator in indicators:
        path = src / "meta" / f"{indicator.code.replace('.', '-')}.md"
        if not path.exists():
            fields_of = {
                "indicator_number": indicator.code,
                "indicator_name": indicator.title_en,
                "reporting_status": "notstarted",
                "data_non_statistical": False,
            }
            path.write_text(f"---\n{yaml.safe_dump(fields_of, allow_unicode=True)}---\n", encoding="utf-8")
    with_data = len(list((src / "data").glob("indicator_*.csv")))
    return {"indicators": indicators.count(), "with_data": with_data, "fields": sorted(fields)}


SDG_BUILD_DRIVER = """
import sys
import sdg
ok = sdg.open_sdg_build(config=sys.argv[1])
sys.exit(0 if ok else 1)
"""


def time_sdg_build(python: Path, out: Path, work: Path) -> dict[str, Any]:
    src = work / "open-sdg-data"
    shutil.rmtree(work, ignore_errors=True)
    counts = open_sdg_input(out, src)
    schema_fields = counts.pop("fields")
    (work / "config.yml").write_text(
        textwrap.dedent(
            f"""\
            languages: [vi, en]
            src_dir: {src.name}
            site_dir: _site
            schema_file: ../schema.yml
            inputs:
              - class: InputCsvData
                path_pattern: data/*.csv
              - class: InputYamlMdMeta
                path_pattern: meta/*.md
                git: false
            translations:
              - class: TranslationInputYaml
                source: translations
            docs_branding: VoicesCount benchmark
            """
        ),
        encoding="utf-8",
    )
    # A metadata schema (Prose.io format, as Open SDG sites have) naming the fields we write.
    fields = "".join(
        f'      - name: "{key}"\n        field:\n          element: text\n          label: "{key}"\n'
        for key in schema_fields
    )
    (work / "schema.yml").write_text(f"prose:\n  metadata:\n    meta:\n{fields}", encoding="utf-8")
    (work / "driver.py").write_text(SDG_BUILD_DRIVER, encoding="utf-8")
    print(
        f"Running sdg-build on {counts['indicators']} indicators ({counts['with_data']} with data) …",
        flush=True,
    )
    started = time.perf_counter()
    cpu_before = os.times()
    done = run(
        [str(python), str(work / "driver.py"), str(work / "config.yml")], capture_output=True, cwd=work
    )
    seconds = time.perf_counter() - started
    cpu_after = os.times()
    files = [p for p in (work / "_site").rglob("*") if p.is_file()]
    result = {
        **counts,
        "seconds": seconds,
        "cpu_seconds": (cpu_after.children_user - cpu_before.children_user)
        + (cpu_after.children_system - cpu_before.children_system),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "returncode": done.returncode,
    }
    if done.returncode != 0:
        result["error"] = (done.stderr.strip().splitlines() or [done.stdout.strip()])[-1][:300]
    return result


# --- output ------------------------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, str]]) -> str:
    rows = [("measure", "measured", "target"), *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(publish: dict, facts: dict, api: dict, sdg: dict) -> str:
    rows = [
        (
            "voicescount publish (wall)",
            f"{publish['seconds']:.1f} s (CPU {publish['cpu_seconds']:.1f} s)",
            f"< {TARGET_PUBLISH_S:g} s: {met(publish['seconds'] < TARGET_PUBLISH_S)}",
        ),
        ("  files written", f"{publish['files']:,} ({publish['bytes'] / 1e6:.1f} MB)", ""),
        (
            "  indicator pages (vi / en)",
            " / ".join(str(n) for n in facts["indicator_pages"].values())
            + f" of {facts['framework_indicators']} framework indicators",
            "",
        ),
        (
            "  heaviest page before charts",
            f"{facts['heaviest_weight']['total'] / 1024:.0f} KB ({facts['heaviest_page']})",
            f"≤ 500 KB: {met(facts['heaviest_weight']['total'] <= PAGE_LIMIT)}",
        ),
    ]
    if "skipped" in api:
        rows.append(("API load test", "skipped: " + api["skipped"], ""))
    else:
        for label, r in (("as served (cached 5 min)", api["cached"]), ("response not cached", api["misses"])):
            ok = r["rps"] >= TARGET_RPS and r["p99_ms"] < TARGET_P99_MS and r["non_2xx"] == 0
            rows.append(
                (
                    f"API estimates, {label} ({r['tool']}, {api['workers']} workers)",
                    f"{r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
                    + (f", {r['non_2xx']} non-2xx" if r["non_2xx"] else "")
                    + (f", socket errors {r['socket_errors']}" if r["socket_errors"] else ""),
                    f"≥ {TARGET_RPS:g}/s, p99 < {TARGET_P99_MS:g} ms: {met(ok)}",
                )
            )
        for label, r in api.get("pages", {}).items():
            ok = r["rps"] >= TARGET_PAGE_RPS and r["p99_ms"] < TARGET_P99_MS and r["non_2xx"] == 0
            rows.append(
                (
                    f"{label}, as served ({r['tool']}, {api['workers']} workers, cache {api['cache_url']})",
                    f"{r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
                    + (f", {r['non_2xx']} non-2xx" if r["non_2xx"] else ""),
                    f"≥ {TARGET_PAGE_RPS:g}/s, p99 < {TARGET_P99_MS:g} ms: {met(ok)}",
                )
            )
    if "skipped" in sdg:
        rows.append(("sdg-build", "skipped: " + sdg["skipped"], ""))
    else:
        status = "" if sdg["returncode"] == 0 else f" — FAILED: {sdg.get('error', '')}"
        rows.append(
            (
                f"sdg-build {sdg['version']} (data step only)",
                f"{sdg['seconds']:.1f} s (CPU {sdg['cpu_seconds']:.1f} s), {sdg['files']:,} files "
                f"({sdg['bytes'] / 1e6:.1f} MB), {sdg['indicators']} indicators{status}",
                "",
            )
        )
        rows.append(
            (
                "  ratio publish / sdg-build",
                f"{publish['seconds'] / sdg['seconds']:.2f}× wall, "
                f"{publish['cpu_seconds'] / max(sdg['cpu_seconds'], 0.01):.2f}× CPU",
                "",
            )
        )
    return table(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="an existing data dir with the demo (default: load it)")
    parser.add_argument("--respondents", type=int, default=3000, help="demo size when loading it")
    parser.add_argument("--out", type=Path, help="where to publish (default: a temporary directory)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of voicescount serve")
    parser.add_argument("--duration", type=int, default=15, help="seconds of each load test")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--cache-url", default="", help="VOICESCOUNT_CACHE_URL of the server (dummy: for no page cache)"
    )
    parser.add_argument("--skip-publish", action="store_true", help="reuse the site already in --out")
    parser.add_argument("--sdg-build-venv", type=Path, default=Path("/tmp/sdgbuild"))
    parser.add_argument("--no-sdg-build-install", action="store_true", help="do not create/install the venv")
    parser.add_argument("--skip-sdg-build", action="store_true")
    parser.add_argument("--skip-load", action="store_true", help="no API load test")
    parser.add_argument("--json-out", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = args.data_dir.resolve() if args.data_dir else tmp / "data"
        if args.data_dir is None:
            load_demo(data_dir, args.respondents)
        elif not (data_dir / "voicescount.sqlite3").exists() and "DATABASE_URL" not in os.environ:
            sys.exit(f"{data_dir} has no database; run `voicescount demo --no-serve --data-dir {data_dir}`")
        out = (args.out or tmp / "site").resolve()
        if args.skip_publish and out.is_dir():
            publish = {"seconds": float("nan"), "cpu_seconds": float("nan"), "files": 0, "bytes": 0}
        else:
            publish = time_publish(data_dir, out)
        django_setup(data_dir)
        facts = site_facts(out)
        api = {"skipped": "--skip-load"} if args.skip_load else load_test(data_dir, out, args)
        sdg: dict[str, Any]
        if args.skip_sdg_build:
            sdg = {"skipped": "--skip-sdg-build"}
        else:
            python, info = sdg_build_python(args.sdg_build_venv, not args.no_sdg_build_install)
            if python is None:
                sdg = {"skipped": info}
            else:
                sdg = {"version": info, **time_sdg_build(python, out, tmp / "sdg-build")}
        print()
        print(report(publish, facts, api, sdg))
        print(
            f"\nMachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end "
            "(the server, the load generator and anything else running share them)."
        )
        if args.json_out:
            figures = {"publish": publish, "site": facts, "api": api, "sdg_build": sdg}
            args.json_out.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
