"""Benchmark indicator computation: the demo study, and a 1,000,000-respondent study, beside R's survey.

    .venv/bin/python benchmarks/bench_indicators.py                       # demo + 1,000,000 respondents
    .venv/bin/python benchmarks/bench_indicators.py --respondents 200000  # a smaller large study
    .venv/bin/python benchmarks/bench_indicators.py --skip-large          # the demo only
    .venv/bin/python benchmarks/bench_indicators.py --database postgres   # on a scratch PostgreSQL database
    .venv/bin/python benchmarks/bench_indicators.py --keep /tmp/b1m       # keep (then reuse) the database

What one run does, on a scratch database it creates and removes (SQLite file in a temporary directory,
or PostgreSQL database ``voicescount_bench_ind_<pid>``):

1. migrates, loads the reference data and the **demo study** through the real pipeline (3,000 synthetic
   respondents, 25 definitions; ``voicescount/demo``), then times ``compute_study(force=True)`` — all 25
   definitions, every requested intersection with its margins, disclosure control, LNOB analytics, the
   rows written — three times (target: under 2 s);
2. builds a **large study** of N respondents (default 1,000,000) by replicating the demo's stored
   answers, each replica with its own PSUs (communes) and respondent ids, and weights divided by the
   number of replicas. It gets **20 definitions**: the demo's 20 definitions with the most respondents in
   their universe, each with the same 5 dimensions (sex, age, disability from the WG-SS items,
   urban/rural, region) and the intersections sex × age, region × urban/rural and all five together
   (with every margin). The rows are inserted directly (setup, not timed); then ``compute_study`` is
   timed twice, each time in a fresh process (``--measure``) so that its peak resident memory
   (``getrusage``: the process, and the largest of its worker processes) is its own: first with the
   study's **analysis snapshot** still to be built (reading the submissions, writing the Parquet file),
   then with it already built — from the snapshot to the estimates stored (targets, issue 13: under 30 s
   end to end and under 1.5 GB). Each prints its END TO END wall time, its CPU time (user+sys of the
   process, and of its worker processes: snapshot build and estimation) and its PEAK RSS;
3. **R side by side**: for one large-study indicator (the first), an extract of the same snapshot — the
   outcome, design variables and dimensions — is written to a CSV (``BENCH_KEEP_EXTRACT=FILE`` keeps a
   copy) and R's survey package computes the total and the five one-way breakdowns with
   ``svymean``/``svyby`` (only the computation is timed inside R). The estimates and standard errors are
   compared with ours.

Nothing is asserted; the figures are printed. Targets come from issues 5 and 13.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

FIVE = ("SEX", "AGE", "DISABILITY_STATUS", "URBANISATION", "REGION")
LARGE_INTERSECTIONS = [["SEX", "AGE"], ["REGION", "URBANISATION"], list(FIVE)]

R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(stratum = "character", psu = "character"), na.strings = c("NA", ""))
design <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
design <- subset(design, !is.na(y))
out <- list()
elapsed <- system.time({
  t <- svymean(~y, design)
  out[["_T"]] <- data.frame(dim = "_T", code = "_T", est = as.numeric(coef(t)), se = as.numeric(SE(t)))
  for (v in c("SEX", "AGE", "DISABILITY_STATUS", "URBANISATION", "REGION")) {
    b <- svyby(~y, as.formula(paste0("~", v)), design, svymean)
    out[[v]] <- data.frame(dim = v, code = as.character(b[[v]]), est = as.numeric(coef(b)),
                           se = as.numeric(SE(b)))
  }
})[["elapsed"]]
write.csv(format(do.call(rbind, out), digits = 17), args[2], row.names = FALSE, quote = FALSE)
cat(sprintf("%.6f\n", elapsed))
"""


def setup(database_url: str, tmp: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_import import start_django

    start_django(tmp, database_url)


def time_demo(repeat: int) -> tuple[list[float], int, int]:
    from voicescount.collection.models import Study
    from voicescount.demo.load import load_demo_study
    from voicescount.indicators.compute import compute_study
    from voicescount.indicators.models import Estimate

    started = time.perf_counter()
    summary = load_demo_study()
    print(
        f"demo study loaded: {summary.accepted} respondents, {summary.definitions} definitions "
        f"({time.perf_counter() - started:.1f} s)"
    )
    study = Study.objects.get(slug="vn-cgd-2022")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        runs = compute_study(study, force=True)
        times.append(time.perf_counter() - started)
    estimates = Estimate.objects.filter(run__in=[r for r in runs.values() if r is not None]).count()
    return times, len(runs), estimates


def build_large(respondents: int) -> tuple[object, list[str]]:
    """The large study: the demo's answers replicated; 20 definitions on 5 dimensions (setup, not timed)."""
    from django.db import connection, transaction

    from voicescount.collection.models import ImportBatch, Study, Submission
    from voicescount.demo import definitions as demo
    from voicescount.indicators.dataset import load_dataset
    from voicescount.indicators.expressions import parse
    from voicescount.indicators.models import IndicatorDefinition

    source = Study.objects.get(slug="vn-cgd-2022")
    base = list(
        Submission.objects.filter(study=source).in_analysis().order_by("id").values_list("values", flat=True)
    )
    replicas = -(-respondents // len(base))
    instrument = source.instruments.get()
    with transaction.atomic():
        study = Study.objects.get(pk=source.pk)
        study.pk = None
        study.slug = "bench-large"
        study.save()
        batch = ImportBatch.objects.create(study=study, instrument=instrument, source="api", filename="bench")
    # Definitions: the demo's 20 largest universes, each on the same five dimensions.
    data = load_dataset(source)
    sized = []
    for spec in demo.DEFINITIONS:
        universe = parse(spec["universe"]) if spec["universe"].strip() else None
        size = int(universe.mask(data.columns(universe.names), data.n).sum()) if universe else data.n
        sized.append((size, spec["code"]))
    chosen = [code for _, code in sorted(sized, key=lambda s: (-s[0], s[1]))[:20]]
    dims = [demo.SEX, demo.AGE_ADULTS, demo.DISABILITY, demo.URBANISATION, demo.REGION]
    for definition in IndicatorDefinition.objects.filter(study=source, code__in=chosen):
        definition.pk = None
        definition.study = study
        definition.dimensions = dims
        definition.intersections = LARGE_INTERSECTIONS
        definition.save()

    fields = [f for f in Submission._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(Submission._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    template = Submission(
        study=study,
        instrument=instrument,
        batch=batch,
        raw={},
        meta={},
        warnings=[],
        consent_status=Submission.ConsentStatus.GIVEN,
    )
    psu, weight = demo.DESIGN["psu"], demo.DESIGN["weight"]
    started = time.perf_counter()
    made = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for r in range(replicas):
            rows = []
            for values in base[: respondents - made]:
                replica = dict(values)
                replica[psu] = f"{values[psu]}-{r}"
                replica[weight] = float(values[weight]) / replicas
                template.values = replica
                template.content_hash = template.respondent = uuid.uuid4().hex
                rows.append([f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields])
            cursor.executemany(sql, rows)
            made += len(rows)
            print(f"\r  inserting the large study: {made:,}/{respondents:,}", end="", flush=True)
    print(f" ({time.perf_counter() - started:.0f} s, setup, not timed)")
    return study, chosen


def measure(slug: str, profile: bool, fresh_snapshot: bool) -> dict:
    """In this (fresh) process: ``compute_study(force=True)`` of study ``slug``, timed by phase, with the
    process's peak resident memory and CPU time, and its workers' (``--measure``, run by ``time_large``).
    ``fresh_snapshot``: the study's runs and snapshots are removed first, so that the snapshot is built in
    the timed computation (a kept database, ``--keep``, has one from the last run)."""
    import resource

    from voicescount.collection.models import Study
    from voicescount.indicators import compute, dataset
    from voicescount.indicators.models import Estimate, EstimateRun
    from voicescount.indicators.snapshots import snapshot_root

    study = Study.objects.get(slug=slug)
    if fresh_snapshot:
        Estimate.objects.filter(run__definition__study=study).delete()
        EstimateRun.objects.filter(definition__study=study).delete()
        for snapshot in study.snapshots.all():
            (snapshot_root() / snapshot.path).unlink(missing_ok=True)
        study.snapshots.all().delete()
    spent: dict[str, float] = {}
    patched = [
        (dataset, "snapshot_for", "snapshot (made or found)"),
        (compute, "load_dataset", "dataset (snapshot included)"),
        (compute, "_prepare", "preparing outcomes, dimensions, fingerprints"),
        (compute, "_store", "storing"),
    ]
    originals = [(module, name, getattr(module, name)) for module, name, _ in patched]

    def timed(label, fn):
        def wrapper(*args, **kwargs):
            begun = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - begun

        return wrapper

    for (module, name, label), (_, _, fn) in zip(patched, originals, strict=True):
        setattr(module, name, timed(label, fn))
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()

    def cpu(who: int) -> float:
        usage = resource.getrusage(who)
        return usage.ru_utime + usage.ru_stime

    cpu_before, cpu_children_before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        runs = compute.compute_study(study, force=True)
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)
    seconds = time.perf_counter() - started
    cpu_self = cpu(resource.RUSAGE_SELF) - cpu_before
    cpu_workers = cpu(resource.RUSAGE_CHILDREN) - cpu_children_before
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(45)
    snapshot = study.snapshots.order_by("-pk").first()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_self,
        "cpu_workers_seconds": cpu_workers,
        "spent": spent,
        "definitions": len(runs),
        "estimates": Estimate.objects.filter(run__in=[r for r in runs.values() if r is not None]).count(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "snapshot": snapshot.content_hash if snapshot else "",
        "snapshot_mb": (snapshot_size(snapshot) / 1e6) if snapshot else 0.0,
        "snapshots": study.snapshots.count(),
    }


def snapshot_size(snapshot) -> int:
    from voicescount.indicators.snapshots import snapshot_root

    return (snapshot_root() / snapshot.path).stat().st_size


def time_large(study, profile: bool, tmp: Path, database_url: str, fresh_snapshot: bool) -> dict:
    """``compute_study`` of the large study in a fresh process (so that its peak memory is its own)."""
    env = {**os.environ, "VOICESCOUNT_DATA_DIR": str(tmp / "data"), "DATABASE_URL": database_url}
    command = [sys.executable, __file__, "--measure", study.slug] + (["--profile"] if profile else [])
    command += ["--fresh-snapshot"] if fresh_snapshot else []
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the measuring process failed: {proc.stderr[-2000:]}")
    if profile:
        print(proc.stderr)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print("  where the time went: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["spent"].items()))
    return result


def compare_with_r(study, tmp: Path) -> str:
    """R's survey on the first large definition: total + five one-way breakdowns, timed inside R."""
    if shutil.which("Rscript") is None:
        return "Rscript not found: comparison with R skipped (install r-base-core and r-cran-survey)"
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from voicescount.indicators.dataset import MISSING, design_for, load_dataset
    from voicescount.indicators.estimation import _outcome
    from voicescount.indicators.models import Estimate

    definition = study.indicator_definitions.order_by("code").first()
    data = load_dataset(study)  # the snapshot the computation read: the extract is made from it
    y, _ = _outcome(definition, data)
    specs = {d["code_list"]: d for d in definition.dimensions}
    design = design_for(study, data)
    columns = {
        "y": pa.array(y, mask=np.isnan(y)),
        "w": pa.array(design.weights),
        "stratum": pa.array(data.column(study.strata_variable).astype(str)),
        "psu": pa.array(data.column(study.psu_variable).astype(str)),
    }
    for name in FIVE:
        labels = data.dimension(specs[name])[0]  # object array; MISSING for rows outside the codes
        columns[name] = pa.array(labels.astype(str), mask=labels == MISSING)
    csv = tmp / "large.csv"
    pacsv.write_csv(pa.table(columns), csv)
    script = tmp / "bench.R"
    script.write_text(R_SCRIPT, encoding="utf-8")
    result = tmp / "r.csv"
    if os.environ.get("BENCH_KEEP_EXTRACT"):
        shutil.copy(csv, os.environ["BENCH_KEEP_EXTRACT"])
    proc = subprocess.run(["Rscript", str(script), str(csv), str(result)], capture_output=True, text=True)
    if proc.returncode != 0:
        return f"R failed: {proc.stderr.strip()[-400:]}"
    r_seconds = float(proc.stdout.split()[-1])
    ours = {e.key: e for e in Estimate.objects.filter(run=definition.runs.order_by("-pk").first())}
    worst_est = worst_se = 0.0
    compared = 0
    for line in result.read_text(encoding="utf-8").splitlines()[1:]:
        dim, code, est, se = (part.strip() for part in line.split(","))
        key = "_T" if dim == "_T" else f"{dim}={code}"
        if key in ours and ours[key].estimate is not None:
            worst_est = max(worst_est, abs(ours[key].estimate - float(est)))
            worst_se = max(worst_se, abs(ours[key].se - float(se)) / float(se))
            compared += 1
    return (
        f"R survey {r_seconds:.1f} s for '{definition.code}' (total + 5 one-way breakdowns, {compared} "
        f"estimates; ours computed that and {len(ours) - compared} more cells of the definition); largest "
        f"difference: estimate {worst_est:.1e}, relative SE {worst_se:.1e}; extract of snapshot "
        f"{data.snapshot.content_hash[:12]}"
    )


def reuse(tmp: Path, database_url: str, respondents: int):
    """The large study of a kept directory (``--keep``) when it has ``respondents`` submissions, else None."""
    os.environ["VOICESCOUNT_DATA_DIR"] = str(tmp / "data")
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "voicescount.settings"
    import django

    django.setup()
    from voicescount.collection.models import Study

    study = Study.objects.filter(slug="bench-large").first()
    if study is None or study.submissions.count() != respondents:
        raise SystemExit(f"{tmp} holds no large study of {respondents:,} respondents: remove it first")
    return study


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the demo computation")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the large study's computation")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="SQLite only: work in DIR and keep it; a DIR kept by an earlier run is reused (the demo and the "
        "large study are not built again, the demo timing is skipped)",
    )
    parser.add_argument("--measure", metavar="SLUG", help=argparse.SUPPRESS)  # the timed child process
    parser.add_argument("--fresh-snapshot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        import django

        django.setup()
        print(json.dumps(measure(args.measure, args.profile, args.fresh_snapshot)))
        return 0
    if args.keep and args.database != "sqlite":
        parser.error("--keep works with --database sqlite only")

    kept = args.keep is not None and (args.keep / "bench.sqlite3").exists()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    tmp = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="vc-bench-ind-"))
    scratch = None
    try:
        if args.database == "sqlite":
            url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        else:
            import psycopg

            scratch = f"voicescount_bench_ind_{os.getpid()}"
            with psycopg.connect(f"{args.postgres_url}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{scratch}"')
            url = f"{args.postgres_url}/{scratch}"
        if kept:
            study = reuse(tmp, url, args.respondents)
        else:
            setup(url, tmp)
        from django.db import connection

        version = connection.Database.sqlite_version if connection.vendor == "sqlite" else ""
        engine = f"{connection.vendor} {version}"
        lines = [
            f"database: {engine.strip()}; machine: {os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        ]
        times: list[float] = []
        if not kept:
            times, n_definitions, n_estimates = time_demo(args.repeat)
            lines.append(
                f"demo study, {n_definitions} definitions, {n_estimates:,} estimates: "
                f"best {min(times):.2f} s, median {statistics.median(times):.2f} s of {len(times)} "
                "(target < 2 s)"
            )
            print(lines[-1])
        if not args.skip_large:
            if not kept:
                study, _ = build_large(args.respondents)
            for label, fresh in (("snapshot built in the run", True), ("snapshot already built", False)):
                r = time_large(study, args.profile, tmp, url, fresh)
                lines.append(
                    f"large study, {args.respondents:,} respondents, {r['definitions']} definitions × 5 "
                    f"dimensions, {r['estimates']:,} estimates, {label}:\n"
                    f"  END TO END {r['seconds']:.1f} s wall (target < 30 s); CPU {r['cpu_seconds']:.1f} s "
                    f"(user+sys) + workers {r['cpu_workers_seconds']:.1f} s\n"
                    f"  PEAK RSS {r['peak_rss_mb']:,.0f} MB, largest worker {r['peak_rss_worker_mb']:,.0f} MB"
                    " "
                    f"(target < 1.5 GB); snapshot {r['snapshot'][:12]} {r['snapshot_mb']:.0f} MB "
                    f"({r['snapshots']} made); load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
                )
                print(lines[-1])
            if not args.skip_r:
                lines.append(compare_with_r(study, tmp))
                print(lines[-1])
        print("\n== summary")
        print("\n".join(lines))
        print(json.dumps({"demo_seconds": times}, indent=None))
    finally:
        from django.db import connections

        connections.close_all()
        if scratch:
            import psycopg

            with psycopg.connect(f"{args.postgres_url}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
