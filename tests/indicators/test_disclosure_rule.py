"""The disclosure rule is a real setting: read from the environment, stricter per study, never looser,
applied by the computation and stated on the pages."""

import subprocess
import sys

import pytest
from django.core.exceptions import ValidationError

from tests.indicators.factories import study_with_answers
from tests.indicators.test_compute import DIMENSIONS, synthetic_records
from voicescount import config
from voicescount.config import DisclosureConfig
from voicescount.framework.models import Indicator
from voicescount.indicators import compute
from voicescount.indicators.disclosure_rule import rule_for
from voicescount.indicators.models import Estimate, IndicatorDefinition


def test_the_environment_sets_the_deployment_rule(monkeypatch):
    monkeypatch.setenv("VOICESCOUNT_MIN_CELL_SIZE", "15")
    monkeypatch.setenv("VOICESCOUNT_SUPPRESS_BELOW", "30")
    monkeypatch.setenv("VOICESCOUNT_CAUTION_BELOW", "80")
    assert config.disclosure() == DisclosureConfig(15, 30, 80)
    monkeypatch.delenv("VOICESCOUNT_MIN_CELL_SIZE")
    monkeypatch.delenv("VOICESCOUNT_SUPPRESS_BELOW")
    monkeypatch.delenv("VOICESCOUNT_CAUTION_BELOW")
    assert config.disclosure() == DisclosureConfig(10, 25, 50)  # the documented defaults


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VOICESCOUNT_MIN_CELL_SIZE": "ten"}, "VOICESCOUNT_MIN_CELL_SIZE must be a whole number"),
        ({"VOICESCOUNT_SUPPRESS_BELOW": "0"}, "VOICESCOUNT_SUPPRESS_BELOW must be a whole number"),
        ({"VOICESCOUNT_MIN_CELL_SIZE": "30"}, r"VOICESCOUNT_SUPPRESS_BELOW \(25\) is below the minimum"),
        ({"VOICESCOUNT_CAUTION_BELOW": "20"}, r"VOICESCOUNT_CAUTION_BELOW \(20\) is below"),
    ],
)
def test_a_wrong_setting_says_what_is_wrong(monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigurationError, match=message):
        config.disclosure()


def test_the_cli_refuses_to_start_with_a_wrong_rule(tmp_path):
    """The setting is read when the site starts: a wrong value stops it with the message, not later."""
    env = {"VOICESCOUNT_DATA_DIR": str(tmp_path), "VOICESCOUNT_SUPPRESS_BELOW": "5", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "voicescount.cli", "compute", "x"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "VOICESCOUNT_SUPPRESS_BELOW (5) is below the minimum cell size" in result.stdout + result.stderr


@pytest.fixture
def study(db):
    study, _ = study_with_answers("s", synthetic_records(), age_question="age")
    return study


def test_a_study_may_be_stricter_never_looser(study, settings):
    settings.VOICESCOUNT_DISCLOSURE = DisclosureConfig(10, 25, 50)
    assert (rule_for(study).suppress_below, rule_for(study).caution_below) == (25, 50)
    study.suppress_below, study.caution_below = 60, 100
    study.full_clean()
    rule = rule_for(study)
    assert (rule.min_cell_size, rule.suppress_below, rule.caution_below) == (10, 60, 100)
    assert rule.stricter_than_deployment
    study.suppress_below, study.min_cell_size = 5, 3
    with pytest.raises(ValidationError) as refused:
        study.full_clean()
    assert set(refused.value.message_dict) == {"suppress_below", "min_cell_size"}
    # Even if a looser value reached the database, the deployment's floor applies.
    rule = rule_for(study)
    assert (rule.min_cell_size, rule.suppress_below) == (10, 25)


def test_the_computation_applies_the_studys_rule(study, settings):
    settings.VOICESCOUNT_DISCLOSURE = DisclosureConfig(10, 25, 50)
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(code="1.3.1"),
        code="cov",
        title_en="Coverage",
        kind="proportion",
        numerator="covered == 'yes'",
        dimensions=DIMENSIONS,
        intersections=[["SEX", "AGE"]],
    )
    compute.compute_study(study)
    published = Estimate.objects.filter(run__definition=definition, estimate__isnull=False)
    assert published.filter(n__lt=100).exists()  # cells of 50-99 respondents are published at first
    study.suppress_below, study.caution_below = 100, 200
    study.save()
    results = compute.compute_study(study)
    assert results["cov"] is not None  # the rule is part of the inputs: a stricter one recomputes
    latest = Estimate.objects.filter(run=results["cov"])
    assert not latest.filter(n__lt=100, estimate__isnull=False).exists()
    assert latest.filter(n__gte=100, n__lt=200, flag=Estimate.Flag.IMPRECISE).exists()


def test_the_pages_state_the_rule_in_force(study, client, settings):
    settings.VOICESCOUNT_DISCLOSURE = DisclosureConfig(12, 30, 60)
    study.is_public = True
    study.suppress_below = 40
    study.save()
    about = client.get("/en/about/").content.decode()
    assert "fewer than 30 respondents is not published" in about and "fewer than 12 people" in about
    page = client.get(f"/en/studies/{study.slug}/").content.decode()
    assert "fewer than 40 respondents is not published" in page and "40 to 59 respondents" in page
    assert "stricter rule than the platform" in page
    vi = client.get(f"/vi/studies/{study.slug}/").content.decode()
    assert "40" in vi and "nghiêm ngặt hơn" in vi
