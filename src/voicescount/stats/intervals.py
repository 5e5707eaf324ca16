"""Confidence intervals for design-based estimates.

All functions are vectorised over arrays of estimates (one per domain) and take the degrees of
freedom of the design (``df``; ``np.inf`` gives normal quantiles). A domain whose interval cannot be
computed (``df <= 0``, ``se`` missing) gets ``NaN`` bounds rather than an exception, so that one empty
cell does not block a table.

References: R ``survey::svyciprop`` (methods ``"logit"`` and ``"beta"``) and ``confint.svystat``;
Korn E.L., Graubard B.I. (1998) *Confidence intervals for proportions with small expected number of
positive counts estimated from survey data*, Survey Methodology 24:193–201; Wilson E.B. (1927).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from voicescount.stats.errors import StatsError

FloatArray = npt.NDArray[np.float64]
ProportionMethod = Literal["logit", "beta", "wald", "wilson"]
PROPORTION_METHODS: tuple[str, ...] = ("logit", "beta", "wald", "wilson")


def t_quantile(level: float, df: npt.ArrayLike) -> FloatArray:
    """Two-sided quantile ``qt(1 - (1-level)/2, df)``; ``NaN`` where ``df <= 0``."""
    dfa = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        q = stats.t.ppf(1 - (1 - level) / 2, np.where(dfa > 0, dfa, np.nan))
    return np.asarray(q, dtype=np.float64)


def wald(
    estimate: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """``estimate ± t(df)·se`` — R's ``confint(x, df=degf(design))``."""
    est = np.asarray(estimate, dtype=np.float64)
    half = t_quantile(level, df) * np.asarray(se, dtype=np.float64)
    return est - half, est + half


def logit(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Logit interval, R's ``svyciprop(method="logit")``: ``expit(logit(p) ± t·se/(p(1-p)))``.

    Undefined (``NaN``) when ``p`` is 0 or 1; use :func:`korn_graubard` there.
    """
    pa = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.log(pa / (1 - pa))
        half = t_quantile(level, df) * np.asarray(se, dtype=np.float64) / (pa * (1 - pa))
        inside = (pa > 0) & (pa < 1)
        low = np.where(inside, _expit(eta - half), np.nan)
        high = np.where(inside, _expit(eta + half), np.nan)
    return low, high


_ROUNDING = 1e-12  # a proportion this close to 0 or 1 is 0 or 1 up to floating-point rounding


def korn_graubard(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, n_rows: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Korn–Graubard (Clopper–Pearson on the effective sample size), R's ``svyciprop(method="beta")``.

    ``n_eff = p(1-p)/se² · (qt(α/2, n_rows-1)/qt(α/2, df))²``; bounds are
    ``qbeta(α/2, n_eff·p, n_eff·(1-p)+1)`` and ``qbeta(1-α/2, n_eff·p+1, n_eff·(1-p))``.
    ``n_rows`` is the number of rows in the domain (R's ``nrow(design)``).
    """
    pa = np.asarray(p, dtype=np.float64)
    # A domain where every answer is 0 (or 1) can come out as 2.8e-17 by another order of summation;
    # it is 0 (or 1), whatever the path: same interval for the same data.
    pa = np.where(np.abs(pa) < _ROUNDING, 0.0, np.where(np.abs(1 - pa) < _ROUNDING, 1.0, pa))
    sea = np.asarray(se, dtype=np.float64)
    alpha = 1 - level
    rows = np.asarray(n_rows, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = t_quantile(level, rows - 1) / t_quantile(level, df)
        n_eff = pa * (1 - pa) / sea**2 * ratio**2
        low = stats.beta.ppf(alpha / 2, n_eff * pa, n_eff * (1 - pa) + 1)
        high = stats.beta.ppf(1 - alpha / 2, n_eff * pa + 1, n_eff * (1 - pa))
    low = np.where(pa == 0, 0.0, low)
    high = np.where(pa == 1, 1.0, high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def wilson(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, n: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval on the effective sample size ``n_eff = p(1-p)/se²``.

    Where the variance is zero (``p`` is 0 or 1) the unweighted count ``n`` is used instead, which
    gives the usual Wilson interval for an all-or-nothing sample. The quantile is ``t(df)``.
    """
    pa = np.asarray(p, dtype=np.float64)
    sea = np.asarray(se, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(sea > 0, pa * (1 - pa) / sea**2, np.asarray(n, dtype=np.float64))
        z = t_quantile(level, df)
        z2n = z**2 / n_eff
        centre = (pa + z2n / 2) / (1 + z2n)
        half = z * np.sqrt(pa * (1 - pa) / n_eff + z2n / (4 * n_eff)) / (1 + z2n)
    return centre - half, centre + half


def proportion_interval(
    method: str,
    p: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    n: npt.ArrayLike,
    n_rows: npt.ArrayLike,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Dispatch to one of :data:`PROPORTION_METHODS`."""
    if method == "logit":
        return logit(p, se, df, level)
    if method == "beta":
        return korn_graubard(p, se, df, n_rows, level)
    if method == "wald":
        return wald(p, se, df, level)
    if method == "wilson":
        return wilson(p, se, df, n, level)
    raise StatsError(f"unknown interval method {method!r}; choose one of {PROPORTION_METHODS}")


def _expit(x: FloatArray) -> FloatArray:
    return np.asarray(1 / (1 + np.exp(-x)), dtype=np.float64)
