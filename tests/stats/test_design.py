"""SurveyDesign: encoding, R's conventions and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

from voicescount.stats import estimators
from voicescount.stats.design import SurveyDesign
from voicescount.stats.errors import StatsError


def test_simple_random_sample_needs_only_n() -> None:
    design = SurveyDesign.create(n=5)
    assert design.n_rows == 5
    assert design.n_psu == 5 and design.n_strata == 1
    assert design.df == 4
    assert np.array_equal(design.weights, np.ones(5))


def test_weights_only_makes_every_row_a_psu() -> None:
    design = SurveyDesign.create(weights=[1.0, 2.0, 3.0])
    assert design.n_psu == 3 and design.df == 2


def test_degrees_of_freedom_are_psus_minus_strata() -> None:
    design = SurveyDesign.create(strata=["a", "a", "a", "b", "b", "b"], psu=[1, 1, 2, 3, 4, 4])
    assert design.df == 4 - 2
    assert list(design.n_psu_in_stratum) == [2, 2]
    # PSUs of one stratum are numbered consecutively
    assert list(design.psu_stratum) == [0, 0, 1, 1]


def test_weights_derived_from_fpc_like_r() -> None:
    design = SurveyDesign.create(strata=["a", "a", "b", "b", "b"], fpc=[10, 10, 30, 30, 30])
    assert np.allclose(design.weights, [5, 5, 10, 10, 10])
    assert np.allclose(design.f1, [0.8, 0.9])


def test_fpc_as_sampling_fraction_equals_population_size() -> None:
    y = np.array([3.0, 5.0, 4.0, 9.0, 1.0, 2.0])
    strata = np.array(["a", "a", "a", "b", "b", "b"])
    by_size = SurveyDesign.create(strata=strata, fpc=[30, 30, 30, 12, 12, 12], weights=[10] * 3 + [4] * 3)
    by_fraction = SurveyDesign.create(strata=strata, fpc=[0.1] * 3 + [0.25] * 3, weights=[10] * 3 + [4] * 3)
    a = estimators.mean(by_size, y)
    b = estimators.mean(by_fraction, y)
    assert a.se[0] == pytest.approx(b.se[0], rel=1e-12)


def test_nest_makes_psu_ids_unique_within_strata() -> None:
    strata = ["a", "a", "b", "b"]
    psu = [1, 2, 1, 2]
    with pytest.raises(StatsError, match="PSU 1 appears in more than one stratum.*nest=True"):
        SurveyDesign.create(strata=strata, psu=psu)
    design = SurveyDesign.create(strata=strata, psu=psu, nest=True)
    assert design.n_psu == 4


def test_lonely_psu_fails_by_default_naming_the_stratum() -> None:
    with pytest.raises(StatsError, match="stratum 'solo' has only one PSU"):
        SurveyDesign.create(strata=["x", "x", "solo"], psu=[1, 2, 3])


def test_lonely_psu_in_a_census_stratum_is_fine() -> None:
    design = SurveyDesign.create(strata=["x", "x", "solo"], psu=[1, 2, 3], fpc=[10, 10, 1])
    assert list(design.strata_labels) == ["solo", "x"]
    assert list(design.f1) == [0.0, 0.8]


def test_lonely_ssu_with_average_is_refused() -> None:
    with pytest.raises(StatsError, match="PSU 2 has only one second-stage unit"):
        SurveyDesign.create(
            psu=[1, 1, 2], ssu=[1, 2, 3], fpc=[10, 10, 10], fpc2=[5, 5, 4], lonely_psu="average"
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": [1.0, -1.0]}, "weights must not be negative; row 1"),
        ({"weights": [1.0, np.nan]}, "weights must be finite and not missing; row 1"),
        ({"weights": [1.0, np.inf]}, "weights must be finite"),
        ({"weights": ["a", "b"]}, "weights must be numeric"),
        ({"weights": [1.0, 2.0], "strata": ["a"]}, "different lengths"),
        ({"n": 3, "weights": [1.0, 2.0]}, "different lengths"),
        ({"strata": ["a", None]}, "strata is missing at row 1"),
        ({"psu": [1.0, np.nan, 2.0]}, r"psu is missing \(NaN\) at row 1"),
        ({"psu": [1, 1]}, "only one primary sampling unit"),
        ({"fpc": [10, 0.5]}, "mixes population sizes"),
        (
            {"fpc": [2, 2, 2]},
            "more than 100% sampling in stratum '1': 3 PSUs sampled out of a population of 2",
        ),
        ({"strata": ["a", "a", "b"], "fpc": [10, 11, 10]}, "fpc varies within stratum 'a'"),
        ({"n": 2, "lonely_psu": "ignore"}, "lonely_psu must be one of"),
        ({"psu": [1, 2], "fpc2": [3, 3]}, "fpc2 was given without ssu"),
        ({"ssu": [1, 2]}, "ssu needs psu"),
        ({}, "give n"),
        ({"n": 0}, "no rows"),
    ],
)
def test_bad_input_raises_a_specific_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        SurveyDesign.create(**kwargs)  # type: ignore[arg-type]


def test_repr_is_readable() -> None:
    design = SurveyDesign.create(strata=["a", "a", "b", "b"], psu=[1, 2, 3, 4], fpc=[5, 5, 6, 6])
    assert repr(design) == "SurveyDesign(4 rows, 2 strata, 4 PSUs, fpc=True, df=2, lonely_psu='fail')"


def test_estimator_input_errors_name_the_argument() -> None:
    design = SurveyDesign.create(n=3)
    with pytest.raises(StatsError, match="y has 2 values but the design has 3 rows"):
        estimators.mean(design, [1.0, 2.0])
    with pytest.raises(StatsError, match="y is infinite at row 2"):
        estimators.mean(design, [1.0, 2.0, np.inf])
    with pytest.raises(StatsError, match="y must be numeric"):
        estimators.mean(design, ["a", "b", "c"])
    with pytest.raises(StatsError, match="row 1 has 2.0"):
        estimators.proportion(design, [0, 2, 1])
    with pytest.raises(StatsError, match="domain 'region' has 2 values"):
        estimators.mean(design, [1.0, 2.0, 3.0], {"region": [1, 2]})
    with pytest.raises(StatsError, match="margins=True needs domains"):
        estimators.mean(design, [1.0, 2.0, 3.0], margins=True)
    with pytest.raises(StatsError, match="method must be one of"):
        estimators.proportion(design, [0, 1, 1], method="exact")
    with pytest.raises(StatsError, match="level must be between 0 and 1"):
        estimators.mean(design, [1.0, 2.0, 3.0], level=95)
