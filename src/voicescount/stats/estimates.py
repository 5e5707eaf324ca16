"""The result of an estimator: one statistic with its uncertainty, one row per domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from voicescount.stats.design import FloatArray, IntArray
from voicescount.stats.errors import StatsError


@dataclass(frozen=True, eq=False)
class Estimates:
    """Estimates for one statistic, one row per domain (in the order of :attr:`levels`).

    ``levels[dim][i]`` is the label of row ``i`` on that dimension, ``None`` where the row is a margin
    over that dimension (``None`` on every dimension is the overall estimate). ``n`` counts the rows
    with non-zero weight, ``N`` sums their weights, ``n_eff = n/deff``, ``df`` are the degrees of freedom
    used for the interval.
    """

    statistic: str
    dimensions: tuple[str, ...]
    levels: dict[str, npt.NDArray[np.object_]]
    estimate: FloatArray
    se: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    deff: FloatArray
    n: IntArray
    N: FloatArray
    n_eff: FloatArray
    df: FloatArray
    level: float = 0.95
    interval: str = "wald"

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per domain: the dimension labels then every statistic."""
        out = []
        for i in range(len(self)):
            row: dict[str, Any] = {dim: self.levels[dim][i] for dim in self.dimensions}
            for name in ("estimate", "se", "ci_low", "ci_high", "deff", "N", "n_eff", "df"):
                row[name] = float(getattr(self, name)[i])
            row["n"] = int(self.n[i])
            out.append(row)
        return out

    def margin(self, *dims: str) -> Estimates:
        """The rows that cross exactly ``dims`` (no argument: the overall estimate)."""
        unknown = set(dims) - set(self.dimensions)
        if unknown:
            raise StatsError(f"unknown dimension(s) {sorted(unknown)}; have {list(self.dimensions)}")
        keep = np.ones(len(self), dtype=bool)
        for dim in self.dimensions:
            collapsed = np.array([v is None for v in self.levels[dim]], dtype=bool)
            keep &= ~collapsed if dim in dims else collapsed
        return self._take(np.flatnonzero(keep))

    def _take(self, index: IntArray) -> Estimates:
        arrays = {
            name: getattr(self, name)[index]
            for name in ("estimate", "se", "ci_low", "ci_high", "deff", "n", "N", "n_eff", "df")
        }
        return Estimates(
            statistic=self.statistic,
            dimensions=self.dimensions,
            levels={dim: labels[index] for dim, labels in self.levels.items()},
            level=self.level,
            interval=self.interval,
            **arrays,
        )

    def __repr__(self) -> str:
        head = f"Estimates({self.statistic}, {len(self)} domains, {self.interval} {self.level:.0%} CI)"
        lines = [head]
        for row in self.rows()[:20]:
            label = ", ".join(f"{d}={row[d]}" for d in self.dimensions if row[d] is not None) or "overall"
            lines.append(
                f"  {label}: {row['estimate']:.6g} (se {row['se']:.4g}, CI {row['ci_low']:.6g}"
                f"–{row['ci_high']:.6g}, deff {row['deff']:.3g}, n {row['n']})"
            )
        if len(self) > 20:
            lines.append(f"  … {len(self) - 20} more")
        return "\n".join(lines)
