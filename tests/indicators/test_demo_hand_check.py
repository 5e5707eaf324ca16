"""A demo indicator checked by hand: R's survey package, given the same answers and the definition written
out in R (fixtures/demo_sp_coverage/check.R), gives the same total and the same women's estimate."""

import csv
from pathlib import Path

import pytest

from tests.indicators.factories import study_with_answers
from voicescount.collection.records import RawRecord
from voicescount.demo import definitions as demo
from voicescount.framework.models import Indicator
from voicescount.indicators import compute
from voicescount.indicators.models import IndicatorDefinition

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).parent / "fixtures" / "demo_sp_coverage"


def answers():
    with open(FIXTURE / "answers.csv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            yield RawRecord(
                source="api",
                locator=row["respondent"],
                instance_id=f"uuid:{row['respondent']}",
                values={
                    "consent": "yes",
                    "respondent": row["respondent"],
                    "age": int(row["age"]),
                    "sex": row["sex"] or None,
                    # stored as the importer stores a select_multiple: the list of chosen codes
                    "sp_benefit": row["sp_benefit"].split() or None,
                    "weight": float(row["weight"]),
                    "stratum": row["stratum"],
                    "commune": row["commune"],
                },
            )


def expected():
    with open(FIXTURE / "expected.csv", encoding="utf-8") as handle:
        return {row["key"]: row for row in csv.DictReader(handle)}


def test_sp_coverage_total_and_women_match_r():
    study, report = study_with_answers(
        "hand-check",
        answers(),
        design=(demo.DESIGN["weight"], demo.DESIGN["strata"], demo.DESIGN["psu"]),
        respondent="respondent",
    )
    assert report.accepted == 2963
    spec = next(d for d in demo.DEFINITIONS if d["code"] == "sp-coverage")
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code=spec["indicator"]),
        code=spec["code"],
        title_en=spec["title_en"],
        kind=spec["kind"],
        universe=spec["universe"],  # the demo's own texts, so the check follows the demo definition
        numerator=spec["numerator"],
        dimensions=[demo.SEX],
        intersections=[["SEX"]],
    )
    run = compute.compute_definition(definition)
    ours = {e.key: e for e in run.estimates.all()}
    for key, r in expected().items():
        e = ours[key]
        assert e.n == int(r["n"]), key
        assert e.weighted_n == pytest.approx(float(r["weighted_n"]), rel=1e-12), key
        assert e.estimate == pytest.approx(float(r["estimate"]), abs=1e-12), key
        assert e.se == pytest.approx(float(r["se"]), rel=1e-10), key
        # R's logit interval comes from a glm fitted to about 1e-9
        assert e.ci_low == pytest.approx(float(r["ci_low"]), abs=1e-7), key
        assert e.ci_high == pytest.approx(float(r["ci_high"]), abs=1e-7), key
