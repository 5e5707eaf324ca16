"""Benchmark the statistics core against R's survey package on a synthetic survey.

    .venv/bin/python benchmarks/bench_stats.py              # 1,000,000 rows (R needs a few minutes)
    .venv/bin/python benchmarks/bench_stats.py --rows 100000

The data: 50 strata × 40 PSUs (2,000 PSUs), weights varying by stratum, a numeric ``y`` and a binary
``flag`` with a cluster effect, and five domain dimensions (region 3 × sex 2 × age 5 × urban 2 ×
disability 2). R gets the same rows through a temporary CSV; only the computation is timed inside R
(``system.time``), not reading the file. The R calls compute less than VoicesCount does (no design
effect in R; VoicesCount always returns deff, n, N and intervals), so the ratios are conservative.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from voicescount.stats import estimators  # noqa: E402
from voicescount.stats.design import SurveyDesign  # noqa: E402

DIMENSIONS = {"region": 3, "sex": 2, "age": 5, "urban": 2, "disability": 2}
FOUR = ("region", "sex", "age", "urban")  # 60 intersectional domains

R_SCRIPT = r"""
suppressMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
design <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = d)
t_mean <- system.time(m <- svyby(~y, ~dom, design, svymean))[["elapsed"]]
t_prop <- system.time(p <- svyby(~flag, ~dom, design, svyciprop, vartype = c("se", "ci"),
                                 method = "logit"))[["elapsed"]]
out <- data.frame(dom = m$dom, mean = coef(m), mean_se = SE(m), prop = coef(p), prop_se = SE(p),
                  prop_low = p$ci_l, prop_high = p$ci_u)
write.csv(format(out, digits = 17), args[2], row.names = FALSE, quote = FALSE)
cat(sprintf("%.6f %.6f\n", t_mean, t_prop))
"""


def synthetic(rows: int, seed: int = 20240601) -> dict[str, np.ndarray]:
    """A stratified two-level sample with cluster effects; deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    n_strata, per_stratum = 50, 40
    psu = rng.integers(0, n_strata * per_stratum, rows)
    stratum = psu // per_stratum
    psu_effect = rng.normal(0, 5, n_strata * per_stratum)[psu]
    data: dict[str, np.ndarray] = {"stratum": stratum, "psu": psu}
    data["w"] = np.round(rng.uniform(50, 150, n_strata)[stratum] * rng.uniform(0.5, 1.5, rows), 4)
    for name, size in DIMENSIONS.items():
        data[name] = rng.integers(0, size, rows)
    data["y"] = np.round(50 + psu_effect + 3 * data["age"] - 2 * data["sex"] + rng.normal(0, 10, rows), 4)
    logit = -1 + psu_effect / 5 + 0.3 * data["urban"] - 0.4 * data["disability"]
    data["flag"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    dom = np.zeros(rows, dtype=np.int64)
    for name in FOUR:
        dom = dom * DIMENSIONS[name] + data[name]
    data["dom"] = dom
    return data


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def run_r(data: dict[str, np.ndarray]) -> tuple[float, float, dict[str, np.ndarray]] | None:
    if shutil.which("Rscript") is None:
        print("Rscript not found: skipping the comparison with R (install r-base and r-cran-survey).")
        return None
    check = subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True, text=True)
    if check.returncode != 0:
        print("R package 'survey' not installed: skipping the comparison with R.")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv_in, csv_out, script = (os.path.join(tmp, f) for f in ("data.csv", "out.csv", "bench.R"))
        names = ["stratum", "psu", "w", "y", "flag", "dom"]
        matrix = np.column_stack([data[k] for k in names])
        np.savetxt(
            csv_in,
            matrix,
            delimiter=",",
            header=",".join(names),
            comments="",
            fmt=["%d", "%d", "%.4f", "%.4f", "%d", "%d"],
        )
        Path(script).write_text(R_SCRIPT, encoding="utf-8")
        print("Running R (svyby svymean and svyciprop over 60 domains)…", flush=True)
        proc = subprocess.run(["Rscript", script, csv_in, csv_out], capture_output=True, text=True)
        if proc.returncode != 0:
            print("R failed:\n" + proc.stderr)
            return None
        t_mean, t_prop = (float(x) for x in proc.stdout.split()[-2:])
        out = np.genfromtxt(csv_out, delimiter=",", names=True, dtype=np.float64)
        return t_mean, t_prop, {name: np.asarray(out[name]) for name in out.dtype.names or ()}


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    header = ("Task", "VoicesCount", "R survey", "Speed-up")
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Statistics core benchmark")
        for h in header:
            table.add_column(h, justify="left" if h == "Task" else "right")
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        for row in [header, *rows]:
            print(
                "  ".join(
                    c.ljust(w) if i == 0 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(row, widths, strict=True))
                )
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="number of rows (default 1,000,000)")
    parser.add_argument("--no-r", action="store_true", help="do not run R")
    args = parser.parse_args(argv)

    data = synthetic(args.rows)
    print(
        f"{args.rows:,} rows, 50 strata, 2,000 PSUs, 60 domains ({' × '.join(map(str, DIMENSIONS.values()))}"
        " with the 5th dimension for margins)"
    )
    t_design, design = timed(
        lambda: SurveyDesign.create(strata=data["stratum"], psu=data["psu"], weights=data["w"])
    )
    four = {k: data[k] for k in FOUR}
    five = {k: data[k] for k in DIMENSIONS}
    t_mean, means = timed(lambda: estimators.mean(design, data["y"], four))
    t_prop, props = timed(lambda: estimators.proportion(design, data["flag"], four, method="logit"))
    t_all_mean, all_means = timed(lambda: estimators.mean(design, data["y"], five, margins=True))
    t_all_prop, all_props = timed(lambda: estimators.proportion(design, data["flag"], five, margins=True))
    assert len(means) == 60 and len(props) == 60
    n_cells = len(all_means)

    r = None if args.no_r else run_r(data)
    rows = [("Design (encode strata/PSUs)", f"{t_design * 1000:.0f} ms", "", "")]
    if r is not None:
        r_mean, r_prop, ref = r
        order = np.argsort(ref["dom"])
        worst = 0.0
        for ours, theirs in (
            (means.estimate, ref["mean"][order]),
            (means.se, ref["mean_se"][order]),
            (props.estimate, ref["prop"][order]),
            (props.se, ref["prop_se"][order]),
            (props.ci_low, ref["prop_low"][order]),
            (props.ci_high, ref["prop_high"][order]),
        ):
            if len(theirs) != len(ours) or not np.all(np.isfinite(theirs)):
                print("R returned a different number of domains or non-numbers; cannot compare")
                return 1
            worst = max(worst, float(np.max(np.abs(ours - theirs) / np.abs(theirs))))
        verdict = "identical to 1e-8" if worst < 1e-8 else "DIFFERENT"
        print(
            f"Largest relative difference from R over 60 domains (estimate, SE, CI): {worst:.2e} — {verdict}"
        )
        rows += [
            (
                "Mean by 60 domains (svyby svymean)",
                f"{t_mean * 1000:.0f} ms",
                f"{r_mean:.2f} s",
                f"{r_mean / t_mean:,.0f}×",
            ),
            (
                "Proportion by 60 domains (svyby svyciprop logit)",
                f"{t_prop * 1000:.0f} ms",
                f"{r_prop:.2f} s",
                f"{r_prop / t_prop:,.0f}×",
            ),
        ]
        if worst >= 1e-8:
            print_table(rows)
            return 1
    else:
        rows += [
            ("Mean by 60 domains", f"{t_mean * 1000:.0f} ms", "—", "—"),
            ("Proportion by 60 domains (logit)", f"{t_prop * 1000:.0f} ms", "—", "—"),
        ]
    rows += [
        (
            f"Mean, all 31 intersections of 5 dims + total ({n_cells} cells)",
            f"{t_all_mean * 1000:.0f} ms",
            "",
            "",
        ),
        (f"Proportion, same ({len(all_props)} cells)", f"{t_all_prop * 1000:.0f} ms", "", ""),
    ]
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
