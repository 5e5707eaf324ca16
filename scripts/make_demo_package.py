"""Write the demo study's package, src/voicescount/demo/package/, from the demo modules.

Run once when the demo's questionnaire or definitions change (``python scripts/make_demo_package.py``)
and commit the output: ``demo/load.py`` loads the demo from the package through ``collection.packages``.
The study's metadata, design, consent questions and question roles come from ``demo/definitions.py``,
the XLSForm from ``demo/survey.build_xlsform`` — with its time stamps fixed (openpyxl writes the time
of saving into docProps/core.xml and each zip entry), so that the same demo gives the same bytes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
# Django is started (the package modules import models) on a throw-away data directory: nothing is
# written to a database.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicescount.settings")
os.environ.setdefault("VOICESCOUNT_DATA_DIR", tempfile.mkdtemp(prefix="vc-demo-package-"))
django.setup()

from voicescount.collection.packages_dump import canonical, data_names  # noqa: E402
from voicescount.collection.packages_schema import (  # noqa: E402
    FORMS_DIR,
    INDICATORS_FILE,
    PACKAGE_FORMAT,
    README_FILE,
    STUDY_FILE,
    validate_document,
    write_yaml,
)
from voicescount.collection.xlsform import parse_xlsform, suggest_roles  # noqa: E402
from voicescount.demo import definitions, survey  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "src" / "voicescount" / "demo" / "package"
FORM_FILE = f"{FORMS_DIR}/{survey.FORM_ID}.xlsx"
STAMP = "2022-02-15T00:00:00Z"  # the questionnaire's date (before fieldwork), written as its time stamp
ZIP_TIME = (2022, 2, 15, 0, 0, 0)


def deterministic_xlsx(content: bytes) -> bytes:
    """``content`` with the workbook's created/modified times and every zip entry's time set to STAMP."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{STAMP}\g<3>", text
                )
                data = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, data)
    return out.getvalue()


def text(meta: dict, field: str) -> dict[str, str]:
    return {"en": meta.get(f"{field}_en", ""), "vi": meta.get(f"{field}_vi", "")}


def study_document(form: dict) -> dict:
    meta = definitions.STUDY
    design = {
        key: definitions.DESIGN.get(key, "") for key in ("weight", "strata", "psu", "ssu", "fpc", "fpc2")
    }
    roles = suggest_roles(form) | definitions.QUESTION_ROLES
    return {
        "package": PACKAGE_FORMAT,
        "slug": meta["slug"],
        "title": text(meta, "title"),
        "summary": text(meta, "summary"),
        "method": meta["method"],
        "period": {"start": meta["period_start"].isoformat(), "end": meta["period_end"].isoformat()},
        "areas": [],
        "target_groups": list(meta["target_groups"]),
        "sampling_description": text(meta, "sampling_description"),
        "planned_sample_size": meta["planned_sample_size"],
        "design": design | {"lonely_psu": "adjust"},
        "consent": {"procedure": meta["consent_procedure"], "notes": text(meta, "consent_notes")},
        "partners": meta["partners"],
        "status": "published",
        "public": True,
        "instruments": [
            {
                "file": FORM_FILE,
                "form_id": survey.FORM_ID,
                "version": survey.FORM_VERSION,
                "roles": dict(sorted(roles.items())),
                "consent": dict(definitions.SPECIAL_QUESTIONS),
            }
        ],
    }


def indicators_document() -> dict:
    year = str(definitions.STUDY["period_end"].year)
    return {
        "package": PACKAGE_FORMAT,
        "derived_variables": [],
        "definitions": [
            {
                "code": spec["code"],
                "indicator": spec["indicator"],
                "title": text(spec, "title"),
                "kind": spec.get("kind", "proportion"),
                "universe": spec.get("universe", ""),
                "numerator": spec.get("numerator", ""),
                "value": spec.get("value", ""),
                "denominator": spec.get("denominator", ""),
                "unit": spec.get("unit", "PT"),
                "dimensions": canonical(spec.get("dimensions", [])),
                "intersections": canonical(spec.get("intersections", [])),
                "direction": spec.get("direction", ""),
                "reference_period": spec.get("reference_period", year),
                "notes": text(spec, "notes"),
                "public": True,
            }
            for spec in sorted(definitions.DEFINITIONS, key=lambda spec: spec["code"])
        ],
    }


README = f"""# The demo study as a study package

Generated by `scripts/make_demo_package.py` from `demo/definitions.py` and `demo/survey.py`; loaded by
`demo/load.py` through `collection.packages.load_study` (docs/study-package.md). The synthetic
submissions are generated when the demo is loaded and are not part of the package
({data_names([(survey.FORM_ID, survey.FORM_VERSION)])[0]} would hold them).
"""


def main() -> None:
    """Write the package (replacing the previous one)."""
    content = deterministic_xlsx(survey.build_xlsform())
    form = parse_xlsform(Path(FORM_FILE).name, content)
    study, indicators = study_document(form), indicators_document()
    validate_document(study, STUDY_FILE)
    validate_document(indicators, INDICATORS_FILE)
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / FORMS_DIR).mkdir(parents=True)
    write_yaml(OUT / STUDY_FILE, study)
    write_yaml(OUT / INDICATORS_FILE, indicators)
    (OUT / FORM_FILE).write_bytes(content)
    (OUT / README_FILE).write_text(README, encoding="utf-8")
    print(f"Wrote {OUT}: {len(indicators['definitions'])} definitions, {FORM_FILE} ({len(content)} bytes)")


if __name__ == "__main__":
    main()
