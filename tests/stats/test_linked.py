"""Suppression across linked tables: no primary cell can be derived from everything that is published.

The check is independent of the module's own formulation: the attacker here solves for the *finest*
cross-classification of all dimensions (with the level of unmapped answers), where every published cell
of every table is one equation ``Σ covered cells = n``, with ``scipy.optimize.linprog``; a primary cell is
exposed when its minimum and maximum hold a single integer.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from voicescount.stats.errors import StatsError
from voicescount.stats.linked import linked_suppression

THRESHOLD = 10


def publish(full: np.ndarray, levels: tuple[int, ...], tables: list[tuple[int, ...]]) -> dict:
    """n of every non-empty visible cell of ``tables`` (the last level of a dimension with more levels in
    ``full`` than in ``levels`` holds unmapped answers: counted in margins, never shown)."""
    n = {}
    for kept in tables:
        drop = tuple(d for d in range(full.ndim) if d not in kept)
        margin = full.sum(axis=drop) if drop else full
        for codes in itertools.product(*(range(levels[d]) for d in kept)):
            key: list[int | None] = [None] * full.ndim
            for d, c in zip(kept, codes, strict=True):
                key[d] = c
            value = float(np.asarray(margin)[codes] if kept else margin)
            if value > 0:
                n[tuple(key)] = value
    return n


def all_margins(*breakdowns: tuple[int, ...]) -> list[tuple[int, ...]]:
    return sorted({c for b in breakdowns for k in range(len(b) + 1) for c in itertools.combinations(b, k)})


def exposed_primaries(full, levels, tables, n, primary, suppressed) -> list:
    """Primary cells an attacker who knows the finest table's shape derives exactly."""
    shape = full.shape

    def cover(key):
        v = np.zeros(shape)
        v[tuple(slice(None) if c is None else c for c in key)] = 1
        return v.ravel()

    known = []
    for kept in tables:
        for codes in itertools.product(*(range(levels[d]) for d in kept)):
            key: list[int | None] = [None] * full.ndim
            for d, c in zip(kept, codes, strict=True):
                key[d] = c
            if tuple(key) not in suppressed:
                known.append(tuple(key))
    a = np.array([cover(k) for k in known])
    b = np.array([n.get(k, 0.0) for k in known])
    out = []
    for key in primary:
        c = cover(key)
        low = linprog(c, A_eq=a, b_eq=b, bounds=(0, None), method="highs").fun
        high = -linprog(-c, A_eq=a, b_eq=b, bounds=(0, None), method="highs").fun
        if np.floor(high + 1e-7) == np.ceil(low - 1e-7):
            out.append(key)
    return out


def protect(full, levels, tables):
    n = publish(full, levels, tables)
    primary = {k for k, v in n.items() if 0 < v < THRESHOLD}
    has_missing = [s > lv for s, lv in zip(full.shape, levels, strict=True)]
    complements = linked_suppression(levels, has_missing, tables, n, primary)
    return n, primary, complements


def test_a_cell_given_away_by_a_margin_and_a_sibling_is_protected():
    # the 4-way margin of 36 beside a published child of 34 gave the suppressed child of 2 (demo case)
    full = np.array([[[25, 0], [40, 3]], [[30, 4], [5, 2]], [[50, 6], [45, 30]]], dtype=float)
    levels = full.shape
    tables = all_margins((0, 1, 2))
    n, primary, complements = protect(full, levels, tables)
    assert exposed_primaries(full, levels, tables, n, primary, primary)  # primaries alone give cells away
    assert not exposed_primaries(full, levels, tables, n, primary, primary | complements)
    assert not primary & complements
    assert all(n[c] > 0 for c in complements)


@pytest.mark.parametrize("seed", range(6))
def test_random_tables_with_empty_cells_and_all_margins(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(2, 4, size=rng.integers(2, 4)))
    full = rng.multinomial(40 * int(np.prod(shape)) // 4, rng.dirichlet(np.full(np.prod(shape), 0.6)))
    full = full.reshape(shape).astype(float)
    tables = all_margins(tuple(range(len(shape))))
    n, primary, complements = protect(full, shape, tables)
    assert not exposed_primaries(full, shape, tables, n, primary, primary | complements)


def test_answers_outside_the_codes_count_in_margins_but_are_never_known():
    rng = np.random.default_rng(7)
    full = rng.multinomial(150, rng.dirichlet(np.full(3 * 4, 0.7))).reshape(3, 4).astype(float)
    levels = (3, 3)  # the fourth column: answers that map to no code
    tables = all_margins((0, 1))
    n, primary, complements = protect(full, levels, tables)
    assert primary
    assert not exposed_primaries(full, levels, tables, n, primary, primary | complements)


@pytest.mark.parametrize(
    "breakdowns",
    [((0, 1), (1, 2)), ((0, 1), (1, 2), (0, 2))],  # two sharing a margin; a cycle of three
    ids=["shared-margin", "cycle"],
)
def test_breakdowns_tied_by_their_margins_are_protected_together(breakdowns):
    rng = np.random.default_rng(11)
    full = rng.multinomial(220, rng.dirichlet(np.full(27, 0.5))).reshape(3, 3, 3).astype(float)
    tables = all_margins(*breakdowns)
    n, primary, complements = protect(full, full.shape, tables)
    assert primary
    assert not exposed_primaries(full, full.shape, tables, n, primary, primary | complements)


def test_no_primary_cell_no_complement():
    full = np.full((2, 3), 50.0)
    n, primary, complements = protect(full, full.shape, all_margins((0, 1)))
    assert primary == set() and complements == set()


def test_a_table_whose_margins_are_missing_is_refused():
    with pytest.raises(StatsError, match="margins of listed tables"):
        linked_suppression((2, 2), (False, False), [(0, 1)], {(0, 0): 5.0}, {(0, 0)})


def test_a_primary_outside_the_published_tables_is_refused():
    with pytest.raises(StatsError, match="no published table"):
        linked_suppression((2,), (False,), [(), (0,)], {(None,): 7.0, (0,): 7.0}, {(5,)})


def test_pruning_gives_cells_back_only_where_the_audit_still_passes():
    rng = np.random.default_rng(3)
    full = rng.multinomial(300, rng.dirichlet(np.full(36, 0.6))).reshape(3, 4, 3).astype(float)
    tables = all_margins((0, 1, 2))
    n = publish(full, full.shape, tables)
    primary = {k for k, v in n.items() if 0 < v < THRESHOLD}
    plain = linked_suppression(full.shape, [False] * 3, tables, n, primary)
    pruned = linked_suppression(full.shape, [False] * 3, tables, n, primary, prune=len(plain))
    assert pruned < plain  # some complements were not needed
    assert not exposed_primaries(full, full.shape, tables, n, primary, primary | pruned)
