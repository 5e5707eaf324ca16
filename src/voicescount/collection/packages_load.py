"""Creating or updating a study from a package: ``load_study`` (see ``packages_schema`` for the layout).

Everything is checked before anything is written — the YAML against the schema, each XLSForm by the
same parser as an upload, every question a role, a consent rule or the design names, the disclosure
thresholds (a study may be stricter than the deployment, never looser), areas, indicator codes and
expressions — and then written in one transaction: a bad package changes nothing. Instruments go
through ``instruments.add_instrument`` and data files through ``import_service.import_file`` (consent,
validation and de-duplication apply). Loading the same package again changes nothing: fields are
written only when they differ, and a data file already imported (same SHA-256) is not imported again.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.utils import timezone

from voicescount.accounts.models import Organisation
from voicescount.accounts.permissions import Action, require
from voicescount.collection import import_service, importing
from voicescount.collection.checking import InstrumentChecker, known_area_codes
from voicescount.collection.errors import CollectionError
from voicescount.collection.instruments import add_instrument
from voicescount.collection.models import Instrument, Study
from voicescount.collection.packages_dump import CONSENT_FIELDS, data_names
from voicescount.collection.packages_schema import (
    DATA_DIR,
    INDICATORS_FILE,
    STUDY_FILE,
    PackageError,
    read_yaml,
)
from voicescount.collection.services import ENCRYPTED_ROLES
from voicescount.collection.validation import compile_validator
from voicescount.collection.xlsform import parse_xlsform

DESIGN_FIELDS = {
    "weight": "weight_variable",
    "strata": "strata_variable",
    "psu": "psu_variable",
    "ssu": "ssu_variable",
    "fpc": "fpc_variable",
    "fpc2": "fpc2_variable",
    "lonely_psu": "lonely_psu",
}
"""Keys of ``design`` in study.yaml → ``Study`` fields."""


@dataclass
class PackageForm:
    """One instrument of a package: its study.yaml entry, the file's bytes and the parsed form."""

    entry: dict[str, Any]
    content: bytes
    definition: dict[str, Any]

    @property
    def questions(self) -> set[str]:
        return {q["name"] for q in self.definition.get("questions", [])}


@dataclass
class LoadReport:
    """What ``load_study`` did: the study, whether it was new, what changed and each data import."""

    study: Study
    created: bool = False
    changed: list[str] = field(default_factory=list)
    imports: dict[str, dict[str, int]] = field(default_factory=dict)


def _where(index: int, *keys: str) -> str:
    return ".".join([f"instruments[{index}]", *keys])


def _forms(directory: Path, study: dict[str, Any]) -> list[PackageForm]:
    forms = []
    for index, entry in enumerate(study["instruments"]):
        path = directory / entry["file"]
        if not path.is_file():
            raise PackageError(
                STUDY_FILE, _where(index, "file"), f"{entry['file']} is missing from the package"
            )
        content = path.read_bytes()
        try:
            definition = parse_xlsform(path.name, content)
        except CollectionError as exc:
            raise PackageError(entry["file"], "", f"not a valid XLSForm: {exc.message}") from None
        for key in ("form_id", "version"):
            if definition[key] != entry[key]:
                raise PackageError(
                    STUDY_FILE,
                    _where(index, key),
                    f"'{entry[key]}', but {entry['file']} says '{definition[key]}'",
                )
        form = PackageForm(entry, content, definition)
        for name in entry["roles"]:
            if name not in form.questions:
                raise PackageError(
                    STUDY_FILE, _where(index, "roles", name), f"'{name}' is not a question of {entry['file']}"
                )
        for key, name in entry["consent"].items():
            if name and name not in form.questions:
                raise PackageError(
                    STUDY_FILE,
                    _where(index, "consent", key),
                    f"'{name}' is not a question of {entry['file']}",
                )
        forms.append(form)
    seen = set()
    for index, form in enumerate(forms):
        key = (form.entry["form_id"], form.entry["version"])
        if key in seen:
            raise PackageError(
                STUDY_FILE, _where(index), f"form '{key[0]}' version '{key[1]}' is listed twice"
            )
        seen.add(key)
    expected = set(data_names([(f.entry["form_id"], f.entry["version"]) for f in forms]))
    for path in sorted((directory / DATA_DIR).glob("*")) if (directory / DATA_DIR).is_dir() else []:
        name = f"{DATA_DIR}/{path.name}"
        if name not in expected:
            wanted = ", ".join(sorted(expected))
            raise PackageError(name, "", f"not the data of a form in {STUDY_FILE} (expected: {wanted})")
    return forms


def _check_study(study: dict[str, Any], forms: list[PackageForm], organisation: Organisation) -> None:
    from voicescount.geography.models import Area
    from voicescount.indicators.disclosure_rule import deployment_rule, looser_settings

    questions = set().union(*(form.questions for form in forms))
    for key, name in study["design"].items():
        if key != "lonely_psu" and name and name not in questions:
            raise PackageError(STUDY_FILE, f"design.{key}", f"'{name}' is not a question of any form")
    for key in ("start", "end"):
        try:
            dt.date.fromisoformat(study["period"][key])
        except ValueError:
            raise PackageError(
                STUDY_FILE, f"period.{key}", f"'{study['period'][key]}' is not a date"
            ) from None
    if study["period"]["end"] < study["period"]["start"]:
        raise PackageError(STUDY_FILE, "period.end", "the period ends before it starts")
    thresholds = {f: None for f in ("min_cell_size", "suppress_below", "caution_below")}
    thresholds |= study.get("disclosure") or {}
    floor = deployment_rule()
    for name in looser_settings(SimpleNamespace(**thresholds)):
        raise PackageError(
            STUDY_FILE,
            f"disclosure.{name}",
            f"{thresholds[name]} is looser than the deployment's {getattr(floor, name)} "
            "(a study may be stricter, never looser)",
        )
    known = set(Area.objects.filter(code__in=study["areas"]).values_list("code", flat=True))
    for index, code in enumerate(study["areas"]):
        if code not in known:
            raise PackageError(STUDY_FILE, f"areas[{index}]", f"'{code}' is not a known area code")
    other = Study.objects.filter(slug=study["slug"]).exclude(organisation=organisation).first()
    if other is not None:
        raise PackageError(
            STUDY_FILE,
            "slug",
            f"a study '{study['slug']}' already belongs to another organisation ({other.organisation.slug}); "
            "load the package under another slug",
        )


def _check_indicators(document: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """Check indicators.yaml; returns the framework indicators it names, by (framework, code)."""
    from voicescount.framework.models import GLOBAL, Indicator
    from voicescount.indicators.expressions import ExpressionError, parse

    def expression(where: str, text: str) -> None:
        try:
            parse(text)
        except ExpressionError as exc:
            raise PackageError(INDICATORS_FILE, where, str(exc)) from None

    names: set[str] = set()
    for index, variable in enumerate(document["derived_variables"]):
        where = f"derived_variables[{index}]"
        if variable["name"] in names:
            raise PackageError(INDICATORS_FILE, f"{where}.name", f"'{variable['name']}' appears twice")
        names.add(variable["name"])
        expression(f"{where}.expression", variable["expression"])
    indicators = {}
    codes: set[str] = set()
    for index, spec in enumerate(document["definitions"]):
        where = f"definitions[{index}]"
        if spec["code"] in codes:
            raise PackageError(INDICATORS_FILE, f"{where}.code", f"'{spec['code']}' appears twice")
        codes.add(spec["code"])
        framework = spec.get("framework", GLOBAL)
        indicator = Indicator.objects.filter(framework__code=framework, code=spec["indicator"]).first()
        if indicator is None:
            raise PackageError(
                INDICATORS_FILE,
                f"{where}.indicator",
                f"'{spec['indicator']}' is not an indicator of the framework '{framework}'",
            )
        indicators[(framework, spec["indicator"])] = indicator
        for key in ("universe", "numerator", "value", "denominator"):
            if spec[key].strip():
                expression(f"{where}.{key}", spec[key])
    return indicators


def _study_fields(study: dict[str, Any], organisation: Organisation) -> dict[str, Any]:
    fields: dict[str, Any] = {"organisation": organisation}
    for name in ("title", "summary", "sampling_description"):
        fields |= {f"{name}_en": study[name]["en"], f"{name}_vi": study[name]["vi"]}
    fields |= {DESIGN_FIELDS[key]: value for key, value in study["design"].items()}
    fields |= {
        f: (study.get("disclosure") or {}).get(f)
        for f in ("min_cell_size", "suppress_below", "caution_below")
    }
    return fields | {
        "method": study["method"],
        "period_start": dt.date.fromisoformat(study["period"]["start"]),
        "period_end": dt.date.fromisoformat(study["period"]["end"]),
        "target_groups": study["target_groups"],
        "planned_sample_size": study["planned_sample_size"],
        "consent_procedure": study["consent"]["procedure"],
        "consent_notes_en": study["consent"]["notes"]["en"],
        "consent_notes_vi": study["consent"]["notes"]["vi"],
        "partners": study["partners"],
        "status": study["status"],
        "is_public": study["public"],
    }


def _update(obj: Any, fields: dict[str, Any]) -> list[str]:
    """Set the fields of ``obj`` that differ; returns their names (nothing saved here)."""
    changed = [name for name, value in fields.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, fields[name])
    return changed


def _write_study(document: dict[str, Any], organisation: Organisation, report: LoadReport) -> Study:
    from voicescount.geography.models import Area

    fields = _study_fields(document, organisation)
    study = Study.objects.filter(slug=document["slug"]).first()
    if study is None:
        study = Study.objects.create(slug=document["slug"], **fields)
        report.created = True
    elif changed := _update(study, fields):
        study.save()
        report.changed += [f"study.{name}" for name in changed]
    if sorted(study.areas.values_list("code", flat=True)) != sorted(document["areas"]):
        study.areas.set(Area.objects.filter(code__in=document["areas"]))
        report.changed.append("study.areas")
    return study


def _write_instrument(study: Study, form: PackageForm, user, report: LoadReport) -> Instrument:
    try:
        instrument = add_instrument(
            study, Path(form.entry["file"]).name, form.content, user=user, check_permission=user is not None
        )
    except CollectionError as exc:  # the same form version with other content: rolled back
        raise PackageError(form.entry["file"], "", exc.message) from None
    fields = {"roles": form.entry["roles"]}
    fields |= {CONSENT_FIELDS[key]: name for key, name in form.entry["consent"].items()}
    if changed := _update(instrument, fields):
        instrument.save()
        report.changed += [f"{form.entry['file']}.{name}" for name in changed]
    return instrument


def _write_indicators(study: Study, document: dict[str, Any], indicators: dict, report: LoadReport) -> None:
    from voicescount.framework.models import GLOBAL
    from voicescount.indicators.models import DerivedVariable, IndicatorDefinition, IntervalMethod

    for spec in document["derived_variables"]:
        fields = {"expression": spec["expression"], "notes": spec["notes"]}
        fields |= {"title_en": spec["title"]["en"], "title_vi": spec["title"]["vi"]}
        variable = DerivedVariable.objects.filter(study=study, name=spec["name"]).first()
        if variable is None:
            DerivedVariable.objects.create(study=study, name=spec["name"], **fields)
            report.changed.append(f"derived variable {spec['name']} added")
        elif _update(variable, fields):
            variable.save()
            report.changed.append(f"derived variable {spec['name']} changed")
    for spec in document["definitions"]:
        fields = {key: spec[key] for key in ("kind", "universe", "numerator", "value", "denominator", "unit")}
        fields |= {key: spec[key] for key in ("dimensions", "intersections", "direction", "reference_period")}
        fields["interval_method"] = spec.get("interval_method", IntervalMethod.LOGIT)  # optional key
        fields |= {"title_en": spec["title"]["en"], "title_vi": spec["title"]["vi"]}
        fields |= {
            "notes_en": spec["notes"]["en"],
            "notes_vi": spec["notes"]["vi"],
            "is_public": spec["public"],
        }
        fields["indicator"] = indicators[(spec.get("framework", GLOBAL), spec["indicator"])]
        definition = IndicatorDefinition.objects.filter(study=study, code=spec["code"]).first()
        if definition is None:
            IndicatorDefinition.objects.create(study=study, code=spec["code"], **fields)
            report.changed.append(f"definition {spec['code']} added")
        elif _update(definition, fields):
            definition.version += 1  # its runs record the version they computed
            definition.save()
            report.changed.append(f"definition {spec['code']} changed")


def package_checker(instrument: Instrument) -> InstrumentChecker:
    """The checker of a package's data: the instrument's, except that personal questions and the
    questionnaire code are not required — a package never holds them (``packages_dump``)."""
    definition = copy.deepcopy(instrument.definition or {})
    roles = instrument.roles or {}
    for question in definition.get("questions", []):
        if roles.get(question.get("name")) in ENCRYPTED_ROLES:
            question["required"] = False
    validator = compile_validator(
        definition, roles=roles, area_codes=known_area_codes(), today=timezone.localdate()
    )
    return InstrumentChecker(validator)


def _import(instrument: Instrument, path: Path, name: str, user) -> dict[str, int] | None:
    sha256 = importing.sha256_of(path)
    if instrument.batches.filter(file_sha256=sha256).exists():
        return None  # this very file is in already: importing it again would only add an empty batch
    try:
        result = import_service.import_file(
            instrument,
            path,
            fmt="kobo-json",
            name=name,
            user=user,
            check_permission=user is not None,
            file_sha256=sha256,
            checker=package_checker(instrument),
            workers=0,
        )
    except CollectionError as exc:
        raise PackageError(name, "", exc.message if exc.file == name else str(exc)) from None
    return {k: getattr(result, k) for k in ("received", "accepted", "duplicates", "quarantined")}


def load_study(
    directory: Path, *, organisation: Organisation, user=None, slug: str | None = None
) -> LoadReport:
    """Create or update the study of the package in ``directory`` for ``organisation``; see the module.

    ``slug`` loads it under another short name (e.g. a copy of a study as the start of a new one).
    ``user``, when given, must be allowed to edit the organisation's studies (and import with data).
    Raises ``PackageError`` (file, key path, what is wrong) and changes nothing when the package is
    not valid; ``PermissionDenied`` when ``user`` may not.
    """
    directory = Path(directory)
    if user is not None:
        require(user, Action.EDIT, organisation)
    study_doc = read_yaml(directory, STUDY_FILE)
    indicators_doc = read_yaml(directory, INDICATORS_FILE)
    if slug:
        study_doc["slug"] = slug
    forms = _forms(directory, study_doc)
    _check_study(study_doc, forms, organisation)
    indicators = _check_indicators(indicators_doc)
    with transaction.atomic():
        report = LoadReport(study=Study(slug=study_doc["slug"]))
        report.study = study = _write_study(study_doc, organisation, report)
        instruments = [_write_instrument(study, form, user, report) for form in forms]
        _write_indicators(study, indicators_doc, indicators, report)
        names = data_names([(i.form_id, i.version) for i in instruments])
        for instrument, name in zip(instruments, names, strict=True):
            if (directory / name).is_file():
                result = _import(instrument, directory / name, name, user)
                if result is not None:
                    report.imports[name] = result
    return report


def package_slug(directory: Path) -> str:
    """The slug study.yaml gives (``PackageError`` when study.yaml is missing or not valid)."""
    return read_yaml(Path(directory), STUDY_FILE)["slug"]
