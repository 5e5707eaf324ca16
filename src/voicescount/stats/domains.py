"""Domain estimation: estimates for every cell of a cross-classification and, on request, its margins.

Rows are given one cell of the full cross-classification of the domain dimensions and summed once
into units (:mod:`voicescount.stats.linearisation`); every intersection of the dimensions and all
their margins come from those sums, each margin from its smallest already-summed parent. Each cell is
then estimated with its degrees of freedom and interval, and the non-empty cells are reported
(svyby's ``drop.empty.groups=TRUE``), margins marked with ``None`` on the dimensions they collapse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from voicescount.stats.design import FloatArray, IntArray, SurveyDesign, encode
from voicescount.stats.errors import StatsError
from voicescount.stats.estimates import Estimates
from voicescount.stats.intervals import proportion_interval, wald
from voicescount.stats.linearisation import (
    _NZ,
    _ROWS,
    _W,
    _Kind,
    _stage_variance,
    _unique,
    _Units,
    reused_buffers,
)

Domains = None | npt.ArrayLike | Mapping[str, npt.ArrayLike]
DegreesOfFreedom = Literal["design", "domain"] | float


@dataclass(frozen=True)
class _Dimension:
    name: str
    labels: npt.NDArray[Any]
    codes: IntArray  # -1 where the label is missing

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])


def _dimensions(domains: Domains, n: int) -> list[_Dimension]:
    if domains is None:
        return []
    if isinstance(domains, Mapping):
        if not domains:
            raise StatsError("domains is an empty mapping")
        return [_dimension(str(name), values, n) for name, values in domains.items()]
    return [_dimension("domain", domains, n)]


def _dimension(name: str, values: Any, n: int) -> _Dimension:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise StatsError(f"domain {name!r} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise StatsError(f"domain {name!r} has {arr.shape[0]} values but the design has {n} rows")
    if arr.dtype.kind in "iu":
        labels, codes = encode(arr)
        return _Dimension(name, labels, codes)
    codes = np.full(n, -1, dtype=np.intp)
    if arr.dtype.kind == "f":
        present = ~np.isnan(arr)
    elif arr.dtype.kind == "O":
        present = np.array([not (v is None or (isinstance(v, float) and v != v)) for v in arr], dtype=bool)
    else:
        present = np.ones(n, dtype=bool)
    try:
        labels, inv = encode(arr[present])
    except TypeError:
        labels, inv = encode(arr[present].astype(str))
    codes[present] = inv
    return _Dimension(name, labels, codes)


def _estimate(
    design: SurveyDesign,
    statistic: str,
    kind: _Kind,
    valid: npt.NDArray[np.bool_],
    extra: Sequence[FloatArray],
    domains: Domains,
    margins: bool,
    level: float,
    df: DegreesOfFreedom,
    method: str | None,
) -> Estimates:
    if not 0 < level < 1:
        raise StatsError(f"level must be between 0 and 1, got {level!r}")
    if not (df in ("design", "domain") or (isinstance(df, int | float) and df > 0)):
        raise StatsError(f"df must be 'design', 'domain' or a positive number, got {df!r}")
    dims = _dimensions(domains, design.n_rows)
    if margins and not dims:
        raise StatsError("margins=True needs domains")

    # Every combination of dimensions has its own cell space: mixed radix over its dimensions with one
    # extra "missing label" digit each (those cells are computed like the others but never reported).
    radix = [d.size + 1 for d in dims]
    full = tuple(range(len(dims)))
    cell = np.zeros(design.n_rows, dtype=np.int64)
    for d, r in zip(dims, radix, strict=True):
        cell = cell * r + np.where(d.codes >= 0, d.codes, d.size)

    w = design.weights
    columns = [np.ones(design.n_rows), (w != 0).astype(np.float64), w, *extra]
    if not valid.all():
        rows = np.flatnonzero(valid)
        columns = [c[rows] for c in columns]
        cell = cell[rows]
        psu, ssu = design.psu[rows], None if design.ssu is None else design.ssu[rows]
    else:
        psu, ssu = design.psu, design.ssu
    n_full = _n_cells(full, radix)
    with reused_buffers():  # the 2^k groupings share their scratch lookups
        units = {full: _Units.of_rows(psu, ssu, cell, n_full, design, columns)}

        parts: dict[tuple[int, ...], dict[str, Any]] = {}
        parts[full] = _combination(design, kind, units[full], level, df, method, full, dims)
        if margins:
            # Sum each combination from its smallest already-summed parent (one more dimension): the
            # parents hold fewer units than the rows, so all 2^k combinations cost little more than one.
            for size in range(len(dims) - 1, -1, -1):
                smaller: dict[tuple[int, ...], _Units] = {}
                for combo in combinations(full, size):
                    parent = min(
                        (tuple(sorted((*combo, j))) for j in full if j not in combo),
                        key=lambda c: units[c].n_units,
                    )
                    dropped = next(j for j in parent if j not in combo)
                    smaller[combo] = units[parent].drop(parent.index(dropped), [radix[k] for k in parent])
                    parts[combo] = _combination(design, kind, smaller[combo], level, df, method, combo, dims)
                units = smaller
            order = [c for k in range(len(dims) + 1) for c in combinations(full, k)]
        else:
            order = [full]
    return _concatenate(statistic, dims, [parts[c] for c in order], level, method or "wald")


def _n_cells(combo: tuple[int, ...], radix: list[int]) -> int:
    return int(np.prod([radix[k] for k in combo])) if combo else 1


def _combination(
    design: SurveyDesign,
    kind: _Kind,
    units: _Units,
    level: float,
    df: DegreesOfFreedom,
    method: str | None,
    combo: tuple[int, ...],
    dims: list[_Dimension],
) -> dict[str, Any]:
    n_cells = units.n_cells
    psu, cell, sums = units.psu, units.psu_cell, units.psu_sums
    d: FloatArray = np.column_stack(
        [np.bincount(cell, weights=col, minlength=n_cells) for col in sums]
    ).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = kind.point(d)
        z = kind.influence(sums, cell, d, est)
        var = _stage_variance(
            psu,
            cell,
            z,
            design.psu_stratum,
            design.n_psu_in_stratum,
            design.f1,
            n_cells,
            design.lonely_psu,
            None,
        )
        if units.ssu is not None and units.ssu_cell is not None and units.ssu_sums is not None:
            assert design.ssu_psu is not None and design.n_ssu_in_psu is not None and design.f2 is not None
            z2 = kind.influence(units.ssu_sums, units.ssu_cell, d, est)
            var = var + _stage_variance(
                units.ssu,
                units.ssu_cell,
                z2,
                design.ssu_psu,
                design.n_ssu_in_psu,
                design.f2,
                n_cells,
                design.lonely_psu,
                design.stage2_factor,
            )
        se = np.sqrt(var)
        deff = var / kind.srs_variance(d, est)
        n = d[:, _NZ]
        n_eff = n / deff

    # Domain degrees of freedom: PSUs minus strata among rows with non-zero weight (R's degf(subset)).
    has = sums[_NZ] > 0
    n_psu_d = np.bincount(cell[has], minlength=n_cells)
    strata_keys = design.psu_stratum[psu[has]].astype(np.int64) * n_cells + cell[has]
    uniq_strata = _unique(strata_keys, design.n_strata * n_cells)
    n_strata_d = np.bincount(uniq_strata % n_cells, minlength=n_cells)
    domain_df = (n_psu_d - n_strata_d).astype(np.float64)
    if df == "design":
        used_df = np.full(n_cells, float(design.df))
    elif df == "domain":
        used_df = domain_df
    else:
        used_df = np.full(n_cells, float(df))

    estimate = kind.report(est)
    if method is None:
        low, high = wald(estimate, se, used_df, level)
    else:
        low, high = proportion_interval(method, estimate, se, used_df, n, d[:, _ROWS], level)

    # Report non-empty cells (svyby's drop.empty.groups=TRUE) without a missing label.
    digits = []
    rest = np.arange(n_cells)
    for k in reversed(combo):
        digits.append(rest % (dims[k].size + 1))
        rest = rest // (dims[k].size + 1)
    digits.reverse()
    ok = n > 0
    for k, digit in zip(combo, digits, strict=True):
        ok &= digit < dims[k].size
    keep = np.flatnonzero(ok)
    levels: dict[str, npt.NDArray[np.object_]] = {}
    for k, digit in zip(combo, digits, strict=True):
        levels[dims[k].name] = dims[k].labels[digit[keep]].astype(object)
    for k, dim in enumerate(dims):
        if k not in combo:
            levels[dim.name] = np.full(keep.size, None, dtype=object)
    return {
        "levels": levels,
        "estimate": estimate[keep],
        "se": se[keep],
        "ci_low": low[keep],
        "ci_high": high[keep],
        "deff": deff[keep],
        "n": n[keep].astype(np.intp),
        "N": d[keep, _W],
        "n_eff": n_eff[keep],
        "df": used_df[keep],
    }


def _concatenate(
    statistic: str, dims: list[_Dimension], parts: list[dict[str, Any]], level: float, interval: str
) -> Estimates:
    names = tuple(d.name for d in dims)
    arrays = {
        key: np.concatenate([p[key] for p in parts])
        for key in ("estimate", "se", "ci_low", "ci_high", "deff", "n", "N", "n_eff", "df")
    }
    levels = {name: np.concatenate([p["levels"][name] for p in parts]) for name in names}
    return Estimates(
        statistic=statistic, dimensions=names, levels=levels, level=level, interval=interval, **arrays
    )
