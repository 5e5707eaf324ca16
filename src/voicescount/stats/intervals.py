"""Confidence intervals for design-based estimates.

All functions are vectorised over arrays of estimates (one per domain) and take the degrees of
freedom of the design (``df``; ``np.inf`` gives normal quantiles). A domain whose interval cannot be
computed (``df <= 0``, ``se`` missing) gets ``NaN`` bounds rather than an exception, so that one empty
cell does not block a table.

References: R ``survey::svyciprop`` (methods ``"logit"``, ``"beta"``, ``"likelihood"``, ``"asin"``)
and ``confint.svystat``; Korn E.L., Graubard B.I. (1998) *Confidence intervals for proportions with
small expected number of positive counts estimated from survey data*, Survey Methodology 24:193–201;
Rao J.N.K., Scott A.J. (1984) *On chi-squared tests for multiway contingency tables with cell
proportions estimated from survey data*, Annals of Statistics 12:46–60; Wilson E.B. (1927).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from voicescount.stats import splines
from voicescount.stats.errors import StatsError

FloatArray = npt.NDArray[np.float64]
ProportionMethod = Literal["logit", "beta", "likelihood", "asin", "wald", "wilson"]
PROPORTION_METHODS: tuple[str, ...] = ("logit", "beta", "likelihood", "asin", "wald", "wilson")


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


def _snap(p: npt.ArrayLike) -> FloatArray:
    # A domain where every answer is 0 (or 1) can come out as 2.8e-17 by another order of summation;
    # it is 0 (or 1), whatever the path: same interval for the same data.
    pa = np.asarray(p, dtype=np.float64)
    return np.where(np.abs(pa) < _ROUNDING, 0.0, np.where(np.abs(1 - pa) < _ROUNDING, 1.0, pa))


def korn_graubard(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, n_rows: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Korn–Graubard (Clopper–Pearson on the effective sample size), R's ``svyciprop(method="beta")``.

    ``n_eff = p(1-p)/se² · (qt(α/2, n_rows-1)/qt(α/2, df))²``; bounds are
    ``qbeta(α/2, n_eff·p, n_eff·(1-p)+1)`` and ``qbeta(1-α/2, n_eff·p+1, n_eff·(1-p))``.
    ``n_rows`` is the number of rows in the domain (R's ``nrow(design)``).
    """
    pa = _snap(p)
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


def arcsine(
    p: npt.ArrayLike, se: npt.ArrayLike, df: npt.ArrayLike, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Arcsine-square-root interval, R's ``svyciprop(method="asin")``.

    ``sin²(asin(√p) ± t(df)·se_a)`` with the delta-method SE ``se_a = se/(2·√(p(1−p)))`` — R's
    ``svycontrast(m, quote(asin(sqrt(`1`))))`` then ``confint(..., df=df)``. The design effect enters
    only through ``se``: R uses neither an effective sample size nor ``deff`` here. As in R the bounds
    are not clamped: an angle below 0 or above π/2 is folded back by ``sin²`` (a lower bound that
    would be negative comes out as a small positive number). ``NaN`` where ``p`` is 0 or 1 (R's
    derivative is infinite there and its variance ``NaN``).
    """
    pa = _snap(p)
    inside = (pa > 0) & (pa < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.arcsin(np.sqrt(pa))
        half = t_quantile(level, df) * np.asarray(se, dtype=np.float64) / (2 * np.sqrt(pa * (1 - pa)))
        low = np.where(inside, np.sin(angle - half) ** 2, np.nan)
        high = np.where(inside, np.sin(angle + half) ** 2, np.nan)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


def likelihood(
    p: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    n: npt.ArrayLike,
    n_rows: npt.ArrayLike,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Rao–Scott scaled likelihood-ratio interval, R's ``svyciprop(method="likelihood")``.

    R fits ``svyglm(y ~ 1, family=quasibinomial)`` (weights rescaled to mean 1 over the domain's
    ``n_rows`` rows) and inverts its profile deviance with ``confint(fit, method="likelihood",
    ddf=df)``: the bounds are where the signed root ``z(η) = ±√(ΔD(η)/φ)`` of the deviance
    difference reaches ``±t·√λ``, ``t = qt(α/2, df)``, with (closed forms for an intercept-only fit)::

        ΔD(η) = 2·n_rows·[p·log(p/μ) + (1−p)·log((1−p)/(1−μ))],   μ = expit(η)
        λ = var_design(η̂)/var_model(η̂) = n_rows·se²/(p(1−p))   (design effect of logit p)
        φ = n/(n−1)   (summary.svyglm's svyvar of the Pearson residuals, exactly this for 0/1 data)

    ``n``: rows with non-zero weight; ``λ`` is not :attr:`Estimates.deff` (R's ``deff=TRUE``, against
    sampling without replacement). As R (``MASSprofile_glm``, ``confint_profile``) does, ``z`` is
    computed at ``η̂ ± k·(z_max/5)·se(η̂)``, ``k = 1…9``, stopping after the first ``|z| ≥ z_max =
    √qf(1−a, 1, n_rows−1)``, ``a = pnorm(t·√λ)/2``; an FMM cubic spline through those points is
    evaluated at ``3×(points)`` even steps and inverted linearly (R's ``spline`` then ``approx``).
    That interpolation is R's: its bounds differ from the exact roots of ``z(η) = ±t√λ`` by up to
    1.1e-3 (relative) on the reference data, and by far more with fewer than about 5 effective cases
    on the smaller side (docs/statistics.md). ``NaN`` where ``p`` is 0 or 1 or ``se`` is 0 (R stops
    with an error), ``n ≤ 1``, ``n_rows ≤ 1`` or ``df ≤ 0``, or where the profile does not reach the
    cut-off (R's NA).
    """
    pa, sea, na, rows, t = np.broadcast_arrays(
        _snap(p),
        np.asarray(se, dtype=np.float64),
        np.asarray(n, dtype=np.float64),
        np.asarray(n_rows, dtype=np.float64),
        -t_quantile(level, df),  # qt(α/2, df) < 0 (qnorm for df = ∞)
    )
    low = np.full(pa.shape, np.nan)
    high = np.full(pa.shape, np.nan)
    ok = (pa > 0) & (pa < 1) & (na > 1) & (rows > 1) & np.isfinite(t) & (sea > 0)
    if not ok.any():
        return low, high
    q, s, m, r, tq = pa[ok], sea[ok], na[ok], rows[ok], t[ok]
    centre = np.log(q) - np.log1p(-q)
    se_eta = s / (q * (1 - q))
    scaled = tq * np.sqrt(r * s**2 / (q * (1 - q)))  # t·√λ
    tail = stats.norm.cdf(scaled)  # R's "unscaled level" 2a
    z_max = np.sqrt(stats.f.isf(tail / 2, 1, r - 1))
    cutoff = stats.norm.ppf(tail)  # t·√λ, via R's round trip through pnorm and qnorm
    dispersion = (m / (m - 1))[:, None]

    # Profile points: 9 steps down and up, then keep each side up to its first |z| ≥ z_max.
    k = np.arange(1, _PROFILE_STEPS + 1, dtype=np.float64)
    step = (z_max / 5 * se_eta)[:, None] * k
    eta_down, eta_up = centre[:, None] - step, centre[:, None] + step
    z_down = -np.sqrt(np.maximum(_deviance_gap(eta_down, q, r) / dispersion, 0.0))
    z_up = np.sqrt(np.maximum(_deviance_gap(eta_up, q, r) / dispersion, 0.0))
    keep_down = _through_first_exceedance(np.abs(z_down) >= z_max[:, None])
    keep_up = _through_first_exceedance(z_up >= z_max[:, None])
    eta = np.concatenate([eta_down[:, ::-1], centre[:, None], eta_up], axis=1)
    z = np.concatenate([z_down[:, ::-1], np.zeros((q.size, 1)), z_up], axis=1)
    keep = np.concatenate([keep_down[:, ::-1], np.ones((q.size, 1), dtype=bool), keep_up], axis=1)

    bounds = np.full((q.size, 2), np.nan)
    points = keep.sum(axis=1)
    for size in np.unique(points):
        which = np.flatnonzero(points == size)
        x = eta[which][keep[which]].reshape(which.size, size)
        y = z[which][keep[which]].reshape(which.size, size)
        grid = splines.even_grid(x[:, 0], x[:, -1], 3 * int(size))
        curve = splines.evaluate_spline(x, y, splines.fmm_spline(x, y), grid)
        bounds[which, 0] = splines.inverse_linear(grid, curve, cutoff[which])
        bounds[which, 1] = splines.inverse_linear(grid, curve, -cutoff[which])
    low[ok], high[ok] = _expit(bounds[:, 0]), _expit(bounds[:, 1])
    return low, high


_PROFILE_STEPS = 9  # MASSprofile_glm's maxsteps = 10: at most 9 steps on each side


def _deviance_gap(eta: FloatArray, p: FloatArray, n_rows: FloatArray) -> FloatArray:
    # 2·n_rows·KL(p‖expit(η)), with log μ = −softplus(−η) and log(1−μ) = −softplus(η).
    pc, nc = p[:, None], n_rows[:, None]
    kl = pc * (np.log(pc) + np.logaddexp(0, -eta)) + (1 - pc) * (np.log1p(-pc) + np.logaddexp(0, eta))
    return np.asarray(2 * nc * kl, dtype=np.float64)


def _through_first_exceedance(reached: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    # Steps up to and including the first that reaches z_max (all steps if none does).
    before: npt.NDArray[np.intp] = np.cumsum(reached, axis=1) - reached
    return np.asarray(before == 0, dtype=bool)


def proportion_interval(
    method: str,
    p: npt.ArrayLike,
    se: npt.ArrayLike,
    df: npt.ArrayLike,
    n: npt.ArrayLike,
    n_rows: npt.ArrayLike,
    level: float = 0.95,
) -> tuple[FloatArray, FloatArray]:
    """Dispatch to one of :data:`PROPORTION_METHODS` (``n``: rows with non-zero weight, ``n_rows``: all
    rows of the domain)."""
    if method == "logit":
        return logit(p, se, df, level)
    if method == "beta":
        return korn_graubard(p, se, df, n_rows, level)
    if method == "likelihood":
        return likelihood(p, se, df, n, n_rows, level)
    if method == "asin":
        return arcsine(p, se, df, level)
    if method == "wald":
        return wald(p, se, df, level)
    if method == "wilson":
        return wilson(p, se, df, n, level)
    raise StatsError(f"unknown interval method {method!r}; choose one of {PROPORTION_METHODS}")


def _expit(x: FloatArray) -> FloatArray:
    return np.asarray(1 / (1 + np.exp(-x)), dtype=np.float64)
