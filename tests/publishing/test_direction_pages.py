"""The pages, the home page, the JSON API and the open-data metadata name the furthest-behind group in the
indicator's direction (issue 13, item 1): on the demo, poverty's furthest behind is its poorest group, not
its least poor; an indicator where neither direction is better shows its lowest and highest groups and no
one behind; the API says each indicator's, definition's and estimate's direction."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.html import escape

from voicescount.collection.models import Study
from voicescount.indicators.compute import compute_definition, latest_run
from voicescount.indicators.models import IndicatorDefinition
from voicescount.indicators.publication import publish
from voicescount.publishing import exports
from voicescount.publishing.templatetags.voicescount import scaled

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
RESPONDENTS = 1000

# What the demo's definitions measure, written out here rather than read from the code under test.
HIGHER_WORSE = {
    "poor-household-list",
    "disaster-affected",
    "violence-12m",
    "partner-violence",
    "discrimination",
    "discrimination-sogi",
    "youth-neet",
    "unemployment-rate",
    "bribery",
    "child-violent-discipline",
}
ROLES = {
    ("en", True): ("Furthest behind (highest rate)", "furthest ahead (lowest rate)"),
    ("en", False): ("Furthest behind (lowest rate)", "furthest ahead (highest rate)"),
    ("vi", True): ("Bị bỏ lại xa nhất (tỷ lệ cao nhất)", "đi trước xa nhất (tỷ lệ thấp nhất)"),
    ("vi", False): ("Bị bỏ lại xa nhất (tỷ lệ thấp nhất)", "đi trước xa nhất (tỷ lệ cao nhất)"),
}


@pytest.fixture
def demo() -> Study:
    from voicescount.accounts.demo import create_demo_accounts
    from voicescount.demo.load import load_demo_study

    create_demo_accounts()
    load_demo_study(respondents=RESPONDENTS)
    return Study.objects.get(slug="vn-cgd-2022")


def _with_groups(study: Study):
    for definition in study.indicator_definitions.filter(kind="proportion").select_related("indicator"):
        lnob = latest_run(definition).lnob
        if len(lnob.get("leaves") or []) >= 2:
            yield definition, lnob["leaves"]


def _ends(code: str, leaves: list[dict]) -> tuple[dict, dict]:
    """(furthest behind, furthest ahead) in the definition's direction, from the stored leaves."""
    lowest, highest = min(leaves, key=lambda g: g["mean"]), max(leaves, key=lambda g: g["mean"])
    return (highest, lowest) if code in HIGHER_WORSE else (lowest, highest)


def _value(mean: float, language: str) -> str:
    with translation.override(language):
        return scaled(mean)


def _lnob_paragraphs(html: str) -> list[str]:
    return re.findall(r'<p class="lnob-result"[^>]*>(.*?)</p>', html, re.S)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_indicator_pages_name_the_worst_off_group_in_the_indicators_direction(client, demo, language):
    checked = set()
    for definition, leaves in _with_groups(demo):
        behind, ahead = _ends(definition.code, leaves)
        role_behind, role_ahead = ROLES[(language, definition.code in HIGHER_WORSE)]
        html = client.get(f"/{language}/indicators/{definition.indicator.code}/").content.decode()
        paragraphs = [" ".join(p.split()) for p in _lnob_paragraphs(html)]
        wanted_behind = (
            f"{role_behind}: {escape(behind[f'description_{language}'])}: "
            f"<strong>{_value(behind['mean'], language)}%</strong>"
        )
        wanted_ahead = (
            f"{role_ahead}: {escape(ahead[f'description_{language}'])}: "
            f"<strong>{_value(ahead['mean'], language)}%</strong>"
        )
        assert any(wanted_behind in p and wanted_ahead in p for p in paragraphs), (
            definition.code,
            wanted_behind,
            paragraphs,
        )
        checked.add(definition.code)
    assert {"poor-household-list", "partner-violence", "bribery", "youth-neet"} <= checked
    assert "sp-coverage" in checked


def test_the_d_index_of_a_barrier_says_it_is_on_its_absence(client, demo):
    html = client.get("/en/indicators/1.2.2/").content.decode()
    assert "computed, as ESCAP does for a barrier, on the share of people without it" in html
    vi = client.get("/vi/indicators/1.2.2/").content.decode()
    assert "trên tỷ lệ người không gặp rào cản đó" in vi
    coverage = client.get("/en/indicators/1.3.1/").content.decode()
    assert "D-index of inequality between groups" in coverage
    assert "on the share of people without it" not in coverage


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_home_page_lists_who_is_left_behind_in_each_direction(client, demo, language):
    html = client.get(f"/{language}/").content.decode()
    section = re.search(r'<ul class="lnob">(.*?)</ul>', html, re.S)
    assert section, "no 'Who is left behind' list"
    items = [" ".join(li.split()) for li in re.findall(r"<li>(.*?)</li>", section.group(1), re.S)]
    assert items
    expected = {}
    for definition, leaves in _with_groups(demo):
        behind, ahead = _ends(definition.code, leaves)
        role_behind, role_ahead = ROLES[(language, definition.code in HIGHER_WORSE)]
        title = definition.title_vi if language == "vi" else definition.title_en
        expected[escape(title)] = (
            f"{role_behind[0].lower()}{role_behind[1:]}: {escape(behind[f'description_{language}'])} "
            f"<strong>{_value(behind['mean'], language)}%</strong>",
            f"{role_ahead}: {escape(ahead[f'description_{language}'])} "
            f"<strong>{_value(ahead['mean'], language)}%</strong>",
        )
    for item in items:
        title = re.search(r'<a href="[^"]+">(.*?)</a>', item).group(1)
        wanted_behind, wanted_ahead = expected[title]
        assert wanted_behind in item and wanted_ahead in item, (item, wanted_behind)


def _neutral_poverty(study: Study) -> IndicatorDefinition:
    copy = IndicatorDefinition.objects.get(study=study, code="poor-household-list")
    copy.pk, copy.code, copy.direction = None, "poverty-as-neutral", "neutral"
    copy.title_en = copy.title_vi = "Poverty without a direction"
    copy.save()
    publish(compute_definition(copy), None, check_permission=False)
    return copy


@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_neutral_definition_shows_lowest_and_highest_and_no_one_behind(client, demo, language):
    neutral = _neutral_poverty(demo)
    lnob = latest_run(neutral).lnob
    lowest = min(lnob["leaves"], key=lambda g: g["mean"])
    highest = max(lnob["leaves"], key=lambda g: g["mean"])
    html = client.get(f"/{language}/indicators/1.2.2/").content.decode()
    block = re.search(r'<p class="lnob-result" data-direction="neutral">(.*?)</p>', html, re.S)
    assert block, "no neutral LNOB paragraph"
    text = " ".join(block.group(1).split())
    words = {
        "en": ("Lowest rate", "highest rate", ("behind", "ahead")),
        "vi": ("Tỷ lệ thấp nhất", "tỷ lệ cao nhất", ("bị bỏ lại", "đi trước")),
    }[language]
    assert text.startswith(f"{words[0]}: {escape(lowest[f'description_{language}'])}: ")
    assert f"{words[1]}: {escape(highest[f'description_{language}'])}: " in text
    assert not any(w in text.lower() for w in words[2])
    heading = html[: block.start()].rsplit("<h4>", 1)[1]
    assert heading.startswith("Differences between groups" if language == "en" else "Khác biệt giữa các nhóm")
    # no one is "left behind" on an indicator without a direction
    home = client.get(f"/{language}/").content.decode()
    assert "Poverty without a direction" not in home


def test_a_run_stored_before_directions_is_read_in_the_definitions_direction(client, demo):
    definition = demo.indicator_definitions.get(code="poor-household-list")
    run = latest_run(definition)
    leaves = run.lnob["leaves"]
    lowest, highest = min(leaves, key=lambda g: g["mean"]), max(leaves, key=lambda g: g["mean"])
    # what the computation stored before: the lowest rate as furthest behind, D on the rate, no direction
    run.lnob = {
        "d_index": 0.123456,
        "furthest_behind": lowest,
        "furthest_ahead": highest,
        "leaves": sorted(leaves, key=lambda g: g["mean"]),
    }
    run.save()
    html = " ".join(client.get("/en/indicators/1.2.2/").content.decode().split())
    assert f"Furthest behind (highest rate): {escape(highest['description_en'])}: " in html
    assert "0.123" not in html  # that D-index was on the rate, not on the absence of poverty


def test_the_api_and_the_open_data_metadata_carry_the_direction(client, demo):
    assert client.get("/api/v1/indicators/1.2.2").json()["direction"] == "higher_worse"
    assert client.get("/api/v1/indicators/1.3.1").json()["direction"] == "higher_better"
    assert client.get("/api/v1/indicators/4.5.1").json()["direction"] == "neutral"
    listed = client.get("/api/v1/indicators?goal=16&limit=100").json()["items"]
    assert {i["code"]: i["direction"] for i in listed}["16.5.1"] == "higher_worse"
    for definition in demo.indicator_definitions.select_related("indicator"):
        code = definition.indicator.code
        wanted = "higher_worse" if definition.code in HIGHER_WORSE else "higher_better"
        answers = client.get(f"/api/v1/indicators/{code}/definitions").json()
        assert {a["code"]: a["direction"] for a in answers}[definition.code] == wanted
        estimates = client.get(
            f"/api/v1/indicators/{code}/estimates?definition={definition.code}&key=_T"
        ).json()["items"]
        assert [e["direction"] for e in estimates] == [wanted]
        assert exports.open_sdg_meta(definition)["direction"] == wanted
    # school attendance states its own direction; its indicator (4.5.1, parity indices) has none
    answers = client.get("/api/v1/indicators/4.5.1/definitions").json()
    assert {a["code"]: a["direction"] for a in answers}["child-school-attendance"] == "higher_better"
