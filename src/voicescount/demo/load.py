"""Load the demo study into the database the way a coordinator would, then compute everything.

The study is a study package, ``demo/package/`` (made by ``scripts/make_demo_package.py``), loaded by
``collection.packages.load_study``: its methodology, design, XLSForm (through ``add_instrument``), question
roles and indicator definitions. The synthetic submissions (``survey.py``) are generated here, written
as a KoboToolbox API export and imported with the Kobo reader, the instrument checker and the import
service (so records without consent land in quarantine); then the definitions are computed, their
runs published (``publication.publish_latest``: the package marks them public) and the
illustrative official series stored. Idempotent: a second run adds nothing and recomputes nothing that
did not change.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from voicescount.accounts.models import Organisation
from voicescount.collection import import_service, services
from voicescount.collection.packages import load_study
from voicescount.demo import official, survey
from voicescount.framework.models import GLOBAL, Indicator
from voicescount.indicators.compute import compute_study
from voicescount.indicators.models import OfficialObservation
from voicescount.indicators.publication import publish_latest

ORGANISATION = "community-dev-centre"
PACKAGE = Path(__file__).resolve().parent / "package"
"""The demo study as a study package (docs/study-package.md)."""
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    accepted: int
    duplicates: int
    quarantined: int
    definitions: int
    computed: int
    official: int


def _import(instrument, respondents: int) -> services.ImportReport:
    page = survey.kobo_page(survey.generate_submissions(n=respondents))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kobo-export.json"
        path.write_text(json.dumps(page, ensure_ascii=False), encoding="utf-8")
        return import_service.import_file(instrument, path, fmt="kobo-json", check_permission=False)


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
    loaded = load_study(PACKAGE, organisation=organisation)
    study = loaded.study
    instrument = study.instruments.get(form_id=survey.FORM_ID, version=survey.FORM_VERSION)
    report("Demo study: import", 0, 1)
    result = _import(instrument, respondents)
    report("Demo study: import", 1, 1)
    with transaction.atomic():
        n_official = _official()
    runs = compute_study(study, progress=progress)
    publish_latest(study, None, check_permission=False)  # the demo shows everything it computed
    return DemoSummary(
        accepted=result.accepted,
        duplicates=result.duplicates,
        quarantined=result.quarantined,
        definitions=study.indicator_definitions.count(),
        computed=sum(run is not None for run in runs.values()),
        official=n_official,
    )
