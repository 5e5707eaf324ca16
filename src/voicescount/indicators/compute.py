"""From a study's submissions to stored estimates: every disaggregation, disclosure flags, LNOB analytics.

``compute_study(study)`` computes every indicator definition of a study; ``compute_definition`` one of
them. For a definition it

1. reads the answers of the submissions that may enter analysis (consent given; withdrawn ones never),
2. evaluates the universe and the numerator/value with the safe expression language,
3. codes each disaggregation dimension to its code list (``codes`` map, age ``bins`` or a derived
   variable such as ``@wg_disability``),
4. estimates with the study's sampling design (``voicescount.stats``) for the total, every dimension and
   every intersection the definition asks for, with all their margins, in one call per intersection,
5. applies disclosure control (minimum cell size, the DHS precision convention, complementary
   suppression across the published margins), and
6. stores an ``EstimateRun`` with its provenance and the ``Estimate`` rows, plus the D-index and the
   furthest-behind / furthest-ahead groups.

A run is skipped when nothing it depends on changed (same submissions, same definition): the input
fingerprint is the hash of both. The universe is a *domain* of the design, never a subset, so PSUs
without members still count in the variance (as R's ``subset`` of a design).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from voicescount import __version__
from voicescount.collection.models import Study, Submission
from voicescount.framework.models import Code
from voicescount.indicators.expressions import ExpressionError, factorise, parse, per_value
from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition
from voicescount.perf import paused_gc
from voicescount.stats import estimators
from voicescount.stats.design import SurveyDesign
from voicescount.stats.disclosure import CellFlag, CellSizeRule, flag_cells, protect_estimates
from voicescount.stats.errors import StatsError
from voicescount.stats.intervals import wilson
from voicescount.stats.lnob import d_index_by_circumstances, furthest_behind
from voicescount.stats.washington import wgss_identifiers

TOTAL = "_T"
MISSING = "\x00missing"  # label for rows outside a dimension's codes; never published
WG_ITEMS = {
    "seeing": "wg_seeing",
    "hearing": "wg_hearing",
    "walking": "wg_walking",
    "cognition": "wg_cognition",
    "self_care": "wg_selfcare",
    "communication": "wg_communication",
}
FLAGS = {
    CellFlag.OK: Estimate.Flag.NONE,
    CellFlag.CAUTION: Estimate.Flag.IMPRECISE,
    CellFlag.SUPPRESSED_SMALL_CELL: Estimate.Flag.SUPPRESSED_SMALL,
    CellFlag.SUPPRESSED_COMPLEMENTARY: Estimate.Flag.SUPPRESSED_COMPLEMENTARY,
}


def default_rule() -> CellSizeRule:
    """The publication rule from the settings: by default the DHS convention (< 25 unweighted cases
    suppressed, 25–49 flagged); ``VOICESCOUNT_SUPPRESS_BELOW`` / ``VOICESCOUNT_CAUTION_BELOW`` change it."""
    return CellSizeRule(
        suppress_below=getattr(settings, "VOICESCOUNT_SUPPRESS_BELOW", 25),
        caution_below=getattr(settings, "VOICESCOUNT_CAUTION_BELOW", 50),
    )


Progress = Callable[[str, int, int], None]


class ComputeError(ValueError):
    """A definition that cannot be computed as written; the message names the definition and the reason."""


class DatasetError(ComputeError):
    """A variable of the dataset cannot be made (raised by ``Dataset.column``; the definition that asked
    for it is added to the message by ``compute_definition``)."""


class CircularVariable(DatasetError):
    """Derived variables that refer to each other in a circle."""


@dataclass
class Dataset:
    """Answers of the submissions in analysis, column-wise (question name → object array).

    Only the questions the study's definitions, derived variables and design read are loaded (see
    :func:`load_dataset`); any other question is read on first use, from the same submissions."""

    study: Study
    ids: list[int]
    #: the study's derived variables: name → expression text
    derived: dict[str, str] = field(default_factory=dict)
    _columns: dict[str, np.ndarray] = field(default_factory=dict)
    _dimensions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    _designs: dict[tuple[str, str, str], SurveyDesign] = field(default_factory=dict)
    _resolving: list[str] = field(default_factory=list)
    _unknown: set[str] = field(default_factory=set)
    _id_array: np.ndarray | None = None

    def __post_init__(self) -> None:
        # a column with no answer at all may be a question nobody answered, or no question at all
        for name, col in list(self._columns.items()):
            if self.n and not any(v is not None for v in col) and not self._has_question(name):
                self._unknown.add(name)
                del self._columns[name]

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def id_array(self) -> np.ndarray:
        if self._id_array is None:
            self._id_array = np.asarray(self.ids, dtype=np.int64)
        return self._id_array

    def column(self, name: str) -> np.ndarray:
        if name in self._unknown:
            raise DatasetError(
                f"no submission of the study has a question '{name}' (check the spelling against the "
                "instrument's question names)"
            )
        if name not in self._columns:
            if name.startswith("@"):
                self._columns[name] = _derived(name, self)
            elif name in self.derived:
                self._columns[name] = self._derived_variable(name)
            else:
                ids, columns = _read_columns(self.study, [name])
                if ids != self.ids:
                    raise DatasetError("the study's submissions changed during the computation; run it again")
                col = columns[name]
                if self.n and not any(v is not None for v in col) and not self._has_question(name):
                    self._unknown.add(name)
                    return self.column(name)
                self._columns[name] = col
        return self._columns[name]

    def _has_question(self, name: str) -> bool:
        return Submission.objects.filter(study=self.study, values__has_key=name).exists()

    def _derived_variable(self, name: str) -> np.ndarray:
        """A study-level derived variable, evaluated once; refers to questions and other derived
        variables, never (through any chain) to itself."""
        if name in self._resolving:
            chain = " → ".join([*self._resolving[self._resolving.index(name) :], name])
            raise CircularVariable(f"derived variable '{name}' refers to itself: {chain}")
        if self._has_question(name):
            raise DatasetError(f"derived variable '{name}' has the name of a question; rename it")
        self._resolving.append(name)
        try:
            expression = parse(self.derived[name])
            return np.asarray(expression.evaluate(self.columns(expression.names), self.n))
        except ExpressionError as exc:
            raise DatasetError(f"derived variable '{name}': {exc}") from None
        except CircularVariable:
            raise
        except DatasetError as exc:
            raise DatasetError(f"derived variable '{name}': {exc}") from None
        finally:
            self._resolving.pop()

    def columns(self, names: Iterable[str]) -> dict[str, np.ndarray]:
        return {name: self.column(name) for name in names}

    def dimension(self, spec: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A dimension's label per row, its distinct labels and each row's integer code into them
        (computed once per dataset: definitions of a study share most dimensions)."""
        key = json.dumps(spec, sort_keys=True)
        if key not in self._dimensions:
            labels = dimension_labels(spec, self)
            distinct, codes = _sorted_codes(labels)
            self._dimensions[key] = (labels, distinct, codes)
        return self._dimensions[key]


#: Question names that can go into a JSON path unquoted-safe (XLSForm names are XML names).
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
#: At most this many questions per query (PostgreSQL functions take at most 100 arguments).
_MAX_PICKED = 90


#: Rows per query when reading answers (one JSON text of about 30 MB for 25 questions).
_BLOCK = 100_000


def _read_columns(study: Study, names: list[str]) -> tuple[list[int], dict[str, np.ndarray]]:
    """The ids of the submissions in analysis and the answers to ``names``.

    The database picks the answers out of each stored JSON document and aggregates a block of rows into
    one JSON array (``json_extract`` + ``json_group_array`` on SQLite, ``jsonb_build_array`` + ``json_agg``
    on PostgreSQL), so Python decodes one text per 100,000 rows holding only the answers asked for, instead
    of every document with its ~50 answers: at a million respondents that was most of the time of a
    computation. Types are those of the stored JSON (a select_multiple stays a list)."""
    names = list(dict.fromkeys(names))
    if not names or any(not _PLAIN_NAME.match(n) for n in names):
        return _read_documents(study, names)
    ids: list[int] | None = None
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(names), _MAX_PICKED):
        chunk = names[start : start + _MAX_PICKED]
        chunk_ids, picked = _picked_rows(study, chunk)
        if ids is None:
            ids = chunk_ids
        elif chunk_ids != ids:
            raise DatasetError("the study's submissions changed during the computation; run it again")
        columns = list(zip(*picked, strict=True)) if picked else [() for _ in chunk]
        for name, values in zip(chunk, columns, strict=True):
            col = np.empty(len(ids), dtype=object)
            col[:] = values
            out[name] = col
    return ids or [], out


def _picked_rows(study: Study, names: list[str]) -> tuple[list[int], list[list[Any]]]:
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        picks = ", ".join(['s."values" -> %s'] * len(names))
        select = f"SELECT json_agg(jsonb_build_array(s.id, jsonb_build_array({picks})) ORDER BY s.id)::text"
        params: list[Any] = list(names)
    else:
        paths = [f'$."{n}"' for n in names]
        # with two paths or more json_extract gives a JSON array; with one, the bare value
        picks = f"json_extract(s.{quote('values')}, {', '.join(['%s'] * len(paths))})"
        if len(paths) == 1:
            picks = f"json_array({picks})"
        select = f"SELECT json_group_array(json_array(s.id, {picks}))"
        params = paths
    ids: list[int] = []
    picked: list[list[Any]] = []
    last = 0
    with connection.cursor() as cursor:
        while True:
            block = (
                Submission.objects.filter(study=study, id__gt=last)
                .in_analysis()
                .order_by("id")
                .values("id", "values")[:_BLOCK]
            )
            inner, inner_params = block.query.sql_with_params()
            cursor.execute(f"{select} FROM ({inner}) s", [*params, *inner_params])
            text = cursor.fetchone()[0]
            rows = json.loads(text) if text else []
            if not rows:
                break
            if any(rows[i][0] >= rows[i + 1][0] for i in range(len(rows) - 1)):
                rows.sort(key=lambda r: r[0])
            ids.extend(r[0] for r in rows)
            picked.extend(r[1] for r in rows)
            last = rows[-1][0]
            if len(rows) < _BLOCK:
                break
    return ids, picked


def _read_documents(study: Study, names: list[str]) -> tuple[list[int], dict[str, np.ndarray]]:
    """The slow path for unusual question names: each whole JSON document decoded."""
    rows = (
        Submission.objects.filter(study=study)
        .in_analysis()
        .order_by("id")
        .annotate(text=Cast("values", output_field=TextField()))
        .values_list("id", "text")
    )
    ids: list[int] = []
    documents: list[dict[str, Any]] = []
    for pk, text in rows.iterator(chunk_size=10_000):
        ids.append(pk)
        documents.append(json.loads(text))
    out = {}
    for name in names:
        col = np.empty(len(ids), dtype=object)
        col[:] = [d.get(name) for d in documents]
        out[name] = col
    return ids, out


def questions_read(study: Study, definitions: Iterable[IndicatorDefinition]) -> list[str]:
    """The questions the definitions, the study's derived variables and its design read (names that do
    not parse are left out: their definition reports the error when it is computed)."""
    derived = dict(study.derived_variables.values_list("name", "expression"))
    names: set[str] = {v for v in (study.weight_variable, study.strata_variable, study.psu_variable) if v}
    texts = list(derived.values())
    for definition in definitions:
        texts += [definition.universe, definition.numerator, definition.value, definition.denominator]
        for spec in definition.dimensions:
            source = str(spec.get("source", ""))
            if source == "@wg_disability":
                names.update(WG_ITEMS.values())
            elif source in ("@province", "@province_2025"):
                names.add("province")
            elif source in derived:
                continue
            elif source:
                names.add(source)
    for text in texts:
        if text and text.strip():
            try:
                names.update(parse(text).names)
            except ExpressionError:
                continue
    return sorted(names - set(derived))


def load_dataset(study: Study, names: Iterable[str] | None = None) -> Dataset:
    """The answers of every submission in analysis to the questions ``names`` (by default all those the
    study's definitions read; other questions are read when first used)."""
    if names is None:
        names = questions_read(study, study.indicator_definitions.all())
    # Millions of small objects are made here and none is garbage: the cyclic collector would walk them
    # again and again (a fifth of the reading time at a million respondents).
    with paused_gc():
        ids, columns = _read_columns(study, list(names))
    if not columns:
        ids = list(
            Submission.objects.filter(study=study).in_analysis().order_by("id").values_list("id", flat=True)
        )
    derived = dict(study.derived_variables.values_list("name", "expression"))
    return Dataset(study=study, ids=ids, derived=derived, _columns=columns)


def _sorted_codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct labels (as text, sorted) and each row's code into them, as ``np.unique`` would give but in
    linear time. Sorted, the codes of the other rows stay the same when rows come and go."""
    first_seen, levels = factorise(labels)
    order = sorted(range(len(levels)), key=lambda i: str(levels[i]))
    rank = np.empty(len(levels), dtype=np.intp)
    rank[order] = np.arange(len(levels))
    return np.array([str(levels[i]) for i in order], dtype=object), rank[first_seen]


def _float_or_nan(v: Any) -> float:
    try:
        return float(v) if v not in (None, "") else np.nan
    except (TypeError, ValueError):
        return np.nan


def _numeric(col: np.ndarray) -> np.ndarray:
    """Answers as numbers (NaN where missing or not a number), converted once per distinct answer."""
    return per_value(col, _float_or_nan)


def _derived(name: str, data: Dataset) -> np.ndarray:
    if name == "@wg_disability":
        responses = {}
        for domain, question in WG_ITEMS.items():
            codes = _numeric(data.column(question))
            responses[domain] = np.where(np.isin(codes, (1, 2, 3, 4, 7, 8, 9)), codes, np.nan)
        flag = wgss_identifiers(responses).disability3
        return np.where(np.isnan(flag), None, np.where(flag == 1, "PD", "NPD").astype(object))
    if name in ("@province", "@province_2025"):
        # The province question holds GSO codes of the 63 provinces; @province_2025 maps them to the
        # 34 provinces in force from 1 July 2025 (a merged province's data count in its successor).
        import datetime as dt

        from voicescount.geography.selectors import recode_to

        mapping = recode_to(dt.date(2025, 7, 1) if name == "@province_2025" else dt.date(2025, 6, 30))
        return per_value(
            data.column("province"), lambda v: mapping.get(str(v)) if v not in (None, "") else None, object
        )
    raise ComputeError(f"Unknown derived variable {name}; known: @wg_disability, @province, @province_2025")


def dimension_labels(spec: dict, data: Dataset) -> np.ndarray:
    """Code of each row on one dimension (``MISSING`` where the answer maps to no code)."""
    source = spec.get("source", "")
    col = data.column(source)
    out = np.full(data.n, MISSING, dtype=object)
    if "bins" in spec:
        values = _numeric(col)
        for low, high, code in spec["bins"]:
            out[(values >= low) & (values <= high) & (out == MISSING)] = code
    elif "codes" in spec:
        mapping = {str(k): v for k, v in spec["codes"].items()}
        out = per_value(col, lambda v: mapping.get(str(v), MISSING) if v is not None else MISSING, object)
    else:
        out = per_value(col, lambda v: MISSING if v in (None, "") else str(v), object)
    return out


def design_for(study: Study, data: Dataset) -> SurveyDesign:
    """The study's sampling design over the dataset's rows (weights, strata, PSUs where recorded); made
    once per dataset and design variables."""
    key = (study.weight_variable, study.strata_variable, study.psu_variable)
    if key not in data._designs:
        data._designs[key] = _make_design(study, data)
    return data._designs[key]


def _make_design(study: Study, data: Dataset) -> SurveyDesign:
    kwargs: dict[str, Any] = {"n": data.n}
    if study.weight_variable:
        weights = _numeric(data.column(study.weight_variable))
        if np.isnan(weights).any():
            row = int(np.flatnonzero(np.isnan(weights))[0])
            raise ComputeError(
                f"Submission {data.ids[row]} has no weight ('{study.weight_variable}'); each record needs one"
            )
        kwargs["weights"] = weights
    for arg, variable in (("strata", study.strata_variable), ("psu", study.psu_variable)):
        if variable:
            # integer codes of the labels (sorted): the design encodes them in linear time, where
            # sorting a million labels would not be
            text = per_value(data.column(variable), lambda v: "" if v is None else str(v), object)
            kwargs[arg] = _sorted_codes(text)[1]
    try:
        return SurveyDesign.create(**kwargs, nest=True, lonely_psu="adjust")
    except StatsError as exc:
        raise ComputeError(f"The sampling design of study '{study.slug}' cannot be used: {exc}") from None


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


def _estimate(kind: str, design: SurveyDesign, y: np.ndarray, domains, x: np.ndarray | None = None):
    if kind == IndicatorDefinition.Kind.RATIO:
        return estimators.ratio(design, y, x, domains, margins=domains is not None)
    if kind == IndicatorDefinition.Kind.PROPORTION:
        return estimators.proportion(design, y, domains, margins=domains is not None)
    if kind == IndicatorDefinition.Kind.TOTAL:
        return estimators.total(design, y, domains, margins=domains is not None)
    return estimators.mean(design, y, domains, margins=domains is not None)


PatternCache = dict[tuple, np.ndarray]


def _protect(
    rows: dict[str, dict], combo: tuple[str, ...], rule: CellSizeRule, cache: PatternCache | None = None
) -> None:
    """Complementary suppression on the finest table of ``combo`` over its published margins.

    The pattern depends only on the table of unweighted n, the published margins and the rule, so
    definitions of a study that share a universe and dimensions share it: ``cache`` keeps the flags by
    that key for the duration of one ``compute_study``."""
    if not combo:
        return
    cells = [r for r in rows.values() if set(r["dimensions"]) == set(combo)]
    levels = [sorted({r["dimensions"][d] for r in cells}) for d in combo]
    if not cells or any(len(lv) < 2 for lv in levels):
        return
    shape = tuple(len(lv) for lv in levels)
    n = np.zeros(shape)
    est = np.zeros(shape)
    index = {}
    for r in cells:
        at = tuple(levels[i].index(r["dimensions"][d]) for i, d in enumerate(combo))
        n[at], est[at] = r["n"], 0.0 if np.isnan(r["estimate"]) else r["estimate"]
        index[at] = r
    # Margins that are themselves publishable (no small cell); small margin cells are suppressed anyway.
    margins = []
    for size in range(len(combo)):
        for axes in itertools.combinations(range(len(combo)), size):
            drop = tuple(a for a in range(len(combo)) if a not in axes)
            margin = np.atleast_1d(n.sum(axis=drop))
            if not ((margin > 0) & (margin < rule.suppress_below)).any():
                margins.append(axes)
    cache_key = (n.shape, n.tobytes(), tuple(margins), rule.suppress_below, rule.caution_below)
    flags = None if cache is None else cache.get(cache_key)
    if flags is None:
        flags = protect_estimates(est, n, rule=rule, margins=margins).flags
        if cache is not None:
            cache[cache_key] = flags
    for at, r in index.items():
        r["flag"] = max(r["flag"], CellFlag(int(flags[at])))


def _lnob(
    definition,
    weights: np.ndarray,
    y: np.ndarray,
    dimensions: dict[str, tuple],
    code_names: tuple[dict, dict],
) -> dict:
    """D-index over all intersections of the definition's dimensions and the furthest-behind tree.

    The circumstances go to the statistics core as integer codes (``Dataset.dimension``); labels and
    the leaves' conditions are translated back to the code lists' codes."""
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
    names_en, names_vi = code_names
    labels = {
        lang: {
            d: {i: words.get(d, {}).get(code, code) for i, code in enumerate(dimensions[d][1])} for d in names
        }
        for lang, words in (("en", names_en), ("vi", names_vi))
    }
    try:
        dindex = d_index_by_circumstances(y[valid], circumstances, weights)
        tree = furthest_behind(y[valid], circumstances, weights, labels=labels)
    except StatsError as exc:
        return {"note": f"LNOB analysis not possible: {exc}"}

    def leaf(group):
        return {
            "conditions": {
                k: sorted(str(dimensions[k][1][code]) for code in v) for k, v in group.conditions.items()
            },
            "mean": group.mean,
            "n": group.n,
            "weight_share": group.weight_share,
            "description_en": group.descriptions.get("en", ""),
            "description_vi": group.descriptions.get("vi", ""),
        }

    return {
        "circumstances": names,
        "d_index": dindex.d,
        "hoi": dindex.hoi,
        "coverage": dindex.coverage,
        "groups": len(dindex.groups),
        "furthest_behind": leaf(tree.furthest_behind),
        "furthest_ahead": leaf(tree.furthest_ahead),
        "leaves": [leaf(g) for g in tree.leaves],
        "method": "ESCAP LNOB: D-index over all intersections; regression tree depth ≤ 6, leaves ≥ 49 "
        "respondents and ≥ 9% of the weighted sample.",
    }


def _code_names(code_lists: Iterable[str]) -> tuple[dict, dict]:
    en: dict[str, dict[str, str]] = {}
    vi: dict[str, dict[str, str]] = {}
    for code in Code.objects.filter(code_list__code__in=list(code_lists)).select_related("code_list"):
        en.setdefault(code.code_list.code, {})[code.code] = code.name_en.lower()
        vi.setdefault(code.code_list.code, {})[code.code] = (code.name_vi or code.name_en).lower()
    return en, vi


def fingerprint(
    definition: IndicatorDefinition,
    rule: CellSizeRule,
    design: SurveyDesign,
    y: np.ndarray,
    dimensions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    data: Dataset,
    x: np.ndarray | None = None,
) -> str:
    """Hash of everything one definition's estimates depend on, so that a change elsewhere in the study
    (a withdrawal or new submissions outside its universe) does not recompute it.

    That is: the definition and the rule; for the rows that enter the estimates (an answer in the
    universe) their ids, outcome, weight, stratum, PSU and dimension codes; and the design's shape (PSUs
    per stratum), which sets the degrees of freedom and the variance of every domain."""
    spec = {
        f: getattr(definition, f)
        for f in ("kind", "universe", "numerator", "value", "denominator", "dimensions", "intersections")
    }
    spec["rule"] = [rule.suppress_below, rule.caution_below]
    study = definition.study
    spec["design"] = [study.weight_variable, study.strata_variable, study.psu_variable]
    used = ~np.isnan(y)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
    for part in (
        data.id_array[used],
        y[used],
        np.zeros(0) if x is None else x[used],
        design.weights[used],
        design.stratum[used],
        design.psu[used],
        design.n_psu_in_stratum,
        design.f1,
    ):
        digest.update(np.ascontiguousarray(part).tobytes())
    for name in sorted(dimensions):
        _, distinct, codes = dimensions[name]
        digest.update("\x1f".join([name, *map(str, distinct)]).encode())
        digest.update(np.ascontiguousarray(codes[used]).tobytes())
    return digest.hexdigest()


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


def _prepare(
    definition: IndicatorDefinition, data: Dataset, rule: CellSizeRule, force: bool
) -> _Prepared | None:
    """Outcome, dimensions and fingerprint of ``definition``; ``None`` when its last run had the same
    inputs."""
    started = time.perf_counter()
    if data.n == 0:
        raise ComputeError(f"Study '{definition.study.slug}' has no submissions in analysis yet.")
    design = design_for(definition.study, data)
    try:
        y, x = _outcome(definition, data)
        specs = {d["code_list"]: d for d in definition.dimensions}
        dimensions = {name: data.dimension(spec) for name, spec in specs.items()}
    except DatasetError as exc:
        raise ComputeError(f"Definition '{definition.code}': {exc}") from None
    if x is not None:
        # a row enters a ratio only with both its numerator and its denominator (R's na.rm)
        y = np.where(np.isnan(x), np.nan, y)
    if np.isnan(y).all():
        raise ComputeError(
            f"Definition '{definition.code}': no respondent is in the universe with an answer."
        )
    _intersections(definition)  # refuses unknown dimensions before any work
    key = fingerprint(definition, rule, design, y, dimensions, data, x)
    latest = definition.runs.order_by("-started", "-pk").first()
    if latest is not None and latest.input_fingerprint == key and not force:
        return None
    return _Prepared(definition, key, design, y, x, dimensions, started)


def _kernel(
    prep: _Prepared, rule: CellSizeRule, pattern_cache: PatternCache | None, names: tuple[dict, dict]
) -> tuple[dict[str, dict], dict]:
    """Estimates with flags and the LNOB analytics of one prepared definition. Reads no database (it may
    run in a worker process)."""
    definition, design, y, x, dimensions = prep.definition, prep.design, prep.y, prep.x, prep.dimensions
    rows: dict[str, dict] = {}
    estimated: list[set[str]] = []
    try:
        # Largest intersections first: an intersection inside one already estimated is among its margins
        # (the estimator returns every margin), so it is not estimated again, only protected.
        for combo in sorted(_intersections(definition), key=len, reverse=True):
            if any(set(combo) <= done for done in estimated):
                _protect(rows, combo, rule, pattern_cache)
                continue
            estimated.append(set(combo))
            # The estimator gets integer codes (cheap to group by); labels are put back on the rows.
            domains = {d: dimensions[d][2] for d in combo} if combo else None
            result = _estimate(definition.kind, design, y, domains, x)
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
            _protect(rows, combo, rule, pattern_cache)
    except StatsError as exc:
        raise ComputeError(f"Definition '{definition.code}': {exc}") from None
    return rows, _lnob(definition, design.weights, y, dimensions, names)


def _store(prep: _Prepared, rows: dict[str, dict], lnob: dict, data: Dataset, user) -> EstimateRun:
    definition = prep.definition
    with transaction.atomic():
        run = EstimateRun.objects.create(
            definition=definition,
            definition_version=definition.version,
            instrument_versions=sorted(
                {f"{i.form_id} {i.version}".strip() for i in definition.study.instruments.all()}
            ),
            input_fingerprint=prep.key,
            submissions=data.n,
            code_version=__version__,
            created_by=user,
            lnob=lnob,
        )
        _write_estimates([_estimate_row(run, key_, r) for key_, r in sorted(rows.items())])
        run.seconds = time.perf_counter() - prep.started
        run.save(update_fields=["seconds"])
    return run


def compute_definition(
    definition: IndicatorDefinition,
    *,
    data: Dataset | None = None,
    rule: CellSizeRule | None = None,
    force: bool = False,
    user=None,
    pattern_cache: PatternCache | None = None,
) -> EstimateRun | None:
    """Compute and store one definition; ``None`` when the latest run already used the same inputs."""
    rule = rule or default_rule()
    data = data or load_dataset(definition.study)
    prep = _prepare(definition, data, rule, force)
    if prep is None:
        return None
    rows, lnob = _kernel(
        prep, rule, pattern_cache, _code_names([d["code_list"] for d in definition.dimensions])
    )
    return _store(prep, rows, lnob, data, user)


def _with_boundary_interval(definition: IndicatorDefinition, row: dict) -> dict:
    """At 0% or 100% a domain has no variance and the logit interval is undefined (R gives NaN); the
    Wilson interval on the unweighted n is used instead, so a published 0% still shows its uncertainty."""
    proportion = definition.kind == IndicatorDefinition.Kind.PROPORTION
    if proportion and np.isfinite(row["estimate"]) and not np.isfinite(row["ci_low"]) and row["n"] > 0:
        low, high = wilson(
            row["estimate"], row["se"], row["df"] if np.isfinite(row["df"]) else np.inf, row["n"]
        )
        row["ci_low"], row["ci_high"] = float(np.clip(low, 0, 1)), float(np.clip(high, 0, 1))
    return row


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


#: Columns of ``Estimate`` written by ``_write_estimates``, in order.
ESTIMATE_COLUMNS = (
    "run_id",
    "key",
    "dimensions",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "n",
    "weighted_n",
    "n_eff",
    "df",
    "flag",
)


def _estimate_row(run: EstimateRun, key: str, r: dict) -> tuple[Any, ...]:
    """One ``Estimate`` row in ``ESTIMATE_COLUMNS`` order (the JSON column as Django's field writes it)."""
    flag = FLAGS[CellFlag(r["flag"])]
    suppressed = flag in (Estimate.Flag.SUPPRESSED_SMALL, Estimate.Flag.SUPPRESSED_COMPLEMENTARY)
    # Suppressed cells keep n (needed to explain the suppression) but never the number itself.
    return (
        run.pk,
        key,
        json.dumps(r["dimensions"]),
        None if suppressed else _finite(r["estimate"]),
        None if suppressed else _finite(r["se"]),
        None if suppressed else _finite(r["ci_low"]),
        None if suppressed else _finite(r["ci_high"]),
        None if suppressed else _finite(r["deff"]),
        int(r["n"]),
        0.0 if suppressed else float(r["N"]),
        None if suppressed else _finite(r["n_eff"]),
        _finite(r["df"]),
        flag.value,
    )


def _write_estimates(rows: list[tuple[Any, ...]]) -> None:
    """Insert estimate rows in one statement: ``COPY`` on PostgreSQL, ``executemany`` on SQLite (the ORM's
    ``bulk_create`` spent more time preparing thousands of rows field by field than computing them)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(Estimate._meta.db_table)
    columns = ", ".join(quote(c) for c in ESTIMATE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(ESTIMATE_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def compute_study(
    study: Study,
    *,
    progress: Progress | None = None,
    force: bool = False,
    user=None,
    on_error: Callable[[IndicatorDefinition, ComputeError], None] | None = None,
) -> dict[str, EstimateRun | None]:
    """Compute every definition of ``study``; returns code → run (None where nothing changed).

    A definition that cannot be computed raises :class:`ComputeError`, or — with ``on_error`` — is
    reported to it and left out of the result while the others are computed. On a large study
    (``VOICESCOUNT_PARALLEL_ROWS`` respondents or more, default 100,000) the definitions are estimated in
    worker processes, one per core (``VOICESCOUNT_COMPUTE_WORKERS``, default: the cores, at most 4)."""
    report = progress or (lambda *_: None)
    rule = default_rule()
    definitions = list(study.indicator_definitions.select_related("study").order_by("code"))
    data = load_dataset(study, questions_read(study, definitions))
    results: dict[str, EstimateRun | None] = {}

    def failed(definition: IndicatorDefinition, exc: ComputeError) -> None:
        if on_error is None:
            raise exc
        on_error(definition, exc)

    prepared: list[_Prepared] = []
    for definition in definitions:
        try:
            prep = _prepare(definition, data, rule, force)
        except ComputeError as exc:
            failed(definition, exc)
            continue
        if prep is None:
            results[definition.code] = None
        else:
            prepared.append(prep)
    names = _code_names({d["code_list"] for p in prepared for d in p.definition.dimensions})
    done = len(definitions) - len(prepared)
    for prep, outcome in _kernels(prepared, rule, names, data.n):
        if isinstance(outcome, ComputeError):
            failed(prep.definition, outcome)
        else:
            results[prep.definition.code] = _store(prep, *outcome, data, user)
        done += 1
        report(f"Indicators of {study.slug}", done, len(definitions))
    return {d.code: results[d.code] for d in definitions if d.code in results}


_JOBS: tuple[list[_Prepared], CellSizeRule, tuple[dict, dict]] | None = None


def _kernels(prepared: list[_Prepared], rule: CellSizeRule, names: tuple[dict, dict], n_rows: int):
    """(prepared, (rows, lnob) or the ComputeError) for each definition, in order; in worker processes
    when the study is large and the machine has more than one core."""
    workers = min(
        getattr(settings, "VOICESCOUNT_COMPUTE_WORKERS", min(os.cpu_count() or 1, 4)), len(prepared)
    )
    parallel = (
        workers > 1
        and n_rows >= getattr(settings, "VOICESCOUNT_PARALLEL_ROWS", 100_000)
        and "fork" in multiprocessing.get_all_start_methods()
    )
    if not parallel:
        patterns: PatternCache = {}
        for prep in prepared:
            try:
                yield prep, _kernel(prep, rule, patterns, names)
            except ComputeError as exc:
                yield prep, exc
        return
    # Forked workers see the prepared arrays as they are in memory (nothing is copied or pickled but the
    # results); they read no database.
    global _JOBS
    _JOBS = (prepared, rule, names)
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_kernel_job, i) for i in range(len(prepared))]
            for prep, future in zip(prepared, futures, strict=True):
                try:
                    yield prep, future.result()
                except ComputeError as exc:
                    yield prep, exc
    finally:
        _JOBS = None


def _kernel_job(index: int) -> tuple[dict[str, dict], dict]:
    """One definition's kernel in a worker process (see ``_kernels``)."""
    from voicescount.stats import disclosure

    assert _JOBS is not None
    prepared, rule, names = _JOBS
    disclosure.reset_solver()  # the parent's solver object is not this process's to use
    return _kernel(prepared[index], rule, {}, names)


def latest_run(definition: IndicatorDefinition) -> EstimateRun | None:
    return definition.runs.order_by("-started", "-pk").first()
