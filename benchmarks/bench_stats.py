"""Benchmark the statistics core against R's survey package on a synthetic survey.

    .venv/bin/python benchmarks/bench_stats.py              # 1,000,000 rows (R needs a few minutes)
    .venv/bin/python benchmarks/bench_stats.py --rows 100000
    .venv/bin/python benchmarks/bench_stats.py --svy-python /tmp/svyenv/bin/python   # also Python svy

The data: 50 strata × 40 PSUs (2,000 PSUs), weights varying by stratum, a numeric ``y`` and a binary
``flag`` with a cluster effect, and five domain dimensions (region 3 × sex 2 × age 5 × urban 2 ×
disability 2). R gets the same rows through a temporary CSV; only the computation is timed inside R
(``system.time``), not reading the file. The R calls compute less than VoicesCount does (no design
effect in R; VoicesCount always returns deff, n, N and intervals), so the ratios are conservative.

The Python package ``svy`` (PyPI ``svy``; it pulls polars and pyarrow, so it lives in its own virtual
environment, not in ours) runs in a subprocess on the same CSV: ``--svy-python PATH`` names that
environment's interpreter (default: ``$VOICESCOUNT_SVY_PYTHON``, else ``/tmp/svyenv/bin/python`` if it
exists). As for R, reading the file and declaring the design are not timed; the two estimation calls
are, best of three like ours, and the first (cold) call is printed too.
"""

from __future__ import annotations

import argparse
import json
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


SVY_SCRIPT = r"""
import json, sys, time
import polars as pl
import svy

data = pl.read_csv(sys.argv[1])
sample = svy.Sample(data, svy.Design(stratum="stratum", psu="psu", wgt="w"))

def timed(fn):
    times, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result

t_mean, m = timed(lambda: sample.estimation.mean("y", by="dom"))
t_prop, p = timed(lambda: sample.estimation.prop("flag", by="dom", ci_method="logit"))
m = m.to_polars().sort("dom")
p = p.to_polars().filter(pl.col("flag") == 1).sort("dom")
out = {"version": svy.__version__, "t_mean": t_mean, "t_prop": t_prop, "dom": m["dom"].to_list()}
for prefix, frame in (("mean", m), ("prop", p)):
    for column in ("est", "se", "lci", "uci", "df"):
        out[f"{prefix}_{column}"] = frame[column].cast(pl.Float64).to_list()
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(out, f)
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


def write_csv(data: dict[str, np.ndarray], path: str) -> None:
    """The design and analysis columns, written once and read by both R and svy."""
    names = ["stratum", "psu", "w", "y", "flag", "dom"]
    np.savetxt(
        path,
        np.column_stack([data[k] for k in names]),
        delimiter=",",
        header=",".join(names),
        comments="",
        fmt=["%d", "%d", "%.4f", "%.4f", "%d", "%d"],
    )


def run_r(csv_in: str, tmp: str) -> tuple[float, float, dict[str, np.ndarray]] | None:
    if shutil.which("Rscript") is None:
        print("Rscript not found: skipping the comparison with R (install r-base and r-cran-survey).")
        return None
    check = subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True, text=True)
    if check.returncode != 0:
        print("R package 'survey' not installed: skipping the comparison with R.")
        return None
    csv_out, script = os.path.join(tmp, "r_out.csv"), os.path.join(tmp, "bench.R")
    Path(script).write_text(R_SCRIPT, encoding="utf-8")
    print("Running R (svyby svymean and svyciprop over 60 domains)…", flush=True)
    proc = subprocess.run(["Rscript", script, csv_in, csv_out], capture_output=True, text=True)
    if proc.returncode != 0:
        print("R failed:\n" + proc.stderr)
        return None
    t_mean, t_prop = (float(x) for x in proc.stdout.split()[-2:])
    out = np.genfromtxt(csv_out, delimiter=",", names=True, dtype=np.float64)
    return t_mean, t_prop, {name: np.asarray(out[name]) for name in out.dtype.names or ()}


def svy_python(option: str | None) -> str | None:
    """The interpreter of the environment holding svy: the option, the variable, or /tmp/svyenv."""
    if option:
        return option
    if os.environ.get("VOICESCOUNT_SVY_PYTHON"):
        return os.environ["VOICESCOUNT_SVY_PYTHON"]
    default = "/tmp/svyenv/bin/python"
    return default if os.path.exists(default) else None


def run_svy(python: str | None, csv_in: str, tmp: str) -> dict[str, Any] | None:
    setup = "python3 -m venv /tmp/svyenv && /tmp/svyenv/bin/pip install svy"
    if python is None:
        print(f"svy not found: skipping the comparison with Python svy (set it up with `{setup}`).")
        return None
    if not os.path.exists(python):
        print(f"--svy-python {python}: no such file; skipping the comparison with Python svy ({setup}).")
        return None
    check = subprocess.run([python, "-c", "import svy, polars"], capture_output=True, text=True)
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["no error output"])[-1]
        print(f"{python} cannot import svy and polars ({last}): skipping the comparison with Python svy.")
        return None
    json_out, script = os.path.join(tmp, "svy_out.json"), os.path.join(tmp, "bench_svy.py")
    Path(script).write_text(SVY_SCRIPT, encoding="utf-8")
    print("Running Python svy (estimation.mean and estimation.prop by 60 domains)…", flush=True)
    proc = subprocess.run([python, script, csv_in, json_out], capture_output=True, text=True)
    if proc.returncode != 0:
        print("svy failed:\n" + proc.stderr)
        return None
    out: dict[str, Any] = json.loads(Path(json_out).read_text(encoding="utf-8"))
    for key, value in out.items():
        if key not in ("version", "t_mean", "t_prop"):
            out[key] = np.asarray(value, dtype=np.float64)
    return out


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest |ours − theirs| / |theirs| over the domains; inf when the shapes or values are unusable."""
    if len(theirs) != len(ours) or not np.all(np.isfinite(theirs)):
        return float("inf")
    return float(np.max(np.abs(ours - theirs) / np.abs(theirs)))


def compare_svy(means: Any, props: Any, means_domain_df: Any, svy: dict[str, Any]) -> bool:
    """Print how svy's numbers compare with ours, item by item; True when estimates and SEs agree."""
    if len(svy["dom"]) != 60 or not np.array_equal(svy["dom"], np.arange(60)):
        print(f"svy returned {len(svy['dom'])} domains instead of the 60 codes 0–59; cannot compare")
        return False
    core = {
        "mean estimate": relative_difference(means.estimate, svy["mean_est"]),
        "mean SE": relative_difference(means.se, svy["mean_se"]),
        "proportion estimate": relative_difference(props.estimate, svy["prop_est"]),
        "proportion SE": relative_difference(props.se, svy["prop_se"]),
    }
    print(f"svy {svy['version']}: largest relative difference over 60 domains")
    for name, value in core.items():
        print(f"  {name:<38} {value:.2e}")
    df_gap = np.abs(means_domain_df.df - svy["mean_df"])
    print(
        f"  {'df (ours: PSUs − strata in the domain)':<38} max |Δ| = {df_gap.max():.0f}; svy df "
        f"{svy['mean_df'].min():.0f}–{svy['mean_df'].max():.0f}, our design df {means.df[0]:.0f}"
    )
    for name, ours, theirs in (
        ("proportion logit CI (domain df)", (props.ci_low, props.ci_high), ("prop_lci", "prop_uci")),
        ("mean CI, our default design df", (means.ci_low, means.ci_high), ("mean_lci", "mean_uci")),
        (
            "mean CI, ours with df='domain'",
            (means_domain_df.ci_low, means_domain_df.ci_high),
            ("mean_lci", "mean_uci"),
        ),
    ):
        value = max(relative_difference(o, svy[t]) for o, t in zip(ours, theirs, strict=True))
        print(f"  {name:<38} {value:.2e}")
    print(
        "  svy's Wald interval for a mean uses t with the domain's df (PSUs − strata holding members);\n"
        "  ours defaults to the design df, like R's svymean, and agrees when asked for df='domain'."
    )
    return max(core.values()) < 1e-8


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("Task", "VoicesCount", "R survey", "vs R", "svy (Python)", "vs svy")
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Statistics core benchmark")
        for h in header:
            table.add_column(h, justify="left" if h == "Task" else "right")
        for row in rows:
            table.add_row(*row)
        Console(width=max(Console().width, 130)).print(table)
    except ImportError:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
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
    parser.add_argument(
        "--svy-python",
        metavar="PATH",
        help="Python interpreter of a virtual environment with svy installed (default: "
        "$VOICESCOUNT_SVY_PYTHON, else /tmp/svyenv/bin/python if it exists)",
    )
    parser.add_argument("--no-svy", action="store_true", help="do not run Python svy")
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

    python = None if args.no_svy else svy_python(args.svy_python)
    with tempfile.TemporaryDirectory() as tmp:
        csv_in = os.path.join(tmp, "data.csv")
        if not (args.no_r and python is None):
            write_csv(data, csv_in)
        r = None if args.no_r else run_r(csv_in, tmp)
        svy = None if args.no_svy else run_svy(python, csv_in, tmp)

    ok = True
    r_cells: tuple[tuple[str, str], tuple[str, str]] = (("—", "—"), ("—", "—"))
    if r is not None:
        r_mean, r_prop, ref = r
        order = np.argsort(ref["dom"])
        worst = max(
            relative_difference(ours, ref[name][order])
            for ours, name in (
                (means.estimate, "mean"),
                (means.se, "mean_se"),
                (props.estimate, "prop"),
                (props.se, "prop_se"),
                (props.ci_low, "prop_low"),
                (props.ci_high, "prop_high"),
            )
        )
        verdict = "identical to 1e-8" if worst < 1e-8 else "DIFFERENT"
        print(
            f"Largest relative difference from R over 60 domains (estimate, SE, CI): {worst:.2e} — {verdict}"
        )
        ok = ok and worst < 1e-8
        r_cells = (
            (f"{r_mean:.2f} s", f"{r_mean / t_mean:,.0f}×"),
            (f"{r_prop:.2f} s", f"{r_prop / t_prop:,.0f}×"),
        )
    svy_cells: tuple[tuple[str, str], tuple[str, str]] = (("—", "—"), ("—", "—"))
    if svy is not None:
        # Not timed: only to show that the mean intervals agree once the df are chosen the same way.
        means_domain_df = estimators.mean(design, data["y"], four, df="domain")
        ok = compare_svy(means, props, means_domain_df, svy) and ok
        s_mean, s_prop = min(svy["t_mean"]), min(svy["t_prop"])
        print(
            f"svy first (cold) calls: mean {svy['t_mean'][0]:.2f} s, proportion {svy['t_prop'][0]:.2f} s;"
            " the table shows the best of three"
        )
        svy_cells = (
            (f"{s_mean:.2f} s", f"{s_mean / t_mean:,.0f}×"),
            (f"{s_prop:.2f} s", f"{s_prop / t_prop:,.0f}×"),
        )

    blank = ("", "", "", "")
    rows: list[tuple[str, ...]] = [("Design (encode strata/PSUs)", f"{t_design * 1000:.0f} ms", *blank)]
    rows += [
        ("Mean by 60 domains (svymean / svy mean)", f"{t_mean * 1000:.0f} ms", *r_cells[0], *svy_cells[0]),
        (
            "Proportion by 60 domains, logit CI (svyciprop / svy prop)",
            f"{t_prop * 1000:.0f} ms",
            *r_cells[1],
            *svy_cells[1],
        ),
        (
            f"Mean, all 31 intersections of 5 dims + total ({n_cells} cells)",
            f"{t_all_mean * 1000:.0f} ms",
            *blank,
        ),
        (f"Proportion, same ({len(all_props)} cells)", f"{t_all_prop * 1000:.0f} ms", *blank),
    ]
    print_table(rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
