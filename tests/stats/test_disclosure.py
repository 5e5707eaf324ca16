import numpy as np
import pytest

from voicescount.stats.disclosure import (
    DHS_RULE,
    CellFlag,
    CellSizeRule,
    complementary_suppression,
    feasibility_intervals,
    flag_cells,
    protect_estimates,
    protect_table,
    recoverable_cells,
)
from voicescount.stats.errors import StatsError

CLASSIC = np.array([[20, 3, 15, 30], [12, 40, 8, 25], [33, 21, 19, 5]])


def test_flag_cells_default_rule():
    flags = flag_cells([[0, 1, 9, 10, 500]])
    assert flags.tolist() == [[CellFlag.OK, 2, 2, CellFlag.OK, CellFlag.OK]]
    assert flag_cells([0, 3], CellSizeRule(suppress_zeros=True)).tolist() == [2, 2]


def test_flag_cells_dhs_convention():
    flags = flag_cells([10, 24, 25, 49, 50], DHS_RULE)
    assert [CellFlag(f).name for f in flags] == [
        "SUPPRESSED_SMALL_CELL",
        "SUPPRESSED_SMALL_CELL",
        "CAUTION",
        "CAUTION",
        "OK",
    ]


def test_rule_and_input_errors():
    with pytest.raises(StatsError, match="caution_below"):
        CellSizeRule(suppress_below=25, caution_below=10)
    with pytest.raises(StatsError, match=r"cell \(1,\) is not a count"):
        flag_cells([3, -1])
    with pytest.raises(StatsError, match="shape"):
        recoverable_cells(CLASSIC, np.zeros((2, 2), bool))
    with pytest.raises(StatsError, match="not a set of axes"):
        recoverable_cells(CLASSIC, CLASSIC < 10, margins=[(2,)])
    with pytest.raises(StatsError, match="method"):
        recoverable_cells(CLASSIC, CLASSIC < 10, method="guess")


def test_naive_single_suppression_is_recoverable():
    mask = np.zeros(CLASSIC.shape, bool)
    mask[0, 1] = True  # the 3: row total minus the published row cells gives it back
    assert recoverable_cells(CLASSIC, mask, method="rank")[0, 1]
    assert recoverable_cells(CLASSIC, mask)[0, 1]
    low, high = feasibility_intervals(CLASSIC, mask)
    assert low[0, 1] == pytest.approx(3) and high[0, 1] == pytest.approx(3)
    # only primary cells suppressed (one per row) is still recoverable
    assert recoverable_cells(CLASSIC, CLASSIC < 10).sum() == 3


def test_classic_table_is_protected_and_line_rule_holds():
    p = protect_table(CLASSIC)
    assert p.n_primary == 3
    assert p.n_complementary == 3  # the minimum for three primaries in distinct rows and columns
    sup = p.suppressed
    for line in [*sup, *sup.T]:
        assert line.sum() in (0, 2, 3)  # never exactly one suppressed cell in a row or column
    assert not recoverable_cells(CLASSIC, sup, integer=True).any()
    assert not recoverable_cells(CLASSIC, sup, method="rank").any()
    assert np.isnan(p.published[sup]).all()
    assert np.array_equal(p.published[~sup], CLASSIC[~sup])
    assert "primary=3" in repr(p)


def test_nonnegativity_exposes_what_the_rank_test_misses():
    table = np.array([[0, 0, 5], [3, 4, 5]])
    mask = np.array([[1, 1, 0], [1, 1, 0]], bool)
    assert not recoverable_cells(table, mask, method="rank").any()
    # the suppressed cells of row 0 sum to 0, so both are 0, and the columns give row 1 away
    assert recoverable_cells(table, mask).sum() == 4


def test_lp_without_nonnegativity_agrees_with_rank_test():
    rng = np.random.default_rng(3)
    for _ in range(8):
        table = rng.integers(1, 50, size=(4, 5)).astype(float)
        mask = rng.random(table.shape) < 0.35
        low, high = feasibility_intervals(table, mask, nonnegative=False)
        lp_exact = mask & (high - low < 1e-7)
        assert np.array_equal(lp_exact, recoverable_cells(table, mask, method="rank"))


@pytest.mark.parametrize("seed", range(10))
def test_random_tables_primary_cells_cannot_be_recovered(seed):
    rng = np.random.default_rng(seed)
    ndim = 2 if seed < 6 else 3
    shape = tuple(int(x) for x in rng.integers(2, 6 if ndim == 2 else 4, size=ndim) + 1)
    table = rng.integers(0, 60, size=shape)
    if (table.sum(axis=tuple(range(1, ndim))) < 10).any():
        table += 10  # keep every margin publishable
    p = protect_table(table)
    primary = p.flags == CellFlag.SUPPRESSED_SMALL_CELL
    assert np.array_equal(primary, (table > 0) & (table < 10))
    rec = recoverable_cells(table, p.suppressed, integer=True)
    assert not (rec & primary).any()
    assert not (recoverable_cells(table, p.suppressed, method="rank") & primary).any()


def test_row_margins_only():
    comp = complementary_suppression(CLASSIC, CLASSIC < 10, margins=[(0,)])
    # with only row totals, one complement per row (the smallest other cell) is enough
    assert comp.sum(axis=1).tolist() == [1, 1, 1]
    assert comp[0, 2] and comp[1, 0] and comp[2, 2]


def test_no_margins_published_needs_no_complements():
    assert not complementary_suppression(CLASSIC, CLASSIC < 10, margins=[]).any()


def test_cell_exposed_by_margins_alone_is_refused():
    table = np.array([[4, 30, 40]])  # one row: each column total *is* the cell
    with pytest.raises(StatsError, match="collapse categories"):
        complementary_suppression(table, table < 10)


def test_small_margin_cell_is_refused():
    table = np.array([[3, 2], [40, 50]])
    with pytest.raises(StatsError, match=r"margin over axes \(0,\) cell \(0,\) has only 5"):
        protect_table(table)


def test_weighted_totals_with_unweighted_n():
    totals = np.array([[2010.0, 310.0, 1500.0], [1200.0, 4000.0, 800.0], [3300.0, 2100.0, 1900.0]])
    n = np.array([[20, 3, 15], [12, 40, 18], [33, 21, 19]])
    p = protect_table(totals, n)
    assert p.flags[0, 1] == CellFlag.SUPPRESSED_SMALL_CELL
    assert not (recoverable_cells(totals, p.suppressed) & (p.flags == 2)).any()


def test_protect_estimates_uses_the_n_table():
    n = np.array([[20, 3, 15, 30], [12, 40, 8, 25], [33, 21, 19, 5]])
    est = np.linspace(0.1, 0.9, 12).reshape(3, 4)
    p = protect_estimates(est, n)
    assert np.array_equal(p.flags, protect_table(n).flags)
    assert np.isnan(p.published[p.suppressed]).all()
    assert np.array_equal(p.published[~p.suppressed], est[~p.suppressed])
    assert not (recoverable_cells(n, p.suppressed, integer=True) & (p.flags == 2)).any()
    with pytest.raises(StatsError, match="shape"):
        protect_estimates(est, n[:2])


def test_dhs_rule_in_a_protected_table():
    n = np.array([[60, 55, 70, 80], [80, 10, 90, 95], [75, 65, 75, 40]])
    p = protect_table(n, rule=DHS_RULE)
    assert p.flags.tolist() == [[3, 3, 0, 0], [3, 2, 0, 0], [0, 0, 0, 1]]
    assert not np.isnan(p.published[2, 3])  # "interpret with caution" is still published


def test_caution_cell_can_become_a_complement():
    n = np.array([[300, 60, 70, 30], [80, 10, 90, 95], [55, 65, 75, 85]])
    p = protect_table(n, rule=DHS_RULE)
    assert p.flags[0, 3] == CellFlag.SUPPRESSED_COMPLEMENTARY


def _table_with_empty_cells(rng):
    """A random table of counts with empty and small cells whose margins alone expose no small cell."""
    while True:
        ndim = int(rng.choice([2, 3]))
        shape = tuple(int(x) for x in rng.integers(2, 5 if ndim == 2 else 4, size=ndim))
        table = rng.integers(10, 60, size=shape)
        table[rng.random(shape) < 0.3] = 0
        small = rng.random(shape) < 0.25
        table[small] = rng.integers(1, 10, size=int(small.sum()))
        primary = (table > 0) & (table < 10)
        if not primary.any():
            continue
        try:
            return table, primary, complementary_suppression(table, primary)
        except StatsError:
            continue


@pytest.mark.parametrize("seed", range(12))
def test_every_complement_is_needed(seed):
    # Empty cells make complements with an empty sibling (whose count then equals the margin over that
    # line) possible; still, given the margins the module is told about, no complement is wasted:
    # publishing any single one of them exposes a primary cell.
    table, primary, complement = _table_with_empty_cells(np.random.default_rng(seed))
    suppressed = primary | complement
    assert complement.any()
    assert not (recoverable_cells(table, suppressed, integer=True) & primary).any()
    for cell in np.argwhere(complement):
        published = suppressed.copy()
        published[tuple(cell)] = False
        assert (recoverable_cells(table, published, integer=True) & primary).any(), tuple(cell)
