"""Design-based means, proportions, totals and ratios with Taylor-linearisation standard errors.

Every estimator works the same way, and matches R's ``survey`` package (``svymean``, ``svytotal``,
``svyratio``, ``svyby``, ``svyciprop``) to rounding error:

1. Rows are summed into *units* — (PSU, finest domain cell) and, for two-stage designs,
   (SSU, finest domain cell) — with ``np.bincount``. Every later step works on these sums, so all
   intersections of the domain dimensions and all their margins come from one pass over the rows.
2. For each domain ``d`` the estimate is a ratio of weighted sums and its influence (linearisation)
   value for a unit is, for a mean, ``z = (Σ w·y − ȳ_d Σ w)/N_d`` over the unit's rows in ``d``.
3. The variance is R's ``svyrecvar``: per stratum ``h`` with ``n_h`` sampled PSUs,
   ``f_h · n_h/(n_h−1) · Σ_i (z_hi − z̄_h)²`` (``f_h = 1 − n_h/N_h``, or 1 without fpc), where PSUs
   without members of ``d`` count with ``z = 0`` (domain estimation: PSUs are never dropped); plus,
   with ``fpc2``, the same within each PSU over its SSUs, scaled by ``n_h/N_h``.

Missing values (``NaN``) in the analysis variable put the row outside every domain, which equals
R's ``na.rm=TRUE``. The design effect is R's ``deff=TRUE``: the variance over the variance of a simple
random sample *without* replacement of the same size from the domain population.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from voicescount.stats.design import FloatArray, IntArray, SurveyDesign, encode, show
from voicescount.stats.errors import StatsError
from voicescount.stats.intervals import PROPORTION_METHODS, proportion_interval, wald

Domains = None | npt.ArrayLike | Mapping[str, npt.ArrayLike]
DegreesOfFreedom = Literal["design", "domain"] | float
#: Above this many (unit × cell) slots, group sums use np.unique instead of a dense bincount.
_DENSE_LIMIT = 1 << 24
# Column layout of the unit sums: row count, rows with non-zero weight, weight, then per statistic.
_ROWS, _NZ, _W, _X = 0, 1, 2, 3


@dataclass(frozen=True, eq=False)
class Estimates:
    """Estimates for one statistic, one row per domain (in the order of :attr:`levels`).

    ``levels[dim][i]`` is the label of row ``i`` on that dimension, ``None`` where the row is a margin
    over that dimension (``None`` on every dimension is the overall estimate). ``n`` counts the rows
    with non-zero weight, ``N`` sums their weights, ``n_eff = n/deff``, ``df`` are the degrees of freedom
    used for the interval.
    """

    statistic: str
    dimensions: tuple[str, ...]
    levels: dict[str, npt.NDArray[np.object_]]
    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    deff: FloatArray
    n: IntArray
    N: FloatArray
    n_eff: FloatArray
    df: FloatArray
    level: float = 0.95
    interval: str = "wald"

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per domain: the dimension labels then every statistic."""
        out = []
        for i in range(len(self)):
            row: dict[str, Any] = {dim: self.levels[dim][i] for dim in self.dimensions}
            for name in ("estimate", "se", "ci_low", "ci_high", "deff", "N", "n_eff", "df"):
                row[name] = float(getattr(self, name)[i])
            row["n"] = int(self.n[i])
            out.append(row)
        return out

    def margin(self, *dims: str) -> Estimates:
        """The rows that cross exactly ``dims`` (no argument: the overall estimate)."""
        unknown = set(dims) - set(self.dimensions)
        if unknown:
            raise StatsError(f"unknown dimension(s) {sorted(unknown)}; have {list(self.dimensions)}")
        keep = np.ones(len(self), dtype=bool)
        for dim in self.dimensions:
            collapsed = np.array([v is None for v in self.levels[dim]], dtype=bool)
            keep &= ~collapsed if dim in dims else collapsed
        return self._take(np.flatnonzero(keep))

    def _take(self, index: IntArray) -> Estimates:
        arrays = {
            name: getattr(self, name)[index]
            for name in ("estimate", "se", "ci_low", "ci_high", "deff", "n", "N", "n_eff", "df")
        }
        return Estimates(
            statistic=self.statistic,
            dimensions=self.dimensions,
            levels={dim: labels[index] for dim, labels in self.levels.items()},
            level=self.level,
            interval=self.interval,
            **arrays,
        )

    def __repr__(self) -> str:
        head = f"Estimates({self.statistic}, {len(self)} domains, {self.interval} {self.level:.0%} CI)"
        lines = [head]
        for row in self.rows()[:20]:
            label = ", ".join(f"{d}={row[d]}" for d in self.dimensions if row[d] is not None) or "overall"
            lines.append(
                f"  {label}: {row['estimate']:.6g} (se {row['se']:.4g}, CI {row['ci_low']:.6g}"
                f"–{row['ci_high']:.6g}, deff {row['deff']:.3g}, n {row['n']})"
            )
        if len(self) > 20:
            lines.append(f"  … {len(self) - 20} more")
        return "\n".join(lines)


def mean(
    design: SurveyDesign,
    y: npt.ArrayLike,
    domains: Domains = None,
    *,
    margins: bool = False,
    level: float = 0.95,
    df: DegreesOfFreedom = "design",
) -> Estimates:
    """Weighted mean ``Σwy/Σw`` per domain (R: ``svyby(~y, ~dom, design, svymean, deff=TRUE)``).

    ``domains``: ``None`` (overall), one label array, or ``{name: labels}`` for their cross-classification;
    with ``margins=True`` every combination of the named dimensions (all 2^k − 1 of them) plus the
    overall estimate. The interval is Wald with ``t(df)``; ``df="design"`` (default) uses the design's
    degrees of freedom, ``"domain"`` the PSUs − strata holding domain members, a number is used as is.
    """
    values, valid = _analysis_variable("y", y, design.n_rows)
    shift = _weighted_mean(design.weights, values, valid)
    centred = np.where(valid, values - shift, 0.0)
    w = design.weights
    kind = _Mean(shift)
    return _estimate(
        design, "mean", kind, valid, [w * centred, w * centred**2], domains, margins, level, df, None
    )


def proportion(
    design: SurveyDesign,
    y: npt.ArrayLike,
    domains: Domains = None,
    *,
    margins: bool = False,
    level: float = 0.95,
    method: str = "logit",
    df: DegreesOfFreedom = "domain",
) -> Estimates:
    """Proportion of rows where ``y`` is true (``y``: booleans or 0/1, ``NaN`` = missing).

    The point estimate and SE are those of :func:`mean`; the interval is ``method``: ``"logit"``
    (default, R ``svyciprop(method="logit")``), ``"beta"`` (Korn–Graubard, R ``method="beta"``),
    ``"wald"`` or ``"wilson"`` (on the effective sample size). The default ``df="domain"`` is what
    ``svyby(..., svyciprop)`` uses: PSUs minus strata among the domain's rows.
    """
    if method not in PROPORTION_METHODS:
        raise StatsError(f"method must be one of {PROPORTION_METHODS}, got {method!r}")
    values, valid = _analysis_variable("y", y, design.n_rows)
    if not np.isin(values[valid], (0.0, 1.0)).all():
        bad = np.flatnonzero(valid & ~np.isin(values, (0.0, 1.0)))[0]
        raise StatsError(f"proportion needs y to be true/false or 0/1; row {bad} has {show(values[bad])}")
    shift = _weighted_mean(design.weights, values, valid)
    centred = np.where(valid, values - shift, 0.0)
    w = design.weights
    return _estimate(
        design,
        "proportion",
        _Mean(shift),
        valid,
        [w * centred, w * centred**2],
        domains,
        margins,
        level,
        df,
        method,
    )


def total(
    design: SurveyDesign,
    y: npt.ArrayLike,
    domains: Domains = None,
    *,
    margins: bool = False,
    level: float = 0.95,
    df: DegreesOfFreedom = "design",
) -> Estimates:
    """Weighted total ``Σwy`` per domain (R: ``svytotal`` / ``svyby(..., svytotal, deff=TRUE)``)."""
    values, valid = _analysis_variable("y", y, design.n_rows)
    shift = _weighted_mean(design.weights, values, valid)
    raw = np.where(valid, values, 0.0)
    centred = np.where(valid, values - shift, 0.0)
    w = design.weights
    return _estimate(
        design,
        "total",
        _Total(),
        valid,
        [w * raw, w * centred, w * centred**2],
        domains,
        margins,
        level,
        df,
        None,
    )


def ratio(
    design: SurveyDesign,
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    domains: Domains = None,
    *,
    margins: bool = False,
    level: float = 0.95,
    df: DegreesOfFreedom = "design",
) -> Estimates:
    """Ratio of totals ``Σw·num/Σw·den`` per domain (R: ``svyratio(~num, ~den, design, deff=TRUE)``).

    A row missing either variable is left out of both sums (R's ``na.rm=TRUE``). Influence:
    ``(num − R·den)/Σw·den``.
    """
    num, valid_num = _analysis_variable("numerator", numerator, design.n_rows)
    den, valid_den = _analysis_variable("denominator", denominator, design.n_rows)
    valid = valid_num & valid_den
    num = np.where(valid, num, 0.0)
    den = np.where(valid, den, 0.0)
    w = design.weights
    cols = [w * num, w * den, w * num * num, w * num * den, w * den * den]
    return _estimate(design, "ratio", _Ratio(), valid, cols, domains, margins, level, df, None)


# --- statistics: point estimate, influence and SRS variance from group sums -----------------------


class _Kind(ABC):
    """One statistic: its point estimate, influence values and SRS variance from the group sums."""

    @abstractmethod
    def point(self, d: FloatArray) -> FloatArray: ...

    @abstractmethod
    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray: ...

    @abstractmethod
    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray: ...

    def report(self, est: FloatArray) -> FloatArray:
        return est


def _domain_variance(sum_sq_dev: FloatArray, d: FloatArray) -> FloatArray:
    """R's ``svyvar``: ``Σw(y−ȳ)²/Σw · n/(n−1)``."""
    n = d[:, _NZ]
    return np.where(n > 1, sum_sq_dev / d[:, _W] * n / (n - 1), np.nan)  # one row: undefined, as in R


def _without_replacement(s2: FloatArray, d: FloatArray) -> FloatArray:
    n, big_n = d[:, _NZ], d[:, _W]
    v = s2 * (big_n - n) / (big_n * n)
    return np.where(big_n < n, np.nan, v)  # weights not scaled to the population: no deff (as R)


class _Mean(_Kind):
    def __init__(self, shift: float) -> None:
        self.shift = shift

    def point(self, d: FloatArray) -> FloatArray:
        return d[:, _X] / d[:, _W]

    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray:
        return (u[_X] - est[cell] * u[_W]) / d[cell, _W]

    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray:
        ss = d[:, _X + 1] - 2 * est * d[:, _X] + est**2 * d[:, _W]
        return _without_replacement(_domain_variance(ss, d), d)

    def report(self, est: FloatArray) -> FloatArray:
        return est + self.shift


class _Total(_Kind):
    def point(self, d: FloatArray) -> FloatArray:
        return d[:, _X].copy()

    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray:
        return u[_X].copy()

    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray:
        m = d[:, _X + 1] / d[:, _W]
        ss = d[:, _X + 2] - 2 * m * d[:, _X + 1] + m**2 * d[:, _W]
        return _without_replacement(_domain_variance(ss, d), d) * d[:, _W] ** 2


class _Ratio(_Kind):
    def point(self, d: FloatArray) -> FloatArray:
        return d[:, _X] / d[:, _X + 1]

    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray:
        return (u[_X] - est[cell] * u[_X + 1]) / d[cell, _X + 1]

    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray:
        ss = (d[:, _X + 2] - 2 * est * d[:, _X + 3] + est**2 * d[:, _X + 4]) / d[:, _X + 1] ** 2
        return _without_replacement(_domain_variance(ss, d), d) * d[:, _W] ** 2


# --- the engine -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Dimension:
    name: str
    labels: npt.NDArray[Any]
    codes: IntArray  # -1 where the label is missing

    @property
    def size(self) -> int:
        return int(self.labels.shape[0])


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


@dataclass(frozen=True)
class _Units:
    """Column sums per (PSU, cell) and, for two-stage designs, per (SSU, cell) of one combination."""

    n_cells: int
    psu: IntArray
    psu_cell: IntArray
    psu_sums: FloatArray  # one row per column
    ssu: IntArray | None
    ssu_cell: IntArray | None
    ssu_sums: FloatArray | None
    n_psu: int
    n_ssu: int
    one_row_per_psu: bool = False  # e.g. weights-only designs: nothing to sum when a dimension is dropped

    @property
    def n_units(self) -> int:
        return int(self.psu.shape[0]) + (0 if self.ssu is None else int(self.ssu.shape[0]))

    @classmethod
    def of_rows(
        cls,
        psu: IntArray,
        ssu: IntArray | None,
        cell: npt.NDArray[np.int64],
        n_cells: int,
        design: SurveyDesign,
        columns: Sequence[FloatArray],
    ) -> _Units:
        if design.n_psu == design.n_rows and ssu is None:  # every row its own PSU: already unit sums
            return cls(
                n_cells,
                psu,
                cell.astype(np.intp),
                np.vstack(columns),
                None,
                None,
                None,
                design.n_psu,
                design.n_ssu,
                True,
            )
        keys, sums = _group_sums(psu * np.int64(n_cells) + cell, design.n_psu * n_cells, columns)
        ssu_unit = ssu_cell = ssu_sums = None
        if ssu is not None:
            keys2, ssu_sums = _group_sums(ssu * np.int64(n_cells) + cell, design.n_ssu * n_cells, columns)
            ssu_unit, ssu_cell = (keys2 // n_cells).astype(np.intp), (keys2 % n_cells).astype(np.intp)
        return cls(
            n_cells,
            (keys // n_cells).astype(np.intp),
            (keys % n_cells).astype(np.intp),
            sums,
            ssu_unit,
            ssu_cell,
            ssu_sums,
            design.n_psu,
            design.n_ssu,
            design.n_psu == design.n_rows,
        )

    def drop(self, position: int, radix: list[int]) -> _Units:
        """Sum over the dimension at ``position`` (radices of this combination's dimensions given)."""
        after = int(np.prod(radix[position + 1 :])) if position + 1 < len(radix) else 1
        width = after * radix[position]
        n_cells = self.n_cells // radix[position]

        def child(cell: IntArray) -> npt.NDArray[np.int64]:
            c = cell.astype(np.int64)
            return (c // width) * after + c % after

        if self.one_row_per_psu and self.ssu is None:
            return _Units(
                n_cells,
                self.psu,
                child(self.psu_cell).astype(np.intp),
                self.psu_sums,
                None,
                None,
                None,
                self.n_psu,
                self.n_ssu,
                True,
            )
        keys, sums = _group_sums(
            self.psu * np.int64(n_cells) + child(self.psu_cell), self.n_psu * n_cells, self.psu_sums
        )
        ssu_unit = ssu_cell = ssu_sums = None
        if self.ssu is not None and self.ssu_cell is not None and self.ssu_sums is not None:
            keys2, ssu_sums = _group_sums(
                self.ssu * np.int64(n_cells) + child(self.ssu_cell), self.n_ssu * n_cells, self.ssu_sums
            )
            ssu_unit, ssu_cell = (keys2 // n_cells).astype(np.intp), (keys2 % n_cells).astype(np.intp)
        return _Units(
            n_cells,
            (keys // n_cells).astype(np.intp),
            (keys % n_cells).astype(np.intp),
            sums,
            ssu_unit,
            ssu_cell,
            ssu_sums,
            self.n_psu,
            self.n_ssu,
        )


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


def _stage_variance(
    group: IntArray,
    cell: IntArray,
    z: FloatArray,
    group_stratum: IntArray,
    n_in_stratum: IntArray,
    f: FloatArray,
    n_cells: int,
    lonely: str,
    factor: FloatArray | None,
) -> FloatArray:
    """One stage of R's ``onestage``/``onestrat``, per (stratum, domain cell), summed per cell.

    ``group`` are the sampling units at this stage holding domain members, ``z`` their influence
    totals; units of a stratum without members count as zeros (R pads them in ``onestrat``).
    """
    h = group_stratum[group].astype(np.int64)
    keys = h * n_cells + cell
    uk, inv = _compress(keys, int(n_in_stratum.shape[0]) * n_cells)
    m = uk.shape[0]
    s1 = np.bincount(inv, weights=z, minlength=m)
    present = np.bincount(inv, minlength=m)
    hh = uk // n_cells
    dd = uk % n_cells
    nh = n_in_stratum[hh].astype(np.float64)
    centre = s1 / nh
    dev = np.bincount(inv, weights=(z - centre[inv]) ** 2, minlength=m) + (nh - present) * centre**2
    fh = f[hh]
    scale = np.where(nh > 1, fh * nh / np.maximum(nh - 1, 1), fh)
    contrib = scale * dev
    lonely_units = (nh == 1) & (fh > 0)
    cell_factor: FloatArray | float = 1.0
    if lonely_units.any():
        if lonely == "adjust":  # centred at zero rather than at the (single-PSU) stratum mean
            contrib = np.where(lonely_units, fh * s1**2, contrib)
        else:
            contrib = np.where(lonely_units, 0.0, contrib)
        if lonely == "average":
            n_strata = np.bincount(dd, minlength=n_cells).astype(np.float64)
            n_ok = n_strata - np.bincount(dd, weights=lonely_units.astype(np.float64), minlength=n_cells)
            cell_factor = n_strata / n_ok
    if factor is not None:
        contrib = contrib * factor[hh]
    return np.asarray(np.bincount(dd, weights=contrib, minlength=n_cells) * cell_factor, dtype=np.float64)


def _compress(keys: npt.NDArray[np.int64], size: int) -> tuple[npt.NDArray[np.int64], IntArray]:
    """Sorted distinct keys and the index of each key among them.

    Up to ``_DENSE_LIMIT`` possible keys, a flag per possible key and a lookup written only at the keys
    present (no pass over the whole key space beyond one boolean array); beyond it, a sort."""
    if size <= _DENSE_LIMIT:
        uniq = _unique(keys, size)
        lookup = np.empty(size, dtype=np.intp)
        lookup[uniq] = np.arange(uniq.size, dtype=np.intp)
        return uniq, lookup[keys]
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq.astype(np.int64), inv.reshape(-1).astype(np.intp)


def _unique(keys: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.int64]:
    if size <= _DENSE_LIMIT:
        seen = np.zeros(size, dtype=bool)
        seen[keys] = True
        return np.flatnonzero(seen).astype(np.int64)
    return np.unique(keys).astype(np.int64)


def _group_sums(
    keys: npt.NDArray[np.int64], size: int, columns: Sequence[FloatArray] | FloatArray
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    uk, inv = _compress(keys, size)
    # One row per column (not per unit) so that every column is contiguous for np.bincount.
    out = np.empty((len(columns), uk.shape[0]))
    for j, col in enumerate(columns):
        out[j] = np.bincount(inv, weights=col, minlength=uk.shape[0])
    return uk, out


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


# --- input checking -------------------------------------------------------------------------------


def _analysis_variable(name: str, values: npt.ArrayLike, n: int) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise StatsError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise StatsError(f"{name} has {arr.shape[0]} values but the design has {n} rows")
    if arr.dtype.kind == "O":
        try:
            arr = np.array([np.nan if v is None else v for v in arr], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise StatsError(f"{name} must be numeric (or None for missing): {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise StatsError(f"{name} must be numeric or boolean, got values of type {arr.dtype}")
    out = arr.astype(np.float64)
    if np.isinf(out).any():
        row = int(np.flatnonzero(np.isinf(out))[0])
        raise StatsError(f"{name} is infinite at row {row}")
    valid = ~np.isnan(out)
    if not valid.any():
        raise StatsError(f"{name} has no non-missing values")
    return out, valid


def _weighted_mean(w: FloatArray, y: FloatArray, valid: npt.NDArray[np.bool_]) -> float:
    wv = w[valid]
    s = float(wv.sum())
    return float((wv * y[valid]).sum() / s) if s > 0 else 0.0


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
