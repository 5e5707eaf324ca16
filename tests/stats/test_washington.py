import itertools

import numpy as np
import pytest

from voicescount.stats.errors import StatsError
from voicescount.stats.washington import WGSS_DOMAINS, cfm_5_17, cfm_domain_difficulty, wgss_identifiers


def _people(rows):
    arr = np.array(rows, dtype=float)
    return {d: arr[:, i] for i, d in enumerate(WGSS_DOMAINS)}


def test_wgss_identifiers_hand_checked():
    r = wgss_identifiers(
        _people(
            [
                [1, 1, 1, 1, 1, 1],  # no difficulty anywhere
                [2, 1, 1, 1, 1, 1],  # some difficulty in one domain
                [2, 2, 1, 1, 1, 1],  # some difficulty in two domains
                [1, 3, 1, 1, 1, 1],  # a lot of difficulty in one domain
                [1, 1, 4, 1, 1, 1],  # cannot do at all
                [9, 9, 9, 9, 9, 9],  # all missing
                [8, 7, 9, 9, 1, np.nan],  # one domain answered, no difficulty
                [9, 9, 3, 9, 9, 9],  # one domain answered, a lot
            ]
        )
    )
    np.testing.assert_array_equal(r.disability1, [0, 1, 1, 1, 1, np.nan, 0, 1])
    np.testing.assert_array_equal(r.disability2, [0, 0, 1, 1, 1, np.nan, 0, 1])
    np.testing.assert_array_equal(r.disability3, [0, 0, 0, 1, 1, np.nan, 0, 1])
    np.testing.assert_array_equal(r.disability4, [0, 0, 0, 0, 1, np.nan, 0, 0])
    assert r.sum_234.tolist() == [0, 1, 2, 1, 1, 0, 0, 1]
    assert r.domains_answered.tolist() == [6, 6, 6, 6, 6, 0, 1, 1]


def test_wgss_identifiers_are_nested_over_all_complete_patterns():
    rows = list(itertools.product([1, 2, 3, 4], repeat=6))
    r = wgss_identifiers(_people(rows))
    assert len(rows) == 4096
    # each identifier includes the next, stricter one
    assert np.all(r.disability1 >= r.disability2)
    assert np.all(r.disability2 >= r.disability3)
    assert np.all(r.disability3 >= r.disability4)
    assert r.disability3.sum() == 4096 - 2**6  # everyone except those with only codes 1/2
    assert r.disability4.sum() == 4096 - 3**6


def test_wgss_errors_name_domain_and_row():
    with pytest.raises(StatsError, match=r"lack the domain\(s\) \['communication'\]"):
        wgss_identifiers({d: [1] for d in WGSS_DOMAINS[:5]})
    bad = _people([[1, 1, 1, 1, 1, 1], [1, 5, 1, 1, 1, 1]])
    with pytest.raises(StatsError, match="hearing: row 1 has code 5"):
        wgss_identifiers(bad)
    uneven = _people([[1, 1, 1, 1, 1, 1]])
    uneven["walking"] = np.array([1.0, 1.0])
    with pytest.raises(StatsError, match="walking: expected 1 responses"):
        wgss_identifiers(uneven)
    with pytest.raises(StatsError, match="unknown WG-SS domain"):
        wgss_identifiers({**_people([[1] * 6]), "anxiety": [1]})


def test_cfm_difficulty_and_frequency_cutoffs():
    np.testing.assert_array_equal(cfm_domain_difficulty("learning", [1, 2, 3, 4, 9]), [0, 0, 1, 1, np.nan])
    # anxiety: 1 daily, 2 weekly, 3 monthly, 4 a few times a year, 5 never
    np.testing.assert_array_equal(
        cfm_domain_difficulty("anxiety", [1, 2, 3, 4, 5, 8]), [1, 0, 0, 0, 0, np.nan]
    )
    with pytest.raises(StatsError, match="depression item 1: row 0 has code 6"):
        cfm_domain_difficulty("depression", [6])
    with pytest.raises(StatsError, match="unknown Child Functioning Module domain"):
        cfm_domain_difficulty("playing", [1])


def test_cfm_multi_item_domain_with_routing():
    # walking: items asked depend on whether the child uses equipment (NaN = not asked)
    walk_100_without = [np.nan, np.nan, 3, 2]
    walk_500_without = [np.nan, np.nan, np.nan, 2]
    walk_100_with = [1, 2, np.nan, np.nan]
    walk_500_with = [4, 2, np.nan, np.nan]
    out = cfm_domain_difficulty("walking", walk_100_without, walk_500_without, walk_100_with, walk_500_with)
    np.testing.assert_array_equal(out, [1, 0, 1, 0])


def test_cfm_5_17_any_domain_and_age():
    r = cfm_5_17(
        {
            "seeing": [1, 1, 9, 1],
            "communication": [[1, 1, 9, 1], [1, 3, 9, 1]],
            "depression": [5, 5, 9, 1],
        },
        age=[10, 12, 8, 18],
    )
    np.testing.assert_array_equal(r.domains["communication"], [0, 1, np.nan, np.nan])
    np.testing.assert_array_equal(r.any_domain, [0, 1, np.nan, np.nan])  # row 3 is 18: outside 5–17
    with pytest.raises(StatsError, match="different numbers"):
        cfm_5_17({"seeing": [1, 1], "hearing": [1]})
    with pytest.raises(StatsError, match="age: expected 4"):
        cfm_5_17({"seeing": [1, 1, 1, 1]}, age=[5])
