"""Every indicator has a direction, and "furthest behind" is the worst-off group in that direction
(issue 13, item 1): on the demo, where a higher value is worse (poverty, violence, NEET, bribery) the
group named furthest behind has the highest rate; where it is better, the lowest; a neutral indicator
names its lowest and highest groups and no one behind or ahead. ESCAP's D-index is computed on the
opportunity (``1 − rate`` for a barrier)."""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from voicescount.collection.models import Study
from voicescount.framework import loaders
from voicescount.framework.models import Indicator
from voicescount.indicators.compute import compute_definition, latest_run
from voicescount.indicators.models import IndicatorDefinition

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
RESPONDENTS = 1000

# What the demo's definitions measure, written out here rather than read from the code under test.
HIGHER_WORSE = {
    "poor-household-list",  # 1.2.2 poverty
    "disaster-affected",
    "violence-12m",  # 16.1.3
    "partner-violence",  # 5.2.1
    "discrimination",
    "discrimination-sogi",
    "youth-neet",  # 8.6.1
    "unemployment-rate",
    "bribery",  # 16.5.1
    "child-violent-discipline",  # 16.2.1
}
NAMED_IN_THE_ISSUE = {
    "poor-household-list",
    "partner-violence",
    "bribery",
    "youth-neet",
    "violence-12m",
    "child-violent-discipline",
}


@pytest.fixture
def demo() -> Study:
    from voicescount.accounts.demo import create_demo_accounts
    from voicescount.demo.load import load_demo_study

    create_demo_accounts()
    load_demo_study(respondents=RESPONDENTS)
    return Study.objects.get(slug="vn-cgd-2022")


def _means(lnob: dict) -> list[float]:
    return [leaf["mean"] for leaf in lnob["leaves"]]


def test_furthest_behind_is_the_worst_off_group_in_the_indicators_direction(demo):
    checked = defaultdict(set)
    for definition in demo.indicator_definitions.filter(kind="proportion"):
        lnob = latest_run(definition).lnob
        if not lnob.get("leaves") or len(lnob["leaves"]) < 2:
            continue
        behind, ahead, means = lnob["furthest_behind"], lnob["furthest_ahead"], _means(lnob)
        if definition.code in HIGHER_WORSE:
            assert behind["mean"] == max(means) > ahead["mean"] == min(means), definition.code
            checked["higher_worse"].add(definition.code)
        else:
            assert behind["mean"] == min(means) < ahead["mean"] == max(means), definition.code
            checked["higher_better"].add(definition.code)
    assert NAMED_IN_THE_ISSUE <= checked["higher_worse"], checked
    assert len(checked["higher_better"]) >= 8, checked


def test_the_stored_result_states_its_direction_and_the_d_index_is_on_the_opportunity(demo):
    for definition in demo.indicator_definitions.filter(kind="proportion"):
        lnob = latest_run(definition).lnob
        if not lnob.get("leaves"):
            continue
        worse = definition.code in HIGHER_WORSE
        assert lnob["direction"] == ("higher_worse" if worse else "higher_better"), definition.code
        overall = sum(leaf["mean"] * leaf["weight_share"] for leaf in lnob["leaves"])
        # ESCAP: coverage (and D, HOI) of the opportunity — the absence of the barrier where higher is worse
        assert lnob["coverage"] == pytest.approx(1 - overall if worse else overall), definition.code
        assert lnob["d_index_of"] == ("1 - rate" if worse else "rate")
        for leaf in lnob["leaves"]:
            assert leaf["opportunity"] == pytest.approx(1 - leaf["mean"] if worse else leaf["mean"])


def test_the_stored_sentences_say_which_end_is_behind_in_both_languages(demo):
    poverty = latest_run(demo.indicator_definitions.get(code="poor-household-list")).lnob
    behind, ahead = poverty["furthest_behind"], poverty["furthest_ahead"]
    assert poverty["sentence_en"] == (
        f"Furthest behind (highest rate): {behind['description_en']}, {100 * behind['mean']:.1f}%; "
        f"furthest ahead (lowest rate): {ahead['description_en']}, {100 * ahead['mean']:.1f}%."
    )
    vi_behind = f"{100 * behind['mean']:.1f}".replace(".", ",")
    assert poverty["sentence_vi"].startswith(
        f"Bị bỏ lại xa nhất (tỷ lệ cao nhất): {behind['description_vi']}, {vi_behind}%; "
        "đi trước xa nhất (tỷ lệ thấp nhất): "
    )
    coverage = latest_run(demo.indicator_definitions.get(code="sp-coverage")).lnob
    assert coverage["sentence_en"].startswith("Furthest behind (lowest rate): ")
    assert "furthest ahead (highest rate): " in coverage["sentence_en"]
    assert coverage["sentence_vi"].startswith("Bị bỏ lại xa nhất (tỷ lệ thấp nhất): ")


def _copy(study: Study, code: str, new_code: str, **changes) -> IndicatorDefinition:
    spec = IndicatorDefinition.objects.get(study=study, code=code)
    spec.pk, spec.code = None, new_code
    for field, value in changes.items():
        setattr(spec, field, value)
    spec.save()
    return spec


def test_a_neutral_definition_has_lowest_and_highest_and_no_one_behind(demo):
    neutral = _copy(demo, "poor-household-list", "poverty-neutral", direction="neutral")
    lnob = compute_definition(neutral).lnob
    assert lnob["direction"] == "neutral"
    assert "furthest_behind" not in lnob and "furthest_ahead" not in lnob
    means = _means(lnob)
    assert lnob["lowest"]["mean"] == min(means) and lnob["highest"]["mean"] == max(means)
    assert lnob["sentence_en"].startswith(f"Lowest rate: {lnob['lowest']['description_en']}, ")
    assert lnob["sentence_vi"].startswith(f"Tỷ lệ thấp nhất: {lnob['lowest']['description_vi']}, ")
    for word in ("behind", "ahead"):
        assert word not in lnob["sentence_en"]
    for word in ("bị bỏ lại", "đi trước"):
        assert word not in lnob["sentence_vi"].lower()
    # D on the rate as given, not on its absence: another number than the barrier's
    barrier = latest_run(demo.indicator_definitions.get(code="poor-household-list")).lnob
    assert lnob["d_index_of"] == "rate" and lnob["d_index"] != pytest.approx(barrier["d_index"])


def test_a_blank_direction_is_the_indicators_and_a_change_recomputes(demo):
    from voicescount.indicators.direction import direction_of

    blank = _copy(demo, "poor-household-list", "poverty-default", direction="")
    assert direction_of(blank) == "higher_worse" == blank.indicator.direction
    run = compute_definition(blank)
    assert run.lnob["direction"] == "higher_worse"
    assert compute_definition(blank) is None  # nothing changed
    blank.direction = "higher_better"
    blank.save()
    changed = compute_definition(blank)  # the direction is part of what a run depends on
    assert changed is not None and changed.lnob["direction"] == "higher_better"
    assert changed.lnob["furthest_behind"]["mean"] == min(_means(changed.lnob))
    attendance = demo.indicator_definitions.get(code="child-school-attendance")
    assert attendance.indicator.direction == "neutral"  # 4.5.1: parity indices
    assert direction_of(attendance) == "higher_better"  # the definition measures attendance


def _direction_rows() -> list[dict[str, str]]:
    with (loaders.DATA / "indicator_direction.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_global_indicator_has_a_curated_direction_with_a_reason():
    rows = _direction_rows()
    with (loaders.DATA / "global-framework.csv").open(encoding="utf-8", newline="") as fh:
        framework = [r for r in csv.DictReader(fh) if r["kind"] == "indicator"]
    assert [r["code"] for r in rows] == [r["code"] for r in framework]
    assert all(r["direction"] in ("higher_better", "higher_worse", "neutral") for r in rows)
    assert all(r["reason"].strip() for r in rows)
    # an indicator listed under several targets has one direction
    by_title = defaultdict(set)
    direction = {r["code"]: r["direction"] for r in rows}
    for r in framework:
        by_title[r["title"]].add(direction[r["code"]])
    assert all(len(d) == 1 for d in by_title.values())


def test_the_directions_are_loaded_onto_the_indicators():
    loaded = dict(Indicator.objects.filter(framework__code="global").values_list("code", "direction"))
    assert loaded == {r["code"]: r["direction"] for r in _direction_rows()}
    assert {loaded[c] for c in ("1.2.2", "5.2.1", "8.6.1", "16.5.1", "16.1.3", "16.2.1", "2.1.1")} == {
        "higher_worse"
    }
    assert {loaded[c] for c in ("1.3.1", "4.1.2", "6.1.1", "16.9.1", "17.8.1")} == {"higher_better"}
    assert loaded["4.5.1"] == "neutral"


def test_a_direction_outside_the_choices_names_its_line(tmp_path, monkeypatch):
    (tmp_path / "indicator_direction.csv").write_text(
        "code,direction,reason\n1.1.1,higher_worse,poverty\n1.2.1,lower_better,poverty\n", encoding="utf-8"
    )
    monkeypatch.setattr(loaders, "DATA", tmp_path)
    with pytest.raises(loaders.ReferenceDataError, match=r"indicator_direction.csv: line 3: .*lower_better"):
        loaders.indicator_directions()
