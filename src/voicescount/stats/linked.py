"""Complementary suppression across linked tables: cross-classifications and all their published margins.

:mod:`.disclosure` protects one table whose margins are published *whole*. A breakdown on the tracker is
more than that: the finest table (region × sex × age × …) and every coarser table (region × sex, sex,
the total …) are published, each with its own small cells suppressed, and several breakdowns of one
indicator share their margins. Two published numbers of different tables can then give a suppressed
cell away — a 4-way cell of 36 respondents beside one of its two 5-way children with 34 gives the other
child: 2. Here every cell of every table is one unknown and the tables are tied by what holds between
them, so that nothing published is left out of the audit:

* every table's cells are unknowns ``x ≥ 0``, with one more level per dimension for answers that map to
  no code (those cells are never published, so never known);
* each *relation* says that a cell is the sum of its children along one more dimension (``parent =
  Σ children``), for every pair of tables one dimension apart;
* a published cell is known (its n); a cell of a published table that is not shown because it is empty
  is known to be 0;
* a suppressed cell is *exposed* when it takes the same value in every solution (two linear programmes
  with HiGHS, as in :func:`.disclosure.recoverable_cells`; for counts, an interval holding a single
  integer is exposed too).

Two breakdowns that share only published margins are tied exactly by those margins. When the breakdowns
form a cycle (sex × age, age × region, region × sex), tables that agree pairwise need not come from one
population, so the cross-classification of the cycle's dimensions is added as a table that is never
published (then the attacker's equations are exactly those of the real data).

Complements are chosen like :func:`.disclosure.complementary_suppression`: the line rule on every
relation (one suppressed published cell gets a second: the smallest positive one), the LP audit of
every primary cell, adding for an exposed one the smallest neighbouring cell (sibling, parent or child)
that hides it (or, when none does alone, all its neighbours, then theirs …), and, if asked
(``prune``), dropping complements, largest first, where the audit passes without them. A safe
heuristic, not the fewest cells.

Cells are keyed by a tuple with, per dimension, the index of its code (``0 ≤ i < levels[d]``) or
``None`` where the table sums over that dimension.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse

from .disclosure import _Attacker, _is_exact
from .errors import StatsError

__all__ = ["LATENT_LIMIT", "PRUNE_ATTEMPTS", "linked_suppression"]

Key = tuple[int | None, ...]
LATENT_LIMIT = 200_000
"""Cells at most in the tables added to close a cycle of breakdowns (beyond: refused)."""
_TOL = 1e-7
PRUNE_ATTEMPTS = 0
"""Complements, largest first, that the pruning step tries to publish again. Each attempt costs an audit
of every primary cell; on the demo's tables pruning the 40 largest gave none back (they are needed) and
pruning all gave back 8% of the complements for 50 times the time, so by default nothing is pruned."""


def _acyclic(breakdowns: list[frozenset[int]]) -> bool:
    """Whether the breakdowns (sets of dimensions) form an acyclic hypergraph (GYO reduction)."""
    edges = [set(e) for e in breakdowns]
    changed = True
    while changed and len(edges) > 1:
        changed = False
        for e in edges:  # a dimension in one breakdown only
            lonely = {d for d in e if sum(d in f for f in edges) == 1}
            if lonely:
                e -= lonely
                changed = True
        for i, e in enumerate(edges):  # a breakdown inside another
            if any(j != i and e <= f for j, f in enumerate(edges)):
                del edges[i]
                changed = True
                break
    return len(edges) <= 1


def _subsets(dims: Iterable[int]) -> set[tuple[int, ...]]:
    dims = sorted(dims)
    return {c for k in range(len(dims) + 1) for c in itertools.combinations(dims, k)}


class _Linked:
    """All cells of the tables of one indicator's breakdowns, and the relations between them."""

    def __init__(
        self,
        levels: Sequence[int],
        has_missing: Sequence[bool],
        tables: Collection[tuple[int, ...]],
        n: Mapping[Key, float],
    ) -> None:
        self.levels = tuple(levels)
        self.full = tuple(lv + int(m) for lv, m in zip(levels, has_missing, strict=True))
        published = {tuple(sorted(t)) for t in tables}
        every = set().union(*(_subsets(t) for t in published)) if published else set()
        if every - published:
            missing = sorted(every - published)[:3]
            raise StatsError(f"tables {missing} are margins of listed tables but not listed")
        maximal = [frozenset(t) for t in published if not any(set(t) < set(u) for u in published)]
        latent = set(published)
        if not _acyclic(maximal):
            union = sorted(set().union(*maximal))
            size = int(np.prod([self.full[d] + 1 for d in union]))
            if size > LATENT_LIMIT:
                raise StatsError(
                    f"the breakdowns form a cycle over dimensions {union} whose cross-classification has "
                    f"{size:,} cells (more than {LATENT_LIMIT:,} to audit); list that cross-classification "
                    "as a breakdown or drop one of the cycle's"
                )
            latent |= _subsets(union)
        self.cells: list[Key] = []
        visible: list[bool] = []
        for kept in sorted(latent, key=lambda t: (len(t), t)):
            shown = kept in published
            for codes in itertools.product(*(range(self.full[d]) for d in kept)):
                key: list[int | None] = [None] * len(self.levels)
                for d, code in zip(kept, codes, strict=True):
                    key[d] = code
                self.cells.append(tuple(key))
                visible.append(shown and all(c < self.levels[d] for d, c in zip(kept, codes, strict=True)))
        self.index = {key: i for i, key in enumerate(self.cells)}
        self.visible = np.array(visible)
        unknown = [k for k in n if k not in self.index or not self.visible[self.index[k]]]
        if unknown:
            raise StatsError(f"cells {unknown[:3]} are in no published table")
        self.value = np.zeros(len(self.cells))
        for cell, value in n.items():
            self.value[self.index[cell]] = float(value)
        self.relations = self._relations(latent)  # cell indices, the parent first
        rows: list[int] = []
        cols: list[int] = []
        coef: list[float] = []
        for i, members in enumerate(self.relations):
            rows += [i] * len(members)
            cols += members
            coef += [1.0] + [-1.0] * (len(members) - 1)
        self.matrix = sparse.csc_matrix((coef, (rows, cols)), shape=(len(self.relations), len(self.cells)))

    def _relations(self, latent: set[tuple[int, ...]]) -> list[list[int]]:
        """``parent = Σ children`` along one dimension, for every two tables one dimension apart."""
        out = []
        for kept in latent:
            for d in range(len(self.levels)):
                if d in kept or tuple(sorted((*kept, d))) not in latent:
                    continue
                for codes in itertools.product(*(range(self.full[e]) for e in kept)):
                    key: list[int | None] = [None] * len(self.levels)
                    for e, code in zip(kept, codes, strict=True):
                        key[e] = code
                    children = []
                    for c in range(self.full[d]):
                        key[d] = c
                        children.append(self.index[tuple(key)])
                    key[d] = None
                    out.append([self.index[tuple(key)], *children])
        return out

    def auditor(self, suppressed: np.ndarray, watch: np.ndarray | None = None) -> Callable[[int], bool]:
        """Whether a suppressed cell is determined exactly by the cells ``suppressed`` leaves published.

        Every solve yields a table consistent with what is published; a ``watch`` cell (suppressed) that
        differs there from its true value by a whole unit is not exact either, and is not solved for
        again. (Valid until the next auditor is made: they share one solver.)"""
        unknown = suppressed | ~self.visible
        a = self.matrix[:, unknown]
        b = -(self.matrix[:, ~unknown] @ self.value[~unknown])
        used = np.diff(a.tocsr().indptr) > 0
        attacker = _Attacker(a[used], b[used], nonnegative=True)
        column = np.cumsum(unknown) - 1
        watched = np.asarray(watch if watch is not None else [], dtype=int)
        free = np.zeros(len(self.cells), dtype=bool)  # shown not exact by some solution

        def bound(cell: int, sign: float) -> float:
            value = attacker._bound(int(column[cell]), sign)
            if np.isfinite(value) and watched.size:
                solution = np.asarray(attacker.highs.getSolution().col_value)
                moved = np.abs(solution[column[watched]] - self.value[watched]) >= 1.0 - _TOL
                free[watched[moved]] = True
            return value

        def exact(cell: int) -> bool:
            if free[cell] or attacker.empty:
                return False
            high = bound(cell, -1.0)
            if high - self.value[cell] >= 1.0 - _TOL:
                return False
            return _is_exact(bound(cell, 1.0), high, True, _TOL)

        return exact

    def exposed(
        self, suppressed: np.ndarray, targets: Iterable[int], *, first_only: bool = False
    ) -> list[int]:
        """Which ``targets`` (suppressed cells) the published cells determine exactly."""
        exact = self.auditor(suppressed)
        out = []
        for cell in targets:
            if exact(int(cell)):
                out.append(int(cell))
                if first_only:
                    break
        return out

    def neighbours(self, cell: int) -> list[int]:
        """Published cells sharing a relation with ``cell`` (its siblings, parents and children)."""
        out: set[int] = set()
        for members in self.relations:
            if cell in members:
                out.update(m for m in members if self.visible[m])
        out.discard(cell)
        return sorted(out)

    def cheapest(self, candidates: Iterable[int]) -> list[int]:
        """Positive cells first (a suppressed 0 hides little), then the smallest, then by position."""
        return sorted(candidates, key=lambda c: (self.value[c] <= 0, self.value[c], c))

    def close_lines(self, mask: np.ndarray) -> np.ndarray:
        """The line rule to a fixed point: no relation holds exactly one suppressed published cell.
        (A hidden cell in the relation is not counted: other relations may well pin it.)"""
        mask = mask.copy()
        changed = True
        while changed:
            changed = False
            for members in self.relations:
                if sum(mask[m] for m in members if self.visible[m]) != 1:
                    continue
                open_ = [m for m in members if self.visible[m] and not mask[m] and self.value[m] > 0]
                if open_:
                    mask[self.cheapest(open_)[0]] = True
                    changed = True
        return mask


def _widen(linked: _Linked, mask: np.ndarray, target: int) -> np.ndarray:
    """``mask`` with the neighbours of ``target`` suppressed, then theirs, … until ``target`` is hidden."""
    ring = [target]
    while True:
        around = sorted({c for cell in ring for c in linked.neighbours(cell)} - set(np.flatnonzero(mask)))
        if not around:
            raise StatsError(
                f"cell {linked.cells[target]} can be derived from the published tables even with every "
                "related cell suppressed; collapse categories"
            )
        mask = mask.copy()
        mask[around] = True
        mask = linked.close_lines(mask)
        if not linked.exposed(mask, [target]):
            return mask
        ring = around


def linked_suppression(
    levels: Sequence[int],
    has_missing: Sequence[bool],
    tables: Collection[tuple[int, ...]],
    n: Mapping[Key, float],
    primary: Collection[Key],
    *,
    prune: int = PRUNE_ATTEMPTS,
) -> set[Key]:
    """Cells to suppress besides ``primary`` so that no primary cell can be derived from the rest.

    ``levels[d]``: the number of codes of dimension ``d``; ``has_missing[d]``: whether some answers map to
    no code. ``tables``: the published tables, each as the dimensions it keeps (``()`` is the total); every
    margin of a listed table must be listed. ``n``: the unweighted n of every non-empty published cell
    (absent cells are empty, and known to be). ``primary``: cells suppressed for their own size.
    Returns the complementary cells. Raises :class:`StatsError` if a primary cell stays exposed with all
    its neighbours suppressed (categories must then be collapsed).
    """
    linked = _Linked(levels, has_missing, tables, n)
    prim = np.zeros(len(linked.cells), dtype=bool)
    for key in primary:
        if key not in linked.index or not linked.visible[linked.index[key]]:
            raise StatsError(f"primary cell {key} is in no published table")
        prim[linked.index[key]] = True
    if not prim.any():
        return set()
    targets = np.flatnonzero(prim)
    mask = linked.close_lines(prim)
    # Suppressing more never narrows a cell's interval, so a primary cell found protected stays
    # protected: each is audited once, in order, against the pattern as it grows.
    exact = linked.auditor(mask, targets)
    for target in map(int, targets):
        if not exact(target):
            continue
        neighbours = [c for c in linked.neighbours(target) if not mask[c]]
        for cand in linked.cheapest(neighbours):
            trial = mask.copy()
            trial[cand] = True
            trial = linked.close_lines(trial)
            if not linked.exposed(trial, [target]):
                mask = trial
                break
        else:
            mask = _widen(linked, mask, target)
        exact = linked.auditor(mask, targets)
    complements = np.flatnonzero(mask & ~prim)
    for cell in sorted(complements, key=lambda c: (-linked.value[c], c))[:prune]:
        trial = mask.copy()
        trial[cell] = False
        if not linked.exposed(trial, targets, first_only=True):
            mask = trial
    return {linked.cells[c] for c in np.flatnonzero(mask & ~prim)}
