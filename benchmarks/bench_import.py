"""Benchmark the KoboToolbox import against a bare bulk insert of the same JSON rows (SQLite, PostgreSQL).

    .venv/bin/python benchmarks/bench_import.py                          # 100,000 records, both databases
    .venv/bin/python benchmarks/bench_import.py --records 20000 --database sqlite
    .venv/bin/python benchmarks/bench_import.py --records 20000 --database sqlite --profile
    .venv/bin/python benchmarks/bench_import.py --copies 7 --database sqlite     # 700,000 records, 1 GB

Each database gets a scratch copy: a SQLite file in a temporary directory, or a fresh PostgreSQL database
``voicescount_bench_<pid>`` on ``--postgres-url`` (default postgres://postgres@127.0.0.1:5432), dropped at
the end. It is migrated, given the reference data (framework + geography) and the demo study's instrument
(the 56-question bilingual XLSForm of ``voicescount/demo/survey.py``, with the demo's question roles and
consent questions), and N demo submissions are written as one KoboToolbox API v2 export file. Then, in
one run:

1. **VoicesCount** — ``read_records`` (kobo-json) → ``checker_for`` → ``import_records``: the real path
   (one transaction, dedup, consent, personal fields encrypted, rows written a chunk of 1,000 at a time
   with ``executemany`` on SQLite and ``COPY`` on PostgreSQL);
2. **bare insert** — what a naive importer without validation would do: stream the same export with the
   same parser (ijson, C backend), ``json.dumps`` each row and insert it into a plain table
   ``(id, payload text)`` in one transaction, ``executemany`` in chunks of 1,000 on SQLite and ``COPY`` on
   PostgreSQL;
3. the ratio of the two times (and of their CPU times: the machine may be shared), and the peak resident
   memory (Linux ``VmHWM``) of the VoicesCount import.
   The import runs in a fresh process, as ``voicescount import`` would, so the peak is that of Django
   plus the import, not of the reference-data loaders or of generating the export.

Two reading-only passes (reader alone; reader + checker) show where the time of step 1 goes. Every
database runs in its own child process (Django is configured once per process). The targets are not
asserted anywhere: this prints what it measures.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TARGET_RATE = 10_000  # submissions per second, SQLite
TARGET_RATIO = 3.0  # VoicesCount time / bare insert time
TARGET_MEMORY_MB = 300  # peak for a 1 GB export
CHUNK = 1000
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"


# --- memory ----------------------------------------------------------------------------------------


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/proc/self/status has no {field} line: this benchmark needs Linux.")
    return int(match.group(1))


def peak_memory_mb() -> float:
    return _status_kb("VmHWM") / 1024


def current_memory_mb() -> float:
    return _status_kb("VmRSS") / 1024


# --- scratch database --------------------------------------------------------------------------------


def _admin_execute(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def scratch_database(kind: str, tmp: Path, server_url: str) -> tuple[str, str | None]:
    """The ``DATABASE_URL`` of a new empty database, and the PostgreSQL database name to drop (or None)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.sqlite3'}", None
    name = f"voicescount_bench_{os.getpid()}"
    try:
        _admin_execute(server_url, f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    except Exception as exc:  # psycopg.OperationalError and friends: say which server and why
        raise SystemExit(f"Cannot create the scratch database {name} on {server_url}: {exc}") from None
    return f"{server_url.rstrip('/')}/{name}", name


def start_django(tmp: Path, database_url: str):
    """Start Django on the scratch database, migrate, load reference data; returns the demo organisation
    (also used by ``bench_indicators.py``)."""
    os.environ["VOICESCOUNT_DATA_DIR"] = str(tmp / "data")
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "voicescount.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from voicescount.accounts.demo import DEMO_COALITION
    from voicescount.accounts.models import Coalition, Organisation
    from voicescount.demo import load
    from voicescount.framework.loaders import load_all as load_framework
    from voicescount.geography.loaders import load_all as load_geography

    call_command("migrate", interactive=False, verbosity=0)
    load_framework()
    load_geography()
    with transaction.atomic():
        coalition = Coalition.objects.create(**DEMO_COALITION)
        return Organisation.objects.create(
            slug=load.ORGANISATION, name="Benchmark organisation", coalition=coalition
        )


def setup(kind: str, tmp: Path, database_url: str):
    """Django on the scratch database with the reference data, and the demo study's instrument."""
    organisation = start_django(tmp, database_url)
    from django.db import transaction

    from voicescount.collection.packages import load_study
    from voicescount.demo import load, survey

    with transaction.atomic():
        # the demo loader's own first step: the study package (study with its design, the instrument with
        # its roles and consent questions, the definitions)
        study = load_study(load.PACKAGE, organisation=organisation).study
        return study.instruments.get(form_id=survey.FORM_ID, version=survey.FORM_VERSION)


def write_export(path: Path, n: int, copies: int = 1) -> int:
    """Write ``n`` demo submissions as one KoboToolbox API v2 page; returns the file size in bytes.

    With ``copies`` > 1 the page holds the ``n`` submissions that many times, each copy with its own
    ``_id``, ``_uuid`` and ``meta/instanceID`` (so none is a duplicate): a large export (1 GB is about
    650,000 submissions) without holding that many generated records in memory.
    """
    from voicescount.demo import survey

    records = survey.generate_submissions(n=n)
    page = survey.kobo_page([])
    page["count"] = n * copies
    head = json.dumps(page, ensure_ascii=False)
    assert head.endswith('"results": []}')
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head[: -len("]}")])
        for copy in range(copies):
            for i, record in enumerate(records):
                if copy:
                    uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{record['_uuid']}/{copy}"))
                    record = {
                        **record,
                        "_id": record["_id"] + copy * n,
                        "_uuid": uid,
                        "meta/instanceID": f"uuid:{uid}",
                    }
                handle.write(("" if copy == 0 and i == 0 else ", ") + json.dumps(record, ensure_ascii=False))
        handle.write("]}")
    del records
    gc.collect()
    return path.stat().st_size


# --- the timed steps ---------------------------------------------------------------------------------


def time_reader(path: Path) -> tuple[float, int]:
    from voicescount.collection import importing

    start = time.perf_counter()
    count = sum(1 for _ in importing.read_records(path, "kobo-json"))
    return time.perf_counter() - start, count


def time_reader_checker(path: Path, instrument) -> float:
    from voicescount.collection import importing
    from voicescount.collection.checking import checker_for

    start = time.perf_counter()
    checker = checker_for(instrument)
    for record in importing.read_records(path, "kobo-json"):
        checker(record)
    return time.perf_counter() - start


def voicescount_import(path: Path, instrument):
    """The real path, as ``voicescount import`` and ``voicescount demo`` run it."""
    from voicescount.collection import batches, importing
    from voicescount.collection.checking import checker_for

    return batches.import_records(
        instrument,
        importing.read_records(path, "kobo-json", display_name=path.name),
        checker=checker_for(instrument),
        source="kobo-json",
        filename=path.name,
        file_sha256=importing.sha256_of(path),
        check_permission=False,
        workers=batches.import_workers(),
        form_check=batches.form_check_for(instrument, path.name),
    )


def bare_insert(path: Path, vendor: str) -> int:
    """Stream the export and insert each row's JSON text into a plain table, as a naive importer would."""
    import ijson
    from django.db import connection, transaction

    id_type = "BIGSERIAL PRIMARY KEY" if vendor == "postgresql" else "INTEGER PRIMARY KEY AUTOINCREMENT"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw")
        cursor.execute(f"CREATE TABLE bench_raw (id {id_type}, payload TEXT NOT NULL)")
    rows = 0
    with transaction.atomic(), connection.cursor() as cursor, open(path, "rb") as handle:
        items = ijson.items(handle, "results.item", use_float=True)
        if vendor == "postgresql":
            with cursor.cursor.copy("COPY bench_raw (payload) FROM STDIN") as copy:
                for item in items:
                    copy.write_row((json.dumps(item, ensure_ascii=False),))
                    rows += 1
        else:
            chunk: list[tuple[str]] = []
            for item in items:
                chunk.append((json.dumps(item, ensure_ascii=False),))
                if len(chunk) == CHUNK:
                    cursor.executemany("INSERT INTO bench_raw (payload) VALUES (%s)", chunk)
                    rows += len(chunk)
                    chunk = []
            if chunk:
                cursor.executemany("INSERT INTO bench_raw (payload) VALUES (%s)", chunk)
                rows += len(chunk)
    return rows


def _clear_import(instrument) -> None:
    """Remove what an import stored, so that the next import of the same file is not all duplicates."""
    from django.db import transaction

    from voicescount.collection.models import AuditEntry, ImportBatch, QuarantinedRecord, Submission

    with transaction.atomic():
        QuarantinedRecord.objects.filter(study=instrument.study).delete()
        Submission.objects.filter(study=instrument.study).delete()
        ImportBatch.objects.filter(study=instrument.study).delete()
        AuditEntry.objects.filter(study=instrument.study, action="import").delete()


def profile_import(path: Path, instrument, top: int) -> str:
    _clear_import(instrument)
    profiler = cProfile.Profile()
    profiler.enable()
    voicescount_import(path, instrument)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def run_one(kind: str, export: Path, server_url: str, profile: bool, top: int) -> dict[str, Any]:
    """Everything for one database, in this process (the import itself in a fresh child process)."""
    with tempfile.TemporaryDirectory(prefix="voicescount-bench-") as tmp_name:
        tmp = Path(tmp_name)
        database_url, pg_name = scratch_database(kind, tmp, server_url)
        try:
            return _measure(kind, export, tmp, database_url, profile, top)
        finally:
            if pg_name:
                from django.db import connections

                connections.close_all()
                _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _children_cpu() -> float:
    """CPU seconds of this process's finished child processes (the import's worker processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_in_fresh_process(export: Path) -> dict[str, Any]:
    """The timed VoicesCount import in a new process, as ``voicescount import`` would run it.

    A fresh process makes the peak RSS (VmHWM) that of the import and of Django alone, not of the
    reference-data loaders or of generating the export.
    """
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, __file__, "--import-only", str(export), "--json-out", out.name]
        subprocess.run(cmd, check=True, env=os.environ.copy())
        return json.loads(Path(out.name).read_text())


def import_only(export: Path) -> dict[str, Any]:
    """Child process body: start Django on the prepared database and import ``export`` once."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "voicescount.settings"
    import django

    django.setup()
    from voicescount.collection import batches
    from voicescount.collection.models import Instrument, Submission
    from voicescount.demo import survey

    instrument = Instrument.objects.select_related("study").get(
        form_id=survey.FORM_ID, version=survey.FORM_VERSION
    )
    rss_before = current_memory_mb()
    start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    report = voicescount_import(export, instrument)
    import_s = time.perf_counter() - start
    return {
        "import_s": import_s,
        "import_cpu_s": time.process_time() - cpu,
        "workers_cpu_s": _children_cpu() - children,
        # the largest resident set any finished child reached (Linux: kB), i.e. the bigger worker
        "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "workers": batches.import_workers(),
        "rss_before_mb": rss_before,
        "peak_mb": peak_memory_mb(),
        "accepted": report.accepted,
        "quarantined": report.quarantined,
        "duplicates": report.duplicates,
        "stored": Submission.objects.filter(study=instrument.study).count(),
    }


def _measure(
    kind: str, export: Path, tmp: Path, database_url: str, profile: bool, top: int
) -> dict[str, Any]:
    started = time.perf_counter()
    instrument = setup(kind, tmp, database_url)
    from django.db import connection

    print(f"[{kind}] database ready in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    read_s, count = time_reader(export)
    check_s = time_reader_checker(export, instrument)
    connection.close()  # the import runs in another process
    imported = import_in_fresh_process(export)

    start, cpu = time.perf_counter(), time.process_time()
    bare_rows = bare_insert(export, connection.vendor)
    bare_s = time.perf_counter() - start
    bare_cpu_s = time.process_time() - cpu

    result = {
        "database": kind,
        "server": f"SQLite {connection.Database.sqlite_version}"
        if kind == "sqlite"
        else f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}",
        "records": count,
        "read_records": count,
        "file_mb": export.stat().st_size / 1e6,
        "read_s": read_s,
        "read_check_s": check_s,
        "bare_s": bare_s,
        "bare_cpu_s": bare_cpu_s,
        "bare_rows": bare_rows,
        **imported,
    }
    if profile:
        result["profile"] = profile_import(export, instrument, top)
    return result


# --- output ------------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    """The figures of each database side by side, with the targets."""
    rows: list[tuple[str, ...]] = [("", *(r["server"] for r in results))]

    def add(label: str, fmt) -> None:
        rows.append((label, *(fmt(r) for r in results)))

    add("records (export size)", lambda r: f"{r['records']:,} ({r['file_mb']:.0f} MB)")
    add("reader only", lambda r: f"{r['read_s']:.1f} s  {r['records'] / r['read_s']:,.0f}/s")
    add("reader + checker", lambda r: f"{r['read_check_s']:.1f} s  {r['records'] / r['read_check_s']:,.0f}/s")
    add("VoicesCount import", lambda r: f"{r['import_s']:.1f} s  {r['records'] / r['import_s']:,.0f}/s")
    add(
        "  its CPU time (this process)",
        lambda r: f"{r['import_cpu_s']:.1f} s  {r['records'] / r['import_cpu_s']:,.0f}/s",
    )
    add(
        "  its workers' CPU time",
        lambda r: (
            f"{r['workers_cpu_s']:.1f} s in {r['workers']} process{'es' if r['workers'] > 1 else ''}"
            if r["workers"]
            else "no workers"
        ),
    )
    add("  accepted/quarantined/dup", lambda r: f"{r['accepted']:,}/{r['quarantined']:,}/{r['duplicates']:,}")
    add("bare bulk insert", lambda r: f"{r['bare_s']:.1f} s  {r['bare_rows'] / r['bare_s']:,.0f}/s")
    add("  its CPU time (this process)", lambda r: f"{r['bare_cpu_s']:.1f} s")
    add(f"ratio (target ≤ {TARGET_RATIO:g}×)", lambda r: f"{r['import_s'] / r['bare_s']:.2f}×")
    add(
        "  ratio of CPU times (with workers)",
        lambda r: f"{(r['import_cpu_s'] + r['workers_cpu_s']) / r['bare_cpu_s']:.2f}×",
    )
    add(
        "peak RSS of the import process",
        lambda r: (
            f"{r['peak_mb']:.0f} MB (+{r['peak_mb'] - r['rss_before_mb']:.0f} over {r['rss_before_mb']:.0f})"
        ),
    )
    add(
        "  peak RSS of the larger worker",
        lambda r: f"{r['worker_peak_mb']:.0f} MB" if r["workers"] else "no workers",
    )
    add(
        "  per MB of export",
        lambda r: f"{(r['peak_mb'] - r['rss_before_mb']) / r['file_mb']:.2f} MB/MB",
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def verdict(results: list[dict[str, Any]]) -> list[str]:
    notes = []
    for r in results:
        rate = r["records"] / r["import_s"]
        ok_rate = rate >= TARGET_RATE
        ok_ratio = r["import_s"] / r["bare_s"] <= TARGET_RATIO
        notes.append(
            f"{r['database']}: {rate:,.0f} submissions/s ({'meets' if ok_rate else 'misses'} "
            f"{TARGET_RATE:,}/s), ratio {r['import_s'] / r['bare_s']:.2f}× "
            f"({'meets' if ok_ratio else 'misses'} ≤ {TARGET_RATIO:g}×)"
        )
        if (
            r["stored"] != r["accepted"]
            or r["bare_rows"] != r["records"]
            or r["read_records"] != r["records"]
        ):
            notes.append(f"{r['database']}: COUNTS DISAGREE: {r}")
    return notes


def run_child(kind: str, export: Path, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, __file__, "--database", kind, "--postgres-url", args.postgres_url]
        cmd += ["--top", str(args.top), "--export", str(export), "--json-out", out.name]
        if args.profile:
            cmd.append("--profile")
        subprocess.run(cmd, check=True)
        return json.loads(Path(out.name).read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="demo submissions (at least 200)")
    parser.add_argument(
        "--copies",
        type=int,
        default=1,
        help="write the demo submissions this many times (new ids each time), e.g. 7 for a 1 GB export",
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES, help="server URL, without a database name"
    )
    parser.add_argument("--profile", action="store_true", help="also run the import under cProfile")
    parser.add_argument("--top", type=int, default=25, help="functions shown per profile ordering")
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--import-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.records < 200:
        parser.error(
            "--records must be at least 200 (the demo survey needs two communes per stratum), "
            f"got {args.records}"
        )

    if args.import_only:  # grandchild: the timed import, in a fresh process
        Path(args.json_out).write_text(json.dumps(import_only(args.import_only)))
        return
    if args.json_out:  # child: one database
        result = run_one(args.database, args.export, args.postgres_url, args.profile, args.top)
        Path(args.json_out).write_text(json.dumps(result))
        return
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    with tempfile.TemporaryDirectory(prefix="voicescount-bench-export-") as tmp:
        export = Path(tmp) / "kobo-export.json"
        started = time.perf_counter()
        size = write_export(export, args.records, args.copies)
        print(
            f"{args.records * args.copies:,} demo submissions written as one Kobo export "
            f"({size / 1e6:.1f} MB) "
            f"in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        results = [run_child(kind, export, args) for kind in kinds]
    for r in results:
        if "profile" in r:
            print(f"\n=== cProfile of the VoicesCount import on {r['server']} ===\n{r['profile']}")
    print()
    print(table(results))
    print()
    print("\n".join(verdict(results)))


if __name__ == "__main__":
    main()
