"""Taylor linearisation for stratified multistage designs: unit sums, influence values, variance.

1. Rows are summed into *units* — (PSU, domain cell) and, for two-stage designs, (SSU, domain cell) —
   with ``np.bincount`` (:class:`_Units`); a coarser cell space (a margin) is summed from those unit
   sums, not from the rows again.
2. For each domain ``d`` the estimate is a ratio of weighted sums and its influence (linearisation)
   value for a unit is, for a mean, ``z = (Σ w·y − ȳ_d Σ w)/N_d`` over the unit's rows in ``d``
   (:class:`_Kind`: one subclass per statistic, which also gives the SRS variance for the design
   effect).
3. The variance is R's ``svyrecvar`` (:func:`_stage_variance`): per stratum ``h`` with ``n_h`` sampled
   PSUs, ``f_h · n_h/(n_h−1) · Σ_i (z_hi − z̄_h)²`` (``f_h = 1 − n_h/N_h``, or 1 without fpc), where
   PSUs without members of ``d`` count with ``z = 0`` (domain estimation: PSUs are never dropped);
   plus, with ``fpc2``, the same within each PSU over its SSUs, scaled by ``n_h/N_h``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from voicescount.stats.design import FloatArray, IntArray, SurveyDesign

#: Above this many (unit × cell) slots, group sums use np.unique instead of a dense bincount.
_DENSE_LIMIT = 1 << 24
# Column layout of the unit sums: row count, rows with non-zero weight, weight, then per statistic.
_ROWS, _NZ, _W, _X = 0, 1, 2, 3


# --- statistics: point estimate, influence and SRS variance from group sums -----------------------


class _Kind(ABC):
    """One statistic: its point estimate, influence values and SRS variance from the group sums."""

    @abstractmethod
    def point(self, d: FloatArray) -> FloatArray: ...

    @abstractmethod
    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray: ...

    @abstractmethod
    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray: ...

    def report(self, est: FloatArray) -> FloatArray:
        return est


def _domain_variance(sum_sq_dev: FloatArray, d: FloatArray) -> FloatArray:
    """R's ``svyvar``: ``Σw(y−ȳ)²/Σw · n/(n−1)``."""
    n = d[:, _NZ]
    return np.where(n > 1, sum_sq_dev / d[:, _W] * n / (n - 1), np.nan)  # one row: undefined, as in R


def _without_replacement(s2: FloatArray, d: FloatArray) -> FloatArray:
    n, big_n = d[:, _NZ], d[:, _W]
    v = s2 * (big_n - n) / (big_n * n)
    return np.where(big_n < n, np.nan, v)  # weights not scaled to the population: no deff (as R)


class _Mean(_Kind):
    def __init__(self, shift: float) -> None:
        self.shift = shift

    def point(self, d: FloatArray) -> FloatArray:
        return d[:, _X] / d[:, _W]

    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray:
        return (u[_X] - est[cell] * u[_W]) / d[cell, _W]

    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray:
        ss = d[:, _X + 1] - 2 * est * d[:, _X] + est**2 * d[:, _W]
        return _without_replacement(_domain_variance(ss, d), d)

    def report(self, est: FloatArray) -> FloatArray:
        return est + self.shift


class _Total(_Kind):
    def point(self, d: FloatArray) -> FloatArray:
        return d[:, _X].copy()

    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray:
        return u[_X].copy()

    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray:
        m = d[:, _X + 1] / d[:, _W]
        ss = d[:, _X + 2] - 2 * m * d[:, _X + 1] + m**2 * d[:, _W]
        return _without_replacement(_domain_variance(ss, d), d) * d[:, _W] ** 2


class _Ratio(_Kind):
    def point(self, d: FloatArray) -> FloatArray:
        return d[:, _X] / d[:, _X + 1]

    def influence(self, u: FloatArray, cell: IntArray, d: FloatArray, est: FloatArray) -> FloatArray:
        return (u[_X] - est[cell] * u[_X + 1]) / d[cell, _X + 1]

    def srs_variance(self, d: FloatArray, est: FloatArray) -> FloatArray:
        ss = (d[:, _X + 2] - 2 * est * d[:, _X + 3] + est**2 * d[:, _X + 4]) / d[:, _X + 1] ** 2
        return _without_replacement(_domain_variance(ss, d), d) * d[:, _W] ** 2


# --- unit sums -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Units:
    """Column sums per (PSU, cell) and, for two-stage designs, per (SSU, cell) of one combination."""

    n_cells: int
    psu: IntArray
    psu_cell: IntArray
    psu_sums: FloatArray  # one row per column
    ssu: IntArray | None
    ssu_cell: IntArray | None
    ssu_sums: FloatArray | None
    n_psu: int
    n_ssu: int
    one_row_per_psu: bool = False  # e.g. weights-only designs: nothing to sum when a dimension is dropped

    @property
    def n_units(self) -> int:
        return int(self.psu.shape[0]) + (0 if self.ssu is None else int(self.ssu.shape[0]))

    @classmethod
    def of_rows(
        cls,
        psu: IntArray,
        ssu: IntArray | None,
        cell: npt.NDArray[np.int64],
        n_cells: int,
        design: SurveyDesign,
        columns: Sequence[FloatArray],
    ) -> _Units:
        if design.n_psu == design.n_rows and ssu is None:  # every row its own PSU: already unit sums
            return cls(
                n_cells,
                psu,
                cell.astype(np.intp),
                np.vstack(columns),
                None,
                None,
                None,
                design.n_psu,
                design.n_ssu,
                True,
            )
        keys, sums = _group_sums(psu * np.int64(n_cells) + cell, design.n_psu * n_cells, columns)
        ssu_unit = ssu_cell = ssu_sums = None
        if ssu is not None:
            keys2, ssu_sums = _group_sums(ssu * np.int64(n_cells) + cell, design.n_ssu * n_cells, columns)
            ssu_unit, ssu_cell = (keys2 // n_cells).astype(np.intp), (keys2 % n_cells).astype(np.intp)
        return cls(
            n_cells,
            (keys // n_cells).astype(np.intp),
            (keys % n_cells).astype(np.intp),
            sums,
            ssu_unit,
            ssu_cell,
            ssu_sums,
            design.n_psu,
            design.n_ssu,
            design.n_psu == design.n_rows,
        )

    def drop(self, position: int, radix: list[int]) -> _Units:
        """Sum over the dimension at ``position`` (radices of this combination's dimensions given)."""
        after = int(np.prod(radix[position + 1 :])) if position + 1 < len(radix) else 1
        width = after * radix[position]
        n_cells = self.n_cells // radix[position]

        def child(cell: IntArray) -> npt.NDArray[np.int64]:
            c = cell.astype(np.int64)
            return (c // width) * after + c % after

        if self.one_row_per_psu and self.ssu is None:
            return _Units(
                n_cells,
                self.psu,
                child(self.psu_cell).astype(np.intp),
                self.psu_sums,
                None,
                None,
                None,
                self.n_psu,
                self.n_ssu,
                True,
            )
        keys, sums = _group_sums(
            self.psu * np.int64(n_cells) + child(self.psu_cell), self.n_psu * n_cells, self.psu_sums
        )
        ssu_unit = ssu_cell = ssu_sums = None
        if self.ssu is not None and self.ssu_cell is not None and self.ssu_sums is not None:
            keys2, ssu_sums = _group_sums(
                self.ssu * np.int64(n_cells) + child(self.ssu_cell), self.n_ssu * n_cells, self.ssu_sums
            )
            ssu_unit, ssu_cell = (keys2 // n_cells).astype(np.intp), (keys2 % n_cells).astype(np.intp)
        return _Units(
            n_cells,
            (keys // n_cells).astype(np.intp),
            (keys % n_cells).astype(np.intp),
            sums,
            ssu_unit,
            ssu_cell,
            ssu_sums,
            self.n_psu,
            self.n_ssu,
        )


# --- variance and grouping kernels ---------------------------------------------------------------


def _stage_variance(
    group: IntArray,
    cell: IntArray,
    z: FloatArray,
    group_stratum: IntArray,
    n_in_stratum: IntArray,
    f: FloatArray,
    n_cells: int,
    lonely: str,
    factor: FloatArray | None,
) -> FloatArray:
    """One stage of R's ``onestage``/``onestrat``, per (stratum, domain cell), summed per cell.

    ``group`` are the sampling units at this stage holding domain members, ``z`` their influence
    totals; units of a stratum without members count as zeros (R pads them in ``onestrat``).
    """
    h = group_stratum[group].astype(np.int64)
    keys = h * n_cells + cell
    uk, inv = _compress(keys, int(n_in_stratum.shape[0]) * n_cells)
    m = uk.shape[0]
    s1 = np.bincount(inv, weights=z, minlength=m)
    present = np.bincount(inv, minlength=m)
    hh = uk // n_cells
    dd = uk % n_cells
    nh = n_in_stratum[hh].astype(np.float64)
    centre = s1 / nh
    dev = np.bincount(inv, weights=(z - centre[inv]) ** 2, minlength=m) + (nh - present) * centre**2
    fh = f[hh]
    scale = np.where(nh > 1, fh * nh / np.maximum(nh - 1, 1), fh)
    contrib = scale * dev
    lonely_units = (nh == 1) & (fh > 0)
    cell_factor: FloatArray | float = 1.0
    if lonely_units.any():
        if lonely == "adjust":  # centred at zero rather than at the (single-PSU) stratum mean
            contrib = np.where(lonely_units, fh * s1**2, contrib)
        else:
            contrib = np.where(lonely_units, 0.0, contrib)
        if lonely == "average":
            n_strata = np.bincount(dd, minlength=n_cells).astype(np.float64)
            n_ok = n_strata - np.bincount(dd, weights=lonely_units.astype(np.float64), minlength=n_cells)
            cell_factor = n_strata / n_ok
    if factor is not None:
        contrib = contrib * factor[hh]
    return np.asarray(np.bincount(dd, weights=contrib, minlength=n_cells) * cell_factor, dtype=np.float64)


_scratch = threading.local()


@contextmanager
def reused_buffers() -> Iterator[None]:
    """Within the block, the dense lookups of ``_compress`` and ``_unique`` reuse one scratch array
    each (grown as needed) instead of allocating one per call: a domain estimate with its margins
    groups 2^k times, and each new array of up to ``_DENSE_LIMIT`` entries (128 MB) was zeroed and
    faulted in page by page again. Only the entries at the keys present are ever read, so what a
    buffer held before does not matter; they are let go at the end of the outermost block."""
    outer = getattr(_scratch, "active", False)
    _scratch.active = True
    try:
        yield
    finally:
        if not outer:
            _scratch.active = False
            _scratch.lookup = _scratch.seen = None


def _scratch_array(name: str, size: int, dtype: type) -> npt.NDArray[Any]:
    """A scratch array of ``size`` (all False for the flags, when new), reused in ``reused_buffers``."""
    if not getattr(_scratch, "active", False):
        return np.zeros(size, dtype=dtype) if dtype is np.bool_ else np.empty(size, dtype=dtype)
    buffer = getattr(_scratch, name, None)
    if buffer is None or buffer.shape[0] < size:
        buffer = np.zeros(size, dtype=dtype) if dtype is np.bool_ else np.empty(size, dtype=dtype)
        setattr(_scratch, name, buffer)
    return buffer[:size]


def _compress(keys: npt.NDArray[np.int64], size: int) -> tuple[npt.NDArray[np.int64], IntArray]:
    """Sorted distinct keys and the index of each key among them.

    Up to ``_DENSE_LIMIT`` possible keys, a flag per possible key and a lookup written only at the keys
    present (no pass over the whole key space beyond one boolean array); beyond it, a sort."""
    if size <= _DENSE_LIMIT:
        uniq = _unique(keys, size)
        lookup = _scratch_array("lookup", size, np.intp)
        lookup[uniq] = np.arange(uniq.size, dtype=np.intp)
        return uniq, lookup[keys]
    uniq, inv = np.unique(keys, return_inverse=True)
    return uniq.astype(np.int64), inv.reshape(-1).astype(np.intp)


def _unique(keys: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.int64]:
    if size <= _DENSE_LIMIT:
        seen = _scratch_array("seen", size, np.bool_)
        seen[keys] = True
        uniq = np.flatnonzero(seen).astype(np.int64)
        seen[uniq] = False  # all False again, for the next call
        return uniq
    return np.unique(keys).astype(np.int64)


def _group_sums(
    keys: npt.NDArray[np.int64], size: int, columns: Sequence[FloatArray] | FloatArray
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    uk, inv = _compress(keys, size)
    # One row per column (not per unit) so that every column is contiguous for np.bincount.
    out = np.empty((len(columns), uk.shape[0]))
    for j, col in enumerate(columns):
        out[j] = np.bincount(inv, weights=col, minlength=uk.shape[0])
    return uk, out
