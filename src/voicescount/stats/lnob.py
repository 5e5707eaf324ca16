"""Leave no one behind (ESCAP methodology): D-index, Human Opportunity Index and regression-tree groups.

**D-index** (dissimilarity index; ESCAP LNOB platform, after the World Bank's Human Opportunity Index).
The sample is split into the groups formed by every intersection of the chosen circumstances
(e.g. residence × sex × wealth quintile).  With ``p_g`` the access rate of group *g*, ``w_g`` its weighted
population share (``Σ w_g = 1``) and ``p̄ = Σ w_g p_g`` the overall rate:

    D = 1 / (2·p̄) · Σ_g w_g |p_g − p̄|

D is 0 when every group has the same access and grows towards 1 as access concentrates in few groups; it is
the share of the opportunity that would have to be reallocated for equal access.  **HOI = p̄ (1 − D).**

**Direction.**  ESCAP measures access to an opportunity or the absence of a barrier.  An indicator where a
higher value is worse (poverty, violence, stunting: ``direction="higher_worse"``) is a barrier: the
opportunity is its absence, ``1 − y``, and D, the HOI and the tree are computed on it, so that lower D
still means less inequality and the furthest behind are the group with the *highest* rate of the barrier.
Where a higher value is better (``"higher_better"``, the default) the opportunity is ``y`` itself.  Where
neither is (``"neutral"``) D is computed on ``y`` as given and the leaves are only the lowest and the
highest groups: no one is "behind".

**Furthest behind / furthest ahead.**  ESCAP grows a weighted regression tree (CART, ANOVA / squared-error
splits) of the indicator on the circumstances, with three stopping rules: depth at most 6, at least 49
observations in every end node, and every end node at least 9 % of the weighted sample (the percentage is
changed in some analyses).  Here: ``sklearn.tree.DecisionTreeRegressor(criterion="squared_error",
max_depth=6, min_samples_leaf=49, min_weight_fraction_leaf=0.09)`` with the survey weights as
``sample_weight``.  The leaves are the groups; the leaf with the lowest (highest) weighted mean of the
opportunity is the furthest behind (ahead).  Unlike R's rpart, scikit-learn cannot split a nominal
variable into arbitrary subsets: nominal circumstances are one-hot encoded (splits "is c" / "is not c"),
ordered ones (e.g. wealth quintile) are split on thresholds.

Sources: ESCAP, *Leaving no one behind: a methodology to identify those furthest behind in accessing
opportunities in Asia and the Pacific* (Savić, Simonds, Sokou, Wang); lnob.unescap.org pages "LNOB tree
specifications" and "Example of calculating D-Index"; World Bank LAC Equity Lab, "HOI – D-Index".
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.tree import DecisionTreeRegressor

from .errors import StatsError

__all__ = [
    "CONNECTIVES",
    "DIRECTIONS",
    "HIGHER_BETTER",
    "HIGHER_WORSE",
    "NEUTRAL",
    "DIndex",
    "LeafGroup",
    "LNOBTree",
    "d_index",
    "d_index_by_circumstances",
    "describe_conditions",
    "furthest_behind",
    "opportunity",
]

# How conditions are joined in each language: codes of one dimension with "or", dimensions with ", ".
CONNECTIVES: dict[str, dict[str, str]] = {
    "en": {"or": " or ", "and": ", ", "everyone": "everyone"},
    "vi": {"or": " hoặc ", "and": ", ", "everyone": "toàn bộ dân số"},
}


#: Which way an indicator is good: a higher value better, worse, or neither (see the module's docstring).
HIGHER_BETTER, HIGHER_WORSE, NEUTRAL = "higher_better", "higher_worse", "neutral"
DIRECTIONS = (HIGHER_BETTER, HIGHER_WORSE, NEUTRAL)


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise StatsError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")


def opportunity(y: NDArray[np.float64], direction: str) -> NDArray[np.float64]:
    """The opportunity ESCAP's method measures: ``1 − y`` (the absence of the barrier) where a higher
    value is worse, else ``y`` itself."""
    _check_direction(direction)
    return 1 - y if direction == HIGHER_WORSE else y


def d_index(rates: ArrayLike, shares: ArrayLike) -> float:
    """D = Σ w_g |p_g − p̄| / (2 p̄) for group rates ``p_g`` and population shares ``w_g`` (normalised here)."""
    p = np.asarray(rates, dtype=float).ravel()
    w = np.asarray(shares, dtype=float).ravel()
    if p.size != w.size or p.size == 0:
        raise StatsError(f"rates and shares must be non-empty and of equal length, got {p.size} and {w.size}")
    if np.any(~np.isfinite(p) | (p < 0) | (p > 1)):
        raise StatsError(
            f"rates must be proportions in [0, 1]; group {int(np.argmax(~((p >= 0) & (p <= 1))))}"
        )
    if np.any(~np.isfinite(w) | (w < 0)) or w.sum() <= 0:
        raise StatsError("shares must be non-negative with a positive total")
    w = w / w.sum()
    p_bar = float(w @ p)
    if p_bar == 0:
        raise StatsError("the overall rate is 0: the D-index is undefined when no one has access")
    return float(w @ np.abs(p - p_bar) / (2 * p_bar))


def _codes(name: str, value: ArrayLike, n: int) -> NDArray[Any]:
    """The codes of one circumstance, as given (integer or text arrays stay so: factorising them is
    fast), checked for missing values."""
    arr = np.asarray(value).ravel()
    if arr.dtype.kind not in "iuUSbfO":
        arr = arr.astype(object)
    if arr.size != n:
        raise StatsError(f"circumstance {name!r}: expected {n} values, got {arr.size}")
    if arr.dtype.kind == "O":
        # None, or NaN (the one value not equal to itself)
        missing = np.array([v is None for v in arr], dtype=bool) | (arr != arr)
    elif arr.dtype.kind == "f":
        missing = np.isnan(arr)
    else:
        missing = np.zeros(arr.size, dtype=bool)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise StatsError(
            f"circumstance {name!r}: row {row} is missing; drop or impute it before the analysis"
        )
    return arr


def _factorize(name: str, codes: NDArray[Any]) -> NDArray[np.intp]:
    """Each row's index into the sorted distinct codes (``np.unique``'s inverse)."""
    if codes.dtype.kind in "iu" and codes.size and 0 <= codes.min() and codes.max() < _DENSE_CODES:
        # small integer codes (a dimension's): the same inverse from a flag per possible code, no sort
        present = np.zeros(int(codes.max()) + 1, dtype=bool)
        present[codes] = True
        rank = np.cumsum(present, dtype=np.intp) - 1
        return rank[codes]
    try:
        _, inverse = np.unique(codes, return_inverse=True)
    except TypeError as exc:
        raise StatsError(f"circumstance {name!r} mixes code types that cannot be compared") from exc
    return np.asarray(inverse, dtype=np.intp).ravel()


_DENSE_CODES = 1 << 20


def _outcome(y: ArrayLike, weights: ArrayLike | None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    yy = np.asarray(y, dtype=float).ravel()
    if yy.size == 0:
        raise StatsError("y: no observations")
    if np.any(~np.isfinite(yy)):
        raise StatsError(f"y: row {int(np.flatnonzero(~np.isfinite(yy))[0])} is missing")
    w = np.ones(yy.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.size != yy.size:
        raise StatsError(f"weights: expected {yy.size} values, got {w.size}")
    if np.any(~np.isfinite(w) | (w < 0)) or w.sum() <= 0:
        raise StatsError("weights must be non-negative, finite and not all zero")
    return yy, w


@dataclass(frozen=True)
class DIndex:
    """D-index result with the groups (intersections of circumstances) it was computed over.

    ``coverage`` (p̄), ``hoi`` and ``rates`` are of the opportunity: ``1 − y`` where ``direction`` is
    ``"higher_worse"``, else ``y``."""

    d: float
    hoi: float
    coverage: float
    groups: list[dict[str, object]]
    rates: NDArray[np.float64]
    shares: NDArray[np.float64]
    n: NDArray[np.int64]
    direction: str = HIGHER_BETTER


def d_index_by_circumstances(
    y: ArrayLike,
    circumstances: Mapping[str, ArrayLike],
    weights: ArrayLike | None = None,
    *,
    direction: str = HIGHER_BETTER,
) -> DIndex:
    """D-index and HOI over all intersections of ``circumstances`` (dimension → code per person).

    ``y`` is the 0/1 indicator (or a proportion per person) and ``weights`` the survey weights; with
    ``direction="higher_worse"`` they are computed on the barrier's absence ``1 − y`` (ESCAP).
    """
    yy, w = _outcome(y, weights)
    yy = opportunity(yy, direction)
    if np.any((yy < 0) | (yy > 1)):
        raise StatsError("y must be a 0/1 indicator or a proportion in [0, 1]")
    if not circumstances:
        raise StatsError("circumstances: at least one is needed")
    names = list(circumstances)
    cols = [_codes(k, circumstances[k], yy.size) for k in names]
    codes = [_factorize(k, c) for k, c in zip(names, cols, strict=True)]
    keys = np.ravel_multi_index(tuple(codes), tuple(int(c.max()) + 1 for c in codes))
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    wsum = np.bincount(inverse, weights=w)
    ysum = np.bincount(inverse, weights=w * yy)
    n = np.bincount(inverse).astype(np.int64)
    keep = wsum > 0
    rates = ysum[keep] / wsum[keep]
    shares = wsum[keep] / wsum[keep].sum()
    d = d_index(rates, shares)
    coverage = float(shares @ rates)
    groups = [{k: col[i] for k, col in zip(names, cols, strict=True)} for i in first[keep]]
    return DIndex(
        d=d,
        hoi=coverage * (1 - d),
        coverage=coverage,
        groups=groups,
        rates=rates,
        shares=shares,
        n=n[keep],
        direction=direction,
    )


def describe_conditions(
    conditions: Mapping[str, Collection[object]],
    labels: Mapping[str, Mapping[object, str]],
    language: str = "en",
    order: Sequence[str] | None = None,
) -> str:
    """Words for a group: per dimension its allowed codes' labels joined by "or", dimensions by commas.

    ``labels`` is dimension → {code: label} in the wanted language; codes without a label are shown as is.
    """
    if language not in CONNECTIVES:
        raise StatsError(f"no connectives for language {language!r}; known: {sorted(CONNECTIVES)}")
    words = CONNECTIVES[language]
    dims = [d for d in (order or list(conditions)) if d in conditions]
    parts = []
    for dim in dims:
        dim_labels = labels.get(dim, {})
        codes = sorted(conditions[dim], key=lambda c: (str(type(c)), c))
        parts.append(words["or"].join(str(dim_labels.get(c, c)) for c in codes))
    return words["and"].join(parts) if parts else words["everyone"]


@dataclass(frozen=True)
class LeafGroup:
    """One end node of the tree: a group defined by its allowed codes per constrained dimension.

    ``mean`` is the weighted mean of ``y`` as given (e.g. the poverty rate), ``opportunity`` that of the
    opportunity the tree was grown on (``1 − mean`` where a higher value is worse)."""

    conditions: dict[str, frozenset[object]]
    mean: float
    n: int
    weight_share: float
    descriptions: dict[str, str] = field(default_factory=dict)
    opportunity: float = float("nan")


@dataclass(frozen=True)
class LNOBTree:
    """Leaves sorted from furthest behind (lowest opportunity) to furthest ahead; for a ``"neutral"``
    indicator from the lowest mean to the highest, and no one is behind or ahead."""

    leaves: list[LeafGroup]
    overall_mean: float
    min_samples_leaf: int
    min_weight_fraction_leaf: float
    direction: str = HIGHER_BETTER

    @property
    def furthest_behind(self) -> LeafGroup:
        """The leaf with the lowest opportunity (the highest rate of a barrier)."""
        self._need_direction("furthest behind")
        return self.leaves[0]

    @property
    def furthest_ahead(self) -> LeafGroup:
        """The leaf with the highest opportunity (the lowest rate of a barrier)."""
        self._need_direction("furthest ahead")
        return self.leaves[-1]

    @property
    def lowest(self) -> LeafGroup:
        """The leaf with the lowest mean of ``y``, whatever the direction."""
        return min(self.leaves, key=lambda g: (g.mean, -g.weight_share))

    @property
    def highest(self) -> LeafGroup:
        """The leaf with the highest mean of ``y``, whatever the direction."""
        return max(self.leaves, key=lambda g: (g.mean, g.weight_share))

    def _need_direction(self, what: str) -> None:
        if self.direction == NEUTRAL:
            raise StatsError(
                f"an indicator with no better direction has no group {what}; use lowest and highest"
            )


def furthest_behind(
    y: ArrayLike,
    circumstances: Mapping[str, ArrayLike],
    weights: ArrayLike | None = None,
    *,
    labels: Mapping[str, Mapping[str, Mapping[object, str]]] | None = None,
    ordered: Collection[str] = (),
    max_depth: int = 6,
    min_samples_leaf: int = 49,
    min_weight_fraction_leaf: float = 0.09,
    direction: str = HIGHER_BETTER,
) -> LNOBTree:
    """Grow the ESCAP LNOB regression tree and return its leaves as described groups.

    ``labels`` is language → dimension → {code: label} (e.g. ``{"en": …, "vi": …}``); each leaf gets one
    description per language.  ``ordered`` names circumstances whose codes are ordered (split on
    thresholds); others are nominal (one-hot).  With ``direction="higher_worse"`` the tree is grown on
    the absence of the barrier ``1 − y``, as ESCAP does, and the furthest behind are the leaf with the
    highest mean of ``y``; with ``"neutral"`` the leaves are only sorted by their mean.
    """
    yy, w = _outcome(y, weights)
    grown_on = opportunity(yy, direction)
    if not circumstances:
        raise StatsError("circumstances: at least one is needed")
    unknown = sorted(set(ordered) - set(circumstances))
    if unknown:
        raise StatsError(f"ordered names unknown circumstance(s) {unknown}")
    if max_depth < 1 or min_samples_leaf < 1 or not 0 <= min_weight_fraction_leaf <= 0.5:
        raise StatsError(
            "max_depth and min_samples_leaf must be ≥ 1 and min_weight_fraction_leaf in [0, 0.5]"
        )
    names = list(circumstances)
    columns: list[NDArray[np.float64]] = []
    features: list[tuple[str, object | None]] = []  # (dimension, code) for one-hot; (dimension, None) ordinal
    levels: dict[str, list[object]] = {}
    for name in names:
        codes = _codes(name, circumstances[name], yy.size)
        uniq = sorted(set(codes.tolist()), key=lambda c: (str(type(c)), c))
        levels[name] = uniq
        if name in ordered:
            try:
                columns.append(codes.astype(float))
            except (TypeError, ValueError) as exc:
                raise StatsError(f"ordered circumstance {name!r} must have numeric codes") from exc
            features.append((name, None))
        else:
            for code in uniq:
                columns.append((codes == code).astype(float))
                features.append((name, code))
    x = np.column_stack(columns)
    tree = DecisionTreeRegressor(
        criterion="squared_error",
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        min_weight_fraction_leaf=min_weight_fraction_leaf,
        random_state=0,
    )
    tree.fit(x, grown_on, sample_weight=w)

    t = tree.tree_
    conditions_at: dict[int, dict[str, set[object]]] = {}

    def walk(node: int, allowed: dict[str, set[object]]) -> None:
        left, right = int(t.children_left[node]), int(t.children_right[node])
        if left == -1:
            conditions_at[node] = allowed
            return
        dim, code = features[int(t.feature[node])]
        threshold = float(t.threshold[node])
        go_left = {k: set(v) for k, v in allowed.items()}
        go_right = {k: set(v) for k, v in allowed.items()}
        if code is None:
            go_left[dim] = {c for c in allowed[dim] if float(c) <= threshold}  # type: ignore[arg-type]
            go_right[dim] = {c for c in allowed[dim] if float(c) > threshold}  # type: ignore[arg-type]
        else:  # one-hot: left is "not code", right is "code"
            go_left[dim] = allowed[dim] - {code}
            go_right[dim] = allowed[dim] & {code}
        walk(left, go_left)
        walk(right, go_right)

    walk(0, {k: set(v) for k, v in levels.items()})
    leaf_of = tree.apply(x)
    wsum = np.bincount(leaf_of, weights=w, minlength=t.node_count)
    ysum = np.bincount(leaf_of, weights=w * yy, minlength=t.node_count)
    osum = np.bincount(leaf_of, weights=w * grown_on, minlength=t.node_count)
    counts = np.bincount(leaf_of, minlength=t.node_count)
    leaves = []
    for node, allowed in conditions_at.items():
        constrained = {k: frozenset(v) for k, v in allowed.items() if len(v) < len(levels[k])}
        descriptions = {
            lang: describe_conditions(constrained, lab, lang, order=names)
            for lang, lab in (labels or {}).items()
        }
        leaves.append(
            LeafGroup(
                conditions=constrained,
                mean=float(ysum[node] / wsum[node]),
                n=int(counts[node]),
                weight_share=float(wsum[node] / w.sum()),
                descriptions=descriptions,
                opportunity=float(osum[node] / wsum[node]),
            )
        )
    if direction == NEUTRAL:
        leaves.sort(key=lambda g: (g.mean, -g.weight_share))
    else:
        leaves.sort(key=lambda g: (g.opportunity, -g.weight_share))
    return LNOBTree(
        leaves=leaves,
        overall_mean=float(w @ yy / w.sum()),
        min_samples_leaf=min_samples_leaf,
        min_weight_fraction_leaf=min_weight_fraction_leaf,
        direction=direction,
    )
