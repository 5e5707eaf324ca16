"""The study's whole sampling design, end to end: R's ``api`` data imported through the real pipeline.

A study is set up with the design R's examples use, its XLSForm added and its CSV imported with the
``voicescount`` command (``instrument``, ``import``, ``compute``), and the stored estimates compared with
R's ``survey`` package (``tests/stats/fixtures/r_results.json``, made by ``make_fixtures.R``):

* ``apistrat`` — stratified by school type, weights ``pw``, first-stage finite population correction
  (``svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc)``);
* ``apiclus2`` — two-stage cluster sample, districts then schools, a correction at each stage and no
  weights (``svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2)``): R derives the weights from the
  population sizes, and so must the pipeline.

The proportion is computed three times, with the definition's interval method ``logit`` (the default),
``likelihood`` and ``asin``: each gives ``svyciprop(method=)``'s interval (the likelihood one to 1e-8 of
R's converged profile, to 5e-4 of svyciprop as shipped: ``test_estimators_vs_r``).

The CSV is written from the fixture as a form-based export would be: the form's names (``sch_wide``,
no dots) and a missing answer left empty (R writes ``NA``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from django.utils import translation
from typer.testing import CliRunner

from voicescount.accounts.models import Coalition, Membership, Organisation, Role
from voicescount.cli import app
from voicescount.collection import services
from voicescount.collection.models import Study
from voicescount.collection.sampling import design_of
from voicescount.framework.models import Indicator
from voicescount.indicators.compute import compute_definition, latest_run
from voicescount.indicators.models import Estimate, IndicatorDefinition
from voicescount.publishing.studies import design_in_plain_words

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "stats" / "fixtures"
R_CASES = json.loads((FIXTURES / "r_results.json").read_text())["cases"]
TOLERANCE = 1e-8
runner = CliRunner(env={"COLUMNS": "200"})

FORM = """\
| survey |
| | type | name | label:english |
| | text | cds | School code |
| | select_one stype | stype | School type |
| | integer | dnum | District |
| | integer | snum | School |
| | decimal | pw | Weight |
| | decimal | fpc | Schools in the stratum |
| | decimal | fpc1 | Districts in the population |
| | decimal | fpc2 | Schools in the district |
| | integer | api00 | API 2000 |
| | integer | api99 | API 1999 |
| | integer | enroll | Enrolment |
| | select_one yn | sch_wide | Met the school-wide target |
| choices |
| | list name | name | label:english |
| | stype | E | Elementary |
| | stype | M | Middle |
| | stype | H | High |
| | yn | Yes | Yes |
| | yn | No | No |
| settings |
| | form_id | version |
| | {form_id} | 1 |
"""

DESIGNS = {
    # R case name → fixture file, the study's design fields
    "strat_fpc": (
        "apistrat.csv",
        {"weight_variable": "pw", "strata_variable": "stype", "fpc_variable": "fpc"},
    ),
    "clus2": (
        "apiclus2.csv",
        {"psu_variable": "dnum", "ssu_variable": "snum", "fpc_variable": "fpc1", "fpc2_variable": "fpc2"},
    ),
}
DIMENSION = {"code_list": "SCHOOL_TYPE", "source": "stype", "codes": {"E": "E", "M": "M", "H": "H"}}
DEFINITIONS = [
    # code, kind, value/numerator, R statistic and variable
    ("api00-mean", "mean", {"value": "api00"}, "mean", "api00"),
    ("enroll-total", "total", {"value": "enroll"}, "total", "enroll"),
    ("sch-wide", "proportion", {"numerator": "sch_wide == 'Yes'"}, "proportion", "sch.wide==Yes"),
    (
        "sch-wide-likelihood",
        "proportion",
        {"numerator": "sch_wide == 'Yes'", "interval_method": "likelihood"},
        "proportion",
        "sch.wide==Yes",
    ),
    (
        "sch-wide-asin",
        "proportion",
        {"numerator": "sch_wide == 'Yes'", "interval_method": "asin"},
        "proportion",
        "sch.wide==Yes",
    ),
]
# svyciprop's likelihood interval as shipped lags R's converged profile (tests/stats/test_estimators_vs_r)
LIKELIHOOD_AS_SHIPPED = 5e-4


def r_case(design: str, statistic: str, variable: str, domain: str | None, method: str | None = None) -> dict:
    for case in R_CASES:
        if (case["design"], case["statistic"], case["variable"], case["domain"]) == (
            design,
            statistic,
            variable,
            domain,
        ) and case.get("method") in (method, None):
            return case
    raise LookupError((design, statistic, variable, domain, method))


QUESTIONS = [line.split("|")[3].strip() for line in FORM.split("| choices |")[0].splitlines()[2:]]


def export_csv(source: Path, target: Path) -> None:
    """The fixture as the form's export: its questions only (an answer to no question of the form is
    refused by the import), under the form's names."""
    with source.open(newline="") as fh, target.open("w", newline="") as out:
        reader = csv.DictReader(fh)
        names = [n for n in reader.fieldnames if n.replace(".", "_") in QUESTIONS]
        writer = csv.writer(out)
        writer.writerow([n.replace(".", "_") for n in names])
        for row in reader:
            writer.writerow(["" if row[n] == "NA" else row[n] for n in names])


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def coordinator(django_user_model):
    coalition = Coalition.objects.create(slug="ca", name="CA", country_code="VN")
    org = Organisation.objects.create(slug="api-org", name="API", coalition=coalition)
    user = django_user_model.objects.create_user("api-coordinator", password="x")
    Membership.objects.create(user=user, organisation=org, role=Role.COORDINATOR)
    return user


def api_study(name: str, coordinator, tmp_path: Path) -> Study:
    filename, design = DESIGNS[name]
    study = Study.objects.create(
        organisation=coordinator.memberships.get().organisation,
        slug=f"api-{name.replace('_', '-')}",
        title_en=f"California schools ({name})",
        method=Study.Method.COMMUNITY_SURVEY,
        period_start=dt.date(2000, 1, 1),
        period_end=dt.date(2000, 12, 31),
        consent_procedure=Study.Consent.COMMUNITY,
        **design,
    )
    services.record_study_consent(study, user=coordinator, note="public school records")
    form = tmp_path / f"{name}.md"
    form.write_text(FORM.format(form_id=f"api_{name}"))
    export = tmp_path / f"{name}.csv"
    export_csv(FIXTURES / filename, export)
    run("instrument", study.slug, str(form), "--user", coordinator.username)
    study.instruments.update(roles={})  # school codes are not personal data
    imported = run("import", study.slug, str(export), "--format", "csv", "--user", coordinator.username)
    assert "quarantine" not in imported.lower() or " 0 " in imported, imported
    indicator = Indicator.objects.get(code="4.1.1")
    for code, kind, expression, _statistic, _variable in DEFINITIONS:
        IndicatorDefinition.objects.create(
            study=study,
            indicator=indicator,
            code=code,
            title_en=code,
            kind=kind,
            unit="PT" if kind == "proportion" else "NUMBER",
            dimensions=[DIMENSION],
            **expression,
        )
    run("compute", study.slug)
    return study


def close(ours: float, theirs: float, tolerance: float = TOLERANCE) -> bool:
    return abs(ours - theirs) <= tolerance * max(1.0, abs(theirs))


def compare_with_r(name: str, run_, statistic: str, variable: str, method: str | None) -> int:
    """Each published estimate of ``run_`` against R's case; returns how many were compared."""
    expected = {None: r_case(name, statistic, variable, None, method)["rows"][0]}
    for row in r_case(name, statistic, variable, "stype", method)["rows"]:
        expected[row["level"]] = row
    compared = 0
    for estimate in Estimate.objects.filter(run=run_):
        level = estimate.dimensions.get("SCHOOL_TYPE") if estimate.dimensions else None
        if level not in expected or estimate.estimate is None:
            continue
        r = expected[level]
        where = (run_.definition.code, level)
        assert close(estimate.estimate, r["estimate"]), (where, estimate.estimate, r)
        assert close(estimate.se, r["se"]), (where, estimate.se, r)
        if statistic == "proportion" or level is None:
            if method == "likelihood":
                # R's converged profile to 1e-8, svyciprop as shipped to its own convergence
                assert close(estimate.ci_low, r["converged_low"]), (where, estimate.ci_low, r)
                assert close(estimate.ci_high, r["converged_high"]), (where, estimate.ci_high, r)
            tolerance = LIKELIHOOD_AS_SHIPPED if method == "likelihood" else TOLERANCE
            assert close(estimate.ci_low, r["ci_low"], tolerance), (where, estimate.ci_low, r)
            assert close(estimate.ci_high, r["ci_high"], tolerance), (where, estimate.ci_high, r)
        compared += 1
    return compared


@pytest.mark.parametrize("name", list(DESIGNS))
def test_estimates_through_the_pipeline_equal_r(name, coordinator, tmp_path):
    study = api_study(name, coordinator, tmp_path)
    compared = 0
    for code, _kind, expression, statistic, variable in DEFINITIONS:
        definition = study.indicator_definitions.get(code=code)
        run_ = definition.runs.order_by("-started").first()
        assert run_ is not None, code
        method = expression.get("interval_method", "logit") if statistic == "proportion" else None
        assert definition.interval_method == (method or "logit")
        compared += compare_with_r(name, run_, statistic, variable, method)
    # The total and every school type of each definition, but the clus2 sample's 20 high and 23 middle
    # schools: fewer than 25 respondents, suppressed by the publication rule (DHS convention).
    assert compared == {"strat_fpc": 4, "clus2": 2}[name] * len(DEFINITIONS)


def test_the_study_page_says_what_the_computation_does(coordinator, tmp_path):
    study = api_study("clus2", coordinator, tmp_path)
    design = design_of(study)
    assert (
        design.second_stage
        and design.r_call() == "svydesign(ids = ~dnum + snum, fpc = ~fpc1 + fpc2, data = data)"
    )
    with translation.override("en"):
        words = " ".join(design_in_plain_words(study))
    assert "second stage" in words and "fpc2" in words
    assert "finite population correction is applied at the first stage (variable fpc1)" in words
    assert "no survey weights" not in words  # the weights come from the population sizes


@pytest.mark.parametrize("method", ["likelihood", "asin"])
def test_a_changed_interval_method_is_a_new_run_with_rs_interval(method, coordinator, tmp_path):
    """The interval method is part of the definition's inputs: changed, ``compute_definition`` makes a
    new run (not forced: the fingerprint changed) whose intervals are ``svyciprop(method=)``'s."""
    study = api_study("strat_fpc", coordinator, tmp_path)
    definition = study.indicator_definitions.get(code="sch-wide")
    before = latest_run(definition)
    assert compute_definition(definition) is None  # nothing changed: no new run
    definition.interval_method = method
    definition.save()
    after = compute_definition(definition)
    assert after is not None and after.input_fingerprint != before.input_fingerprint
    logit = {e.key: (e.ci_low, e.ci_high) for e in Estimate.objects.filter(run=before)}
    changed = {e.key: (e.ci_low, e.ci_high) for e in Estimate.objects.filter(run=after)}
    assert logit.keys() == changed.keys() and all(logit[k] != changed[k] for k in logit)
    assert compare_with_r("strat_fpc", after, "proportion", "sch.wide==Yes", method) == 4
