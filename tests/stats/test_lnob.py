import numpy as np
import pytest

from voicescount.stats.errors import StatsError
from voicescount.stats.lnob import d_index, d_index_by_circumstances, describe_conditions, furthest_behind

LABELS = {
    "en": {
        "residence": {"urban": "urban", "rural": "rural"},
        "sex": {"m": "men", "f": "women"},
        "quintile": {i: f"wealth quintile {i}" for i in range(1, 6)},
    },
    "vi": {
        "residence": {"urban": "thành thị", "rural": "nông thôn"},
        "sex": {"m": "nam", "f": "nữ"},
        "quintile": {i: f"nhóm giàu nghèo {i}" for i in range(1, 6)},
    },
}


def _survey(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    residence = rng.choice(["urban", "rural"], n)
    sex = rng.choice(["m", "f"], n)
    quintile = rng.integers(1, 6, n)
    p = 0.9 - 0.3 * (residence == "rural") - 0.1 * (sex == "f") - 0.05 * (5 - quintile)
    y = (rng.random(n) < p).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    return y, w, {"residence": residence, "sex": sex, "quintile": quintile}


def test_d_index_hand_checked():
    # p̄ = 0.5; D = (0.5·0.3 + 0.5·0.3) / (2·0.5) = 0.3
    assert d_index([0.2, 0.8], [1, 1]) == pytest.approx(0.3)
    assert d_index([0.6, 0.6, 0.6], [0.2, 0.3, 0.5]) == 0
    # unequal shares: p̄ = 0.25·0.9 + 0.75·0.5 = 0.6; Σ w|p − p̄| = 0.075 + 0.075 = 0.15; D = 0.15 / 1.2
    assert d_index([0.9, 0.5], [0.25, 0.75]) == pytest.approx(0.125)


def test_d_index_errors():
    with pytest.raises(StatsError, match="undefined"):
        d_index([0, 0], [1, 1])
    with pytest.raises(StatsError, match="equal length"):
        d_index([0.1], [1, 2])
    with pytest.raises(StatsError, match=r"\[0, 1\]"):
        d_index([1.2, 0.1], [1, 1])


def test_d_index_by_circumstances_matches_group_computation_and_hoi():
    y, w, c = _survey()
    circ = {"residence": c["residence"], "sex": c["sex"]}
    r = d_index_by_circumstances(y, circ, w)
    assert len(r.groups) == 4
    rates, shares = [], []
    for g in r.groups:
        sel = (c["residence"] == g["residence"]) & (c["sex"] == g["sex"])
        rates.append(np.average(y[sel], weights=w[sel]))
        shares.append(w[sel].sum() / w.sum())
    np.testing.assert_allclose(sorted(r.rates), sorted(rates))
    assert r.d == pytest.approx(d_index(rates, shares))
    assert r.coverage == pytest.approx(np.average(y, weights=w))
    assert r.hoi == pytest.approx(r.coverage * (1 - r.d))
    assert r.n.sum() == y.size
    assert 0 < r.d < 0.5


def test_weights_change_the_d_index():
    y = np.array([1, 1, 0, 1, 0, 0], dtype=float)
    g = np.array(["a", "a", "a", "b", "b", "b"])
    unweighted = d_index_by_circumstances(y, {"g": g})
    weighted = d_index_by_circumstances(y, {"g": g}, [1, 1, 1, 1, 5, 5])
    assert unweighted.d == pytest.approx(1 / 6 / (2 * 0.5) * 1)  # rates 2/3 and 1/3 around 0.5
    assert weighted.d != pytest.approx(unweighted.d)


def test_barrier_is_computed_on_its_absence():
    y = np.array([1, 0, 0, 0, 1, 1], dtype=float)  # stunting
    g = np.array(["a", "a", "a", "b", "b", "b"])
    r = d_index_by_circumstances(y, {"g": g}, direction="higher_worse")
    assert r.coverage == pytest.approx(0.5)
    assert r.d == pytest.approx(d_index([2 / 3, 1 / 3], [1, 1]))
    assert r.direction == "higher_worse"


def test_d_index_of_a_barrier_is_on_its_absence_and_neutral_is_on_the_rate():
    y, w, c = _survey()
    barrier = 1 - y  # e.g. poverty where y is "not poor"
    circ = {"residence": c["residence"], "sex": c["sex"]}
    worse = d_index_by_circumstances(barrier, circ, w, direction="higher_worse")
    better = d_index_by_circumstances(y, circ, w, direction="higher_better")
    neutral = d_index_by_circumstances(barrier, circ, w, direction="neutral")
    assert worse.d == pytest.approx(better.d)
    assert worse.coverage == pytest.approx(np.average(y, weights=w))
    # the rate as given has another D: a barrier's D on its own rate is not ESCAP's
    assert neutral.d == pytest.approx(d_index_by_circumstances(barrier, circ, w).d)
    assert neutral.d != pytest.approx(worse.d)


def test_furthest_behind_of_a_barrier_has_its_highest_rate():
    y, w, c = _survey()
    barrier = 1 - y
    access = furthest_behind(y, c, w, labels=LABELS, ordered=["quintile"])
    tree = furthest_behind(barrier, c, w, labels=LABELS, ordered=["quintile"], direction="higher_worse")
    means = [leaf.mean for leaf in tree.leaves]
    assert means == sorted(means, reverse=True)  # from furthest behind (highest barrier) to ahead
    assert tree.furthest_behind.mean == max(means) and tree.furthest_ahead.mean == min(means)
    assert tree.furthest_behind.opportunity == pytest.approx(1 - tree.furthest_behind.mean)
    # the same groups as the tree on access (squared error is the same on 1 - y): the rural poor
    assert tree.furthest_behind.conditions == access.furthest_behind.conditions
    assert tree.furthest_behind.mean == pytest.approx(1 - access.furthest_behind.mean)
    assert tree.furthest_behind.conditions["residence"] == {"rural"}
    assert tree.overall_mean == pytest.approx(np.average(barrier, weights=w))
    # without the direction the lowest barrier would be called furthest behind: the defect
    assert furthest_behind(barrier, c, w, ordered=["quintile"]).furthest_behind.mean == min(means)


def test_furthest_behind_where_higher_is_better_has_the_lowest_rate():
    y, w, c = _survey()
    tree = furthest_behind(y, c, w, ordered=["quintile"], direction="higher_better")
    assert tree.furthest_behind.mean == min(leaf.mean for leaf in tree.leaves)
    assert tree.furthest_behind.opportunity == tree.furthest_behind.mean
    assert tree.lowest == tree.furthest_behind and tree.highest == tree.furthest_ahead


def test_a_neutral_indicator_has_lowest_and_highest_but_no_one_behind():
    y, w, c = _survey()
    tree = furthest_behind(y, c, w, ordered=["quintile"], direction="neutral")
    means = [leaf.mean for leaf in tree.leaves]
    assert means == sorted(means)
    assert tree.lowest.mean == min(means) and tree.highest.mean == max(means)
    with pytest.raises(StatsError, match="no better direction"):
        tree.furthest_behind  # noqa: B018
    with pytest.raises(StatsError, match="no better direction"):
        tree.furthest_ahead  # noqa: B018


def test_unknown_direction_is_an_error():
    y, w, c = _survey(n=300)
    with pytest.raises(StatsError, match="direction must be one of"):
        furthest_behind(y, c, w, direction="lower_better")
    with pytest.raises(StatsError, match="direction must be one of"):
        d_index_by_circumstances(y, c, w, direction="up")


def test_missing_circumstance_is_an_error():
    with pytest.raises(StatsError, match="row 1 is missing"):
        d_index_by_circumstances([1, 0], {"sex": ["m", None]})
    with pytest.raises(StatsError, match="expected 2 values"):
        d_index_by_circumstances([1, 0], {"sex": ["m"]})


def test_describe_conditions_in_two_languages():
    cond = {"residence": {"rural"}, "sex": {"f"}, "quintile": {2, 1}}
    en = describe_conditions(cond, LABELS["en"], "en", order=["residence", "sex", "quintile"])
    vi = describe_conditions(cond, LABELS["vi"], "vi", order=["residence", "sex", "quintile"])
    assert en == "rural, women, wealth quintile 1 or wealth quintile 2"
    assert vi == "nông thôn, nữ, nhóm giàu nghèo 1 hoặc nhóm giàu nghèo 2"
    assert describe_conditions({}, {}, "vi") == "toàn bộ dân số"
    with pytest.raises(StatsError, match="language"):
        describe_conditions(cond, LABELS["en"], "fr")


def test_tree_follows_escap_stopping_rules_and_partitions_the_sample():
    y, w, c = _survey()
    tree = furthest_behind(y, c, w, labels=LABELS, ordered=["quintile"])
    assert sum(leaf.n for leaf in tree.leaves) == y.size
    assert sum(leaf.weight_share for leaf in tree.leaves) == pytest.approx(1.0)
    for leaf in tree.leaves:
        assert leaf.n >= 49
        assert leaf.weight_share >= 0.09 - 1e-12
        # the leaf's conditions select exactly its rows, and its mean is their weighted mean
        sel = np.ones(y.size, bool)
        for dim, allowed in leaf.conditions.items():
            sel &= np.isin(c[dim], list(allowed))
        assert sel.sum() == leaf.n
        assert leaf.mean == pytest.approx(np.average(y[sel], weights=w[sel]))
    means = [leaf.mean for leaf in tree.leaves]
    assert means == sorted(means)
    assert tree.overall_mean == pytest.approx(np.average(y, weights=w))


def test_furthest_behind_is_the_rural_poor_and_described():
    y, w, c = _survey()
    tree = furthest_behind(y, c, w, labels=LABELS, ordered=["quintile"])
    behind = tree.furthest_behind
    assert behind.conditions["residence"] == {"rural"}
    assert max(behind.conditions["quintile"]) <= 2
    assert behind.descriptions["en"].startswith("rural")
    assert behind.descriptions["vi"].startswith("nông thôn")
    ahead = tree.furthest_ahead
    assert ahead.conditions["residence"] == {"urban"}
    assert ahead.mean > behind.mean + 0.3


def test_nominal_circumstance_merges_codes_in_words():
    # a 4-category nominal variable where two categories share the low rate
    rng = np.random.default_rng(5)
    n = 2000
    ethnicity = rng.choice(["A", "B", "C", "D"], n)
    y = (rng.random(n) < np.where(np.isin(ethnicity, ["C", "D"]), 0.2, 0.8)).astype(float)
    labels = {"en": {"ethnicity": {"A": "Kinh", "B": "Hoa", "C": "Hmong", "D": "Dao"}}}
    tree = furthest_behind(y, {"ethnicity": ethnicity}, labels=labels, max_depth=1)
    assert len(tree.leaves) == 2
    words = {leaf.descriptions["en"] for leaf in tree.leaves}
    # one split on a one-hot column: "is X" vs "is not X" (the rest listed with "or")
    assert any(" or " in text for text in words)


def test_tree_input_errors():
    y, w, c = _survey(n=200)
    with pytest.raises(StatsError, match="ordered names unknown"):
        furthest_behind(y, c, w, ordered=["age"])
    with pytest.raises(StatsError, match="weights"):
        furthest_behind(y, c, -w)
    with pytest.raises(StatsError, match="numeric codes"):
        furthest_behind(y, c, w, ordered=["sex"])


def test_small_integer_circumstances_give_the_groups_and_d_of_their_text_codes():
    # integer codes (a dimension's, with unused codes in between) are grouped without sorting; the
    # groups, their order and D are those of the same circumstances as sorted text codes
    rng = np.random.default_rng(7)
    sex = rng.choice([0, 2], size=4000)
    age = rng.choice([1, 3, 4, 9], size=4000)
    y = (rng.random(4000) < 0.3 + 0.1 * (sex == 2) + 0.05 * age / 9).astype(float)
    w = rng.uniform(0.5, 2.0, size=4000)
    as_int = d_index_by_circumstances(y, {"sex": sex, "age": age}, w)
    as_text = d_index_by_circumstances(y, {"sex": sex.astype(str), "age": age.astype(str)}, w)
    assert as_int.d == as_text.d and as_int.hoi == as_text.hoi
    assert np.array_equal(as_int.rates, as_text.rates) and np.array_equal(as_int.n, as_text.n)
