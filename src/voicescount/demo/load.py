"""Load the demo study into the database the way a coordinator would, then compute everything.

The synthetic survey (``survey.py``) goes through the real pipeline: the XLSForm is added as an
instrument, the submissions are written as a KoboToolbox API export and imported with the Kobo reader,
the instrument checker and the import service (so records without consent land in quarantine), the
indicator definitions are created and computed, and the illustrative official series are stored.
Idempotent: a second run adds nothing and recomputes nothing that did not change.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from voicescount.accounts.models import Organisation
from voicescount.collection import batches, importing, services
from voicescount.collection.checking import checker_for
from voicescount.collection.instruments import add_instrument
from voicescount.collection.models import Study
from voicescount.demo import definitions, official, survey
from voicescount.framework.models import GLOBAL, Indicator
from voicescount.indicators.compute import compute_study
from voicescount.indicators.models import IndicatorDefinition, OfficialObservation

ORGANISATION = "community-dev-centre"
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    accepted: int
    duplicates: int
    quarantined: int
    definitions: int
    computed: int
    official: int


def _study(organisation: Organisation) -> Study:
    meta = dict(definitions.STUDY)
    slug = meta.pop("slug")
    design = definitions.DESIGN
    fields = {k: v for k, v in meta.items() if k in {f.name for f in Study._meta.get_fields()}}
    for key in ("period_start", "period_end"):
        if isinstance(fields.get(key), str):
            fields[key] = dt.date.fromisoformat(fields[key])
    fields.update(
        organisation=organisation,
        weight_variable=design.get("weight", ""),
        strata_variable=design.get("strata", ""),
        psu_variable=design.get("psu", ""),
        is_public=True,
        status=Study.Status.PUBLISHED,
    )
    study, _ = Study.objects.update_or_create(slug=slug, defaults=fields)
    return study


def _instrument(study: Study):
    # The workbook's bytes carry a creation time, so a second run reuses the version already stored.
    instrument = study.instruments.filter(form_id=survey.FORM_ID, version=survey.FORM_VERSION).first()
    if instrument is None:
        instrument = add_instrument(study, "vn_cgd_2022.xlsx", survey.build_xlsform(), check_permission=False)
    roles = dict(instrument.roles or {})
    roles.update(definitions.QUESTION_ROLES)
    instrument.roles = roles
    for field in ("consent_question", "age_question", "guardian_consent_question", "child_assent_question"):
        value = getattr(definitions, field.upper(), None)
        if value:
            setattr(instrument, field, value)
    instrument.save()
    return instrument


def _import(instrument, respondents: int) -> services.ImportReport:
    page = survey.kobo_page(survey.generate_submissions(n=respondents))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kobo-export.json"
        path.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
        records = importing.read_records(path, "kobo-json", display_name=path.name)
        return batches.import_records(
            instrument,
            records,
            checker=checker_for(instrument),
            source="kobo-json",
            filename=path.name,
            file_sha256=importing.sha256_of(path),
            check_permission=False,
            workers=batches.import_workers(),
            form_check=batches.form_check_for(instrument, path.name),
        )


def _definitions(study: Study) -> int:
    indicators = {i.code: i for i in Indicator.objects.filter(framework__code=GLOBAL)}
    for spec in definitions.DEFINITIONS:
        fields = {
            k: spec.get(k, "")
            for k in ("title_en", "title_vi", "universe", "numerator", "value", "notes_en", "notes_vi")
        }
        IndicatorDefinition.objects.update_or_create(
            study=study,
            code=spec["code"],
            defaults={
                **fields,
                "indicator": indicators[spec["indicator"]],
                "kind": spec.get("kind", "proportion"),
                "unit": spec.get("unit", "PT"),
                "direction": spec.get("direction", ""),
                "dimensions": spec.get("dimensions", []),
                "intersections": spec.get("intersections", []),
                "reference_period": spec.get("reference_period", str(study.period_end.year)),
                "is_public": True,
            },
        )
    return len(definitions.DEFINITIONS)


def _official() -> int:
    indicators = {i.code: i for i in Indicator.objects.filter(framework__code=GLOBAL)}
    for row in official.OFFICIAL:
        OfficialObservation.objects.update_or_create(
            indicator=indicators[row["indicator"]],
            series=row.get("series", ""),
            area_code=row["area_code"],
            period=row["period"],
            key=row.get("key", "_T"),
            source=row["source"],
            defaults={
                "value": row["value"],
                "se": row.get("se"),
                "ci_low": row.get("ci_low"),
                "ci_high": row.get("ci_high"),
                "unit": row.get("unit", "PT"),
                "illustrative": row.get("illustrative", True),
                "dimensions": {
                    part.split("=")[0]: part.split("=")[1]
                    for part in row.get("key", "_T").split("|")
                    if "=" in part
                },
            },
        )
    return len(official.OFFICIAL)


def load_demo_study(progress: Progress | None = None, respondents: int = 3000) -> DemoSummary:
    """Create the demo study with its instrument, submissions, definitions and estimates."""
    report = progress or (lambda *_: None)
    organisation = Organisation.objects.get(slug=ORGANISATION)
    with transaction.atomic():
        study = _study(organisation)
        instrument = _instrument(study)
    report("Demo study: import", 0, 1)
    result = _import(instrument, respondents)
    report("Demo study: import", 1, 1)
    with transaction.atomic():
        n_definitions = _definitions(study)
        n_official = _official()
    runs = compute_study(study, progress=progress)
    return DemoSummary(
        accepted=result.accepted,
        duplicates=result.duplicates,
        quarantined=result.quarantined,
        definitions=n_definitions,
        computed=sum(run is not None for run in runs.values()),
        official=n_official,
    )
