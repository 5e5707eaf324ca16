"""The SDG framework and code lists as loaded from the committed files."""

import unicodedata

import pytest

from voicescount.framework import loaders, selectors
from voicescount.framework.models import Code, Framework, Goal, Indicator, Target, sort_key

pytestmark = pytest.mark.django_db


def test_complete_global_framework():
    assert Goal.objects.count() == 17
    assert Target.objects.count() == 169
    # 251 indicator listings in the framework after the 2025 review (some repeat under several targets).
    assert Indicator.objects.filter(framework__code="global").count() == 251
    assert Target.objects.filter(code="17.19").exists()


def test_indicator_codes_titles_and_unsd_codes():
    indicator = selectors.indicator_by_code("1.1.1")
    assert indicator.target.code == "1.1" and indicator.target.goal.number == 1
    assert indicator.unsd_codes == "C010101"
    assert indicator.title_en.startswith(
        "Proportion of the population living below the international poverty line"
    )
    assert selectors.indicator_by_code("16.b.1").target.code == "16.b"


@pytest.mark.parametrize("number", [1, 4, 5, 8, 13, 16])
def test_vietnamese_titles_for_the_survey_goals_are_complete_and_marked_unofficial(number):
    goal = Goal.objects.get(number=number)
    assert goal.title_vi and goal.short_title_vi and goal.vi_unofficial
    for target in goal.targets.all():
        assert target.title_vi, target.code
        assert target.vi_unofficial
        for indicator in target.indicators.all():
            assert indicator.title_vi and indicator.vi_unofficial, indicator.code
            assert unicodedata.is_normalized("NFC", indicator.title_vi)


def test_every_goal_has_a_vietnamese_name():
    assert not Goal.objects.filter(short_title_vi="").exists()


def test_loading_twice_changes_nothing():
    before = (Goal.objects.count(), Target.objects.count(), Indicator.objects.count(), Code.objects.count())
    loaders.load_all()
    after = (Goal.objects.count(), Target.objects.count(), Indicator.objects.count(), Code.objects.count())
    assert before == after


def test_targets_and_indicators_sort_naturally():
    goal = selectors.goal_detail(1)
    assert [t.code for t in goal.targets.all()] == ["1.1", "1.2", "1.3", "1.4", "1.5", "1.a", "1.b"]
    assert sort_key("1.10.1") > sort_key("1.9.1") and sort_key("1.a.1") > sort_key("1.10.1")
    assert [g.number for g in selectors.goals_with_counts()] == list(range(1, 18))


def test_code_lists_follow_sdmx_and_add_cgd_dimensions():
    assert [c.code for c in selectors.code_list("SEX")] == ["_T", "F", "M"]
    assert {"PD", "NPD"} <= {c.code for c in selectors.code_list("DISABILITY_STATUS")}
    assert {"U", "R"} <= {c.code for c in selectors.code_list("URBANISATION")}
    assert "Y15T24" in {c.code for c in selectors.code_list("AGE")}
    groups = {c.code for c in selectors.code_list("POPULATION_GROUP")}
    assert {"YOUTH", "WOMEN", "PWD", "CHILD", "LGBT", "EM"} <= groups


def test_complementary_indicator_links_to_the_global_one():
    framework = Framework.objects.create(code="vn-cso", kind=Framework.Kind.COMPLEMENTARY, name_en="CSO")
    global_indicator = selectors.indicator_by_code("5.2.1")
    own = Indicator.objects.create(
        framework=framework, code="5.2.1.a", title_en="Women who feel safe", linked_global=global_indicator
    )
    assert list(global_indicator.linked_indicators.all()) == [own]
    assert selectors.indicator_by_code("5.2.1.a", framework="vn-cso") == own


def test_a_broken_reference_file_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "code-lists.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(loaders, "DATA", tmp_path)
    with pytest.raises(loaders.ReferenceDataError, match="code-lists.json: cannot read"):
        loaders.load_code_lists()
    with pytest.raises(loaders.ReferenceDataError, match="global-framework.csv: cannot read"):
        loaders.load_global_framework()


def test_a_malformed_framework_row_names_the_file_and_line(tmp_path, monkeypatch):
    rows = (loaders.DATA / "global-framework.csv").read_text(encoding="utf-8").splitlines()
    rows[3] = "target,1.x,99,,,A target of a goal that does not exist"
    (tmp_path / "global-framework.csv").write_text("\n".join(rows), encoding="utf-8")
    monkeypatch.setattr(loaders, "DATA", tmp_path)
    with pytest.raises(loaders.ReferenceDataError, match="global-framework.csv: line 4: KeyError"):
        loaders.load_global_framework()
