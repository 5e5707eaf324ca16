"""Survey designs: weights, strata, clusters (one or two stages) and finite population corrections.

A :class:`SurveyDesign` is the Python twin of R's ``survey::svydesign()`` object, restricted to what
VoicesCount needs: with-replacement or without-replacement (``fpc``) sampling of primary sampling
units (PSUs) within strata, optionally a second stage of sampling (SSUs within PSUs, ``fpc2``).
Labels are encoded once to integer codes (``np.unique(return_inverse=True)``) so that the estimators
in :mod:`voicescount.stats.estimators` only ever do ``np.bincount`` over integer codes.

Reference: Lumley T. (2004) *Analysis of complex survey samples*, J. Stat. Softw. 9(8);
R functions ``svydesign``, ``as.fpc``, ``svyrecvar``, ``onestrat`` in package ``survey`` 4.x.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from voicescount.stats.errors import StatsError

LonelyPSU = Literal["fail", "remove", "certainty", "adjust", "average"]
LONELY_PSU_OPTIONS: tuple[str, ...] = ("fail", "remove", "certainty", "adjust", "average")
#: A sampling fraction below this is a census of that stratum: no variance (R's ``onestrat``).
CERTAINTY_TOLERANCE = 1e-7

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def _labels(name: str, values: Any, n: int) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise StatsError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise StatsError(f"{name} has {arr.shape[0]} values but the design has {n} rows")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        row = int(np.flatnonzero(np.isnan(arr))[0])
        raise StatsError(f"{name} is missing (NaN) at row {row}")
    if arr.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and v != v) for v in arr], dtype=bool)
        if missing.any():
            raise StatsError(f"{name} is missing at row {int(np.flatnonzero(missing)[0])}")
        arr = arr.astype(str)
    return arr


def show(value: Any) -> str:
    """``repr`` of a label or value as the user wrote it (``'a'``, ``3``), not numpy's ``np.str_('a')``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def encode(arr: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], IntArray]:
    """Sorted distinct values and the code of each row, as ``np.unique(arr, return_inverse=True)``.

    Small non-negative integers (the usual case for codes) take a linear-time ``np.bincount`` path.
    """
    if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() < 4 * arr.size + 1024:
        seen = np.bincount(arr) > 0
        lookup = np.cumsum(seen) - 1
        return np.flatnonzero(seen).astype(arr.dtype), lookup[arr].astype(np.intp)
    uniques, codes = np.unique(arr, return_inverse=True)
    return uniques, codes.astype(np.intp).reshape(-1)


def _numeric(name: str, values: Any, n: int) -> FloatArray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise StatsError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise StatsError(f"{name} has {arr.shape[0]} values but the design has {n} rows")
    if arr.dtype.kind not in "biuf":
        raise StatsError(f"{name} must be numeric, got values of type {arr.dtype}")
    out = arr.astype(np.float64)
    bad = ~np.isfinite(out)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise StatsError(f"{name} must be finite and not missing; row {row} has {show(out[row])}")
    return out


def _constant_within(
    name: str, value: FloatArray, group: IntArray, n_groups: int, what: str, labels: npt.NDArray[Any]
) -> FloatArray:
    first = np.full(n_groups, np.nan)
    first[group[::-1]] = value[::-1]  # first row of each group wins
    varies = first[group] != value
    if varies.any():
        row = int(np.flatnonzero(varies)[0])
        raise StatsError(f"{name} varies within {what} {show(labels[group[row]])} (row {row})")
    return first


@dataclass(frozen=True, eq=False)
class SurveyDesign:
    """A sample design, with every label already encoded as integer codes.

    Build it with :meth:`SurveyDesign.create`; the attributes are for the estimators.

    * ``weights`` — sampling weights (``1/prob``) per row.
    * ``stratum`` — stratum code per row; ``psu`` — first-stage unit code per row, numbered so that
      PSUs of one stratum are consecutive; ``psu_stratum`` — stratum code of each PSU.
    * ``n_psu_in_stratum`` — number of sampled PSUs per stratum (R's ``fpc$sampsize``);
      ``f1`` — ``1 - n_h/N_h`` per stratum, ``1`` without ``fpc`` (with-replacement approximation).
    * second stage (only when ``fpc2`` is given, as in R): ``ssu`` code per row (numbered within PSU),
      ``ssu_psu``, ``n_ssu_in_psu``, ``f2`` per PSU and ``stage2_factor`` = ``n_h/N_h`` per PSU.
    """

    weights: FloatArray
    stratum: IntArray
    psu: IntArray
    psu_stratum: IntArray
    n_psu_in_stratum: IntArray
    f1: FloatArray
    strata_labels: npt.NDArray[Any]
    psu_labels: npt.NDArray[Any]
    lonely_psu: LonelyPSU = "fail"
    ssu: IntArray | None = None
    ssu_psu: IntArray | None = None
    n_ssu_in_psu: IntArray | None = None
    f2: FloatArray | None = None
    stage2_factor: FloatArray | None = None
    has_fpc: bool = False
    df: int = field(default=0)

    @property
    def n_rows(self) -> int:
        """Number of rows (respondents) in the design."""
        return int(self.weights.shape[0])

    @property
    def n_strata(self) -> int:
        """Number of first-stage strata (1 for an unstratified design)."""
        return int(self.n_psu_in_stratum.shape[0])

    @property
    def n_psu(self) -> int:
        """Number of sampled PSUs."""
        return int(self.psu_stratum.shape[0])

    @property
    def n_ssu(self) -> int:
        """Number of sampled second-stage units (0 for a one-stage design)."""
        return 0 if self.ssu_psu is None else int(self.ssu_psu.shape[0])

    def __repr__(self) -> str:
        stage2 = f", {self.n_ssu} SSUs" if self.ssu is not None else ""
        return (
            f"SurveyDesign({self.n_rows} rows, {self.n_strata} strata, {self.n_psu} PSUs{stage2}, "
            f"fpc={self.has_fpc}, df={self.df}, lonely_psu={self.lonely_psu!r})"
        )

    @classmethod
    def create(
        cls,
        n: int | None = None,
        weights: Any = None,
        strata: Any = None,
        psu: Any = None,
        fpc: Any = None,
        ssu: Any = None,
        fpc2: Any = None,
        lonely_psu: LonelyPSU = "fail",
        nest: bool = False,
    ) -> SurveyDesign:
        """Validate and encode a design, as ``svydesign(ids=~psu+ssu, strata=, weights=, fpc=~fpc+fpc2)``.

        * ``n`` — number of rows; only needed when no other argument gives it (simple random sample).
        * ``weights`` — sampling weights, finite and >= 0. Without weights: 1 per row, or, when ``fpc``
          is given, ``N_h/n_h`` (times ``M_i/m_i`` with ``fpc2``) as R derives them.
        * ``strata`` — first-stage stratum per row. ``psu`` — first-stage cluster per row; without it
          every row is its own PSU (``ids=~1``). PSU labels must not repeat across strata unless
          ``nest=True`` (then a PSU is a (stratum, psu) pair, R's ``nest=TRUE``).
        * ``fpc`` — per row, either the number of PSUs in the stratum population (all values >= 1) or
          the sampling fraction (all values <= 1), as R's ``fpc=``. ``fpc2`` — likewise for SSUs within
          the PSU; the second stage only enters the variance when ``fpc2`` is given (as in R).
        * ``lonely_psu`` — what to do with a stratum holding a single PSU, as R's
          ``options(survey.lonely.psu=)``. Default ``"fail"`` (R's default): a :class:`StatsError`
          naming the stratum. ``"remove"``/``"certainty"`` — no variance contribution; ``"adjust"`` —
          the PSU total is centred at zero instead of at the stratum mean; ``"average"`` — the variance
          is scaled up by (strata)/(strata with more than one PSU).
        """
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise StatsError(f"lonely_psu must be one of {LONELY_PSU_OPTIONS}, got {lonely_psu!r}")
        n_rows = _infer_rows(n, weights, strata, psu, fpc, ssu, fpc2)
        if n_rows == 0:
            raise StatsError("the design has no rows")

        if strata is None:
            strata_labels: npt.NDArray[Any] = np.array(["1"])
            stratum = np.zeros(n_rows, dtype=np.intp)
        else:
            strata_labels, stratum = encode(_labels("strata", strata, n_rows))
        n_strata = strata_labels.shape[0]

        if psu is None:
            psu_raw: npt.NDArray[Any] = np.arange(n_rows)
        else:
            psu_raw = _labels("psu", psu, n_rows)
        # Number PSUs stratum by stratum (lexsort on stratum, then label) so strata are contiguous.
        psu_uniques, psu_label_code = encode(psu_raw)
        radix = np.int64(psu_uniques.shape[0])
        pair_uniques, psu_code = encode(stratum.astype(np.int64) * radix + psu_label_code)
        psu_stratum = (pair_uniques // radix).astype(np.intp)
        psu_labels = psu_uniques[pair_uniques % radix]
        if not nest and psu is not None:
            strata_per_label = np.bincount(pair_uniques % radix)
            shared = np.flatnonzero(strata_per_label > 1)
            if shared.size:
                label = show(psu_uniques[shared[0]])
                raise StatsError(
                    f"PSU {label} appears in more than one stratum; PSU ids must be nested "
                    "in strata (pass nest=True to treat the same id in different strata as different PSUs)"
                )
        n_psu = psu_stratum.shape[0]
        if n_psu < 2 and not (strata is not None and nest):
            raise StatsError("the design has only one primary sampling unit; its variance is not estimable")
        n_psu_in_stratum = np.bincount(psu_stratum, minlength=n_strata).astype(np.intp)

        ssu_code: IntArray | None = None
        ssu_psu: IntArray | None = None
        n_ssu_in_psu: IntArray | None = None
        if ssu is not None:
            if psu is None:
                raise StatsError("ssu needs psu: second-stage units are sampled within first-stage units")
            ssu_uniques, ssu_label_code = encode(_labels("ssu", ssu, n_rows))
            ssu_radix = np.int64(ssu_uniques.shape[0])
            ssu_pairs, ssu_code = encode(psu_code.astype(np.int64) * ssu_radix + ssu_label_code)
            ssu_psu = (ssu_pairs // ssu_radix).astype(np.intp)
            n_ssu_in_psu = np.bincount(ssu_psu, minlength=n_psu).astype(np.intp)
        if fpc2 is not None and ssu is None:
            raise StatsError("fpc2 was given without ssu (the second-stage unit of each row)")
        if fpc2 is not None and fpc is None:
            raise StatsError(
                "fpc2 needs fpc: the second-stage variance is scaled by the first-stage fraction"
            )

        f1 = np.ones(n_strata)
        f2: FloatArray | None = None
        stage2_factor: FloatArray | None = None
        pop1: FloatArray | None = None
        pop2: FloatArray | None = None
        if fpc is not None:
            fpc1_rows = _numeric("fpc", fpc, n_rows)
            fpc2_rows = _numeric("fpc2", fpc2, n_rows) if fpc2 is not None else None
            every = fpc1_rows if fpc2_rows is None else np.concatenate([fpc1_rows, fpc2_rows])
            if (every < 0).any():
                raise StatsError("fpc must not be negative")
            as_popsize = bool((every > 1).any())
            if as_popsize and (every < 1).any():
                raise StatsError(
                    "fpc mixes population sizes (>1) and sampling fractions (<1); give all values >= 1 "
                    "(population sizes) or all <= 1 (sampling fractions)"
                )
            per_stratum = _constant_within("fpc", fpc1_rows, stratum, n_strata, "stratum", strata_labels)
            pop1 = _population(
                "fpc",
                per_stratum,
                n_psu_in_stratum.astype(np.float64),
                as_popsize,
                strata_labels,
                "stratum",
                "PSUs",
            )
            f1 = np.where(np.isinf(pop1), 1.0, (pop1 - n_psu_in_stratum) / pop1)
            if fpc2_rows is not None and n_ssu_in_psu is not None:
                per_psu = _constant_within("fpc2", fpc2_rows, psu_code, n_psu, "PSU", psu_labels)
                pop2 = _population(
                    "fpc2", per_psu, n_ssu_in_psu.astype(np.float64), as_popsize, psu_labels, "PSU", "SSUs"
                )
                f2 = np.where(np.isinf(pop2), 1.0, (pop2 - n_ssu_in_psu) / pop2)
                stage2_factor = (n_psu_in_stratum / pop1)[psu_stratum]
        f1 = np.where(f1 < CERTAINTY_TOLERANCE, 0.0, f1)
        if f2 is not None:
            f2 = np.where(f2 < CERTAINTY_TOLERANCE, 0.0, f2)
        else:
            ssu_code = ssu_psu = n_ssu_in_psu = None  # like R: no fpc2, no second-stage variance

        if weights is None:
            w = np.ones(n_rows)
            if pop1 is not None:
                w = (pop1 / n_psu_in_stratum)[stratum]
                if pop2 is not None and n_ssu_in_psu is not None:
                    w = w * (pop2 / n_ssu_in_psu)[psu_code]
        else:
            w = _numeric("weights", weights, n_rows)
            if (w < 0).any():
                row = int(np.flatnonzero(w < 0)[0])
                raise StatsError(f"weights must not be negative; row {row} has {show(w[row])}")

        _check_lonely(lonely_psu, n_psu_in_stratum, f1, strata_labels, n_ssu_in_psu, f2, psu_labels)
        positive = w > 0
        df = int(
            np.count_nonzero(np.bincount(psu_code[positive], minlength=n_psu))
            - np.count_nonzero(np.bincount(stratum[positive], minlength=n_strata))
        )
        return cls(
            weights=w,
            stratum=stratum,
            psu=psu_code,
            psu_stratum=psu_stratum,
            n_psu_in_stratum=n_psu_in_stratum,
            f1=f1,
            strata_labels=strata_labels,
            psu_labels=psu_labels,
            lonely_psu=lonely_psu,
            ssu=ssu_code,
            ssu_psu=ssu_psu,
            n_ssu_in_psu=n_ssu_in_psu,
            f2=f2,
            stage2_factor=stage2_factor,
            has_fpc=fpc is not None,
            df=df,
        )


def _infer_rows(n: int | None, *arrays: Any) -> int:
    lengths = {len(a) for a in arrays if a is not None}
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise StatsError(f"n must be a non-negative integer, got {n!r}")
        lengths.add(int(n))
    if not lengths:
        raise StatsError("give n (number of rows) or at least one design column")
    if len(lengths) > 1:
        raise StatsError(f"design columns have different lengths: {sorted(lengths)}")
    return lengths.pop()


def _population(
    name: str,
    given: FloatArray,
    sampled: FloatArray,
    as_popsize: bool,
    labels: npt.NDArray[Any],
    what: str,
    units: str,
) -> FloatArray:
    with np.errstate(divide="ignore"):
        pop = given.copy() if as_popsize else sampled / given
    too_small = pop < sampled
    if too_small.any():
        i = int(np.flatnonzero(too_small)[0])
        raise StatsError(
            f"{name} implies more than 100% sampling in {what} {show(labels[i])}: {int(sampled[i])} {units} "
            f"sampled out of a population of {pop[i]:g}"
        )
    return pop


def _check_lonely(
    lonely: str,
    n_psu: IntArray,
    f1: FloatArray,
    strata_labels: npt.NDArray[Any],
    n_ssu: IntArray | None,
    f2: FloatArray | None,
    psu_labels: npt.NDArray[Any],
) -> None:
    # A single PSU in a stratum sampled entirely (fraction 1) is a certainty unit: fine in R too.
    lonely1 = np.flatnonzero((n_psu == 1) & (f1 > 0))
    if lonely == "fail" and lonely1.size:
        raise StatsError(
            f"stratum {show(strata_labels[lonely1[0]])} has only one PSU at stage 1 "
            f"({lonely1.size} such strata); choose lonely_psu='certainty', 'remove', 'adjust' or 'average'"
        )
    if n_ssu is not None and f2 is not None:
        lonely2 = np.flatnonzero((n_ssu == 1) & (f2 > 0))
        if lonely2.size and lonely in ("fail", "average"):
            raise StatsError(
                f"PSU {show(psu_labels[lonely2[0]])} has only one second-stage unit sampled out of more "
                f"({lonely2.size} such PSUs); lonely_psu={lonely!r} cannot handle it at stage 2 "
                "(R fails or returns NaN); use 'certainty', 'remove' or 'adjust'"
            )
