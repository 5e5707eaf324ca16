"""Design-based means, proportions, totals and ratios with Taylor-linearisation standard errors.

Every estimator works the same way, and matches R's ``survey`` package (``svymean``, ``svytotal``,
``svyratio``, ``svyby``, ``svyciprop``) to rounding error: it checks its analysis variable, picks its
statistic (:mod:`voicescount.stats.linearisation`: point estimate, influence values, SRS variance)
and hands both to the domain engine (:mod:`voicescount.stats.domains`), which returns
:class:`~voicescount.stats.estimates.Estimates`, one row per domain.

Missing values (``NaN``) in the analysis variable put the row outside every domain, which equals
R's ``na.rm=TRUE``. The design effect is R's ``deff=TRUE``: the variance over the variance of a simple
random sample *without* replacement of the same size from the domain population.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from voicescount.stats.design import FloatArray, SurveyDesign, show
from voicescount.stats.domains import DegreesOfFreedom, Domains, _estimate
from voicescount.stats.errors import StatsError
from voicescount.stats.estimates import Estimates
from voicescount.stats.intervals import PROPORTION_METHODS
from voicescount.stats.linearisation import _Mean, _Ratio, _Total


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
    ``"likelihood"`` (R ``method="likelihood"``), ``"asin"`` (R ``method="asin"``), ``"wald"`` or
    ``"wilson"`` (on the effective sample size). The default ``df="domain"`` is what
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
