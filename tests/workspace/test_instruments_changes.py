"""What a new version of the demo form changes for its 300 earlier submissions, counted answer by answer."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from openpyxl import load_workbook

from tests.workspace.test_instruments_pages import DEMO_FORM
from voicescount.collection import instrument_review as review
from voicescount.collection.instrument_changes import compare_versions

pytestmark = pytest.mark.django_db


def edited_demo_form(version: str = "2022.2") -> bytes:
    """The demo form with choices recoded and removed and an answer made required."""
    workbook = load_workbook(DEMO_FORM)
    choices = workbook["choices"]
    for row in reversed(list(choices.iter_rows(min_row=2))):
        if (row[0].value, row[1].value) == ("sex", "male"):
            row[1].value = "m"  # the same answer (its labels unchanged) under another code
        elif (row[0].value, row[1].value) in (("education", "vocational"), ("benefits", "covid_support")):
            choices.delete_rows(row[0].row)
    survey = workbook["survey"]
    required = [c.value for c in survey[1]].index("required")
    for row in survey.iter_rows(min_row=2):
        if row[1].value == "monthly_earnings":
            row[required].value = "yes"
    settings = workbook["settings"]
    settings.cell(row=2, column=[c.value for c in settings[1]].index("version") + 1, value=version)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_recoded_and_removed_choices_and_a_new_required_answer_are_counted(demo_study_with_data):
    study = demo_study_with_data
    submissions = study.submissions.all()
    values = [s.values for s in submissions]
    male = sum(v.get("sex") == "male" for v in values)
    vocational = sum(v.get("education") == "vocational" for v in values)
    covid = sum("covid_support" in (v.get("sp_benefit") or []) for v in values)
    blank = sum(v.get("monthly_earnings") in (None, "") for v in values)
    assert min(male, vocational, covid, blank) > 0  # the demo data has each case
    preview = review.preview_upload(study, "v2.xlsx", edited_demo_form())
    found = {(c.kind, c.question): c for c in preview.changes}
    assert set(found) == {
        ("choice_recoded", "sex"),
        ("choices_removed", "education"),
        ("choices_removed", "sp_benefit"),
        ("required_added", "monthly_earnings"),
    }
    assert (found["choice_recoded", "sex"].old, found["choice_recoded", "sex"].new) == ("male", "m")
    assert found["choice_recoded", "sex"].submissions == male
    assert found["choices_removed", "education"].submissions == vocational
    assert found["choices_removed", "sp_benefit"].submissions == covid
    assert found["required_added", "monthly_earnings"].submissions == blank
    # A blank where the question is skipped is as it should be: required where asked breaks nothing sure.
    assert [c.question for c in preview.changes if not c.breaking] == ["monthly_earnings"]
    always = dict(preview.definition)
    always["questions"] = [
        q | {"relevant": ""} if q["name"] == "monthly_earnings" else q for q in always["questions"]
    ]
    asked_of_all = compare_versions(study.instruments.get(), always, preview.roles)[0]
    assert [(c.submissions, c.breaking) for c in asked_of_all if c.kind == "required_added"] == [
        (blank, True)
    ]
    with translation.override("en"):
        assert found["choice_recoded", "sex"].text == (
            f"'sex': the answer coded male is coded m in the new version; {male} submissions hold the old "
            "code."
        )
        assert found["required_added", "monthly_earnings"].text == (
            f"'monthly_earnings' is now required where it is asked; {blank} earlier submissions have no "
            "answer to it (some may not have been asked)."
        )
    with translation.override("vi"):
        assert f"{vocational} phiếu đã chọn vocational cho 'education'" in (
            found["choices_removed", "education"].text
        )


def test_compatible_changes_and_roles_of_plain_answers_do_not_break(demo_study_with_data):
    study = demo_study_with_data
    previous = study.instruments.get()
    definition = dict(previous.definition)
    definition["questions"] = [
        q | {"type": "decimal"} if q["name"] == "hh_size" else q for q in previous.definition["questions"]
    ]
    roles = {**previous.roles, "ethnicity": "", "marital": "personal"}
    changes, added = compare_versions(previous, definition, roles)
    assert added == []
    assert {(c.kind, c.question, c.breaking) for c in changes} == {
        ("role_changed", "ethnicity", False),  # no longer a dimension: earlier answers are as they were
        ("role_changed", "marital", False),  # encrypted from now on: nothing earlier relied on it
    }
    moved = compare_versions(previous, definition, {**previous.roles, "respondent_id": "personal"})[0]
    assert [(c.question, c.breaking) for c in moved] == [("respondent_id", True)]  # pseudonyms came from it
