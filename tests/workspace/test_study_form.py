"""Creating a study and editing its methodology through the workspace's guided form, signed in through the
site's own sign-in page: what is stored, what is refused (and then nothing changes), who may do it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import model_to_dict
from django.utils import translation

from voicescount.accounts.models import Organisation
from voicescount.collection import study_service
from voicescount.collection.models import AuditEntry, Study
from voicescount.geography.collation import place_key
from voicescount.geography.models import Area
from voicescount.geography.selectors import provinces_on

pytestmark = pytest.mark.django_db

ORGANISATION = "community-dev-centre"
NEW = f"/{{lang}}/workspace/studies/new/?organisation={ORGANISATION}"


def edit_url(study, lang="en") -> str:
    return f"/{lang}/workspace/studies/{study.slug}/edit/"


def posted(study: Study, **changes) -> dict:
    """What the form sends for ``study`` as it is stored, with ``changes`` (field → value)."""
    values = {field: getattr(study, field) for field in study_service.EDITABLE_FIELDS}
    values["areas"] = list(study.areas.values_list("code", flat=True))
    values |= changes
    data = {}
    for field, value in values.items():
        if isinstance(value, bool):
            if value:
                data[field] = "on"
        elif isinstance(value, dt.date):
            data[field] = value.isoformat()
        elif value is None:
            data[field] = ""
        else:
            data[field] = value
    return data


def stored(study: Study) -> dict:
    study = Study.objects.get(pk=study.pk)
    return model_to_dict(study) | {"areas": sorted(study.areas.values_list("code", flat=True))}


def checkbox_values(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="checkbox" name="{name}" value="([^"]+)"', html)


NEW_STUDY = {
    "title_vi": "Tiếng nói thanh niên về việc làm, Đà Nẵng và Hà Nội 2026",
    "title_en": "Young people's voices on work, Đà Nẵng and Hà Nội 2026",
    "summary_vi": "Khảo sát thanh niên và trẻ em về việc làm và học nghề.",
    "summary_en": "A survey of young people and children on work and training.",
    "method": "household_survey",
    "partners": "Two youth unions (this test names none).",
    "period_start": "2026-03-01",
    "period_end": "2026-05-31",
    "areas": ["VN-2025-48", "VN-01"],
    "target_groups": ["YOUTH", "CHILD", "WOMEN"],
    "planned_sample_size": "1200",
    "sampling_description_vi": "Mẫu phân tầng hai giai đoạn: 40 phường, mỗi phường 30 người.",
    "sampling_description_en": "Stratified two-stage sample: 40 wards, 30 people in each.",
    "weight_variable": "weight",
    "strata_variable": "stratum",
    "psu_variable": "ward",
    "fpc_variable": "wards_in_stratum",
    "ssu_variable": "household",
    "fpc2_variable": "households_in_ward",
    "lonely_psu": "certainty",
    "consent_procedure": "guardian_assent",
    "consent_notes_vi": "Cha mẹ đồng ý trước, trẻ em đồng thuận sau.",
    "consent_notes_en": "A parent consents first, then the child assents.",
    "min_cell_size": "20",
    "suppress_below": "",
    "caution_below": "60",
    "status": "collecting",
}


def test_a_coordinator_creates_a_study_in_vietnamese_and_it_is_stored_exactly(signed_in, demo_accounts):
    client = signed_in("coordinator", "vi")
    page = client.get(NEW.format(lang="vi"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Nghiên cứu mới" in html and "Thiết kế mẫu" in html
    assert 'class="field-row side-by-side"' in html  # title_vi | title_en
    response = client.post(NEW.format(lang="vi"), NEW_STUDY)
    study = Study.objects.get(title_en=NEW_STUDY["title_en"])
    assert response.status_code == 302
    assert response["Location"] == f"/vi/workspace/studies/{study.slug}/"
    assert study.slug == "young-peoples-voices-on-work-da-nang-and-ha"  # cut between words
    assert study.organisation.slug == ORGANISATION
    for field in ("title_vi", "summary_vi", "summary_en", "method", "partners", "sampling_description_vi"):
        assert getattr(study, field) == NEW_STUDY[field]
    assert (study.period_start, study.period_end) == (dt.date(2026, 3, 1), dt.date(2026, 5, 31))
    assert sorted(study.areas.values_list("code", flat=True)) == ["VN-01", "VN-2025-48"]
    assert study.target_groups == ["YOUTH", "WOMEN", "CHILD"]  # in the code list's order
    assert study.planned_sample_size == 1200
    design = [getattr(study, f) for f in study_service.DESIGN_VARIABLES]
    assert design == ["weight", "stratum", "ward", "wards_in_stratum", "household", "households_in_ward"]
    assert study.lonely_psu == "certainty"
    assert study.consent_procedure == Study.Consent.GUARDIAN_AND_ASSENT
    assert study.consent_notes_en == NEW_STUDY["consent_notes_en"]
    assert (study.min_cell_size, study.suppress_below, study.caution_below) == (20, None, 60)
    assert (study.status, study.is_public) == ("collecting", False)
    entry = AuditEntry.objects.get(study=study)
    assert entry.action == "study_created" and entry.actor.username == "coordinator"
    assert entry.organisation == study.organisation
    assert {"slug", "title_en", "areas", "consent_procedure", "psu_variable"} <= set(entry.details["fields"])
    hub = client.get(response["Location"]).content.decode()
    assert "Đã tạo nghiên cứu" in hub and NEW_STUDY["title_vi"] in hub


def test_editing_changes_the_study_and_writes_an_audit_entry(signed_in, demo_study):
    client = signed_in("coordinator", "vi")
    page = client.get(edit_url(demo_study, "vi"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="' + demo_study.title_en.replace("'", "&#x27;") + '"' in html
    assert '<datalist id="study-questions">' in html and '<option value="commune">' in html
    assert '<option value="phone">' not in html and "<code>respondent_name</code>" not in html  # personal
    data = posted(
        demo_study,
        title_en="Voices of communities on the SDGs, Viet Nam 2022 (demo, revised)",
        areas=["VN-22", "VN-04"],
        target_groups=["YOUTH", "PWD"],
        ssu_variable="hh_size",
        fpc_variable="hh_children_u5",
        lonely_psu="average",
        suppress_below="30",
        consent_notes_vi="Cha mẹ hoặc người giám hộ đồng ý trước.",
    )
    response = client.post(edit_url(demo_study, "vi"), data)
    assert response.status_code == 302 and response["Location"] == f"/vi/workspace/studies/{demo_study.slug}/"
    study = Study.objects.get(pk=demo_study.pk)
    assert study.title_en.endswith("(demo, revised)")
    assert sorted(study.areas.values_list("code", flat=True)) == ["VN-04", "VN-22"]
    assert study.target_groups == ["YOUTH", "PWD"]
    assert (study.ssu_variable, study.fpc_variable, study.lonely_psu) == (
        "hh_size",
        "hh_children_u5",
        "average",
    )
    assert study.suppress_below == 30 and study.consent_notes_vi.startswith("Cha mẹ")
    assert study.title_vi == demo_study.title_vi and study.is_public  # untouched
    entry = AuditEntry.objects.get(study=study, action="study_updated")
    assert entry.actor.username == "coordinator" and entry.organisation == study.organisation
    assert sorted(entry.details["fields"]) == sorted(
        [
            "title_en",
            "areas",
            "target_groups",
            "ssu_variable",
            "fpc_variable",
            "lonely_psu",
            "suppress_below",
            "consent_notes_vi",
        ]
    )
    assert "Đã lưu" in client.get(response["Location"]).content.decode()


def test_saving_without_a_change_writes_nothing(signed_in, demo_study):
    client = signed_in("coordinator")
    before = stored(demo_study)
    response = client.post(edit_url(demo_study), posted(demo_study))
    assert response.status_code == 302
    assert stored(demo_study) == before
    assert not AuditEntry.objects.filter(study=demo_study, action="study_updated").exists()
    assert "Nothing was changed." in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"period_start": "2022-06-30", "period_end": "2022-03-01"},
            "period_end",
            "The data collection cannot end (2022-03-01) before it starts (2022-06-30)",
        ),
        ({"min_cell_size": "3"}, "min_cell_size", "never looser (at least 10)"),
        (
            {"psu_variable": "village"},
            "psu_variable",
            "“village” is not a question of this study&#x27;s forms.",
        ),
        ({"strata_variable": "phone"}, "strata_variable", "“phone” is personal data, kept encrypted"),
        (
            {"areas": ["VN-01", "DK-84"]},
            "areas",
            "Select a valid choice. DK-84 is not one of the available choices.",
        ),
    ],
)
def test_invalid_input_is_shown_on_its_field_and_changes_nothing(
    signed_in, demo_study, changes, field, message
):
    client = signed_in("coordinator")
    before = stored(demo_study)
    response = client.post(edit_url(demo_study), posted(demo_study, title_en="Not saved", **changes))
    assert response.status_code == 200
    html = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert errors is not None, f"no error shown on {field}"
    assert message in errors.group(1)
    assert 'class="error-summary"' in html
    assert 'value="Not saved"' in html  # the input is shown again to be corrected
    assert stored(demo_study) == before
    assert not AuditEntry.objects.filter(study=demo_study, action="study_updated").exists()


def test_a_new_study_ending_before_it_starts_is_not_created(signed_in, demo_accounts):
    client = signed_in("coordinator", "vi")
    response = client.post(NEW.format(lang="vi"), NEW_STUDY | {"period_end": "2026-02-01", "slug": "x"})
    assert response.status_code == 200
    assert 'id="id_period_end_error"' in response.content.decode()
    assert not Study.objects.exists() and not AuditEntry.objects.exists()


def test_the_province_picker_lists_the_countrys_provinces_in_vietnamese_order(signed_in, demo_accounts):
    client = signed_in("coordinator", "vi")
    html = client.get(NEW.format(lang="vi")).content.decode()
    offered = checkbox_values(html, "areas")
    provinces = sorted(provinces_on("VN", dt.date.today()), key=lambda a: place_key(a.name))
    assert offered == [area.code for area in provinces]
    assert len(offered) == 34  # Viet Nam's provinces since 1 July 2025; no other country's, no regions
    names = [re.sub(r"^(Tỉnh|Thành phố) ", "", a.name) for a in provinces]
    # Vietnamese order, not code points: Cà < Cao < Cần, Lai < Lạng < Lào < Lâm, D… < Đ… < H…
    assert names.index("Cà Mau") < names.index("Cao Bằng") < names.index("Cần Thơ") < names.index("Đà Nẵng")
    assert (
        names.index("Lai Châu") < names.index("Lạng Sơn") < names.index("Lào Cai") < names.index("Lâm Đồng")
    )
    assert names.index("Điện Biên") < names.index("Hà Nội") < names.index("Hồ Chí Minh") < names.index("Huế")
    # The English name beside the Vietnamese one when it says more ("City"); 'Tỉnh'/'Thành phố' set apart.
    da_nang = 'Thành phố</span> Đà Nẵng</span> <span class="name-en" lang="en">Đà Nẵng City</span>'
    assert da_nang in html
    assert '<span class="kind">Tỉnh</span> Cà Mau</span></span>' in html
    assert "/static/workspace/study_form.js" in html and "data-province-filter hidden" in html


def test_a_study_keeps_a_former_province_it_names(signed_in, demo_study):
    demo_study.areas.set(provinces_on("VN", dt.date(2022, 6, 30)).filter(gso_code="02"))  # Hà Giang
    client = signed_in("coordinator")
    html = client.get(edit_url(demo_study)).content.decode()
    assert checkbox_values(html, "areas")[-1] == "VN-02" and "former province" in html
    response = client.post(edit_url(demo_study), posted(demo_study, title_en="Renamed"))
    assert response.status_code == 302
    assert list(demo_study.areas.values_list("code", flat=True)) == ["VN-02"]


def test_target_groups_are_labelled_in_the_pages_language(signed_in, demo_study):
    client = signed_in("coordinator", "en")
    en = client.get(edit_url(demo_study, "en")).content.decode()
    vi = client.get(edit_url(demo_study, "vi")).content.decode()
    assert "People with disabilities" in en and "Người khuyết tật" in vi
    assert checkbox_values(en, "target_groups") == [
        "YOUTH",
        "WOMEN",
        "PWD",
        "CHILD",
        "LGBT",
        "EM",
        "OLDER",
        "MIGRANT",
    ]
    assert re.search(r'value="LGBT"[^>]*checked', en) and not re.search(r'value="OLDER"[^>]*checked', en)


@pytest.mark.parametrize("username", ["enumerator", "nso-reviewer"])
def test_roles_that_may_not_edit_are_refused(signed_in, demo_study, username):
    client = signed_in(username)
    before = stored(demo_study)
    assert client.get(edit_url(demo_study)).status_code == 403
    assert client.post(edit_url(demo_study), posted(demo_study, title_en="x")).status_code == 403
    assert client.get(NEW.format(lang="en")).status_code == 403
    assert client.post(NEW.format(lang="en"), NEW_STUDY).status_code == 403
    assert client.get("/en/workspace/studies/new/").status_code == 403
    assert stored(demo_study) == before and Study.objects.count() == 1


def test_another_organisations_coordinator_finds_nothing(signed_in, demo_study):
    client = signed_in("youth-coordinator")
    assert client.get(edit_url(demo_study)).status_code == 404
    assert client.post(edit_url(demo_study), posted(demo_study, title_en="x")).status_code == 404
    assert client.get(NEW.format(lang="en")).status_code == 404
    # Their only organisation is chosen for them.
    page = client.get("/en/workspace/studies/new/").content.decode()
    assert "Youth Network for the SDGs (demo)" in page  # the organisation's English name on the English page
    assert 'name="title_en"' in page


def test_an_analyst_may_edit_but_not_make_public_or_unpublish(signed_in, demo_study):
    client = signed_in("analyst")
    html = client.get(edit_url(demo_study)).content.decode()
    assert 'name="is_public"' not in html
    assert re.search(r'<select name="status"[^>]*disabled', html)  # the study is published
    # The checkbox left out (as a browser sends "unticked") and another status: both ignored.
    data = posted(demo_study, title_en="Edited by the analyst", status="draft")
    del data["is_public"]
    response = client.post(edit_url(demo_study), data)
    assert response.status_code == 302
    study = Study.objects.get(pk=demo_study.pk)
    assert study.title_en == "Edited by the analyst"
    assert (study.is_public, study.status) == (True, "published")
    assert AuditEntry.objects.get(study=study, action="study_updated").details["fields"] == ["title_en"]


def test_the_service_refuses_to_let_an_analyst_change_publication(demo_study):
    analyst = demo_study.organisation.memberships.get(role="analyst").user
    before = stored(demo_study)
    with pytest.raises(ValidationError) as refused:
        study_service.update_study(demo_study, {"is_public": False, "title_en": "x"}, by=analyst)
    assert set(refused.value.message_dict) == {"is_public"}
    with pytest.raises(ValidationError) as refused:
        study_service.update_study(demo_study, {"status": "draft"}, by=analyst)
    assert set(refused.value.message_dict) == {"status"}
    assert stored(demo_study) == before


def test_the_service_refuses_unknown_areas_and_groups(demo_study):
    coordinator = demo_study.organisation.memberships.get(role="coordinator").user
    before = stored(demo_study)
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        study_service.update_study(demo_study, {"target_groups": ["YOUTH", "ALIENS"]}, by=coordinator)
    assert refused.value.message_dict == {"target_groups": ["ALIENS: not in the POPULATION_GROUP code list."]}
    danish = Area.objects.filter(country_code="DK", level="province")[:1]
    with pytest.raises(ValidationError) as refused:
        study_service.update_study(demo_study, {"areas": danish}, by=coordinator)
    assert set(refused.value.message_dict) == {"areas"}
    assert stored(demo_study) == before


def test_a_coordinator_makes_a_study_public(signed_in, demo_study):
    demo_study.is_public = False
    demo_study.save()
    client = signed_in("coordinator")
    assert 'name="is_public"' in client.get(edit_url(demo_study)).content.decode()
    assert client.post(edit_url(demo_study), posted(demo_study, is_public=True)).status_code == 302
    assert Study.objects.get(pk=demo_study.pk).is_public


def test_the_service_checks_permission_and_makes_unique_slugs(demo_study):
    organisation = Organisation.objects.get(slug=ORGANISATION)
    coordinator = organisation.memberships.get(role="coordinator").user
    enumerator = organisation.memberships.get(role="enumerator").user
    data = {
        "title_en": "New",
        "method": "scorecard",
        "period_start": dt.date(2026, 1, 1),
        "period_end": dt.date(2026, 1, 1),
        "consent_procedure": "oral",
    }
    with pytest.raises(PermissionDenied):
        study_service.create_study(organisation, data, by=enumerator)
    first = study_service.create_study(organisation, data, by=coordinator)
    second = study_service.create_study(organisation, data, by=coordinator)
    assert (first.slug, second.slug) == ("new-2", "new-3")  # "new" is the address of the form itself
    with pytest.raises(ValidationError) as refused:
        study_service.create_study(organisation, data | {"slug": demo_study.slug}, by=coordinator)
    assert "slug" in refused.value.message_dict
    youth = Organisation.objects.get(slug="youth-network")
    with pytest.raises(PermissionDenied):
        study_service.create_study(youth, data, by=coordinator)


def test_someone_editing_in_several_organisations_chooses_one(signed_in, demo_accounts):
    client = signed_in("admin")  # coalition administrator: every organisation of the coalition
    html = client.get("/en/workspace/studies/new/").content.decode()
    for slug in ("community-dev-centre", "youth-network", "statistics-office"):
        assert f"/en/workspace/studies/new/?organisation={slug}" in html
    assert 'name="title_en"' not in html


def test_the_workspace_links_to_the_form_and_the_form_shows_the_study_nav(signed_in, demo_study):
    client = signed_in("coordinator")
    home = client.get("/en/workspace/").content.decode()
    assert f'href="/en/workspace/studies/new/?organisation={ORGANISATION}"' in home
    hub = client.get(f"/en/workspace/studies/{demo_study.slug}/").content.decode()
    assert f'href="{edit_url(demo_study)}"' in hub
    with translation.override("en"):
        form = client.get(edit_url(demo_study)).content.decode()
    assert f'<a href="{edit_url(demo_study)}" aria-current="page">Methodology</a>' in form
    assert "Sampling design" in form and "Protecting small groups" in form
