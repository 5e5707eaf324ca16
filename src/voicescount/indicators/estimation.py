"""Estimating one indicator definition: its analysis variable, every disaggregation, disclosure flags, LNOB.

For a definition prepared on a ``Dataset`` (``_Prepared``: the outcome from ``_outcome``, the dimensions'
integer codes and the design), ``_kernel`` estimates the total, every dimension and every intersection
the definition asks for, with all their margins, in one call per intersection (``voicescount.stats``);
applies disclosure control (minimum cell size, the DHS precision convention, complementary suppression
across all the tables it publishes, linked by their margins); and computes the D-index and the
furthest-behind / furthest-ahead groups in the definition's direction (``indicators.direction``).
The kernel reads no database, so it may run in a worker process. The universe is a *domain* of the
design, never a subset, so PSUs without members still count in the variance (as R's ``subset`` of a
design).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from voicescount.framework.labels import CodeLabels, lnob_sentence
from voicescount.indicators.dataset import MISSING, Dataset, _numeric
from voicescount.indicators.errors import ComputeError
from voicescount.indicators.expressions import ExpressionError, parse
from voicescount.indicators.models import IndicatorDefinition, IntervalMethod
from voicescount.stats import estimators
from voicescount.stats.design import SurveyDesign
from voicescount.stats.disclosure import CellFlag, CellSizeRule, flag_cells
from voicescount.stats.errors import StatsError
from voicescount.stats.intervals import wilson
from voicescount.stats.linked import linked_suppression
from voicescount.stats.lnob import HIGHER_WORSE, NEUTRAL, d_index_by_circumstances, furthest_behind

TOTAL = "_T"
BOUNDARY = 1e-12  # a proportion this close to 0 or 1 is 0 or 1 up to rounding (as stats.intervals)


def canonical_key(dimensions: dict[str, str]) -> str:
    parts = [f"{k}={v}" for k, v in sorted(dimensions.items()) if v != TOTAL]
    return "|".join(parts) or TOTAL


def _numbers(definition: IndicatorDefinition, field_name: str, text: str, data: Dataset) -> np.ndarray:
    """An expression's value per row as floats; a clear error when it gives text."""
    expression = parse(text)
    result = np.asarray(expression.evaluate(data.columns(expression.names), data.n))
    if result.dtype == object:
        numeric = _numeric(result)
        present = np.array([v not in (None, "") for v in result], dtype=bool)
        if (np.isnan(numeric) & present).any():
            row = int(np.flatnonzero(np.isnan(numeric) & present)[0])
            raise ComputeError(
                f"Definition '{definition.code}': the {field_name} expression '{text}' gives text, not "
                f"numbers (submission {data.ids[row]}: {str(result[row])[:40]!r}); use a numeric question "
                "or a condition"
            )
        return numeric
    return result.astype(float)


def _outcome(definition: IndicatorDefinition, data: Dataset) -> tuple[np.ndarray, np.ndarray | None]:
    """The analysis variable (and, for a ratio, the denominator): NaN outside the universe and where the
    answer is unknown."""
    kind = definition.kind
    proportion = kind == IndicatorDefinition.Kind.PROPORTION
    field_name = "numerator" if proportion else "value"
    target_text = definition.numerator if proportion else definition.value
    if not target_text.strip():
        raise ComputeError(f"Definition '{definition.code}' has no {field_name} expression.")
    if kind == IndicatorDefinition.Kind.RATIO and not definition.denominator.strip():
        raise ComputeError(f"Definition '{definition.code}' is a ratio but has no denominator expression.")
    try:
        universe = parse(definition.universe) if definition.universe.strip() else None
        in_universe = (
            universe.mask(data.columns(universe.names), data.n) if universe else np.ones(data.n, dtype=bool)
        )
        y = _numbers(definition, field_name, target_text, data)
        x = (
            _numbers(definition, "denominator", definition.denominator, data)
            if kind == IndicatorDefinition.Kind.RATIO
            else None
        )
    except ExpressionError as exc:
        raise ComputeError(f"Definition '{definition.code}': {exc}") from None
    return np.where(in_universe, y, np.nan), None if x is None else np.where(in_universe, x, np.nan)


def analysis_variables(
    definition: IndicatorDefinition, data: Dataset
) -> tuple[np.ndarray, np.ndarray | None]:
    """The definition's analysis variable per row, and its denominator for a ratio, as the kernel
    estimates them (NaN outside the universe and where the answer is unknown): the public name of
    ``_outcome``, for the reproduction packs (``indicators.reproduction``)."""
    return _outcome(definition, data)


def _intersections(definition: IndicatorDefinition) -> list[tuple[str, ...]]:
    names = [d["code_list"] for d in definition.dimensions]
    wanted = [tuple(i) for i in definition.intersections] or [(n,) for n in names]
    for combo in wanted:
        unknown = set(combo) - set(names)
        if unknown:
            raise ComputeError(
                f"Definition '{definition.code}' asks for intersection {list(combo)} but has no dimension "
                f"{sorted(unknown)}."
            )
    return wanted or [()]


def _estimate(
    kind: str,
    design: SurveyDesign,
    y: np.ndarray,
    domains,
    x: np.ndarray | None = None,
    method: str = IntervalMethod.LOGIT,
):
    """One call of the statistics core; ``method``: a proportion's interval (the definition's
    ``interval_method``, R's ``svyciprop(method=)``)."""
    if kind == IndicatorDefinition.Kind.RATIO:
        return estimators.ratio(design, y, x, domains, margins=domains is not None)
    if kind == IndicatorDefinition.Kind.PROPORTION:
        return estimators.proportion(design, y, domains, margins=domains is not None, method=method)
    if kind == IndicatorDefinition.Kind.TOTAL:
        return estimators.total(design, y, domains, margins=domains is not None)
    return estimators.mean(design, y, domains, margins=domains is not None)


PatternCache = dict[tuple, frozenset]


def _protect(
    rows: dict[str, dict],
    combos: list[set[str]],
    dimensions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    rule: CellSizeRule,
    cache: PatternCache | None = None,
) -> None:
    """Complementary suppression over every table the definition publishes, at once.

    The intersections ``combos`` were estimated with all their margins; all those tables, their small
    cells and the cells of answers that map to no code (never published) form one linked system
    (``stats.linked``), so that no published number of one table, with those of another, gives away a
    suppressed cell. The pattern depends only on the unweighted n of the cells and the rule, so
    definitions of a study that share a universe and dimensions share it: ``cache`` keeps it by that
    key for the duration of one ``compute_study``."""
    if not any(r["flag"] == CellFlag.SUPPRESSED_SMALL_CELL for r in rows.values()):
        return
    names = sorted(set().union(*combos))
    labels = {d: [str(label) for label in dimensions[d][1]] for d in names}
    codes = {d: [label for label in labels[d] if label != MISSING] for d in names}
    position = {d: {code: i for i, code in enumerate(codes[d])} for d in names}
    levels = tuple(len(codes[d]) for d in names)
    has_missing = tuple(MISSING in labels[d] for d in names)
    tables: set[tuple[int, ...]] = set()
    for combo in combos:
        axes = sorted(names.index(d) for d in combo)
        tables.update(c for k in range(len(axes) + 1) for c in itertools.combinations(axes, k))
    n: dict[tuple[int | None, ...], float] = {}
    primary = set()
    by_key = {}
    for row in rows.values():
        key = tuple(position[d][row["dimensions"][d]] if d in row["dimensions"] else None for d in names)
        n[key], by_key[key] = float(row["n"]), row
        if row["flag"] == CellFlag.SUPPRESSED_SMALL_CELL:
            primary.add(key)
    cache_key = (levels, has_missing, tuple(sorted(tables)), tuple(sorted(n.items(), key=repr)), rule)
    complements = None if cache is None else cache.get(cache_key)
    if complements is None:
        complements = frozenset(linked_suppression(levels, has_missing, tables, n, primary))
        if cache is not None:
            cache[cache_key] = complements
    for key in complements:
        by_key[key]["flag"] = max(by_key[key]["flag"], CellFlag.SUPPRESSED_COMPLEMENTARY)


def _lnob(
    definition,
    weights: np.ndarray,
    y: np.ndarray,
    dimensions: dict[str, tuple],
    code_names: CodeLabels,
    direction: str,
) -> dict:
    """D-index over all intersections of the definition's dimensions and the furthest-behind tree, in
    the definition's ``direction`` (``indicators.direction.direction_of``).

    ESCAP measures an opportunity: where a higher value is worse, D and the tree are computed on its
    absence (``1 − rate``), so the furthest behind are the group with the highest rate; where neither
    is better, D is on the rate and the result names the lowest and highest groups only (no
    ``furthest_behind`` / ``furthest_ahead``). ``lowest`` and ``highest`` are stored in every case.
    The circumstances go to the statistics core as integer codes (``Dataset.dimension``); labels and
    the leaves' conditions are translated back to the code lists' codes. The leaves' descriptions and
    the result's sentence are worded in English and Vietnamese with ``code_names`` as the public pages
    word them (``CodeLabels.in_sentence``, ``framework.labels.lnob_sentence``)."""
    if definition.kind != IndicatorDefinition.Kind.PROPORTION or not dimensions:
        return {}
    # Circumstances are personal characteristics; places (region, province) are reported separately.
    names = [d for d in dimensions if d not in ("REGION", "AREA")] or list(dimensions)
    valid = ~np.isnan(y)
    for d in names:
        _, distinct, codes = dimensions[d]
        missing = np.flatnonzero(distinct == MISSING)
        if missing.size:
            valid &= codes != missing[0]
    if valid.sum() < 100:
        return {"note": "Too few respondents with every circumstance recorded for LNOB analysis."}
    weights = weights[valid]
    circumstances = {d: dimensions[d][2][valid] for d in names}
    labels = {
        language: {
            d: {i: code_names.in_sentence(d, str(code), language) for i, code in enumerate(dimensions[d][1])}
            for d in names
        }
        for language in ("en", "vi")
    }
    try:
        dindex = d_index_by_circumstances(y[valid], circumstances, weights, direction=direction)
        tree = furthest_behind(y[valid], circumstances, weights, labels=labels, direction=direction)
    except StatsError as exc:
        return {"note": f"LNOB analysis not possible: {exc}"}

    def leaf(group):
        return {
            "conditions": {
                k: sorted(str(dimensions[k][1][code]) for code in v) for k, v in group.conditions.items()
            },
            "mean": group.mean,
            "opportunity": group.opportunity,
            "n": group.n,
            "weight_share": group.weight_share,
            "description_en": group.descriptions.get("en", ""),
            "description_vi": group.descriptions.get("vi", ""),
        }

    if direction == NEUTRAL:
        first, second = tree.lowest, tree.highest
        ends = {}
    else:
        first, second = tree.furthest_behind, tree.furthest_ahead
        ends = {"furthest_behind": leaf(first), "furthest_ahead": leaf(second)}
    sentences = {
        f"sentence_{language}": lnob_sentence(
            direction,
            (first.descriptions[language], first.mean),
            (second.descriptions[language], second.mean),
            language,
        )
        for language in ("en", "vi")
    }
    return {
        "direction": direction,
        "circumstances": names,
        "d_index": dindex.d,
        # D, the HOI and the coverage are of the opportunity ESCAP measures
        "d_index_of": "1 - rate" if direction == HIGHER_WORSE else "rate",
        "hoi": dindex.hoi,
        "coverage": dindex.coverage,
        "groups": len(dindex.groups),
        **ends,
        "lowest": leaf(tree.lowest),
        "highest": leaf(tree.highest),
        "leaves": [leaf(g) for g in tree.leaves],
        **sentences,
        "method": "ESCAP LNOB: D-index over all intersections; regression tree depth ≤ 6, leaves ≥ 49 "
        "respondents and ≥ 9% of the weighted sample; on 1 - rate where a higher rate is worse.",
    }


@dataclass
class _Prepared:
    """A definition ready to be estimated: its analysis variables and the fingerprint of its inputs."""

    definition: IndicatorDefinition
    key: str
    design: SurveyDesign
    y: np.ndarray
    x: np.ndarray | None
    dimensions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
    started: float
    direction: str  # ``indicators.direction.direction_of``: read before the kernel, which reads no database


def _kernel(
    prep: _Prepared, rule: CellSizeRule, pattern_cache: PatternCache | None, names: CodeLabels
) -> tuple[dict[str, dict], dict]:
    """Estimates with flags and the LNOB analytics of one prepared definition. Reads no database (it may
    run in a worker process)."""
    definition, design, y, x, dimensions = prep.definition, prep.design, prep.y, prep.x, prep.dimensions
    rows: dict[str, dict] = {}
    estimated: list[set[str]] = []
    try:
        # Largest intersections first: an intersection inside one already estimated is among its margins
        # (the estimator returns every margin), so it is not estimated again.
        for combo in sorted(_intersections(definition), key=len, reverse=True):
            if any(set(combo) <= done for done in estimated):
                continue
            estimated.append(set(combo))
            # The estimator gets integer codes (cheap to group by); labels are put back on the rows.
            domains = {d: dimensions[d][2] for d in combo} if combo else None
            result = _estimate(definition.kind, design, y, domains, x, definition.interval_method)
            new: list[str] = []
            for row in result.rows():
                dims = {d: str(dimensions[d][1][row[d]]) for d in combo if row[d] is not None}
                if MISSING in dims.values() or row["n"] == 0:
                    continue
                key_ = canonical_key(dims)
                if key_ not in rows:
                    rows[key_] = _with_boundary_interval(
                        definition, {**row, "dimensions": dims, "flag": CellFlag.OK}
                    )
                    new.append(key_)
            flags = flag_cells(np.array([rows[k]["n"] for k in new], dtype=float), rule)
            for key_, flag in zip(new, flags, strict=True):
                rows[key_]["flag"] = CellFlag(int(flag))
        _protect(rows, estimated, dimensions, rule, pattern_cache)
    except StatsError as exc:
        raise ComputeError(f"Definition '{definition.code}': {exc}") from None
    return rows, _lnob(definition, design.weights, y, dimensions, names, prep.direction)


def _with_boundary_interval(definition: IndicatorDefinition, row: dict) -> dict:
    """At 0% or 100% a domain has no variance and the logit interval is undefined (R gives NaN); the
    Wilson interval on the unweighted n is used instead, so a published 0% still shows its uncertainty.
    The same where the definition's interval method gives no bound inside (0, 1) (R's NA: the
    likelihood profile that misses its cut-off on a small sample): the Wilson interval on the
    effective n (``p(1−p)/se²``), so that no published proportion has half an interval.

    A domain's proportion is computed as a shift from the overall one, so a domain where every answer
    is 0 can come out as 5.6e-17 with an SE of the same size: that is 0 (``BOUNDARY``, the rounding
    rule of ``stats.intervals``), with the same Wilson interval (the logit interval of 5.6e-17 was
    [4e-22, 7.7e-12], and an SE of 5e-18 at exactly 0 gave no interval at all)."""
    proportion = definition.kind == IndicatorDefinition.Kind.PROPORTION
    p = row["estimate"]
    if not (proportion and np.isfinite(p) and row["n"] > 0):
        return row
    edge = min(abs(p), abs(1 - p)) < BOUNDARY
    if edge or not (np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"])):
        low, high = wilson(
            float(round(p)) if edge else p,
            0.0 if edge else row["se"],
            row["df"] if np.isfinite(row["df"]) else np.inf,
            row["n"],
        )
        row["ci_low"], row["ci_high"] = float(np.clip(low, 0, 1)), float(np.clip(high, 0, 1))
    return row
