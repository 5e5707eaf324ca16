"""The likelihood and arcsine proportion intervals and the spline routines behind the likelihood one.

Agreement with R is in test_estimators_vs_r.py; these are the properties that must hold for any input.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from voicescount.stats import estimators, intervals, splines
from voicescount.stats.design import SurveyDesign
from voicescount.stats.errors import StatsError


def test_fmm_spline_reproduces_a_cubic_exactly() -> None:
    # The FMM end conditions match third derivatives of end cubics: a cubic is interpolated exactly.
    rng = np.random.default_rng(3)
    for points in (4, 5, 11, 19):
        x = np.sort(rng.uniform(-3, 2, (6, points)), axis=1)
        coef = rng.normal(size=(6, 4))
        u = splines.even_grid(x[:, 0], x[:, -1], 3 * points)
        at_x, at_u = (np.polynomial.polynomial.polyval(v.T, coef.T, tensor=False).T for v in (x, u))
        got = splines.evaluate_spline(x, at_x, splines.fmm_spline(x, at_x), u)
        np.testing.assert_allclose(got, at_u, rtol=1e-9, atol=1e-9)


def test_fmm_spline_interpolates_its_points() -> None:
    x = np.array([[0.0, 0.5, 2.0], [1.0, 1.1, 1.3]])
    y = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]])
    got = splines.evaluate_spline(x, y, splines.fmm_spline(x, y), x)
    np.testing.assert_allclose(got, y, rtol=1e-14, atol=1e-14)


def test_even_grid_is_seq_with_exact_ends() -> None:
    grid = splines.even_grid(np.array([-1.3, 2.0]), np.array([0.7, 5.0]), 7)
    np.testing.assert_allclose(grid, np.array([np.linspace(-1.3, 0.7, 7), np.linspace(2.0, 5.0, 7)]))
    assert grid[0, 0] == -1.3 and grid[0, -1] == 0.7


def test_inverse_linear_is_linear_inside_and_nan_outside() -> None:
    x = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    y = np.array([[-1.0, 0.0, 4.0], [3.0, 2.0, 0.0]])  # the second decreasing: ordered by y
    np.testing.assert_allclose(splines.inverse_linear(x, y, np.array([2.0, 1.0])), [1.5, 1.5])
    got = splines.inverse_linear(x, y, np.array([-1.5, 3.5]))
    assert np.isnan(got).all()


def exact_likelihood_roots(p: float, se: float, df: float, n: float) -> tuple[float, float]:
    """The roots R's profile interpolates: KL(p‖μ) = φ·t²·se²/(2p(1−p)), φ = n/(n−1), in logit space."""
    t = stats.t.ppf(0.975, df)
    target = n / (n - 1) * t**2 * se**2 / (2 * p * (1 - p))
    centre = np.log(p / (1 - p))

    def gap(eta: float) -> float:
        kl = p * (np.log(p) + np.logaddexp(0, -eta)) + (1 - p) * (np.log1p(-p) + np.logaddexp(0, eta))
        return float(kl - target)

    low = optimize.brentq(gap, centre - 200, centre, xtol=1e-14)
    high = optimize.brentq(gap, centre, centre + 200, xtol=1e-14)
    return float(stats.logistic.cdf(low)), float(stats.logistic.cdf(high))


@settings(max_examples=40, deadline=None)
@given(
    p=st.floats(0.01, 0.99),
    deff=st.floats(0.3, 4.0),
    rows=st.integers(8, 2000),
    df=st.sampled_from([5.0, 30.0, 300.0, np.inf]),
)
def test_likelihood_is_close_to_the_exact_roots_once_the_smaller_count_is_5(
    p: float, deff: float, rows: int, df: float
) -> None:
    # R's 9-point profile and spline are accurate only with enough information: with fewer than 5
    # effective cases on the smaller side it can be far off or miss the cut-off (NaN), as in R.
    assume(min(p, 1 - p) * rows / deff >= 5)
    se = np.sqrt(deff * p * (1 - p) / rows)
    low, high = intervals.likelihood([p], [se], [df], [rows], [rows])
    exact_low, exact_high = exact_likelihood_roots(p, se, df, rows)
    assert low[0] < p < high[0]
    # Measured on a grid of p, deff, rows and df: at most 8e-4 in this regime.
    assert low[0] == pytest.approx(exact_low, rel=2e-3)
    assert high[0] == pytest.approx(exact_high, rel=2e-3)


def test_likelihood_many_domains_at_once_equal_one_at_a_time() -> None:
    # Domains whose profiles stop after different numbers of steps are splined in separate batches.
    rng = np.random.default_rng(11)
    k = 60
    p = rng.uniform(0.005, 0.995, k)
    rows = rng.integers(5, 400, k).astype(float)
    se = np.sqrt(rng.uniform(0.2, 6.0, k) * p * (1 - p) / rows)
    df = rng.choice(np.array([3.0, 20.0, np.inf]), k)
    low, high = intervals.likelihood(p, se, df, rows, rows)
    for i in range(k):
        one_low, one_high = intervals.likelihood(
            p[i : i + 1], se[i : i + 1], df[i : i + 1], rows[i : i + 1], rows[i : i + 1]
        )
        assert (low[i], high[i]) == (one_low[0], one_high[0])
    assert np.isfinite(low).all() and np.isfinite(high).all()


def test_likelihood_and_asin_are_nan_where_r_gives_no_interval() -> None:
    p = np.array([0.0, 1.0, 2.8e-17, 0.3, 0.3, 0.3])
    se = np.array([0.0, 0.0, 1e-17, 0.05, 0.05, 0.05])
    df = np.array([10.0, 10.0, 10.0, 0.0, 10.0, 10.0])
    n = np.array([20.0, 20.0, 20.0, 20.0, 1.0, 20.0])
    low, high = intervals.likelihood(p, se, df, n, n)
    assert np.isnan(low[:5]).all() and np.isnan(high[:5]).all()
    assert low[5] < 0.3 < high[5]
    low, high = intervals.arcsine(p, se, df)
    assert np.isnan(low[[0, 1, 2, 3]]).all() and np.isnan(high[[0, 1, 2, 3]]).all()
    assert low[5] < 0.3 < high[5]


def test_asin_is_symmetric_on_the_angle_scale() -> None:
    p, se, df = 0.3, 0.04, 25.0
    low, high = intervals.arcsine([p], [se], [df])
    angle, half = np.arcsin(np.sqrt(p)), stats.t.ppf(0.975, df) * se / (2 * np.sqrt(p * (1 - p)))
    assert np.arcsin(np.sqrt(low[0])) == pytest.approx(angle - half, rel=1e-14)
    assert np.arcsin(np.sqrt(high[0])) == pytest.approx(angle + half, rel=1e-14)


def test_proportion_takes_the_new_methods_and_names_the_choices_on_a_typo() -> None:
    design = SurveyDesign.create(n=40)
    flag = np.arange(40) % 4 == 0
    for method in ("likelihood", "asin"):
        r = estimators.proportion(design, flag, np.arange(40) // 20, method=method, margins=True)
        assert r.interval == method
        assert np.all(r.ci_low < r.estimate) and np.all(r.estimate < r.ci_high)
    with pytest.raises(StatsError, match="likelihood"):
        estimators.proportion(design, flag, method="likelyhood")
    with pytest.raises(StatsError, match="asin"):
        intervals.proportion_interval("arcsin", [0.3], [0.05], [10], [20], [20])
