"""Properties of the estimators that must hold for any data (hypothesis), plus domain bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from voicescount.stats import estimators, intervals
from voicescount.stats.design import SurveyDesign

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def samples(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """A stratified cluster sample: 1-3 strata, 2-4 PSUs each, 1-4 rows per PSU."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    strata, psus = [], []
    psu_id = 0
    for h in range(draw(st.integers(1, 3))):
        for _ in range(int(rng.integers(2, 5))):
            size = int(rng.integers(1, 5))
            strata += [h] * size
            psus += [psu_id] * size
            psu_id += 1
    n = len(strata)
    return {
        "strata": np.array(strata),
        "psu": np.array(psus),
        "weights": rng.uniform(0.5, 20, n),
        "y": np.round(rng.normal(50, 10, n), 3),
        "flag": rng.random(n) < 0.4,
        "region": rng.integers(0, 3, n),
        "sex": rng.choice(np.array(["f", "m"]), n),
    }


def make(s: dict[str, np.ndarray], order: np.ndarray | None = None) -> SurveyDesign:
    idx = np.arange(len(s["y"])) if order is None else order
    return SurveyDesign.create(strata=s["strata"][idx], psu=s["psu"][idx], weights=s["weights"][idx])


@SETTINGS
@given(samples())
def test_row_order_does_not_matter(s: dict[str, np.ndarray]) -> None:
    order = np.random.default_rng(len(s["y"])).permutation(len(s["y"]))
    a = estimators.mean(make(s), s["y"], {"region": s["region"], "sex": s["sex"]}, margins=True)
    b = estimators.mean(
        make(s, order), s["y"][order], {"region": s["region"][order], "sex": s["sex"][order]}, margins=True
    )
    for field in ("estimate", "se", "ci_low", "ci_high", "deff", "N", "n", "df"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-9, atol=1e-12)
    for dim in a.dimensions:
        assert list(a.levels[dim]) == list(b.levels[dim])


@SETTINGS
@given(samples(), st.floats(0.01, 1000))
def test_scaling_weights_leaves_means_and_their_se_unchanged(s: dict[str, np.ndarray], c: float) -> None:
    scaled = dict(s, weights=s["weights"] * c)
    a = estimators.mean(make(s), s["y"], s["region"])
    b = estimators.mean(make(scaled), s["y"], s["region"])
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-9)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b.N, a.N * c, rtol=1e-9)


@SETTINGS
@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=40))
def test_simple_random_sample_formulas(values: list[float]) -> None:
    y = np.array(values)
    n = y.size
    design = SurveyDesign.create(n=n)
    s = float(np.std(y, ddof=1))
    m = estimators.mean(design, y)
    assert m.estimate[0] == pytest.approx(y.mean(), rel=1e-9, abs=1e-9)
    assert m.se[0] == pytest.approx(s / np.sqrt(n), rel=1e-7, abs=1e-9)
    assert m.df[0] == n - 1
    t = estimators.total(design, y)
    assert t.se[0] == pytest.approx(np.sqrt(n) * s, rel=1e-7, abs=1e-7)
    population = 10 * n
    with_fpc = estimators.mean(SurveyDesign.create(fpc=np.full(n, population)), y)
    assert with_fpc.se[0] == pytest.approx(s / np.sqrt(n) * np.sqrt(1 - n / population), rel=1e-7, abs=1e-9)


@SETTINGS
@given(samples())
def test_domain_estimate_equals_estimate_with_other_rows_missing(s: dict[str, np.ndarray]) -> None:
    design = make(s)
    by_region = estimators.mean(design, s["y"], {"region": s["region"]})
    for i, region in enumerate(by_region.levels["region"]):
        alone = estimators.mean(design, np.where(s["region"] == region, s["y"], np.nan))
        assert alone.estimate[0] == pytest.approx(by_region.estimate[i], rel=1e-9)
        assert alone.se[0] == pytest.approx(by_region.se[i], rel=1e-8, abs=1e-12)
        assert alone.deff[0] == pytest.approx(by_region.deff[i], rel=1e-8, nan_ok=True)


ALL_ZERO_DOMAIN = {  # found by hypothesis: women's proportion 0 came out as 2.8e-17 by one path
    "strata": np.zeros(7, dtype=int),
    "psu": np.array([0, 0, 0, 0, 1, 2, 3]),
    "weights": np.array(
        [16.84637276, 6.38116397, 15.89213582, 18.7924341, 17.00608624, 8.94045283, 12.62155449]
    ),
    "y": np.array([42.865, 49.837, 55.351, 58.319, 58.78, 37.933, 51.367]),
    "flag": np.array([False, False, False, False, True, False, False]),
    "region": np.array([1, 0, 1, 1, 1, 1, 0]),
    "sex": np.array(["f", "f", "f", "f", "m", "m", "f"]),
}


@SETTINGS
@given(samples())
@example(ALL_ZERO_DOMAIN)
def test_margins_are_the_separate_cross_tabulations(s: dict[str, np.ndarray]) -> None:
    design = make(s)
    dims = {"region": s["region"], "sex": s["sex"]}
    everything = estimators.proportion(design, s["flag"], dims, margins=True, method="beta")
    expected = {
        (): estimators.proportion(design, s["flag"], method="beta"),
        ("region",): estimators.proportion(design, s["flag"], {"region": s["region"]}, method="beta"),
        ("sex",): estimators.proportion(design, s["flag"], {"sex": s["sex"]}, method="beta"),
        ("region", "sex"): estimators.proportion(design, s["flag"], dims, method="beta"),
    }
    assert len(everything) == sum(len(e) for e in expected.values())
    for combo, separate in expected.items():
        part = everything.margin(*combo)
        for field in ("estimate", "se", "ci_low", "ci_high", "df", "n"):
            np.testing.assert_allclose(getattr(part, field), getattr(separate, field), rtol=1e-9, atol=1e-12)
        for dim in combo:
            assert list(part.levels[dim]) == list(separate.levels[dim])


@SETTINGS
@given(samples())
def test_margins_without_clusters_match_separate_calls(s: dict[str, np.ndarray]) -> None:
    design = SurveyDesign.create(weights=s["weights"], strata=s["strata"])  # every row its own PSU
    dims = {"region": s["region"], "sex": s["sex"]}
    everything = estimators.total(design, s["y"], dims, margins=True)
    for combo in ((), ("region",), ("sex",), ("region", "sex")):
        separate = estimators.total(design, s["y"], {k: dims[k] for k in combo} or None)
        part = everything.margin(*combo)
        for field in ("estimate", "se", "deff", "df", "n"):
            np.testing.assert_allclose(getattr(part, field), getattr(separate, field), rtol=1e-9, atol=1e-9)


def test_all_intersections_of_three_dimensions() -> None:
    rng = np.random.default_rng(1)
    n = 600
    design = SurveyDesign.create(
        strata=rng.integers(0, 4, n),
        psu=rng.integers(0, 60, n) * 10 + 0,
        weights=rng.uniform(1, 5, n),
        nest=True,
    )
    dims = {"region": rng.integers(0, 3, n), "sex": rng.integers(0, 2, n), "age": rng.integers(0, 4, n)}
    result = estimators.mean(design, rng.normal(size=n), dims, margins=True)
    # total + 3 + 2 + 4 + 6 + 12 + 8 + 24 cells
    assert len(result) == 1 + 3 + 2 + 4 + 6 + 12 + 8 + 24
    overall = result.margin()
    assert overall.N[0] == pytest.approx(design.weights.sum())
    assert result.margin("region", "sex", "age").N.sum() == pytest.approx(design.weights.sum())
    assert result.rows()[0]["region"] is None


def test_missing_domain_label_leaves_the_row_out_of_that_dimension_only() -> None:
    design = SurveyDesign.create(n=6)
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    region = np.array(["n", "n", "s", "s", None, "s"], dtype=object)
    result = estimators.total(design, y, {"region": region}, margins=True)
    assert result.margin().estimate[0] == 21.0
    assert list(result.margin("region").estimate) == [3.0, 13.0]


def test_proportion_intervals_contain_the_estimate() -> None:
    rng = np.random.default_rng(7)
    n = 400
    design = SurveyDesign.create(
        strata=rng.integers(0, 5, n), psu=rng.integers(0, 80, n), weights=rng.uniform(1, 3, n), nest=True
    )
    flag = rng.random(n) < 0.2
    for method in intervals.PROPORTION_METHODS:
        r = estimators.proportion(design, flag, rng.integers(0, 3, n), method=method)
        assert r.interval == method
        assert np.all(r.ci_low < r.estimate) and np.all(r.estimate < r.ci_high)
        assert np.all(r.ci_low > 0) and np.all(r.ci_high < 1)


def test_korn_graubard_handles_zero_and_one() -> None:
    low, high = intervals.korn_graubard([0.0, 1.0], [0.0, 0.0], [10, 10], [20, 20])
    assert low[0] == 0.0 and high[1] == 1.0
    low, high = intervals.logit([0.0], [0.0], [10])
    assert np.isnan(low[0]) and np.isnan(high[0])


def test_wilson_with_srs_variance_is_the_textbook_interval() -> None:
    p, n = 0.3, 50
    se = np.sqrt(p * (1 - p) / n)
    low, high = intervals.wilson([p], [se], [np.inf], [n])
    z = 1.959963984540054
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert low[0] == pytest.approx(centre - half) and high[0] == pytest.approx(centre + half)


def test_repr_lists_domains() -> None:
    design = SurveyDesign.create(n=4)
    text = repr(estimators.mean(design, [1.0, 2.0, 3.0, 4.0], {"sex": ["f", "f", "m", "m"]}))
    assert text.startswith("Estimates(mean, 2 domains, wald 95% CI)")
    assert "sex=f: 1.5" in text
