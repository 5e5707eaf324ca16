"""Writing a study as a package: ``dump_study`` (see ``packages_schema`` for the layout).

The YAML documents are written in a fixed order (instruments by form id and version, definitions by
code, derived variables by name, roles by question name) so that dumping the same study twice, or a
study loaded from a package, gives the same bytes. The optional data files hold the accepted
submissions with consent given, as a KoboToolbox export WITHOUT personal fields or the questionnaire
code: those are stored encrypted and never leave the server through a package.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from voicescount.collection.models import Instrument, Study
from voicescount.collection.packages_schema import (
    DATA_DIR,
    FORMS_DIR,
    INDICATORS_FILE,
    PACKAGE_FORMAT,
    README_FILE,
    STUDY_FILE,
    validate_document,
    write_yaml,
)
from voicescount.collection.sampling import design_of
from voicescount.collection.services import PERSONAL_MARKER, personal_fields
from voicescount.collection.storing import RecordKeys
from voicescount.framework.models import GLOBAL

CONSENT_FIELDS = {
    "consent": "consent_question",
    "age": "age_question",
    "guardian_consent": "guardian_consent_question",
    "child_assent": "child_assent_question",
}
"""Keys of an instrument's ``consent`` in study.yaml → ``Instrument`` fields."""


def canonical(value: Any) -> Any:
    """``value`` with the keys of every mapping sorted: a JSON field reads back from PostgreSQL's jsonb
    in another key order than it was written, and a package must not depend on the database."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def _text(obj: Any, field: str) -> dict[str, str]:
    return {"en": getattr(obj, f"{field}_en") or "", "vi": getattr(obj, f"{field}_vi") or ""}


def form_files(instruments: list[Instrument]) -> dict[int, str]:
    """Instrument id → its file in the package (``forms/<uploaded name>``; the version added on a clash)."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for instrument in instruments:
        name = Path(instrument.filename or f"{instrument.form_id}.xlsx").name
        if name in taken:
            path = Path(name)
            name = f"{path.stem}-{instrument.version or instrument.pk}{path.suffix}"
        taken.add(name)
        names[instrument.pk] = f"{FORMS_DIR}/{name}"
    return names


def study_document(study: Study, files: dict[int, str]) -> dict[str, Any]:
    """study.yaml of ``study`` (``files``: from :func:`form_files`)."""
    design = design_of(study).as_dict()
    document: dict[str, Any] = {
        "package": PACKAGE_FORMAT,
        "slug": study.slug,
        "title": _text(study, "title"),
        "summary": _text(study, "summary"),
        "method": study.method,
        "period": {"start": study.period_start.isoformat(), "end": study.period_end.isoformat()},
        "areas": sorted(study.areas.values_list("code", flat=True)),
        "target_groups": list(study.target_groups or []),
        "sampling_description": _text(study, "sampling_description"),
        "planned_sample_size": study.planned_sample_size,
        "design": {
            key: design[key] for key in ("weight", "strata", "psu", "ssu", "fpc", "fpc2", "lonely_psu")
        },
    }
    thresholds = {f: getattr(study, f) for f in ("min_cell_size", "suppress_below", "caution_below")}
    if any(value is not None for value in thresholds.values()):
        document["disclosure"] = thresholds
    document |= {
        "consent": {"procedure": study.consent_procedure, "notes": _text(study, "consent_notes")},
        "partners": study.partners,
        "status": study.status,
        "public": study.is_public,
        "instruments": [
            {
                "file": files[instrument.pk],
                "form_id": instrument.form_id,
                "version": instrument.version,
                "roles": dict(sorted((instrument.roles or {}).items())),
                "consent": {key: getattr(instrument, field) for key, field in CONSENT_FIELDS.items()},
            }
            for instrument in _instruments(study)
        ],
    }
    return document


def indicators_document(study: Study) -> dict[str, Any]:
    """indicators.yaml of ``study``: its derived variables and indicator definitions."""
    definitions = study.indicator_definitions.select_related("indicator__framework").order_by("code")
    return {
        "package": PACKAGE_FORMAT,
        "derived_variables": [
            {
                "name": variable.name,
                "expression": variable.expression,
                "title": _text(variable, "title"),
                "notes": variable.notes,
            }
            for variable in study.derived_variables.order_by("name")
        ],
        "definitions": [_definition(definition) for definition in definitions],
    }


def _definition(definition: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"code": definition.code, "indicator": definition.indicator.code}
    if definition.indicator.framework.code != GLOBAL:
        out["framework"] = definition.indicator.framework.code
    return (
        out
        | {
            "title": _text(definition, "title"),
            "kind": definition.kind,
            "universe": definition.universe,
            "numerator": definition.numerator,
            "value": definition.value,
            "denominator": definition.denominator,
            "unit": definition.unit,
            "dimensions": canonical(definition.dimensions or []),
            "intersections": definition.intersections or [],
            "direction": definition.direction,
            "reference_period": definition.reference_period,
            "notes": _text(definition, "notes"),
            "public": definition.is_public,
        }
        | _interval_method(definition)
    )


def _interval_method(definition: Any) -> dict[str, str]:
    """``interval_method`` when it is not the default (logit): packages written before the key existed,
    and the demo's, stay as they are."""
    default = type(definition)._meta.get_field("interval_method").default
    return {} if definition.interval_method == default else {"interval_method": definition.interval_method}


def _instruments(study: Study) -> list[Instrument]:
    return list(study.instruments.order_by("form_id", "version", "pk"))


# --- data ---------------------------------------------------------------------------------------------


def _without_personal(node: Any, keys: RecordKeys) -> Any:
    """``node`` with every personal answer (by name, or already replaced by the marker) left out."""
    if isinstance(node, dict):
        return {
            key: _without_personal(value, keys)
            for key, value in node.items()
            if value != PERSONAL_MARKER and not keys.is_personal(str(key))
        }
    if isinstance(node, list):
        return [_without_personal(value, keys) for value in node if value != PERSONAL_MARKER]
    return node


def export_records(instrument: Instrument) -> Iterator[dict[str, Any]]:
    """The instrument's submissions in analysis (consent given), as Kobo records without personal fields."""
    keys = RecordKeys(personal_fields(instrument))
    submissions = instrument.submissions.in_analysis().order_by("pk")
    for submission in submissions.iterator(chunk_size=1000):
        source = submission.raw if isinstance(submission.raw, dict) else submission.values
        record = _without_personal(source, keys)
        if submission.instance_id and not ({"meta/instanceID", "_uuid", "instanceID"} & set(record)):
            record["meta/instanceID"] = submission.instance_id
        yield record


def _write_data(instrument: Instrument, path: Path) -> int:
    records = list(export_records(instrument))
    page = {"count": len(records), "next": None, "previous": None, "results": records}
    path.write_text(json.dumps(page, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8")
    return len(records)


def data_names(forms: list[tuple[str, str]]) -> list[str]:
    """The data file of each (form id, version): ``data/<form id>.json``, with the version when a form
    has several in the study."""
    ids = [form_id for form_id, _ in forms]
    return [
        f"{DATA_DIR}/{form_id}.json" if ids.count(form_id) == 1 else f"{DATA_DIR}/{form_id}-{version}.json"
        for form_id, version in forms
    ]


def data_files(instruments: list[Instrument]) -> dict[int, str]:
    """Instrument id → its data file in the package (see :func:`data_names`)."""
    names = data_names([(i.form_id, i.version) for i in instruments])
    return {instrument.pk: name for instrument, name in zip(instruments, names, strict=True)}


README = """# Study package: {slug}

Written by `voicescount study dump`; load it with `voicescount study load DIR` (docs/study-package.md).

- `study.yaml`: the study's methodology, sampling design, disclosure thresholds and instruments
  (each with its question roles and consent questions).
- `indicators.yaml`: derived variables and indicator definitions.
- `forms/`: each instrument's XLSForm, byte for byte as uploaded.
{data}"""

DATA_NOTE = """- `data/`: the accepted submissions with consent given, one KoboToolbox JSON export per form
  version.
  **Personal fields and the questionnaire code are not included**: they are stored encrypted on the
  server and never leave it through a package. Records loaded from here have none.
"""


def dump_study(study: Study, directory: Path, *, with_data: bool = False) -> dict[str, int]:
    """Write ``study`` as a package into ``directory`` (created; files of a previous dump replaced).

    Returns counts: instruments, definitions, derived variables and (``with_data``) records written.
    """
    directory = Path(directory)
    (directory / FORMS_DIR).mkdir(parents=True, exist_ok=True)
    instruments = _instruments(study)
    files = form_files(instruments)
    study_doc, indicators_doc = study_document(study, files), indicators_document(study)
    validate_document(study_doc, STUDY_FILE)  # a dump that could not be loaded back is a defect
    validate_document(indicators_doc, INDICATORS_FILE)
    write_yaml(directory / STUDY_FILE, study_doc)
    write_yaml(directory / INDICATORS_FILE, indicators_doc)
    for instrument in instruments:
        (directory / files[instrument.pk]).write_bytes(bytes(instrument.source))
    counts = {
        "instruments": len(instruments),
        "definitions": len(indicators_doc["definitions"]),
        "derived_variables": len(indicators_doc["derived_variables"]),
    }
    if with_data:
        (directory / DATA_DIR).mkdir(exist_ok=True)
        names = data_files(instruments)
        counts["records"] = sum(
            _write_data(instrument, directory / names[instrument.pk]) for instrument in instruments
        )
    (directory / README_FILE).write_text(
        README.format(slug=study.slug, data=DATA_NOTE if with_data else ""), encoding="utf-8"
    )
    return counts
