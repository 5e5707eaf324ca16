"""Comparison of citizen-generated (CGD) estimates with official ones.

For each group (domain) we compare a CGD estimate ``θ₁`` (standard error ``se₁``) with an official
figure ``θ₂``.  The two come from independent samples, so

    d = θ₁ − θ₂,    se(d) = √(se₁² + se₂²),    z = d / se(d)

and the two-sided p-value is ``2·(1 − Φ(|z|))`` (or Student's t with ``df`` degrees of freedom when the
CGD design has few PSUs).  Official statistics often come without a standard error.  Per group we then
either back it out of a published confidence interval (``se₂ = (high − low) / (2·q)``, see
:func:`se_from_interval`) or treat the official figure as a fixed benchmark (``se₂ = 0``); the result says
which was done in ``official_se_basis``.

With many groups the p-values are adjusted for multiple comparisons (Holm 1979, family-wise error;
Benjamini & Hochberg 1995, false discovery rate), exactly as R's ``p.adjust``.

References: R ``stats::p.adjust``; Holm, S. (1979) Scand. J. Statist. 6:65–70; Benjamini, Y. & Hochberg, Y.
(1995) JRSS-B 57:289–300.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats as sps

from .errors import StatsError

Adjustment = Literal["holm", "bh", "none"]
SEBasis = Literal["published", "from_interval", "fixed"]
Direction = Literal["lower", "higher", "similar"]

__all__ = [
    "Comparison",
    "Verdict",
    "adjust_pvalues",
    "compare_estimates",
    "se_from_interval",
    "verdicts",
]


def _as_float_array(name: str, value: ArrayLike) -> NDArray[np.float64]:
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError) as exc:
        raise StatsError(f"{name}: expected numbers, got {value!r}") from exc
    if arr.ndim != 1:
        raise StatsError(f"{name}: expected a scalar or a 1-D sequence, got shape {arr.shape}")
    return arr


def _critical_value(level: float, df: NDArray[np.float64] | None) -> NDArray[np.float64] | float:
    if not 0 < level < 1:
        raise StatsError(f"level must be between 0 and 1 (e.g. 0.95), got {level}")
    upper = 1 - (1 - level) / 2
    if df is None:
        return float(sps.norm.ppf(upper))
    return np.asarray(sps.t.ppf(upper, df), dtype=float)


def _check_df(df: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    if df is None:
        return None
    arr = _as_float_array("df", df)
    if arr.size == 1 and n != 1:
        arr = np.full(n, arr[0])
    if arr.size != n:
        raise StatsError(f"df: expected 1 or {n} values, got {arr.size}")
    if np.any(~np.isfinite(arr) | (arr <= 0)):
        bad = int(np.flatnonzero(~np.isfinite(arr) | (arr <= 0))[0])
        raise StatsError(f"df: degrees of freedom must be positive and finite; group {bad} has {arr[bad]}")
    return arr


def se_from_interval(
    low: ArrayLike, high: ArrayLike, level: float = 0.95, df: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Standard error implied by a published symmetric confidence interval.

    ``se = (high − low) / (2·q)`` with ``q`` the normal quantile for ``level`` (1.96 for 95 %) or the
    Student-t quantile when ``df`` is given.  For an asymmetric interval (e.g. a logit or Wilson interval
    around a small proportion) this is the average half-width, an approximation.

    Returns an array with one SE per interval; NaN bounds give NaN.
    """
    lo = _as_float_array("low", low)
    hi = _as_float_array("high", high)
    if lo.shape != hi.shape:
        raise StatsError(f"low and high must have the same length, got {lo.size} and {hi.size}")
    both = np.isfinite(lo) & np.isfinite(hi)
    if np.any(both & (hi < lo)):
        bad = int(np.flatnonzero(both & (hi < lo))[0])
        raise StatsError(f"interval {bad}: high ({hi[bad]}) is below low ({lo[bad]})")
    q = _critical_value(level, _check_df(df, lo.size))
    return np.asarray((hi - lo) / (2 * np.asarray(q)), dtype=float)


def adjust_pvalues(p: ArrayLike, method: Adjustment = "holm") -> NDArray[np.float64]:
    """Adjust p-values for multiple comparisons, as R's ``p.adjust``.

    ``holm``: step-down Bonferroni, ``p̃₍ᵢ₎ = max_{j≤i} min(1, (m − j + 1)·p₍ⱼ₎)``.
    ``bh``: Benjamini–Hochberg, ``p̃₍ᵢ₎ = min_{j≥i} min(1, m/j·p₍ⱼ₎)``.
    ``none``: unchanged.  NaN p-values stay NaN and do not count in ``m``.
    """
    arr = _as_float_array("p", p)
    finite = np.isfinite(arr)
    if np.any(finite & ((arr < 0) | (arr > 1))):
        bad = int(np.flatnonzero(finite & ((arr < 0) | (arr > 1)))[0])
        raise StatsError(f"p-value {bad} is {arr[bad]}, outside [0, 1]")
    out = np.full(arr.shape, np.nan)
    values = arr[finite]
    m = values.size
    if m == 0:
        return out
    if method == "none":
        out[finite] = values
        return out
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    ranks = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - ranks + 1) * ranked))
    elif method == "bh":
        adj = np.minimum.accumulate((m / ranks * ranked)[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    else:
        raise StatsError(f"adjust must be 'holm', 'bh' or 'none', got {method!r}")
    result = np.empty(m)
    result[order] = adj
    out[finite] = result
    return out


@dataclass(frozen=True)
class Comparison:
    """CGD minus official, per group (arrays of equal length).

    ``significant`` uses the adjusted p-value against ``1 − level``; ``official_se_basis`` says, per group,
    whether the official SE was ``published``, backed out ``from_interval``, or taken as 0 (``fixed``).
    """

    difference: NDArray[np.float64]
    se: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]
    p_adjusted: NDArray[np.float64]
    significant: NDArray[np.bool_]
    official_se_basis: tuple[SEBasis, ...]
    level: float
    adjustment: Adjustment
    test: Literal["z", "t"]

    def __len__(self) -> int:
        return int(self.difference.size)

    def __repr__(self) -> str:
        rows = ", ".join(
            f"{d:+.4g} (se {s:.3g}, p={p:.3g}, {b})"
            for d, s, p, b in zip(
                self.difference, self.se, self.p_adjusted, self.official_se_basis, strict=True
            )
        )
        return f"Comparison({self.test}-test, {self.adjustment}-adjusted, level={self.level}: [{rows}])"


def compare_estimates(
    cgd_estimate: ArrayLike,
    cgd_se: ArrayLike,
    official_estimate: ArrayLike,
    official_se: ArrayLike | None = None,
    *,
    official_low: ArrayLike | None = None,
    official_high: ArrayLike | None = None,
    official_level: float = 0.95,
    official_df: ArrayLike | None = None,
    df: ArrayLike | None = None,
    level: float = 0.95,
    adjust: Adjustment = "holm",
) -> Comparison:
    """Compare CGD estimates with official ones, group by group.

    Per group, the official SE is taken from ``official_se`` when finite ("published"), else from the
    published interval ``official_low``/``official_high`` at ``official_level`` ("from_interval"), else it is
    0 ("fixed": the official figure is treated as a known benchmark).  ``df`` (scalar or per group) switches
    from the z test to a t test with those degrees of freedom, for both the p-value and the CI of the
    difference.  ``adjust`` is the multiple-comparison adjustment over the groups.
    """
    est1 = _as_float_array("cgd_estimate", cgd_estimate)
    n = est1.size
    if n == 0:
        raise StatsError("cgd_estimate: no groups to compare")

    def per_group(name: str, value: ArrayLike | None) -> NDArray[np.float64]:
        if value is None:
            return np.full(n, np.nan)
        arr = _as_float_array(name, value)
        if arr.size == 1 and n != 1:
            arr = np.full(n, arr[0])
        if arr.size != n:
            raise StatsError(f"{name}: expected {n} values (one per group), got {arr.size}")
        return arr

    se1 = per_group("cgd_se", cgd_se)
    est2 = per_group("official_estimate", official_estimate)
    se2_published = per_group("official_se", official_se)
    low = per_group("official_low", official_low)
    high = per_group("official_high", official_high)
    for name, arr in (("cgd_se", se1), ("official_se", se2_published)):
        if np.any(np.isfinite(arr) & (arr < 0)):
            bad = int(np.flatnonzero(np.isfinite(arr) & (arr < 0))[0])
            raise StatsError(f"{name}: group {bad} has a negative standard error ({arr[bad]})")
    if np.any(~np.isfinite(se1) & np.isfinite(est1)):
        bad = int(np.flatnonzero(~np.isfinite(se1) & np.isfinite(est1))[0])
        raise StatsError(f"cgd_se: group {bad} has an estimate but no standard error")

    se2_interval = se_from_interval(low, high, official_level, official_df)
    has_published = np.isfinite(se2_published)
    has_interval = ~has_published & np.isfinite(se2_interval)
    se2 = np.where(has_published, se2_published, np.where(has_interval, se2_interval, 0.0))
    basis: tuple[SEBasis, ...] = tuple(
        "published" if p else ("from_interval" if i else "fixed")
        for p, i in zip(has_published, has_interval, strict=True)
    )

    dfs = _check_df(df, n)
    diff = est1 - est2
    se = np.sqrt(se1**2 + se2**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = diff / se
        # se == 0 with a non-zero difference: certainly different; with zero difference: no evidence.
        stat = np.where(se == 0, np.where(diff == 0, 0.0, np.sign(diff) * np.inf), stat)
    if dfs is None:
        p = 2 * sps.norm.sf(np.abs(stat))
    else:
        p = 2 * sps.t.sf(np.abs(stat), dfs)
    p = np.where(np.isfinite(diff), p, np.nan)
    q = _critical_value(level, dfs)
    p_adj = adjust_pvalues(p, adjust)
    significant = np.asarray(np.isfinite(p_adj) & (p_adj < 1 - level), dtype=bool)
    return Comparison(
        difference=diff,
        se=se,
        ci_low=diff - q * se,
        ci_high=diff + q * se,
        statistic=stat,
        p_value=np.asarray(p, dtype=float),
        p_adjusted=p_adj,
        significant=significant,
        official_se_basis=basis,
        level=level,
        adjustment=adjust,
        test="z" if dfs is None else "t",
    )


@dataclass(frozen=True)
class Verdict:
    """A structured, language-neutral verdict for one group; the wording is done by the caller.

    ``direction`` is the CGD figure relative to the official one; it is ``similar`` unless the difference
    exceeds sampling error (adjusted test) and is at least ``min_important`` in absolute size.
    ``magnitude_points`` is ``|difference| × 100`` for proportions (percentage points), else ``None``.
    """

    direction: Direction
    magnitude: float
    magnitude_points: float | None
    exceeds_sampling_error: bool
    official_se_basis: SEBasis


def verdicts(comparison: Comparison, *, proportion: bool = True, min_important: float = 0.0) -> list[Verdict]:
    """Turn a :class:`Comparison` into one :class:`Verdict` per group.

    ``min_important`` (in the estimate's units, e.g. 0.02 for two points on a proportion) keeps tiny but
    statistically significant differences from very large samples as ``similar``.
    """
    if min_important < 0:
        raise StatsError(f"min_important must be ≥ 0, got {min_important}")
    out: list[Verdict] = []
    for d, sig, basis in zip(
        comparison.difference, comparison.significant, comparison.official_se_basis, strict=True
    ):
        magnitude = float(abs(d))
        direction: Direction = "similar"
        if bool(sig) and magnitude >= min_important and magnitude > 0:
            direction = "higher" if d > 0 else "lower"
        out.append(
            Verdict(
                direction=direction,
                magnitude=magnitude,
                magnitude_points=round(magnitude * 100, 10) if proportion else None,
                exceeds_sampling_error=bool(sig),
                official_se_basis=basis,
            )
        )
    return out
