"""The answers a study's indicators are computed from: the ``Dataset``, read column-wise from submissions.

``load_dataset(study)`` reads, for the submissions that may enter analysis (consent given; withdrawn ones
never), the answers to the questions the study's definitions, derived variables and design read
(``questions_read``); any other question is read on first use. On the dataset a definition finds

- its variables: questions, the study's derived variables and built-in ones (``@wg_disability``,
  ``@province``, ``@province_2025``),
- its dimensions: each row coded to a code list (``codes`` map, age ``bins`` or a derived variable;
  ``MISSING`` where the answer maps to no code), made once per dataset (``Dataset.dimension``), and
- the study's sampling design over the rows (``design_for``), made once per dataset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from voicescount.collection.models import Study, Submission
from voicescount.collection.sampling import SamplingDesign, design_of
from voicescount.indicators.errors import CircularVariable, ComputeError, DatasetError
from voicescount.indicators.expressions import ExpressionError, factorise, parse, per_value
from voicescount.indicators.models import IndicatorDefinition
from voicescount.perf import paused_gc
from voicescount.stats.design import SurveyDesign
from voicescount.stats.errors import StatsError
from voicescount.stats.washington import wgss_identifiers

MISSING = "\x00missing"  # label for rows outside a dimension's codes; never published
WG_ITEMS = {
    "seeing": "wg_seeing",
    "hearing": "wg_hearing",
    "walking": "wg_walking",
    "cognition": "wg_cognition",
    "self_care": "wg_selfcare",
    "communication": "wg_communication",
}


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
    _designs: dict[SamplingDesign, SurveyDesign] = field(default_factory=dict)
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
    names: set[str] = set(design_of(study).variables)
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
    """The study's sampling design (``collection.sampling.design_of``) over the dataset's rows; made once
    per dataset and design."""
    design = design_of(study)
    if design not in data._designs:
        data._designs[design] = _make_design(study.slug, design, data)
    return data._designs[design]


def _design_numbers(data: Dataset, variable: str, what: str) -> np.ndarray:
    numbers = _numeric(data.column(variable))
    if np.isnan(numbers).any():
        row = int(np.flatnonzero(np.isnan(numbers))[0])
        raise ComputeError(f"Submission {data.ids[row]} has no {what} ('{variable}'); each record needs one")
    return numbers


def _make_design(slug: str, design: SamplingDesign, data: Dataset) -> SurveyDesign:
    kwargs: dict[str, Any] = {"n": data.n}
    if design.weight:
        kwargs["weights"] = _design_numbers(data, design.weight, "weight")
    units = [("strata", design.strata), ("psu", design.psu)]
    if design.second_stage:
        units.append(("ssu", design.ssu))
    for arg, variable in units:
        if variable:
            # integer codes of the labels (sorted): the design encodes them in linear time, where
            # sorting a million labels would not be
            text = per_value(data.column(variable), lambda v: "" if v is None else str(v), object)
            kwargs[arg] = _sorted_codes(text)[1]
    if design.fpc:
        kwargs["fpc"] = _design_numbers(data, design.fpc, "finite population correction")
    if design.second_stage:
        kwargs["fpc2"] = _design_numbers(data, design.fpc2, "second-stage finite population correction")
    try:
        return SurveyDesign.create(**kwargs, nest=True, lonely_psu=design.lonely_psu)  # type: ignore[arg-type]
    except StatsError as exc:
        raise ComputeError(f"The sampling design of study '{slug}' cannot be used: {exc}") from None
