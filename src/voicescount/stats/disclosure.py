"""Statistical disclosure control for published tables.

Two layers:

1. **Cell rules** on the *unweighted* number of respondents behind each cell: fewer than ``suppress_below``
   (default 10) → suppressed; optionally fewer than ``caution_below`` → "interpret with caution".  The DHS
   convention (:data:`DHS_RULE`) is 25–49 unweighted cases → caution (shown in parentheses in DHS
   reports), fewer than 25 → suppressed (shown as an asterisk).
2. **Complementary (secondary) suppression** for tables of counts or totals whose margins are published:
   more cells are hidden so that no primary-suppressed cell can be recomputed from the published cells
   and margins.  Protection is checked with an *attacker*, :func:`recoverable_cells`, that solves the
   published linear system: a suppressed cell is exactly derivable when its unit vector lies in the row
   space of the constraints restricted to the suppressed cells (rank test), or — stronger, because the
   attacker also knows counts are non-negative (and possibly integers) — when the minimum and maximum of
   the cell over all tables consistent with what is published coincide (two linear programmes per cell).

Tables are k-dimensional numpy arrays of interior cells.  ``margins`` lists the published marginal
tables by the axes they *keep*: for a 2-D table ``(0,)`` are the row totals, ``(1,)`` the column totals
and ``()`` the grand total.  The default is the full hierarchy: every proper subset of the axes.

For estimates of means or proportions the same rules apply on the unweighted n, and the complementary
pattern is computed on the n table (the n of margins is normally published), see :func:`protect_estimates`.

References: Hundepool et al. (2012) *Statistical Disclosure Control*, Wiley, ch. 4 (secondary suppression,
"at least two suppressed cells per line", LP auditing); ICF (2018) *Guide to DHS Statistics*, "Presentation
of results based on few cases".
"""

from __future__ import annotations

import enum
import itertools
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from .errors import StatsError

__all__ = [
    "DEFAULT_RULE",
    "DHS_RULE",
    "CellFlag",
    "CellSizeRule",
    "ProtectedTable",
    "complementary_suppression",
    "feasibility_intervals",
    "flag_cells",
    "protect_estimates",
    "protect_table",
    "recoverable_cells",
]

Margins = Sequence[Sequence[int]]


class CellFlag(enum.IntEnum):
    """Publication status of one cell (stored as small integers in flag arrays)."""

    OK = 0
    CAUTION = 1
    SUPPRESSED_SMALL_CELL = 2
    SUPPRESSED_COMPLEMENTARY = 3


@dataclass(frozen=True)
class CellSizeRule:
    """Thresholds on the unweighted cell size.

    ``n < suppress_below`` → suppressed; ``suppress_below ≤ n < caution_below`` → caution.  Empty cells
    (n = 0) publish nothing about anyone and are OK unless ``suppress_zeros``.
    """

    suppress_below: int = 10
    caution_below: int | None = None
    suppress_zeros: bool = False

    def __post_init__(self) -> None:
        if self.suppress_below < 1:
            raise StatsError(f"suppress_below must be at least 1, got {self.suppress_below}")
        if self.caution_below is not None and self.caution_below < self.suppress_below:
            raise StatsError(
                f"caution_below ({self.caution_below}) must not be below "
                f"suppress_below ({self.suppress_below})"
            )


DEFAULT_RULE = CellSizeRule(suppress_below=10)
DHS_RULE = CellSizeRule(suppress_below=25, caution_below=50)


def _table(name: str, value: ArrayLike) -> NDArray[np.float64]:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise StatsError(f"{name}: expected an array of numbers") from exc
    if arr.ndim == 0:
        raise StatsError(f"{name}: expected a table (at least 1-D), got a scalar")
    if arr.size == 0:
        raise StatsError(f"{name}: the table is empty")
    return arr


def flag_cells(n_unweighted: ArrayLike, rule: CellSizeRule = DEFAULT_RULE) -> NDArray[np.int8]:
    """Primary cell flags (:class:`CellFlag` values) from unweighted cell sizes."""
    n = _table("n_unweighted", n_unweighted)
    if np.any(~np.isfinite(n) | (n < 0)):
        bad = np.argwhere(~np.isfinite(n) | (n < 0))[0]
        raise StatsError(f"n_unweighted: cell {tuple(int(i) for i in bad)} is not a count ≥ 0")
    flags = np.full(n.shape, CellFlag.OK, dtype=np.int8)
    if rule.caution_below is not None:
        flags[n < rule.caution_below] = CellFlag.CAUTION
    small = n < rule.suppress_below
    if not rule.suppress_zeros:
        small &= n > 0
        flags[n == 0] = CellFlag.OK
    flags[small] = CellFlag.SUPPRESSED_SMALL_CELL
    return flags


# --------------------------------------------------------------------------------------------------------
# The published linear system


def _normalise_margins(ndim: int, margins: Margins | None) -> list[tuple[int, ...]]:
    if margins is None:
        return [c for r in range(ndim) for c in itertools.combinations(range(ndim), r)]
    out: list[tuple[int, ...]] = []
    for m in margins:
        kept = tuple(sorted(int(a) for a in m))
        if len(set(kept)) != len(kept) or any(a < 0 or a >= ndim for a in kept):
            raise StatsError(f"margins: {tuple(m)} is not a set of axes of a {ndim}-D table")
        if len(kept) == ndim:
            raise StatsError(f"margins: {tuple(m)} keeps every axis; that is the table itself, not a margin")
        if kept not in out:
            out.append(kept)
    return out


def _constraint_matrix(shape: tuple[int, ...], margins: list[tuple[int, ...]]) -> NDArray[np.float64]:
    """One row per published margin cell; ``A @ table.ravel()`` gives the margin values."""
    coords = np.indices(shape).reshape(len(shape), -1)
    n_cells = coords.shape[1]
    blocks = []
    for kept in margins:
        if kept:
            group = np.ravel_multi_index(tuple(coords[a] for a in kept), tuple(shape[a] for a in kept))
            n_groups = int(np.prod([shape[a] for a in kept]))
        else:
            group = np.zeros(n_cells, dtype=np.intp)
            n_groups = 1
        block = np.zeros((n_groups, n_cells))
        block[group, np.arange(n_cells)] = 1.0
        blocks.append(block)
    if not blocks:
        return np.zeros((0, n_cells))
    return np.vstack(blocks)


def _check_mask(mask: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    m = np.asarray(mask, dtype=bool)
    if m.shape != shape:
        raise StatsError(f"suppressed_mask has shape {m.shape}, the table has shape {shape}")
    return m


def _published_system(
    values: NDArray[np.float64], mask: NDArray[np.bool_], kept: list[tuple[int, ...]]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``A_S x = b`` over the suppressed cells ``x``: margin equations, published cells moved right."""
    a = _constraint_matrix(values.shape, kept)
    flat = values.ravel()
    sup = mask.ravel()
    a_s = a[:, sup]
    b = a[:, sup] @ flat[sup]
    rows = np.any(a_s != 0, axis=1)
    return a_s[rows], b[rows]


_SOLVER: highspy.Highs | None = None


def _solver() -> highspy.Highs:
    """One HiGHS instance per process (its banner, printed when the first one is made, is swallowed)."""
    global _SOLVER
    if _SOLVER is None:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as devnull:
                os.dup2(devnull.fileno(), 1)
                solver = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        solver.setOptionValue("output_flag", False)
        # one thread: the audit's problems are small, and no solver thread may exist when a worker
        # process is forked from this one
        solver.setOptionValue("threads", 1)
        # primal simplex: after a change of objective the last optimal basis is still primal feasible,
        # so each min/max starts from it (a third of the time of the default choice, dual simplex)
        solver.setOptionValue("simplex_strategy", 4)
        _SOLVER = solver
    return _SOLVER


def reset_solver() -> None:
    """Forget this process's solver (a forked worker makes its own)."""
    global _SOLVER
    _SOLVER = None


class _Attacker:
    """The published system ``{x : A x = b (, x ≥ 0)}`` as one HiGHS model.

    Each cell's minimum and maximum only change the objective, so every solve after the first starts
    from the previous optimal basis (dual simplex warm start) — tens of times faster than building a new
    ``linprog`` problem per cell."""

    def __init__(self, a_eq: NDArray[np.float64], b_eq: NDArray[np.float64], nonnegative: bool) -> None:
        m, n = a_eq.shape
        self.n = n
        self.empty = m == 0
        if self.empty:
            self.lower = 0.0 if nonnegative else -np.inf
            return
        csc = sparse.csc_matrix(a_eq)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n) if nonnegative else np.full(n, -highspy.kHighsInf)
        lp.col_upper_ = np.full(n, highspy.kHighsInf)
        lp.row_lower_ = lp.row_upper_ = np.asarray(b_eq, dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, m
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = csc.indptr, csc.indices, csc.data
        self.highs = _solver()
        self.highs.clearSolver()
        self.highs.passModel(lp)

    def _bound(self, j: int, sign: float) -> float:
        """Minimum (``sign`` 1) or maximum (``sign`` -1) of suppressed cell ``j``."""
        highs = self.highs
        status = highspy.HighsModelStatus
        highs.changeColCost(j, sign)
        try:
            highs.run()
            result = highs.getModelStatus()
            if result == status.kOptimal:
                return sign * float(highs.getInfo().objective_function_value)
            if result in (status.kUnbounded, status.kUnboundedOrInfeasible):
                # The system is feasible by construction (the true table satisfies it).
                return -sign * np.inf
            raise StatsError(
                f"the published system could not be solved for suppressed cell {j}: "
                f"{highs.modelStatusToString(result)}"
            )
        finally:
            highs.changeColCost(j, 0.0)

    def cell_range(self, j: int) -> tuple[float, float]:
        """Min and max of suppressed cell ``j``."""
        if self.empty:
            return self.lower, np.inf
        return self._bound(j, 1.0), self._bound(j, -1.0)

    def is_exact(self, j: int, true_value: float, integer: bool, tol: float) -> bool:
        """Whether cell ``j`` (whose true value is in its interval) is derived exactly.

        The maximum is solved first: when it already leaves room above the true value (a whole unit for
        tables of counts), the cell is protected and the minimum is not needed — for a protected table
        that halves the solves."""
        if self.empty:
            return False
        high = self._bound(j, -1.0)
        if high - true_value > (1.0 - tol if integer else tol * (1.0 + abs(high))):
            return False
        return _is_exact(self._bound(j, 1.0), high, integer, tol)


def feasibility_intervals(
    table: ArrayLike,
    suppressed_mask: ArrayLike,
    margins: Margins | None = None,
    *,
    nonnegative: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Smallest and largest value each suppressed cell can take, given what is published.

    The attacker knows every unsuppressed cell and every published margin (computed from ``table``) and,
    if ``nonnegative``, that cells are ≥ 0.  For each suppressed cell it minimises and maximises the cell
    over that polytope with HiGHS (``highspy``).  Unsuppressed cells get their own value as
    both bounds; an unbounded maximum is ``inf``.
    """
    values = _table("table", table)
    mask = _check_mask(suppressed_mask, values.shape)
    a_eq, b_eq = _published_system(values, mask, _normalise_margins(values.ndim, margins))
    low = values.ravel().copy()
    high = low.copy()
    attacker = _Attacker(a_eq, b_eq, nonnegative)
    for j, cell in enumerate(np.flatnonzero(mask.ravel())):
        low[cell], high[cell] = attacker.cell_range(j)
    return low.reshape(values.shape), high.reshape(values.shape)


def _is_exact(low: float, high: float, integer: bool, tol: float) -> bool:
    if high - low <= tol * (1.0 + (abs(high) if np.isfinite(high) else 0.0)):
        return True
    return bool(integer and np.floor(high + tol) == np.ceil(low - tol))


def _determined_by_rank(a_s: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Cells whose unit vector lies in the row space of ``a_s`` (zero component in every null vector)."""
    if a_s.shape[0] == 0:
        return np.zeros(a_s.shape[1], dtype=bool)
    # Margins repeat the same equation over the suppressed cells many times: drop duplicates, and only
    # form the n×n right factor (the left one would be m×m, and m is large for k-D tables).
    a = np.unique(a_s, axis=0)
    m, n = a.shape
    _, sv, vh = np.linalg.svd(a, full_matrices=m < n)
    rank = int(np.sum(sv > max(m, n) * np.finfo(float).eps * (sv[0] if sv.size else 0.0)))
    null = vh[rank:].T
    if null.size == 0:
        return np.ones(a_s.shape[1], dtype=bool)
    return np.asarray(np.linalg.norm(null, axis=1) < 1e-9)


def _exposed(
    values: NDArray[np.float64],
    mask: NDArray[np.bool_],
    targets: NDArray[np.bool_],
    kept: list[tuple[int, ...]],
    *,
    integer: bool,
    tol: float = 1e-7,
    first_only: bool = False,
) -> list[int]:
    """Flat indices of ``targets`` cells (a subset of ``mask``) that the LP attacker derives exactly.

    Every cell the rank test finds is also found here (a cell fixed by the equations alone has a
    zero-width interval), so the rank test is not run first: with warm-started solves, the LP is cheaper
    than the SVD of a large k-dimensional table's system."""
    a_eq, b_eq = _published_system(values, mask, kept)
    sup_idx = np.flatnonzero(mask.ravel())
    attacker = _Attacker(a_eq, b_eq, nonnegative=True)
    out: list[int] = []
    flat = values.ravel()
    for j, cell in enumerate(sup_idx):
        if targets.ravel()[cell] and attacker.is_exact(j, float(flat[cell]), integer, tol):
            out.append(int(cell))
            if first_only:
                break
    return out


def recoverable_cells(
    table: ArrayLike,
    suppressed_mask: ArrayLike,
    margins: Margins | None = None,
    *,
    method: str = "lp",
    integer: bool = False,
    tol: float = 1e-7,
) -> NDArray[np.bool_]:
    """Suppressed cells whose value an attacker can derive exactly from the published table.

    ``method="rank"``: pure linear algebra — cell *i* is determined iff every vector of the null space of
    the constraint matrix restricted to the suppressed cells has a zero *i*-th component (equivalently,
    its unit vector lies in the row space).  ``method="lp"`` (default, stronger): the feasibility interval
    from :func:`feasibility_intervals` with non-negativity has zero width, or — with ``integer=True``, for
    tables of counts — contains a single integer.
    """
    values = _table("table", table)
    mask = _check_mask(suppressed_mask, values.shape)
    kept = _normalise_margins(values.ndim, margins)
    out = np.zeros(values.size, dtype=bool)
    if not mask.any():
        return out.reshape(values.shape)
    if method == "rank":
        a_eq, _ = _published_system(values, mask, kept)
        out[mask.ravel()] = _determined_by_rank(a_eq)
    elif method == "lp":
        out[_exposed(values, mask, mask, kept, integer=integer, tol=tol)] = True
    else:
        raise StatsError(f"method must be 'lp' or 'rank', got {method!r}")
    return out.reshape(values.shape)


# --------------------------------------------------------------------------------------------------------
# Complementary suppression


def _groups(shape: tuple[int, ...], margins: list[tuple[int, ...]]) -> list[NDArray[np.intp]]:
    """For each margin, the group id of every cell (flattened)."""
    a = _constraint_matrix(shape, margins)
    # row r of A is one group; recover per-margin labelling from the blocks
    out = []
    start = 0
    for kept in margins:
        n_groups = int(np.prod([shape[ax] for ax in kept])) if kept else 1
        block = a[start : start + n_groups]
        out.append(np.argmax(block, axis=0).astype(np.intp))
        start += n_groups
    return out


def _close_singletons(
    values: NDArray[np.float64], mask: NDArray[np.bool_], groups: list[NDArray[np.intp]]
) -> NDArray[np.bool_]:
    """The classic line rule, iterated to a fixed point over every margin: a group (row, column, …) with
    exactly one suppressed cell gets a second one: among the positive unsuppressed cells of the group, the
    one opening the fewest new groups (other lines already holding a suppression), then the smallest."""
    mask = mask.copy()
    changed = True
    while changed:
        changed = False
        for g in groups:
            counts = np.bincount(g[mask], minlength=int(g.max()) + 1)
            for group_id in np.flatnonzero(counts == 1):
                members = np.flatnonzero(g == group_id)
                candidates = members[~mask[members]]
                if candidates.size == 0:
                    continue
                chosen = _pick_complement(values, mask, groups, candidates)
                mask[chosen] = True
                changed = True
                # counts are stale after a change; recompute for this margin
                break
            if changed:
                break
    return mask


def _pick_complement(
    values: NDArray[np.float64],
    mask: NDArray[np.bool_],
    groups: list[NDArray[np.intp]],
    candidates: NDArray[np.intp],
) -> int:
    opened = np.zeros(candidates.size)
    for g in groups:
        suppressed_groups = set(g[mask].tolist())
        opened += np.array([0.0 if g[c] in suppressed_groups else 1.0 for c in candidates])
    # zeros are poor complements: with non-negativity a suppressed 0 next to another small cell is exposed
    is_zero = values[candidates] <= 0
    order = np.lexsort((candidates, values[candidates], opened, is_zero))
    return int(candidates[order[0]])


def complementary_suppression(
    table: ArrayLike,
    primary_mask: ArrayLike,
    margins: Margins | None = None,
    *,
    integer: bool | None = None,
) -> NDArray[np.bool_]:
    """Cells to suppress in addition to ``primary_mask`` so no primary cell can be derived exactly.

    Heuristic, then audited: (1) the line rule (every row/column/… group of every published margin holds
    zero or at least two suppressed cells) is applied until stable, choosing the smallest cells as
    complements; (2) the LP attacker of :func:`recoverable_cells` checks every primary cell (with
    ``integer`` defaulting to "the table holds whole numbers"); while one is still exposed, the smallest
    unsuppressed cell sharing a group with it whose suppression (after re-closing lines) hides it is
    added; (3) complements are dropped again, largest first, wherever the audit still passes without them.
    Returns the mask of *complementary* cells only.  Not optimal (fewest cells or least value) —
    it is a safe, deterministic heuristic.

    Raises :class:`StatsError` when a primary cell is exposed by the margins alone (e.g. a margin group
    with a single interior cell): then categories must be collapsed or that margin left unpublished.
    """
    values = _table("table", table)
    primary = _check_mask(primary_mask, values.shape)
    if np.any(values < 0):
        raise StatsError("table: complementary suppression needs non-negative counts or totals")
    kept = _normalise_margins(values.ndim, margins)
    if integer is None:
        integer = bool(np.all(values == np.round(values)))
    if not primary.any() or not kept:
        return np.zeros(values.shape, dtype=bool)
    flat = values.ravel()
    prim = primary.ravel()
    groups = _groups(values.shape, kept)
    mask = _close_singletons(flat, prim, groups)

    def exposed(m: NDArray[np.bool_]) -> NDArray[np.intp]:
        found = _exposed(
            values, m.reshape(values.shape), primary, kept, integer=bool(integer), first_only=True
        )
        return np.asarray(found, dtype=np.intp)

    bad = exposed(mask)
    while bad.size:
        target = int(bad[0])
        related = np.zeros(flat.size, dtype=bool)
        for g in groups:
            related |= g == g[target]
        candidates = np.flatnonzero(related & ~mask)
        order = np.lexsort((candidates, flat[candidates], flat[candidates] <= 0))
        for cand in candidates[order]:
            trial = mask.copy()
            trial[cand] = True
            trial = _close_singletons(flat, trial, groups)
            if target not in exposed(trial):
                mask = trial
                break
        else:
            everything = mask | related
            if target in exposed(everything):
                cell = tuple(int(i) for i in np.unravel_index(target, values.shape))
                raise StatsError(
                    f"cell {cell} can be derived from the published margins even with its whole row/column "
                    "suppressed; collapse categories or do not publish that margin"
                )
            mask = _close_singletons(flat, everything, groups)
        bad = exposed(mask)
    # Prune: the line rule over-suppresses; drop complements, largest first, the audit can do without.
    complements = np.flatnonzero(mask & ~prim)
    for cell in complements[np.lexsort((complements, -flat[complements]))]:
        trial = mask.copy()
        trial[cell] = False
        if exposed(trial).size == 0:
            mask = trial
    return (mask & ~prim).reshape(values.shape)


@dataclass(frozen=True)
class ProtectedTable:
    """A table ready to publish: ``published`` has NaN where a cell is suppressed; ``flags`` holds
    :class:`CellFlag` values per cell."""

    published: NDArray[np.float64]
    flags: NDArray[np.int8]

    @property
    def suppressed(self) -> NDArray[np.bool_]:
        return np.asarray(self.flags >= CellFlag.SUPPRESSED_SMALL_CELL)

    @property
    def n_primary(self) -> int:
        return int(np.sum(self.flags == CellFlag.SUPPRESSED_SMALL_CELL))

    @property
    def n_complementary(self) -> int:
        return int(np.sum(self.flags == CellFlag.SUPPRESSED_COMPLEMENTARY))

    def __repr__(self) -> str:
        return (
            f"ProtectedTable(shape={self.flags.shape}, primary={self.n_primary}, "
            f"complementary={self.n_complementary}, caution={int(np.sum(self.flags == CellFlag.CAUTION))})"
        )


def _check_margin_cells(n: NDArray[np.float64], kept: list[tuple[int, ...]], rule: CellSizeRule) -> None:
    for k in kept:
        drop = tuple(ax for ax in range(n.ndim) if ax not in k)
        margin = n.sum(axis=drop)
        small = np.atleast_1d((margin > 0) & (margin < rule.suppress_below))
        if small.any():
            where = tuple(int(i) for i in np.argwhere(small)[0])
            raise StatsError(
                f"margin over axes {k} cell {where} has only {np.atleast_1d(margin)[where]:g} respondents "
                f"(< {rule.suppress_below}); collapse categories before publishing this margin"
            )


def protect_table(
    table: ArrayLike,
    n_unweighted: ArrayLike | None = None,
    *,
    rule: CellSizeRule = DEFAULT_RULE,
    margins: Margins | None = None,
) -> ProtectedTable:
    """Apply the cell rule and complementary suppression to a table of counts or totals.

    ``n_unweighted`` gives the respondents behind each cell (defaults to ``table`` itself, for an
    unweighted frequency table).  Complements are chosen on ``table`` values, so the published margins of
    ``table`` cannot expose a primary cell.  Margins with a small cell are refused (see
    :func:`complementary_suppression`).
    """
    values = _table("table", table)
    n = values if n_unweighted is None else _table("n_unweighted", n_unweighted)
    if n.shape != values.shape:
        raise StatsError(f"n_unweighted has shape {n.shape}, the table has shape {values.shape}")
    kept = _normalise_margins(values.ndim, margins)
    _check_margin_cells(n, kept, rule)
    flags = flag_cells(n, rule)
    primary = flags == CellFlag.SUPPRESSED_SMALL_CELL
    complement = complementary_suppression(values, primary, kept)
    flags[complement] = CellFlag.SUPPRESSED_COMPLEMENTARY
    published = np.where(flags >= CellFlag.SUPPRESSED_SMALL_CELL, np.nan, values)
    return ProtectedTable(published=published, flags=flags)


def protect_estimates(
    estimates: ArrayLike,
    n_unweighted: ArrayLike,
    *,
    rule: CellSizeRule = DEFAULT_RULE,
    margins: Margins | None = None,
) -> ProtectedTable:
    """Cell rules and complementary pattern for a table of means or proportions.

    The rule applies to the unweighted n of each domain; the complementary pattern is computed on the n
    table, because the n of the margins is normally published and a suppressed domain's n (and with it,
    for a proportion, often its count) must not be derivable from them.
    """
    est = _table("estimates", estimates)
    n = _table("n_unweighted", n_unweighted)
    if n.shape != est.shape:
        raise StatsError(f"n_unweighted has shape {n.shape}, estimates have shape {est.shape}")
    protected_n = protect_table(n, n, rule=rule, margins=margins)
    published = np.where(protected_n.suppressed, np.nan, est)
    return ProtectedTable(published=published, flags=protected_n.flags)
