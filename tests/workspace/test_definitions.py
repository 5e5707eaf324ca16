"""Indicator definitions in the workspace: the list, a new definition and its versions, the live preview
(the same numbers a run stores), the errors of bad expressions, and who may do what."""

from __future__ import annotations

from html import unescape

import pytest
from django.utils import translation

from voicescount.collection.models import AuditEntry
from voicescount.indicators.compute import latest_run
from voicescount.indicators.definition_service import (
    DefinitionInvalid,
    analysis_data,
    check_definition,
    preview,
    save_definition,
    version_fields,
)
from voicescount.indicators.models import AnalysisSnapshot, DefinitionVersion, IndicatorDefinition

pytestmark = pytest.mark.django_db

NEW = {
    "indicator": "8.10.2",
    "code": "account-youth",
    "title_en": "Young people aged 16 to 24 with an account",
    "title_vi": "Thanh niên 16–24 tuổi có tài khoản",
    "kind": "proportion",
    "universe": "age >= 16 and age <= 24 and has_account in ['yes', 'no']",
    "numerator": "has_account == 'yes'",
    "unit": "PT",
    "direction": "",
    "interval_method": "logit",
}


def url(study, tail: str = "", lang: str = "en") -> str:
    return f"/{lang}/workspace/studies/{study.slug}/definitions/{tail}"


def form_data(definition: IndicatorDefinition) -> dict:
    """A saved definition's fields as the form posts them."""
    from voicescount.workspace.definition_forms import DefinitionForm

    initial = DefinitionForm.initial_of(definition)
    return {k: v for k, v in initial.items() if v is not None} | {"editing": definition.code}


def with_sex_and_urbanisation(study, data: dict) -> dict:
    from voicescount.workspace.definition_forms import dimension_value

    sex, urban = (
        next(s for d in study.indicator_definitions.all() for s in d.dimensions if s["code_list"] == name)
        for name in ("SEX", "URBANISATION")
    )
    return data | {
        "dimensions": [dimension_value(sex), dimension_value(urban)],
        "intersections": "SEX\nURBANISATION",
    }


@pytest.mark.parametrize("code", ["sp-coverage", "hourly-earnings", "child-school-attendance"])
def test_preview_of_a_demo_definition_is_its_runs_total(signed_in, demo_study_with_data, code):
    # proportion, mean, and a total flagged imprecise (25-49 respondents)
    study = demo_study_with_data
    definition = study.indicator_definitions.get(code=code)
    stored = latest_run(definition).estimates.get(key="_T")
    data = version_fields(definition) | {"indicator": definition.indicator}
    shown = preview(study, data)
    assert shown.error == ""
    assert (shown.estimate, shown.se, shown.ci_low, shown.ci_high) == (
        stored.estimate,
        stored.se,
        stored.ci_low,
        stored.ci_high,
    )
    assert (shown.n, shown.weighted_n, shown.flag) == (stored.n, stored.weighted_n, stored.flag)
    assert shown.cells == latest_run(definition).estimates.count() - 1
    # the page's fragment shows the same total, rounded
    client = signed_in("coordinator", "en")
    html = client.post(url(study, "preview/"), form_data(definition)).content.decode()
    scale = 100 if definition.kind == "proportion" else 1
    assert f"{stored.estimate * scale:,.1f}" in html
    assert f"{stored.ci_low * scale:,.1f} – {stored.ci_high * scale:,.1f}" in html
    assert f"<dd>{stored.n}</dd>" in html


def test_preview_reads_the_current_snapshot_and_builds_none(signed_in, demo_study_with_data):
    study = demo_study_with_data
    client = signed_in("analyst", "en")
    snapshots = AnalysisSnapshot.objects.count()
    first = analysis_data(study)
    for numerator in ("has_account == 'yes'", "has_account == 'no'", "owns_cellphone == 'yes'"):
        response = client.post(url(study, "preview/"), NEW | {"numerator": numerator})
        assert response.status_code == 200 and "n (respondents)" in response.content.decode()
    assert AnalysisSnapshot.objects.count() == snapshots
    assert analysis_data(study) is first  # the same data, kept between previews


def test_a_new_definition_is_saved_and_edited_as_versions(signed_in, demo_study_with_data):
    study = demo_study_with_data
    client = signed_in("coordinator", "en")
    assert client.get(url(study, "new/")).status_code == 200
    response = client.post(url(study, "new/"), with_sex_and_urbanisation(study, NEW))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == url(study, "account-youth/edit/")
    definition = study.indicator_definitions.get(code="account-youth")
    assert (definition.version, definition.indicator.code, definition.kind) == (1, "8.10.2", "proportion")
    assert [d["code_list"] for d in definition.dimensions] == ["SEX", "URBANISATION"]
    assert definition.intersections == [["SEX"], ["URBANISATION"]]
    first = definition.versions.get()
    assert first.version == 1 and first.fields == version_fields(definition)
    assert first.saved_by.username == "coordinator"
    audit = AuditEntry.objects.get(action="definition_saved")
    assert audit.details == {"code": "account-youth", "version": 1}
    assert (audit.study, audit.organisation, audit.actor) == (study, study.organisation, first.saved_by)

    edited = form_data(definition) | {"universe": "age >= 16 and age <= 30 and has_account in ['yes', 'no']"}
    response = client.post(url(study, "account-youth/edit/"), edited)
    assert response.status_code == 302
    definition.refresh_from_db()
    assert definition.version == 2 and "age <= 30" in definition.universe
    kept = {v.version: v.fields for v in definition.versions.all()}
    assert set(kept) == {1, 2}
    assert kept[1]["universe"] == NEW["universe"] and kept[2]["universe"] == definition.universe
    page = unescape(client.get(url(study, "account-youth/edit/")).content.decode())
    assert "Version 1" in page and "Version 2" in page and NEW["universe"] in page

    # saving it unchanged makes no third version
    assert client.post(url(study, "account-youth/edit/"), form_data(definition)).status_code == 302
    assert IndicatorDefinition.objects.get(pk=definition.pk).version == 2


def test_editing_a_package_definition_keeps_its_first_version(signed_in, demo_study):
    definition = demo_study.indicator_definitions.get(code="financial-account")
    before = version_fields(definition)
    assert not definition.versions.exists()  # loaded from the study package, before versions were kept
    client = signed_in("coordinator", "vi")
    page = client.get(url(demo_study, "financial-account/edit/", "vi"))
    assert page.status_code == 200
    response = client.post(
        url(demo_study, "financial-account/edit/", "vi"), form_data(definition) | {"direction": "neutral"}
    )
    assert response.status_code == 302
    kept = {v.version: v.fields for v in definition.versions.all()}
    assert kept[1] == before and kept[2]["direction"] == "neutral"


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("numerator", "has_acount == 'yes'", "Unknown name(s): has_acount."),
        ("universe", "age >= 16 and", "Not a valid expression"),
        ("universe", "age >= 16 and phone != ''", "phone: personal data"),
        ("numerator", "__import__('os')", "Unknown function '__import__'"),
    ],
)
def test_a_bad_expression_is_named_and_nothing_is_saved(
    signed_in, demo_study_with_data, field, text, message
):
    study = demo_study_with_data
    client = signed_in("coordinator", "en")
    definitions, versions = study.indicator_definitions.count(), DefinitionVersion.objects.count()
    response = client.post(url(study, "new/"), NEW | {field: text})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "Nothing was saved" in html and message in html
    assert f'id="errors-{field}"' in html
    preview_html = unescape(client.post(url(study, "preview/"), NEW | {field: text}).content.decode())
    assert message in preview_html and "n (respondents)" not in preview_html
    assert study.indicator_definitions.count() == definitions
    assert DefinitionVersion.objects.count() == versions
    assert not AuditEntry.objects.filter(action="definition_saved").exists()


def test_an_edit_with_a_bad_expression_changes_nothing(signed_in, demo_study_with_data):
    study = demo_study_with_data
    definition = study.indicator_definitions.get(code="sp-coverage")
    before = version_fields(definition)
    client = signed_in("coordinator", "en")
    response = client.post(
        url(study, "sp-coverage/edit/"), form_data(definition) | {"numerator": "selected(sp_benefit"}
    )
    assert response.status_code == 200 and "Not a valid expression" in response.content.decode()
    definition.refresh_from_db()
    assert version_fields(definition) == before and not definition.versions.exists()


def test_what_each_kind_needs(demo_study):
    data = dict(NEW)
    with translation.override("en"):
        assert check_definition(demo_study, data | {"kind": "ratio", "value": "hours_week"}) == {
            "denominator": ["A ratio needs this expression."]
        }
        assert check_definition(demo_study, data | {"kind": "mean"}) == {
            "value": ["A mean needs this expression."]
        }
        assert check_definition(demo_study, data | {"numerator": ""}) == {
            "numerator": ["A proportion needs this expression."]
        }
        errors = check_definition(
            demo_study, data | {"dimensions": [{"code_list": "SEX", "source": "stratum"}]}
        )
        assert (
            list(errors) == ["dimensions"]
            and "stratum is not a dimension question" in errors["dimensions"][0]
        )
        errors = check_definition(
            demo_study,
            data | {"dimensions": [{"code_list": "SEX", "source": "sex", "codes": {"female": "W"}}]},
        )
        assert errors == {"dimensions": ["W: not code(s) of SEX."]}
        errors = check_definition(
            demo_study,
            data | {"dimensions": [{"code_list": "AGE", "source": "age", "bins": [[24, "16", "Y"]]}]},
        )
        assert errors == {"dimensions": ['AGE: bins are [lowest, highest, code], e.g. [16, 24, "Y16T24"].']}
        # a mean reads no numerator, but one kept must still be usable
        errors = check_definition(
            demo_study, data | {"kind": "mean", "value": "hh_size", "numerator": "x =="}
        )
        assert list(errors) == ["numerator"]
        errors = check_definition(demo_study, data | {"intersections": [["SEX", "AGE"]]})
        assert errors == {"intersections": ["SEX × AGE: not among the dimensions: AGE, SEX."]}
        assert check_definition(demo_study, data | {"code": "sp-coverage"}) == {
            "code": ["The study already has a definition sp-coverage."]
        }


def test_every_demo_definition_passes_the_checks(demo_study):
    for definition in demo_study.indicator_definitions.select_related("indicator"):
        data = version_fields(definition) | {"indicator": definition.indicator}
        assert check_definition(demo_study, data, definition=definition) == {}, definition.code


def test_the_service_refuses_without_the_right_to_edit(demo_study):
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    reviewer = get_user_model().objects.get(username="nso-reviewer")
    with pytest.raises(PermissionDenied):
        save_definition(demo_study, NEW, by=reviewer)
    coordinator = get_user_model().objects.get(username="coordinator")
    with pytest.raises(DefinitionInvalid) as caught:
        save_definition(demo_study, NEW | {"kind": "ratio", "value": "x"}, by=coordinator)
    assert set(caught.value.errors) == {"value", "denominator"}
    assert not IndicatorDefinition.objects.filter(code="account-youth").exists()


def test_the_list_shows_kind_version_and_direction(signed_in, demo_study):
    client = signed_in("coordinator", "vi")
    html = client.get(url(demo_study, "", "vi")).content.decode()
    with translation.override("vi"):
        assert "sp-coverage" in html and "1.3.1" in html and "Tỷ lệ" in html
    assert f'href="{url(demo_study, "new/", "vi")}"' in html
    assert (
        f'href="{url(demo_study, "", "vi")}"'
        in client.get(f"/vi/workspace/studies/{demo_study.slug}/").content.decode()
    )


def test_an_analyst_may_save(signed_in, demo_study_with_data):
    study = demo_study_with_data
    response = signed_in("analyst", "en").post(url(study, "new/"), NEW)
    assert response.status_code == 302
    assert study.indicator_definitions.get(code="account-youth").versions.get().saved_by.username == "analyst"


def test_an_enumerator_is_refused(signed_in, demo_study):
    client = signed_in("enumerator", "en")
    assert client.get(url(demo_study)).status_code == 403
    assert client.get(url(demo_study, "new/")).status_code == 403
    assert client.post(url(demo_study, "new/"), NEW).status_code == 403
    assert client.post(url(demo_study, "preview/"), NEW).status_code == 403
    assert client.get(url(demo_study, "sp-coverage/edit/")).status_code == 403
    assert not demo_study.indicator_definitions.filter(code="account-youth").exists()


def test_a_reviewer_reads_but_does_not_save(signed_in, demo_study_with_data):
    demo_study = demo_study_with_data
    client = signed_in("nso-reviewer", "en")
    definition = demo_study.indicator_definitions.get(code="sp-coverage")
    page = client.get(url(demo_study, "sp-coverage/edit/")).content.decode()
    assert "Version 1" in page and "Save as a new version" not in page and "disabled" in page
    # its fields are disabled (a browser sends none of them): the page shows the saved definition's total
    assert "n (respondents)" in page and "hx-post" not in page
    assert client.get(url(demo_study, "new/")).status_code == 403
    assert client.post(url(demo_study, "sp-coverage/edit/"), form_data(definition)).status_code == 403


def test_another_organisation_finds_nothing(signed_in, demo_study):
    client = signed_in("youth-coordinator", "en")
    for tail in ("", "new/", "sp-coverage/edit/"):
        assert client.get(url(demo_study, tail)).status_code == 404
    assert client.post(url(demo_study, "preview/"), NEW).status_code == 404
    assert client.post(url(demo_study, "new/"), NEW).status_code == 404
