# ruff: noqa: F811  (pytest fixtures imported from test_compute)
"""Reproduction packs (issue 13, item 6): a published definition recomputed outside VoicesCount, in R.

* the pack's files: the extract holds only the columns the definition and the design read, row numbers
  instead of submission ids, never a personal field; ``published.csv`` never a suppressed number;
* who may download it: the study's analysts, coordinators, coalition administrators and NSO reviewers
  (one of them signed in through the real sign-in page); anonymous visitors go to the sign-in page,
  other organisations get a 404, enumerators a 403; the CLI writes it owner-only;
* **R reproduces every published estimate, SE and interval to 1e-8**: the demo's 25 definitions and a
  small study's mean, total, ratio, a proportion over a derived variable and one without breakdowns,
  each pack unzipped and run (one pack with ``Rscript reproduce.R`` itself, all of them in one R
  session by a driver that sources each, which is much faster than 31 R start-ups). Without Rscript
  the test is skipped, but fails when ``CI`` is set.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import stat
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from typer.testing import CliRunner

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from tests.indicators.test_design_vs_r import DESIGNS, api_study, coordinator  # noqa: F401  (fixture)
from voicescount.accounts.models import Membership, Organisation, Role
from voicescount.cli import app
from voicescount.collection.models import Study
from voicescount.collection.sampling import design_of
from voicescount.collection.services import personal_fields
from voicescount.indicators import compute
from voicescount.indicators.models import DerivedVariable, Estimate, EstimateRun, IndicatorDefinition
from voicescount.indicators.publication import publish
from voicescount.indicators.reproduction import ReproductionError, build_pack, latest_pack_run
from voicescount.stats.intervals import wilson

pytestmark = pytest.mark.django_db
DEMO = "vn-cgd-2022"
PASSWORD = "a-long-test-password"
RSCRIPT = shutil.which("Rscript")
DRIVER = """
suppressPackageStartupMessages(library(survey))
failed <- 0L
for (dir in commandArgs(TRUE)) {
  old <- setwd(dir)
  env <- new.env()
  output <- capture.output(status <- tryCatch({ source("reproduce.R", local = env); env$status },
                            error = function(e) { cat("ERROR:", conditionMessage(e), "\\n"); 2L }))
  setwd(old)
  cat(sprintf("== %s status %d %s\\n", basename(dir), status,
              if (any(output == "ALL EQUAL")) "ALL EQUAL" else ""))
  if (status != 0L) { cat(output, sep = "\\n"); failed <- failed + 1L }
}
quit(save = "no", status = if (failed) 1L else 0L)
"""


def unzip(content: bytes, target: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as pack:
        pack.extractall(target)
        return {name: pack.read(name) for name in pack.namelist()}


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


@pytest.fixture
def demo() -> Study:
    from voicescount.accounts.demo import create_demo_accounts
    from voicescount.demo.load import load_demo_study

    create_demo_accounts()
    load_demo_study(respondents=1000)
    return Study.objects.get(slug=DEMO)


@pytest.fixture
def small(study, definition):  # noqa: F811
    """The synthetic study of test_compute with one definition of every kind (and a derived variable)."""
    DerivedVariable.objects.create(study=study, name="adult", expression="age >= 16")
    common = {"study": study, "indicator": definition.indicator, "dimensions": definition.dimensions[:2]}
    IndicatorDefinition.objects.create(
        code="mean-age", title_en="Mean age", kind="mean", universe="adult", value="age", **common
    )
    IndicatorDefinition.objects.create(
        code="covered-total", title_en="People covered", kind="total", value="covered == 'yes'", **common
    )
    IndicatorDefinition.objects.create(
        code="covered-ratio",
        title_en="Covered per adult",
        kind="ratio",
        value="covered == 'yes'",
        denominator="adult",
        **common,
    )
    IndicatorDefinition.objects.create(
        code="adult-covered",
        title_en="Adults covered",
        kind="proportion",
        universe="adult and covered in ['yes', 'no']",
        numerator="covered == 'yes'",
        **common,
    )
    IndicatorDefinition.objects.create(
        study=study,
        indicator=definition.indicator,
        code="covered-overall",
        title_en="Covered, no breakdown",
        universe="covered in ['yes', 'no']",
        numerator="covered == 'yes'",
    )
    for run in compute.compute_study(study).values():
        publish(run, None, check_permission=False)  # reviewers reproduce the published run
    return study


# --- the pack's files -----------------------------------------------------------------------------------


def test_the_pack_holds_only_what_the_definition_reads_and_nothing_personal(demo, tmp_path):
    personal = set().union(*(personal_fields(i) for i in demo.instruments.all()))
    assert personal, "the demo's instrument marks personal fields"
    for item in demo.indicator_definitions.all():
        run = latest_pack_run(demo, item.code)
        files = unzip(build_pack(run), tmp_path / item.code)
        assert sorted(files) == ["README.txt", "extract.csv", "published.csv", "reproduce.R"]
        extract = rows_of(files["extract.csv"])
        header = list(extract[0])
        assert not set(header) & personal, (item.code, set(header) & personal)
        assert "@submission_id" not in header and "consent" not in header
        assert [int(r["row"]) for r in extract] == list(range(1, run.submissions + 1))
        dims = [d["code_list"] for d in item.dimensions]
        assert header[:2] == ["row", "vc_y"] and header[2 : 2 + len(dims)] == [f"vc_{d}" for d in dims]
        for question in ("weight", "stratum", "commune", *(d["source"] for d in item.dimensions)):
            if not question.startswith("@"):
                assert question in header, (item.code, question)
        # the extract's y is the computation's analysis variable: its weighted mean is the total estimate
        total = run.estimates.get(key="_T")
        if item.kind in ("proportion", "mean") and total.estimate is not None:
            y = np.array([float(r["vc_y"]) if r["vc_y"] else np.nan for r in extract])
            w = np.array([float(r["weight"]) for r in extract])
            used = ~np.isnan(y)
            assert abs((w[used] * y[used]).sum() / w[used].sum() - total.estimate) < 1e-12
        published = rows_of(files["published.csv"])
        assert len(published) == run.estimates.count()
        for row in published:
            if row["flag"].startswith("suppressed"):
                assert row["n"] and not any(row[f] for f in ("estimate", "se", "ci_low", "ci_high", "deff"))
        readme = files["README.txt"].decode()
        for fact in (
            run.snapshot.content_hash,
            f"Run {run.pk}",
            "Rscript reproduce.R",
            "CONFIDENTIAL",
            "BẢO MẬT",
        ):
            assert fact in readme, fact
        assert (
            "svydesign(ids = ~commune, strata = ~stratum, weights = ~weight" in files["reproduce.R"].decode()
        )


def test_a_published_zero_or_hundred_percent_has_the_wilson_interval(demo):
    """What the packs found on the demo: a domain where every answer is 0 came out as 5.6e-17 (or exactly
    0 with an SE of 5e-18), and was published with the logit interval [4e-22, 7.7e-12] (or none) instead
    of Wilson's on its n. Before the fix, 5 such cells (disaster-affected VN-66, unemployment-rate
    AREA=VN-14 and two more, discrimination AGE=Y25T59|REGION=VN-R3-S|SEX=M|URBANISATION=U)."""
    checked = 0
    for e in Estimate.objects.filter(run__definition__study=demo, run__definition__kind="proportion"):
        if e.estimate is None or min(abs(e.estimate), abs(1 - e.estimate)) >= 1e-12:
            continue
        low, high = wilson(round(e.estimate), 0.0, e.df, e.n)
        assert e.ci_low is not None and e.ci_high is not None, (e.run.definition.code, e.key)
        assert abs(e.ci_low - max(low, 0)) < 1e-12 and abs(e.ci_high - min(high, 1)) < 1e-12, (
            e.run.definition.code,
            e.key,
            e.ci_low,
            e.ci_high,
        )
        checked += 1
    assert checked >= 5


def test_a_pack_is_refused_when_the_inputs_changed_since_the_run(small, settings):
    mean_age = small.indicator_definitions.get(code="mean-age")
    mean_age.universe = "age >= 18"
    mean_age.save()
    with pytest.raises(ReproductionError, match="changed since run"):
        build_pack(latest_pack_run(small, "mean-age"))
    EstimateRun.objects.filter(definition__code="sp").update(snapshot=None)
    with pytest.raises(ReproductionError, match="before analysis snapshots"):
        build_pack(latest_pack_run(small, "sp"))
    with pytest.raises(ReproductionError, match="no definition 'nope'"):
        latest_pack_run(small, "nope")
    run = latest_pack_run(small, "covered-total")
    (Path(settings.VOICESCOUNT_SNAPSHOT_DIR) / run.snapshot.path).unlink()
    with pytest.raises(ReproductionError, match="is missing"):
        build_pack(run)


# --- R reproduces the published figures ---------------------------------------------------------------


def needs_rscript() -> str:
    if RSCRIPT is None:
        if os.environ.get("CI"):
            pytest.fail("Rscript is missing on CI: .ci/run installs r-base-core and r-cran-survey")
        pytest.skip("Rscript is not installed (apt-get install r-base-core r-cran-survey)")
    return RSCRIPT


def test_r_reproduces_every_published_estimate_of_every_pack(demo, small, tmp_path):
    rscript = needs_rscript()
    packs = []
    for study_ in (demo, small):
        for code in study_.indicator_definitions.order_by("code").values_list("code", flat=True):
            target = tmp_path / f"{study_.slug}-{code}"
            unzip(build_pack(latest_pack_run(study_, code)), target)
            packs.append(target)
    assert len(packs) == 25 + 6
    # One pack the way a reviewer runs it.
    alone = subprocess.run(
        [rscript, "reproduce.R"], cwd=packs[0], capture_output=True, text=True, timeout=120
    )
    assert alone.returncode == 0 and "ALL EQUAL" in alone.stdout.splitlines(), alone.stdout + alone.stderr
    # Every pack in one R session.
    driver = tmp_path / "driver.R"
    driver.write_text(DRIVER)
    started = time.perf_counter()
    result = subprocess.run(
        [rscript, str(driver), *map(str, packs)], capture_output=True, text=True, timeout=600
    )
    seconds = time.perf_counter() - started
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert report.count("ALL EQUAL") == len(packs), report
    print(f"{len(packs)} packs reproduced in R in {seconds:.1f} s")


def test_r_reproduces_each_interval_method_of_a_proportion(small, tmp_path):
    """The definition's interval method in the pack: svyciprop's beta and mean (our Wald) methods, and
    the Wilson interval R's survey does not have, computed in the script from svymean's SE."""
    rscript = needs_rscript()
    definition = small.indicator_definitions.get(code="adult-covered")
    packs = []
    for method in ("beta", "wald", "wilson", "likelihood", "asin"):
        definition.interval_method = method
        definition.save()
        run = compute.compute_definition(definition)
        assert run is not None  # a new method: new inputs, a new run
        packs.append(tmp_path / method)
        unzip(build_pack(run), packs[-1])
    driver = tmp_path / "driver.R"
    driver.write_text(DRIVER)
    result = subprocess.run(
        [rscript, str(driver), *map(str, packs)], capture_output=True, text=True, timeout=300
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0 and report.count("ALL EQUAL") == len(packs), report


def test_r_reports_a_difference_and_exits_non_zero(small, tmp_path):
    rscript = needs_rscript()
    unzip(build_pack(latest_pack_run(small, "mean-age")), tmp_path)
    published = (tmp_path / "published.csv").read_text().splitlines()
    header = published[0].split(",")
    row = next(i for i, line in enumerate(published) if line.startswith("_T,"))
    cells = published[row].split(",")
    cells[header.index("se")] = repr(float(cells[header.index("se")]) * (1 + 1e-6))
    published[row] = ",".join(cells)
    (tmp_path / "published.csv").write_text("\n".join(published) + "\n")
    result = subprocess.run(
        [rscript, "reproduce.R"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "1 DIFFERENCE(S) beyond a relative 1e-08" in result.stdout and "Total: se published" in result.stdout
    )
    assert "ALL EQUAL" not in result.stdout


# --- who may download it -------------------------------------------------------------------------------


def pack_url(study_: Study, code: str) -> str:
    return reverse("indicators:reproduction-pack", kwargs={"slug": study_.slug, "code": code}).replace(
        "/vi/", "/en/"
    )


def member(django_user_model, organisation, role, name):
    user = django_user_model.objects.create_user(name, password=PASSWORD)
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def test_an_nso_reviewer_signs_in_and_downloads_the_pack(client, django_user_model, small):
    member(django_user_model, small.organisation, Role.NSO_REVIEWER, "nso")
    url = pack_url(small, "sp")
    assert url == f"/en/studies/{small.slug}/indicators/sp/reproduction.zip"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/en/accounts/sign-in/")
    signed_in = client.post(anonymous["Location"], {"username": "nso", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == url
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment;" in response["Content-Disposition"] and "private" in response["Cache-Control"]
    assert sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == [
        "README.txt",
        "extract.csv",
        "published.csv",
        "reproduce.R",
    ]
    # The reviewer finds it on the results page (where the former indicators page leads), which shows
    # them no compute form.
    page = client.get(f"/en/studies/{small.slug}/indicators/", follow=True).content.decode()
    assert url in page and "Recompute everything" not in page and "/results/compute/" not in page
    in_vietnamese = client.get(f"/vi/studies/{small.slug}/indicators/", follow=True).content.decode()
    assert "Gói tái lập (zip)" in in_vietnamese and "Tái lập bằng R" in in_vietnamese
    assert client.post(f"/en/studies/{small.slug}/indicators/").status_code == 403
    # A newer draft: the reviewer's pack is still the published run's, an analyst's is the draft's.
    published = small.indicator_definitions.get(code="sp").runs.get()
    draft = compute.compute_definition(small.indicator_definitions.get(code="sp"), force=True)
    assert f"-run{published.pk}-" in client.get(url)["Content-Disposition"]
    analyst = Client()
    analyst.force_login(member(django_user_model, small.organisation, Role.ANALYST, "analyst"))
    assert f"-run{draft.pk}-" in analyst.get(url)["Content-Disposition"]


@pytest.mark.parametrize(
    "role, status",
    [
        (Role.ANALYST, 200),
        (Role.COORDINATOR, 200),
        (Role.COALITION_ADMIN, 200),
        (Role.NSO_REVIEWER, 200),
        (Role.ENUMERATOR, 403),
    ],
)
def test_each_role_of_the_studys_organisation(client, django_user_model, small, role, status):
    client.force_login(member(django_user_model, small.organisation, role, f"user-{role}"))
    assert client.get(pack_url(small, "sp")).status_code == status
    if status == 200:
        page = client.get(f"/en/studies/{small.slug}/indicators/", follow=True).content.decode()
        assert pack_url(small, "sp") in page


def test_other_organisations_get_not_found_even_for_a_public_study(client, django_user_model, small):
    small.is_public = True
    small.save()
    other = Organisation.objects.create(slug="other", name="Other", coalition=small.organisation.coalition)
    client.force_login(member(django_user_model, other, Role.COORDINATOR, "other-coordinator"))
    assert client.get(pack_url(small, "sp")).status_code == 404
    assert client.get(pack_url(small, "no-such-definition")).status_code == 404


def test_the_cli_writes_the_pack_for_the_owner_only(small, tmp_path):
    output = tmp_path / "sp.zip"
    result = CliRunner().invoke(app, ["reproduce", small.slug, "sp", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "written to" in result.output and stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "reproduce.R" in zipfile.ZipFile(output).namelist()
    missing = CliRunner().invoke(app, ["reproduce", small.slug, "nope", "--output", str(tmp_path / "x.zip")])
    assert missing.exit_code == 2 and "no definition 'nope'" in missing.output
    assert not (tmp_path / "x.zip").exists()


def test_r_reproduces_the_api_studies_with_fpc_and_two_stages(coordinator, tmp_path):
    """R's own ``api`` data through the pipeline (tests/indicators/test_design_vs_r.py): a stratified
    design with a finite population correction and no clusters, and a two-stage cluster design with a
    correction at each stage and no weights (R derives them)."""
    rscript = needs_rscript()
    packs = []
    for name in DESIGNS:
        api = api_study(name, coordinator, tmp_path)
        for code in api.indicator_definitions.values_list("code", flat=True):
            run = latest_pack_run(api, code)
            files = unzip(build_pack(run), tmp_path / f"{api.slug}-{code}")
            assert f"design <- {design_of(api).r_call(data='extract')}" in files["reproduce.R"].decode()
            packs.append(tmp_path / f"{api.slug}-{code}")
    driver = tmp_path / "driver.R"
    driver.write_text(DRIVER)
    result = subprocess.run(
        [rscript, str(driver), *map(str, packs)], capture_output=True, text=True, timeout=300
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0 and report.count("ALL EQUAL") == len(packs) == 10, report
    # the proportion with each interval method (the definition's): svyciprop's, named in the table
    for pack in packs:
        for code, method in (
            ("sch-wide", "logit"),
            ("sch-wide-likelihood", "likelihood"),
            ("sch-wide-asin", "asin"),
        ):
            if pack.name.endswith(f"-{code}"):
                script = (pack / "reproduce.R").read_text()
                assert f'interval = "{method}"' in script and f'svyciprop = "{method}"' in script


def test_text_a_user_wrote_never_becomes_r_code(small, tmp_path):
    rscript = needs_rscript()
    DerivedVariable.objects.create(study=small, name="tag", expression="sex == '''x\nquit(status = 7)\n'''")
    files = unzip(build_pack(latest_pack_run(small, "mean-age")), tmp_path)
    script = files["reproduce.R"].decode()
    assert "#     quit(status = 7)" in script and "\nquit(status = 7)" not in script
    result = subprocess.run(
        [rscript, "reproduce.R"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "ALL EQUAL" in result.stdout, result.stdout + result.stderr
