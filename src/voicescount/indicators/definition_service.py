"""Writing indicator definitions: checking one against its study, saving it as a new version, previewing it.

Every caller (the workspace's definition pages, a script, a test) goes through these functions:

- :func:`check_definition` says, field by field, what is wrong with a definition as written: expressions
  that do not parse or read names the study does not have (its questions and derived variables),
  dimensions that are not the study's, what a kind needs (a numerator for a proportion, a value for a mean
  or total, a value and a denominator for a ratio);
- :func:`save_definition` stores it — a new definition at version 1, an edit as the next version — with
  the fields as saved kept in a ``DefinitionVersion`` and an audit entry, or raises
  :class:`DefinitionInvalid` and changes nothing;
- :func:`preview` estimates the total of a definition not saved yet on the study's current analysis
  snapshot, by the computation's own steps (``compute.estimates_of``): the same numbers a run would store.

``data`` is a mapping of the definition's fields (:data:`VERSION_FIELDS`, with ``indicator`` an
``Indicator`` or its code: ``1.3.1`` in the global framework, ``<framework>:<code>`` in another one).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from voicescount.accounts.permissions import Action, require
from voicescount.collection.models import AuditEntry, Study
from voicescount.framework.labels import GENERATED, PLACE_LISTS
from voicescount.framework.models import Code, CodeList, Direction, Indicator
from voicescount.indicators.compute import estimates_of
from voicescount.indicators.dataset import Dataset, load_dataset, questions_read
from voicescount.indicators.definition_inputs import (
    BUILT_IN_SOURCES,
    Variable,
    dimension_roles,
    find_indicator,
    study_variables,
)
from voicescount.indicators.direction import direction_of
from voicescount.indicators.errors import ComputeError
from voicescount.indicators.estimation import TOTAL
from voicescount.indicators.expressions import ExpressionError, parse
from voicescount.indicators.models import DefinitionVersion, IndicatorDefinition, IntervalMethod
from voicescount.indicators.snapshots import excluded_fields, snapshot_for, snapshot_root

#: The fields a version keeps (``DefinitionVersion.fields``), as migration indicators/0005 first stored them.
VERSION_FIELDS = (
    "indicator_id",
    "code",
    "title_en",
    "title_vi",
    "kind",
    "universe",
    "numerator",
    "value",
    "denominator",
    "unit",
    "direction",
    "interval_method",
    "dimensions",
    "intersections",
    "reference_period",
    "notes_en",
    "notes_vi",
)
EXPRESSION_FIELDS = ("universe", "numerator", "value", "denominator")
#: The fields a definition's estimates depend on: what :func:`preview` checks (the others wait for saving).
COMPUTED_FIELDS = (
    "indicator",
    "kind",
    *EXPRESSION_FIELDS,
    "direction",
    "interval_method",
    "dimensions",
    "intersections",
)
Kind = IndicatorDefinition.Kind
SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}")


class DefinitionInvalid(ValueError):
    """A definition that cannot be saved as written: ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))


def _expression_errors(text: str, known: Mapping[str, Variable], excluded: frozenset[str]) -> list[str]:
    try:
        expression = parse(text)
    except ExpressionError as exc:
        if exc.col is not None:
            return [_("%(reason)s (at character %(col)d).") % {"reason": exc.message, "col": exc.col + 1}]
        return [exc.message + "."]
    personal = sorted(expression.names & excluded)
    if personal:
        return [
            _("%(names)s: personal data (or the questionnaire code); analysis never reads it.")
            % {"names": ", ".join(personal)}
        ]
    unknown = sorted(expression.names - set(known))
    if unknown:
        return [
            _("Unknown name(s): %(names)s. Use a question of the study's forms or a derived variable.")
            % {"names": ", ".join(unknown)}
        ]
    return []


def _coding_shape_error(spec: dict[str, Any]) -> str:
    """What is wrong with the form of a dimension's ``codes`` map or age ``bins`` (empty: nothing)."""
    codes, bins = spec.get("codes"), spec.get("bins")
    if codes is not None and not (
        isinstance(codes, dict) and all(isinstance(v, str) for v in codes.values())
    ):
        return _('%(list)s: codes map each answer to a code, e.g. {"female": "F"}.') % {
            "list": spec.get("code_list")
        }
    numbers = (int, float)
    if bins is not None and not (
        isinstance(bins, list)
        and all(
            isinstance(b, list | tuple)
            and len(b) == 3
            and all(isinstance(x, numbers) and not isinstance(x, bool) for x in b[:2])
            and b[0] <= b[1]
            and isinstance(b[2], str)
            for b in bins
        )
    ):
        return _('%(list)s: bins are [lowest, highest, code], e.g. [16, 24, "Y16T24"].') % {
            "list": spec.get("code_list")
        }
    return ""


def _dimension_errors(study: Study, dimensions: Any, known: Mapping[str, Variable]) -> list[str]:
    if not isinstance(dimensions, list) or not all(isinstance(d, dict) for d in dimensions):
        return [_("Dimensions are a list of codings, each with a code list and a source.")]
    roles = dimension_roles(study)
    lists = set(CodeList.objects.values_list("code", flat=True))
    errors: list[str] = []
    seen: set[str] = set()
    for spec in dimensions:
        code_list, source = str(spec.get("code_list", "")), str(spec.get("source", ""))
        if code_list in seen:
            errors.append(_("%(list)s is there twice.") % {"list": code_list})
        seen.add(code_list)
        if code_list not in lists and code_list not in roles.values() and code_list not in PLACE_LISTS:
            errors.append(
                _("%(list)s is not a code list of the framework or of the study's forms.")
                % {"list": code_list}
            )
        if (
            source not in roles
            and source not in BUILT_IN_SOURCES
            and not known.get(source, Variable("", "", "")).derived
        ):
            errors.append(
                _(
                    "%(source)s is not a dimension question of the study's forms, a derived variable or "
                    "one of %(built_in)s."
                )
                % {"source": source or "—", "built_in": ", ".join(BUILT_IN_SOURCES)}
            )
        shape = _coding_shape_error(spec)
        if shape:
            errors.append(shape)
            continue
        wanted = [str(c) for c in (spec.get("codes") or {}).values()]
        wanted += [str(b[2]) for b in spec.get("bins") or []]
        listed = set(Code.objects.filter(code_list__code=code_list).values_list("code", flat=True))
        generate = GENERATED.get(code_list)
        strange = sorted(
            {c for c in wanted if c not in listed and not (generate and generate(c))}
            if code_list in lists
            else set()
        )
        if strange:
            errors.append(
                _("%(codes)s: not code(s) of %(list)s.") % {"codes": ", ".join(strange), "list": code_list}
            )
    return errors


def check_definition(
    study: Study, data: Mapping[str, Any], *, definition: IndicatorDefinition | None = None
) -> dict[str, list[str]]:
    """What is wrong with ``data`` as a definition of ``study``, field by field (empty: nothing)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    indicator = data.get("indicator")
    if not isinstance(indicator, Indicator):
        if not str(indicator or "").strip():
            add("indicator", _("Choose the indicator this definition measures."))
        elif find_indicator(str(indicator)) is None:
            add("indicator", _("%(code)s is not an indicator of the framework.") % {"code": indicator})
    code = str(data.get("code", "")).strip()
    if definition is not None and code != definition.code:
        add("code", _("The code of a saved definition cannot be changed (its runs and pages use it)."))
    elif not SLUG.fullmatch(code):
        add("code", _("A code is lower-case letters, digits and hyphens, e.g. sp-coverage."))
    elif definition is None and study.indicator_definitions.filter(code=code).exists():
        add("code", _("The study already has a definition %(code)s.") % {"code": code})
    if not str(data.get("title_en", "")).strip():
        add("title_en", _("Give the definition an English title."))
    kind = data.get("kind")
    if kind not in Kind.values:
        add("kind", _("Choose a kind: proportion, mean, total or ratio."))
    needs = {
        Kind.PROPORTION: ("numerator",),
        Kind.MEAN: ("value",),
        Kind.TOTAL: ("value",),
        Kind.RATIO: ("value", "denominator"),
    }.get(kind, ())
    for field in needs:
        if not str(data.get(field, "")).strip():
            add(field, _("A %(kind)s needs this expression.") % {"kind": Kind(kind).label.lower()})
    known = study_variables(study)
    excluded = excluded_fields(study)
    for field in EXPRESSION_FIELDS:
        text = str(data.get(field, "") or "")
        if text.strip():  # every expression kept must be usable, even one this kind does not read
            for message in _expression_errors(text, known, excluded):
                add(field, message)
    if data.get("direction", "") not in ("", *Direction.values):
        add("direction", _("Choose higher is better, higher is worse, neither, or blank."))
    if data.get("interval_method", IntervalMethod.LOGIT) not in IntervalMethod.values:
        add("interval_method", _("Choose one of the interval methods."))
    if not str(data.get("unit", "")).strip():
        add("unit", _("Give the unit (PT for a percentage)."))
    dimensions = data.get("dimensions") or []
    for message in _dimension_errors(study, dimensions, known):
        add("dimensions", message)
    names = {str(d.get("code_list")) for d in dimensions if isinstance(d, dict)}
    for combo in data.get("intersections") or []:
        unknown = sorted(set(combo) - names)
        if unknown:
            add(
                "intersections",
                _("%(combo)s: not among the dimensions: %(unknown)s.")
                % {"combo": " × ".join(combo), "unknown": ", ".join(unknown)},
            )
    return errors


def _unsaved(
    study: Study, data: Mapping[str, Any], definition: IndicatorDefinition | None
) -> IndicatorDefinition:
    """``data`` (checked) on ``definition``, or on a new definition of ``study``; not saved."""
    target = definition or IndicatorDefinition(study=study)
    indicator = data["indicator"]
    target.indicator = indicator if isinstance(indicator, Indicator) else find_indicator(str(indicator))
    for field in VERSION_FIELDS:
        if field == "indicator_id":
            continue
        value = data.get(field, IndicatorDefinition._meta.get_field(field).get_default())
        target_value = value if field in ("dimensions", "intersections") else str(value or "").strip()
        setattr(target, field, target_value)
    target.interval_method = target.interval_method or IntervalMethod.LOGIT
    target.intersections = [list(c) for c in target.intersections]
    return target


def version_fields(definition: IndicatorDefinition) -> dict[str, Any]:
    """The fields a ``DefinitionVersion`` keeps of ``definition``, as it is now."""
    return {name: getattr(definition, name) for name in VERSION_FIELDS}


def save_definition(
    study: Study, data: Mapping[str, Any], *, by, definition: IndicatorDefinition | None = None
) -> IndicatorDefinition:
    """Create a definition of ``study`` from ``data`` (version 1), or save ``definition`` as its next
    version; each version's fields are kept (``DefinitionVersion``) and the save is audited. Nothing
    changed: the definition as it was, no new version. Raises ``PermissionDenied`` unless ``by`` may edit
    the study's organisation, :class:`DefinitionInvalid` (nothing stored) when ``data`` is not valid."""
    require(by, Action.EDIT, study.organisation)
    if definition is not None and definition.study_id != study.pk:
        raise DefinitionInvalid({"code": [_("This definition is not one of the study's.")]})
    errors = check_definition(study, data, definition=definition)
    if errors:
        raise DefinitionInvalid(errors)
    with transaction.atomic():
        if definition is not None:
            definition = IndicatorDefinition.objects.select_for_update().get(pk=definition.pk)
            before = version_fields(definition)
            # a definition written before versions were kept (a study package's) keeps its current one
            DefinitionVersion.objects.get_or_create(
                definition=definition, version=definition.version, defaults={"fields": before}
            )
            _unsaved(study, data, definition)
            if version_fields(definition) == before:
                return definition
            definition.version += 1
        else:
            definition = _unsaved(study, data, None)
            definition.version = 1
        definition.full_clean(exclude=["study", "indicator"])
        definition.save()
        DefinitionVersion.objects.create(
            definition=definition, version=definition.version, fields=version_fields(definition), saved_by=by
        )
        AuditEntry.objects.create(
            actor=by,
            study=study,
            organisation=study.organisation,
            action="definition_saved",
            details={"code": definition.code, "version": definition.version},
        )
    return definition


@dataclass(frozen=True)
class Preview:
    """A definition's total as a run would store it (``error``: why it cannot be computed), and how many
    cells its breakdowns give, and how many of them are suppressed."""

    kind: str
    unit: str
    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    weighted_n: float = 0.0
    flag: str = ""
    cells: int = 0
    suppressed: int = 0
    submissions: int = 0
    direction: str = ""  # the direction the estimates were made in (``direction.direction_of``)
    indicator: Indicator | None = None  # None: not chosen yet
    error: str = ""

    @property
    def percent(self) -> bool:
        return self.kind == Kind.PROPORTION


_DATASETS: dict[int, tuple[tuple, Dataset]] = {}
_DATASETS_LOCK = threading.Lock()
_DATASETS_KEPT = 4


def analysis_data(study: Study) -> Dataset:
    """The study's current analysis data, kept in memory between previews while its snapshot (and its
    derived variables) stay the same: a preview reads no answer twice. A question the snapshot lacks is
    read from the database for the same submissions (``Dataset``), never by building a new snapshot."""
    names = questions_read(study, study.indicator_definitions.all())
    snapshot = snapshot_for(study, names)
    derived = tuple(sorted(study.derived_variables.values_list("name", "expression")))
    key = (snapshot.pk, snapshot.content_hash, str(snapshot_root()), derived)
    kept = _DATASETS.get(study.pk)
    if kept is not None and kept[0] == key:
        return kept[1]
    data = load_dataset(study, names)
    if len(_DATASETS) >= _DATASETS_KEPT:
        _DATASETS.pop(next(iter(_DATASETS)))
    _DATASETS[study.pk] = (key, data)
    return data


def preview(
    study: Study, data: Mapping[str, Any], *, definition: IndicatorDefinition | None = None
) -> Preview:
    """The total of ``data`` as a definition of ``study`` (``definition`` being edited, or a new one) on
    the current analysis snapshot, computed by the run's own steps (``compute.estimates_of``) and stored
    nowhere. Raises :class:`DefinitionInvalid` when a field the estimates depend on (:data:`COMPUTED_FIELDS`)
    is not valid; an indicator not chosen yet is no error (the total does not depend on it)."""
    if not isinstance(data.get("indicator"), Indicator) and not str(data.get("indicator") or "").strip():
        # not chosen yet: the total does not depend on the direction (who is behind does)
        data = {**data, "indicator": Indicator(code="", direction=Direction.NEUTRAL)}
    checked = check_definition(study, data, definition=definition)
    errors = {field: messages for field, messages in checked.items() if field in COMPUTED_FIELDS}
    if errors:
        raise DefinitionInvalid(errors)
    unsaved = _unsaved(study, data, None)  # never the saved one: the text as it is being written
    kind, unit = unsaved.kind, unsaved.unit
    chosen = unsaved.indicator if unsaved.indicator.pk is not None else None
    with _DATASETS_LOCK:  # a kept dataset caches columns as they are read: one preview at a time
        try:
            dataset = analysis_data(study)
            rows = estimates_of(unsaved, data=dataset)
        except ComputeError as exc:
            return Preview(kind, unit, indicator=chosen, error=str(exc))
    total = rows[TOTAL]
    return Preview(
        kind,
        unit,
        estimate=total["estimate"],
        se=total["se"],
        ci_low=total["ci_low"],
        ci_high=total["ci_high"],
        n=total["n"],
        weighted_n=total["weighted_n"],
        flag=total["flag"],
        cells=len(rows) - 1,
        suppressed=sum(1 for k, r in rows.items() if k != TOTAL and r["flag"].startswith("suppressed")),
        submissions=dataset.n,
        direction=direction_of(unsaved),
        indicator=chosen,
    )
