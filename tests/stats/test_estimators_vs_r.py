"""VoicesCount estimates against R's survey package on the api data (fixtures made by make_fixtures.R)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voicescount.stats import estimators
from voicescount.stats.design import SurveyDesign

FIXTURES = Path(__file__).parent / "fixtures"
RTOL = 1e-8


@cache
def table(name: str) -> dict[str, np.ndarray]:
    with open(FIXTURES / f"{name}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        raw = [r[key] for r in rows]
        try:
            out[key] = np.array([np.nan if v == "NA" else float(v) for v in raw])
        except ValueError:
            out[key] = np.array(raw, dtype=object)
    return out


def build(name: str, lonely: str = "fail") -> tuple[SurveyDesign, dict[str, np.ndarray]]:
    builders: dict[str, Callable[[], tuple[SurveyDesign, dict[str, np.ndarray]]]] = {
        "strat": lambda: (SurveyDesign.create(strata=(t := table("apistrat"))["stype"], weights=t["pw"]), t),
        "strat_fpc": lambda: (
            SurveyDesign.create(strata=(t := table("apistrat"))["stype"], weights=t["pw"], fpc=t["fpc"]),
            t,
        ),
        "strat_nest": lambda: (
            SurveyDesign.create(
                strata=(t := table("apistrat"))["stype"], psu=t["dnum"], weights=t["pw"], nest=True
            ),
            t,
        ),
        "weights_only": lambda: (SurveyDesign.create(weights=(t := table("apistrat"))["pw"]), t),
        "srs_fpc": lambda: (SurveyDesign.create(fpc=(t := table("apisrs"))["fpc"]), t),
        "clus1": lambda: (
            SurveyDesign.create(psu=(t := table("apiclus1"))["dnum"], weights=t["pw"], fpc=t["fpc"]),
            t,
        ),
        "clus2": lambda: (
            SurveyDesign.create(
                psu=(t := table("apiclus2"))["dnum"], ssu=t["snum"], fpc=t["fpc1"], fpc2=t["fpc2"]
            ),
            t,
        ),
        "lonely": lambda: (
            SurveyDesign.create(
                strata=(t := table("apiclus1"))["lonely_str"],
                psu=t["dnum"],
                weights=t["pw"],
                lonely_psu=lonely,  # type: ignore[arg-type]
            ),
            t,
        ),
    }
    return builders[name]()


def cases() -> list[dict[str, Any]]:
    data = json.loads((FIXTURES / "r_results.json").read_text(encoding="utf-8"))
    return data["cases"]


def case_id(case: dict[str, Any]) -> str:
    parts = [case["design"], case["statistic"], case["variable"], case["domain"] or "overall"]
    if case["method"]:
        parts.append(case["method"])
    if case["lonely"] != "fail":
        parts.append(case["lonely"])
    return "-".join(parts)


def compute(case: dict[str, Any]) -> estimators.Estimates:
    design, t = build(case["design"], case["lonely"])
    domains = t["stype"] if case["domain"] else None
    statistic = case["statistic"]
    if statistic == "mean":
        return estimators.mean(design, t[case["variable"]], domains)
    if statistic == "total":
        return estimators.total(design, t[case["variable"]], domains)
    if statistic == "ratio":
        num, den = case["variable"].split("/")
        return estimators.ratio(design, t[num], t[den], domains)
    assert statistic == "proportion"
    return estimators.proportion(design, t["sch.wide"] == "Yes", domains, method=case["method"])


def test_fixtures_cover_the_required_designs() -> None:
    seen = {(c["design"], c["statistic"], c["domain"] is not None) for c in cases()}
    for design in ("strat", "strat_fpc", "clus1", "clus2"):
        for statistic in ("mean", "total", "ratio", "proportion"):
            assert (design, statistic, False) in seen
        assert (design, "mean", True) in seen
    assert any(c["na_rm"] for c in cases())
    assert {c["lonely"] for c in cases()} == {"fail", "certainty", "remove", "adjust", "average"}


@pytest.mark.parametrize("case", cases(), ids=case_id)
def test_matches_r(case: dict[str, Any]) -> None:
    result = compute(case)
    expected = case["rows"]
    assert len(result) == len(expected)
    for i, row in enumerate(expected):
        if case["domain"]:
            assert result.levels["domain"][i] == row["level"]
        for field in ("estimate", "se", "ci_low", "ci_high", "deff", "df"):
            if row[field] is None:
                continue
            got = float(getattr(result, field)[i])
            assert got == pytest.approx(row[field], rel=RTOL), f"{field} of row {i}: {got} vs R {row[field]}"
