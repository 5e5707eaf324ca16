import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from voicescount.stats.compare import adjust_pvalues, compare_estimates, se_from_interval, verdicts
from voicescount.stats.errors import StatsError


def test_single_group_z_test_by_hand():
    # CGD 0.42 (se 0.03) vs official 0.35 (se 0.02): d = 0.07, se = sqrt(0.0013)
    c = compare_estimates(0.42, 0.03, 0.35, 0.02)
    se = np.sqrt(0.03**2 + 0.02**2)
    assert c.difference[0] == pytest.approx(0.07)
    assert c.se[0] == pytest.approx(se)
    assert c.statistic[0] == pytest.approx(0.07 / se)
    assert c.p_value[0] == pytest.approx(2 * sps.norm.sf(0.07 / se))
    assert c.ci_low[0] == pytest.approx(0.07 - 1.959963984540054 * se)
    assert c.ci_high[0] == pytest.approx(0.07 + 1.959963984540054 * se)
    assert c.official_se_basis == ("published",)
    assert c.test == "z"
    # z = 0.07 / 0.0361 = 1.94, p = 0.052: not beyond sampling error at 95 %
    assert bool(c.significant[0]) is False
    assert "Comparison(" in repr(c)


def test_significance_threshold_matches_p_value():
    c = compare_estimates([0.42, 0.40], [0.03, 0.03], [0.35, 0.35], [0.02, 0.02], adjust="none")
    assert np.array_equal(c.significant, c.p_value < 0.05)


def test_t_test_with_df_widens_interval():
    z = compare_estimates(0.5, 0.05, 0.4, 0.0)
    t = compare_estimates(0.5, 0.05, 0.4, 0.0, df=9)
    assert t.test == "t"
    assert t.p_value[0] == pytest.approx(2 * sps.t.sf(2.0, 9))
    assert t.p_value[0] > z.p_value[0]
    assert (t.ci_high - t.ci_low)[0] == pytest.approx(2 * sps.t.ppf(0.975, 9) * 0.05)


def test_official_se_basis_per_group():
    c = compare_estimates(
        [0.5, 0.5, 0.5],
        [0.05, 0.05, 0.05],
        [0.4, 0.4, 0.4],
        [0.01, np.nan, np.nan],
        official_low=[np.nan, 0.3608, np.nan],
        official_high=[np.nan, 0.4392, np.nan],
    )
    assert c.official_se_basis == ("published", "from_interval", "fixed")
    assert c.se[0] == pytest.approx(np.hypot(0.05, 0.01))
    assert c.se[1] == pytest.approx(np.hypot(0.05, 0.02), rel=1e-4)
    assert c.se[2] == pytest.approx(0.05)


def test_se_from_interval_normal_and_t():
    assert se_from_interval(0.3608, 0.4392)[0] == pytest.approx(0.02, rel=1e-4)
    q = sps.t.ppf(0.95, 12)
    assert se_from_interval([1.0], [3.0], level=0.90, df=12)[0] == pytest.approx(1 / q)
    with pytest.raises(StatsError, match="high .* below low"):
        se_from_interval(0.5, 0.4)
    with pytest.raises(StatsError, match="level"):
        se_from_interval(0.1, 0.2, level=95)


def test_fixed_benchmark_with_zero_se_everywhere():
    c = compare_estimates([0.4, 0.3], [0.0, 0.0], [0.4, 0.35])
    assert c.p_value[0] == 1.0
    assert c.p_value[1] == 0.0
    assert c.statistic[1] == -np.inf


def test_bh_matches_scipy_false_discovery_control():
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.2, size=40)
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), sps.false_discovery_control(p, method="bh"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_bh_property_against_scipy(p):
    np.testing.assert_allclose(adjust_pvalues(p, "bh"), sps.false_discovery_control(p, method="bh"))


def test_holm_hand_checked_example():
    # p sorted: 0.01, 0.02, 0.03, 0.04 with m = 4:
    # 4*0.01=0.04; 3*0.02=0.06; 2*0.03=0.06 (max with 0.06); 1*0.04=0.04 -> 0.06 (monotone)
    p = [0.03, 0.01, 0.04, 0.02]
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.06, 0.04, 0.06, 0.06])
    # R: p.adjust(c(0.001, 0.2, 0.5), "holm") == c(0.003, 0.4, 0.5)
    np.testing.assert_allclose(adjust_pvalues([0.001, 0.2, 0.5], "holm"), [0.003, 0.4, 0.5])


def test_adjust_ignores_nan_and_caps_at_one():
    out = adjust_pvalues([0.5, np.nan, 0.9], "holm")
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [1.0, 1.0])
    with pytest.raises(StatsError, match="outside"):
        adjust_pvalues([1.5])
    with pytest.raises(StatsError, match="adjust must be"):
        adjust_pvalues([0.1], "bonferroni")  # type: ignore[arg-type]


def test_adjustment_changes_significance():
    # three groups each with p ≈ 0.03: unadjusted significant, Holm not
    z = sps.norm.isf(0.015)
    est = [z * 0.01] * 3
    raw = compare_estimates(est, [0.01] * 3, [0, 0, 0], adjust="none")
    holm = compare_estimates(est, [0.01] * 3, [0, 0, 0], adjust="holm")
    assert raw.significant.all()
    assert not holm.significant.any()
    np.testing.assert_allclose(holm.p_adjusted, 0.09)


def test_verdicts_direction_and_points():
    c = compare_estimates([0.30, 0.50, 0.41], [0.01, 0.01, 0.05], [0.40, 0.40, 0.40], [0.01, 0.01, 0.01])
    v = verdicts(c)
    assert [x.direction for x in v] == ["lower", "higher", "similar"]
    assert v[0].magnitude_points == pytest.approx(10.0)
    assert v[0].exceeds_sampling_error and not v[2].exceeds_sampling_error
    assert v[1].official_se_basis == "published"
    means = verdicts(compare_estimates([12.0], [0.5], [10.0]), proportion=False)
    assert means[0].magnitude_points is None and means[0].direction == "higher"


def test_verdict_min_important_keeps_tiny_differences_similar():
    c = compare_estimates([0.405], [0.001], [0.40], [0.0])
    assert verdicts(c)[0].direction == "higher"
    v = verdicts(c, min_important=0.01)[0]
    assert v.direction == "similar" and v.exceeds_sampling_error


def test_input_errors_name_the_problem():
    with pytest.raises(StatsError, match="official_estimate: expected 2"):
        compare_estimates([0.1, 0.2], [0.01, 0.01], [0.1, 0.2, 0.3])
    with pytest.raises(StatsError, match="negative standard error"):
        compare_estimates([0.1], [-0.01], [0.1])
    with pytest.raises(StatsError, match="no standard error"):
        compare_estimates([0.1], [np.nan], [0.1])
    with pytest.raises(StatsError, match="df"):
        compare_estimates([0.1], [0.01], [0.1], df=0)
    with pytest.raises(StatsError, match="cgd_estimate: expected numbers"):
        compare_estimates(["x"], [0.01], [0.1])
