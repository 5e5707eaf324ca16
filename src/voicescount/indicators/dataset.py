"""The answers a study's indicators are computed from: the ``Dataset``, read column-wise from a snapshot.

``load_dataset(study)`` takes the study's analysis snapshot (``indicators.snapshots``: the typed answers
of the submissions that may enter analysis — consent given; withdrawn ones never — to the questions the
study's definitions, derived variables and design read, ``questions_read``), made anew when the
submissions changed; columns are read from its file on first use (any other question from the database,
for the same submissions). On the dataset a definition finds

- its variables: questions, the study's derived variables and built-in ones (``@wg_disability``,
  ``@province``, ``@province_2025``),
- its dimensions: each row coded to a code list (``codes`` map, age ``bins`` or a derived variable;
  ``MISSING`` where the answer maps to no code), made once per dataset (``Dataset.dimension``), and
- the study's sampling design over the rows (``design_for``), made once per dataset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from voicescount.collection.models import Study, Submission
from voicescount.collection.sampling import SamplingDesign, design_of
from voicescount.indicators.answers import BLOCK, read_columns
from voicescount.indicators.columns import dataset_column, kind_of
from voicescount.indicators.errors import CircularVariable, ComputeError, DatasetError
from voicescount.indicators.expressions import ExpressionError, factorise, filled, parse, per_value
from voicescount.indicators.models import AnalysisSnapshot, IndicatorDefinition
from voicescount.indicators.snapshots import ID_COLUMN, excluded_fields, open_snapshot, snapshot_for
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
    """Answers of the submissions in analysis, column-wise (question name → object array), read from the
    study's analysis snapshot (``indicators.snapshots``) as they are first used.

    Questions the snapshot does not hold are read from the database, for the same submissions."""

    study: Study
    ids: list[int]
    #: the study's derived variables: name → expression text
    derived: dict[str, str] = field(default_factory=dict)
    #: the analysis snapshot the answers come from (None: straight from the database)
    snapshot: AnalysisSnapshot | None = None
    _columns: dict[str, np.ndarray] = field(default_factory=dict)
    _dimensions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    _designs: dict[SamplingDesign, SurveyDesign] = field(default_factory=dict)
    _resolving: list[str] = field(default_factory=list)
    _unknown: set[str] = field(default_factory=set)
    _id_array: np.ndarray | None = None
    _file: pq.ParquetFile | None = None
    _kinds: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a column with no answer at all may be a question nobody answered, or no question at all
        for name, col in list(self._columns.items()):
            if self.n and not any(v is not None for v in col) and not self._has_question(name):
                self._unknown.add(name)
                del self._columns[name]
        if self.snapshot is not None and self._file is None:
            self._file = open_snapshot(self.snapshot)
            self._kinds = {f.name: kind_of(f) for f in self._file.schema_arrow}

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
                col = self._stored_column(name)
                if self.n and not self._answered(name, col) and not self._has_question(name):
                    self._unknown.add(name)
                    return self.column(name)
                self._columns[name] = col
        return self._columns[name]

    def release_columns(self) -> None:
        """Let go of the answers read so far (read again from the snapshot if asked for): once every
        definition is prepared, the estimation needs only the prepared arrays."""
        self._columns.clear()

    def _stored_column(self, name: str) -> np.ndarray:
        """A question's answers: from the snapshot when it holds them, else from the database (the same
        submissions, or an error)."""
        if self._file is not None and name in self._kinds:
            return dataset_column(self._file.read(columns=[name]).column(0), self._kinds[name])
        if self.snapshot is not None and name in excluded_fields(self.study):
            raise DatasetError(
                f"question '{name}' is personal data (or the questionnaire code): analysis never reads it"
            )
        ids, columns = read_columns(self.study, [name])
        if ids != self.ids:
            raise DatasetError("the study's submissions changed during the computation; run it again")
        return columns[name]

    def _answered(self, name: str, col: np.ndarray) -> bool:
        """Whether any row has an answer (looked at once per distinct answer)."""
        return any(v is not None for v in factorise(col)[1])

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


#: Rows per block when a snapshot is built from the stored answers (``indicators.answers``).
_BLOCK = BLOCK


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


def load_dataset(study: Study, names: Iterable[str] | None = None, *, user=None) -> Dataset:
    """The answers of every submission in analysis, from the study's current analysis snapshot holding
    the questions ``names`` (by default all those the study's definitions read); made first when the
    submissions changed since the last one (``snapshots.snapshot_for``)."""
    if names is None:
        names = questions_read(study, study.indicator_definitions.all())
    snapshot = snapshot_for(study, names, user=user, block=_BLOCK)
    source = open_snapshot(snapshot)
    ids = source.read(columns=[ID_COLUMN]).column(0).to_numpy()
    derived = dict(study.derived_variables.values_list("name", "expression"))
    return Dataset(
        study=study,
        ids=ids.tolist(),
        derived=derived,
        snapshot=snapshot,
        _file=source,
        _kinds={f.name: kind_of(f) for f in source.schema_arrow},
        _id_array=ids.astype(np.int64, copy=False),
    )


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
    out = filled(data.n, MISSING)
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
