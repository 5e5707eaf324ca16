"""Disaggregation codes on the public pages are shown as labels in the page's language, from the one
lookup of ``framework.labels`` (with the areas): the breakdown table and chart, the furthest-behind
sentence, the comparison with official statistics, the home page; never as bare codes such as the
demo's ``Y25T59``, an age bin missing from the AGE code list."""

import pytest

from tests.publishing.test_exports import make_run, study  # noqa: F401  (fixture)
from voicescount.demo import definitions
from voicescount.framework.models import Code, Indicator
from voicescount.indicators.models import IndicatorDefinition, OfficialObservation
from voicescount.publishing import evidence

pytestmark = pytest.mark.django_db

AGE_CODES = [code for _, _, code in definitions.AGE_ADULTS["bins"]]  # Y16T24, Y25T59, Y_GE60
LABELS = {
    "en": {"Y16T24": "16 to 24 years old", "Y25T59": "25 to 59 years old", "Y_GE60": "60 years old and over"},
    "vi": {"Y16T24": "16–24 tuổi", "Y25T59": "25–59 tuổi", "Y_GE60": "Từ 60 tuổi trở lên"},
}


def group(code: str, mean: float) -> dict:
    """A furthest-behind/ahead group as the computation stored it before it labelled codes with
    ``framework.labels``: the missing bin is written as its code."""
    return {
        "conditions": {"AGE": [code]},
        "mean": mean,
        "n": 150,
        "weight_share": 0.3,
        "description_en": code.lower() if code == "Y25T59" else "60 years old and over",
        "description_vi": code.lower() if code == "Y25T59" else "từ 60 tuổi trở lên",
    }


@pytest.fixture
def by_age(study):  # noqa: F811
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code="by-age",
        title_en="Covered, by age",
        kind=IndicatorDefinition.Kind.PROPORTION,
        unit="PT",
        dimensions=[definitions.AGE_ADULTS],
        reference_period="2022",
        is_public=True,
    )
    run = make_run(
        definition,
        [("_T", {}, 0.4, 450, "")]
        + [(f"AGE={c}", {"AGE": c}, 0.3 + 0.1 * i, 150, "") for i, c in enumerate(AGE_CODES)],
    )
    run.lnob = {
        "d_index": 0.1,
        "furthest_behind": group("Y25T59", 0.35),
        "furthest_ahead": group("Y_GE60", 0.5),
    }
    run.save()
    OfficialObservation.objects.create(
        indicator=definition.indicator,
        area_code="VN",
        unit="PT",
        source="test",
        period="2022",
        key="AGE=Y25T59",
        value=41.0,
        se=0.5,
    )
    return run


def test_the_demo_age_bin_is_missing_from_the_age_list():
    assert "Y25T59" in AGE_CODES
    assert not Code.objects.filter(code_list__code="AGE", code="Y25T59").exists()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_indicator_page_labels_every_age_code_in_its_language(client, by_age, language):
    page = client.get(f"/{language}/indicators/1.3.1/").content.decode()
    words = LABELS[language]
    # The breakdown table: every bin by its label, the missing one generated.
    for code in AGE_CODES:
        assert f'<th scope="row">{words[code]}</th>' in page, code
    # The furthest-behind sentence is worded from the group's conditions (lower case inside the sentence).
    assert f"{words['Y25T59'].lower()}: <strong>35" in page
    # The comparison with official statistics names the place and the group.
    place = "Viet Nam" if language == "en" else "Việt Nam"
    assert f'<th scope="row">{place} · {words["Y25T59"]}</th>' in page
    other = LABELS["vi" if language == "en" else "en"]["Y25T59"]
    assert other not in page
    assert "Y25T59" not in page and "y25t59" not in page


@pytest.mark.parametrize("language", ["en", "vi"])
def test_breakdown_page_and_chart_label_the_missing_age_bin(client, by_age, language):
    html = client.get(f"/{language}/indicators/1.3.1/runs/{by_age.pk}/?by=AGE").content.decode()
    assert LABELS[language]["Y25T59"] in html
    assert "Y25T59" not in html  # neither in the table nor in the chart's data


@pytest.mark.parametrize("language", ["en", "vi"])
def test_home_page_left_behind_uses_the_labels(client, by_age, language):
    page = client.get(f"/{language}/").content.decode()
    assert LABELS[language]["Y25T59"].lower() in page and "y25t59" not in page.lower()


def test_a_group_from_an_older_run_without_conditions_keeps_its_stored_words(by_age):
    stored = {"mean": 0.3, "n": 40, "description_en": "women", "description_vi": "phụ nữ"}
    assert evidence.described_group(stored, by_age.definition) == stored
    assert evidence.described_group(None, by_age.definition) is None


def test_a_group_is_described_in_the_definitions_order_of_dimensions(by_age):
    definition = by_age.definition
    definition.dimensions = ["SEX", definitions.AGE_ADULTS, "AREA"]
    stored = {"conditions": {"AREA": ["VN-01"], "AGE": ["Y25T59", "Y_GE60"], "SEX": ["F"]}, "mean": 0.2}
    out = evidence.described_group(stored, definition)
    assert out["description_en"] == "female, 25 to 59 years old or 60 years old and over, Hà Nội City"
    assert out["description_vi"] == "nữ, 25–59 tuổi hoặc từ 60 tuổi trở lên, Thành phố Hà Nội"


def test_the_page_labels_and_the_exports_come_from_the_same_lookup(by_age):
    """The Open SDG file and the page agree, code for code, in both languages."""
    from tests.publishing.test_exports import read_csv
    from voicescount.publishing import exports

    for language, column in (("en", "Age group"), ("vi", "Nhóm tuổi")):
        rows = read_csv(exports.open_sdg_csv(by_age, language=language))
        exported = [r[column] for r in rows if r[column]]
        on_page = [evidence.estimate_label({"AGE": c}, ["AGE"], language) for c in AGE_CODES]
        assert exported == on_page == [LABELS[language][c] for c in AGE_CODES]


def test_the_page_labels_name_the_areas_and_every_code_list():
    words = evidence.labels()
    assert words.label("AGE", "Y25T59", "vi") == "25–59 tuổi"
    assert words.label("AREA", "VN-01", "vi") == "Thành phố Hà Nội"
    assert words.label("REGION", "VN-R3-N") != "VN-R3-N"
    assert words.label("POPULATION_GROUP", "YOUTH") == "Youth (16–30)"


@pytest.mark.parametrize(
    ("language", "column", "label"),
    [("en", "Age group", "25 to 59 years old"), ("vi", "Nhóm tuổi", "25–59 tuổi")],
)
def test_open_sdg_download_is_in_the_page_language(client, by_age, language, column, label):
    from tests.publishing.test_exports import read_csv

    response = client.get(f"/{language}/indicators/1.3.1/runs/{by_age.pk}/download/open-sdg/")
    assert response.status_code == 200
    rows = read_csv(response.content)
    assert column in rows[0] and label in [r[column] for r in rows]
