"""Benchmark indicator computation: the demo study, and a 1,000,000-respondent study, beside R's survey.

    .venv/bin/python benchmarks/bench_indicators.py                       # demo + 1,000,000 respondents
    .venv/bin/python benchmarks/bench_indicators.py --respondents 200000  # a smaller large study
    .venv/bin/python benchmarks/bench_indicators.py --skip-large          # the demo only
    .venv/bin/python benchmarks/bench_indicators.py --database postgres   # on a scratch PostgreSQL database

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
   timed once, from reading the submissions to storing the estimates (target: under 60 s);
3. **R side by side**: for one large-study indicator (the first), the outcome, design and dimensions are
   written to a CSV and R's survey package computes the total and the five one-way breakdowns with
   ``svymean``/``svyby`` (only the computation is timed inside R). The estimates and standard errors are
   compared with ours.

Nothing is asserted; the figures are printed. Targets come from issue 5.
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
d <- read.csv(args[1], colClasses = c(stratum = "character", psu = "character"))
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


def time_large(study, profile: bool) -> tuple[float, int, int]:
    from voicescount.indicators.compute import compute_study
    from voicescount.indicators.models import Estimate

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    from voicescount.indicators import compute

    spent: dict[str, float] = {}
    originals = {name: getattr(compute, name) for name in ("load_dataset", "_prepare", "_store")}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            begun = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - begun

        return wrapper

    for name, fn in originals.items():
        setattr(compute, name, timed(name, fn))
    started = time.perf_counter()
    try:
        runs = compute_study(study, force=True)
    finally:
        for name, fn in originals.items():
            setattr(compute, name, fn)
    seconds = time.perf_counter() - started
    spent["estimation, suppression, LNOB (workers)"] = seconds - sum(spent.values())
    print("  where the time went: " + ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()))
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    estimates = Estimate.objects.filter(run__in=[r for r in runs.values() if r is not None]).count()
    return seconds, len(runs), estimates


def compare_with_r(study, tmp: Path) -> str:
    """R's survey on the first large definition: total + five one-way breakdowns, timed inside R."""
    if shutil.which("Rscript") is None:
        return "Rscript not found: comparison with R skipped (install r-base-core and r-cran-survey)"
    from voicescount.indicators.dataset import design_for, load_dataset
    from voicescount.indicators.estimation import _outcome
    from voicescount.indicators.models import Estimate

    definition = study.indicator_definitions.order_by("code").first()
    data = load_dataset(study)
    y, _ = _outcome(definition, data)
    specs = {d["code_list"]: d for d in definition.dimensions}
    columns = {name: data.dimension(spec)[0].astype(str) for name, spec in specs.items()}
    design = design_for(study, data)
    strata = np.array([str(v) for v in data.column(study.strata_variable)])
    psus = np.array([str(v) for v in data.column(study.psu_variable)])
    csv = tmp / "large.csv"
    with open(csv, "w", encoding="utf-8") as out:
        out.write("y,w,stratum,psu," + ",".join(FIVE) + "\n")
        for i in range(data.n):
            yi = "NA" if np.isnan(y[i]) else repr(float(y[i]))
            dims = ",".join("NA" if columns[d][i].startswith("\x00") else columns[d][i] for d in FIVE)
            out.write(f"{yi},{float(design.weights[i])!r},{strata[i]},{psus[i]},{dims}\n")
    script = tmp / "bench.R"
    script.write_text(R_SCRIPT, encoding="utf-8")
    result = tmp / "r.csv"
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
        f"difference: estimate {worst_est:.1e}, relative SE {worst_se:.1e}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the demo computation")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the large study's computation")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="vc-bench-ind-"))
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
        setup(url, tmp)
        from django.db import connection

        version = connection.Database.sqlite_version if connection.vendor == "sqlite" else ""
        engine = f"{connection.vendor} {version}"
        times, n_definitions, n_estimates = time_demo(args.repeat)
        lines = [
            f"database: {engine.strip()}; machine: {os.cpu_count()} cores, load average "
            f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"demo study, {n_definitions} definitions, {n_estimates:,} estimates: "
            f"best {min(times):.2f} s, median {statistics.median(times):.2f} s of {len(times)} "
            "(target < 2 s)",
        ]
        print(lines[-1])
        if not args.skip_large:
            study, chosen = build_large(args.respondents)
            seconds, n_large, large_estimates = time_large(study, args.profile)
            lines.append(
                f"large study, {args.respondents:,} respondents, {n_large} definitions × 5 dimensions, "
                f"{large_estimates:,} estimates: {seconds:.1f} s (target < 60 s)"
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
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
