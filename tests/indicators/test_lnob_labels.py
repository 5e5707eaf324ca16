"""The furthest-behind / furthest-ahead sentences stored with a run label their codes from the one lookup
of ``framework.labels``, as the public pages do: an age bin missing from the AGE code list is worded from
its code ("15 to 39 years old", "15–39 tuổi"), a province by its name, never as a bare code."""

import pytest

from tests.indicators.test_compute import study  # noqa: F401  (fixture)
from voicescount.framework.models import Code, Indicator
from voicescount.indicators import compute
from voicescount.indicators.models import IndicatorDefinition
from voicescount.publishing import evidence

pytestmark = pytest.mark.django_db

AGE = {"code_list": "AGE", "source": "age", "bins": [[15, 39, "Y15T39"], [40, 200, "Y_GE40"]]}
SEX = {"code_list": "SEX", "source": "sex", "codes": {"female": "F", "male": "M"}}
PROVINCE = {"code_list": "AREA", "source": "@province"}


def computed(study, code, dimensions, numerator):  # noqa: F811
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code=code,
        title_en=code,
        kind=IndicatorDefinition.Kind.PROPORTION,
        universe="age >= 15 and covered in ['yes', 'no']",
        numerator=numerator,
        dimensions=dimensions,
    )
    return compute.compute_definition(definition)


def test_an_age_bin_missing_from_the_list_is_worded_in_both_languages(study):  # noqa: F811
    assert not Code.objects.filter(code_list__code="AGE", code__in=["Y15T39", "Y_GE40"]).exists()
    # only people aged 40 and over can count: the young are furthest behind, whatever their sex
    run = computed(study, "by-age", [SEX, AGE], "covered == 'yes' and age >= 40")
    behind, ahead = run.lnob["furthest_behind"], run.lnob["furthest_ahead"]
    assert behind["conditions"] == {"AGE": ["Y15T39"]} and behind["mean"] == 0
    assert behind["description_en"] == "15 to 39 years old"
    assert behind["description_vi"] == "15–39 tuổi"
    assert ahead["conditions"]["AGE"] == ["Y_GE40"]
    assert "40 years old and over" in ahead["description_en"]
    assert "từ 40 tuổi trở lên" in ahead["description_vi"]


@pytest.mark.parametrize(
    ("dimensions", "numerator"),
    [
        ([SEX, AGE], "covered == 'yes' and age >= 40"),
        ([SEX, AGE], "covered == 'yes'"),
        ([PROVINCE], "covered == 'yes' and province in ['01', '79']"),
    ],
)
def test_stored_sentences_read_as_the_pages_word_them(study, dimensions, numerator):  # noqa: F811
    """Every leaf's stored description is what the pages word afresh from its conditions, in both
    languages (places keep their capitals, other labels are lower-cased inside the sentence)."""
    run = computed(study, "group", dimensions, numerator)
    leaves = run.lnob["leaves"]
    assert len(leaves) >= 2
    for leaf in leaves:
        assert evidence.described_group(leaf, run.definition) == leaf
    if dimensions == [PROVINCE]:
        assert any("Hà Nội" in leaf["description_vi"] for leaf in leaves), leaves
