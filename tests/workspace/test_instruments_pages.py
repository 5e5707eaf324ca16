"""Instruments in the browser: upload an XLSForm, confirm its roles, see what a new version breaks."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import load_workbook

from voicescount.accounts.models import Organisation
from voicescount.collection import instrument_review as review
from voicescount.collection.models import AuditEntry, Instrument, Study
from voicescount.demo import load as demo_load

pytestmark = pytest.mark.django_db

FORMS = Path(__file__).parents[1] / "collection" / "forms"
DEMO_FORM = demo_load.PACKAGE / "forms" / "vn_cgd_2022.xlsx"


def url(study, lang="en", tail=""):
    return f"/{lang}/workspace/studies/{study.slug}/instruments/{tail}"


@pytest.fixture
def plain_study(demo_accounts):
    """A study of the demo organisation without a sampling design (any form fits it)."""
    return Study.objects.create(
        organisation=Organisation.objects.get(slug=demo_load.ORGANISATION),
        slug="scorecard-2025",
        title_en="Community scorecard 2025",
        method=Study.Method.SCORECARD,
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
        consent_procedure=Study.Consent.ORAL,
    )


def upload(client, study, name, content, lang="en"):
    return client.post(url(study, lang), {"file": SimpleUploadedFile(name, content)})


def demo_form_v2(*, remove=("lgbt",), retype=(("hh_size", "text"),), version="2022.2") -> bytes:
    """The demo XLSForm edited as a coordinator would: a question removed, a type changed, version bumped."""
    workbook = load_workbook(DEMO_FORM)
    survey = workbook["survey"]
    for row in reversed(list(survey.iter_rows(min_row=2))):
        if row[1].value in remove:
            survey.delete_rows(row[0].row)
        elif row[1].value in dict(retype):
            row[0].value = dict(retype)[row[1].value]
    settings = workbook["settings"]
    header = [c.value for c in settings[1]]
    settings.cell(row=2, column=header.index("version") + 1, value=version)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def confirm_data(page_context, **changes):
    """The confirmation form as the page proposes it (every select at its selected value), with changes."""
    data = {
        f"role:{row['question']['name']}": row["role"] for row in page_context["rows"] if row["takes_role"]
    }
    data |= {f"special:{s['key']}": s["value"] for s in page_context["special"]}
    return data | changes


def test_a_real_xlsform_uploaded_shown_changed_and_confirmed(signed_in, plain_study):
    client = signed_in("coordinator")
    content = (FORMS / "group.md").read_bytes()
    response = upload(client, plain_study, "group.md", content)
    assert response.status_code == 302 and response["Location"] == url(plain_study, tail="confirm/")
    assert not plain_study.instruments.exists()  # nothing stored before the confirmation
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = page.content.decode()
    assert "father/phone_number" in text and "your family name?" in text
    assert "stored encrypted, never shown on public pages or in exports" in text
    assert "results are broken down by it" in text
    proposed = {row["question"]["name"]: row["role"] for row in page.context["rows"]}
    assert proposed["family_name"] == "personal" and proposed["age"] == "dimension:AGE"
    # The coordinator decides the family name is not personal here, and the age is a plain answer.
    data = confirm_data(page.context, **{"role:family_name": "", "role:age": "", "special:age": "age"})
    done = client.post(url(plain_study, tail="confirm/"), data)
    instrument = Instrument.objects.get(study=plain_study)
    assert done.status_code == 302 and done["Location"] == url(plain_study, tail=f"{instrument.pk}/")
    assert instrument.roles == {"phone_number": "personal"}
    assert instrument.age_question == "age" and instrument.consent_question == ""
    assert bytes(instrument.source) == content and instrument.uploaded_by.username == "coordinator"
    entry = AuditEntry.objects.get(action="instrument_added", study=plain_study)
    assert entry.organisation == plain_study.organisation and entry.actor.username == "coordinator"
    assert entry.details | {"instrument": None} == {
        "instrument": None,
        "form_id": instrument.form_id,
        "version": "",
        "breaking": [],
    }
    detail = client.get(done["Location"])
    assert detail.status_code == 200 and "father/phone_number" in detail.content.decode()
    listing = client.get(url(plain_study)).content.decode()
    assert f"{instrument.pk}/" in listing
    assert listing.count('data-label="Questions">3</td>') == 1  # three answer questions, not the group
    # The upload is gone from the session: the confirmation page sends back to the list.
    assert client.get(url(plain_study, tail="confirm/")).status_code == 302


def test_the_upload_waits_in_the_session_encrypted(signed_in, plain_study):
    client = signed_in("coordinator")
    upload(client, plain_study, "group.md", (FORMS / "group.md").read_bytes())
    stored = [s.session_data for s in Session.objects.all()]
    assert stored and not any("family_name" in s or "ZmFtaWx5X25hbWU" in s for s in stored)
    sealed = client.session[f"workspace.instrument_upload.{plain_study.pk}"]
    assert "family_name" not in sealed
    name, content = review.open_upload(plain_study, sealed)
    assert (name, content) == ("group.md", (FORMS / "group.md").read_bytes())
    other = Study.objects.create(**{**_fields(plain_study), "slug": "other"})
    with pytest.raises(review.InstrumentError, match="upload it again"):
        review.open_upload(other, sealed)
    with pytest.raises(review.InstrumentError, match="upload it again"):
        review.open_upload(plain_study, sealed[:-8] + "AAAAAAAA")


def _fields(study):
    return {
        "organisation": study.organisation,
        "title_en": study.title_en,
        "method": study.method,
        "period_start": study.period_start,
        "period_end": study.period_end,
        "consent_procedure": study.consent_procedure,
    }


def test_the_designs_variables_must_be_in_the_form_with_their_roles(signed_in, demo_study):
    client = signed_in("coordinator")
    upload(client, demo_study, "group.md", (FORMS / "group.md").read_bytes())
    page = client.get(url(demo_study, tail="confirm/"))
    refused = client.post(url(demo_study, tail="confirm/"), confirm_data(page.context))
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "The study&#x27;s sampling design uses &#x27;weight&#x27; (weight)" in text
    assert "&#x27;commune&#x27; (psu)" in text
    assert demo_study.instruments.count() == 1
    # The demo form itself, with its weight made a plain answer, is refused as well.
    refused = review.check_roles(
        demo_study, demo_study.instruments.get().definition, {"stratum": "stratum", "commune": "psu"}, {}
    )
    assert refused == ["The study's sampling design uses 'weight' as its weight: give it the role 'weight'."]
    assert (
        review.check_roles(demo_study, demo_study.instruments.get().definition, {"nope": "personal"}, {})[0]
        == "'nope' is not a question of this form."
    )


def test_a_version_that_breaks_earlier_submissions_is_explained_and_needs_the_checkbox(
    signed_in, demo_study_with_data
):
    study = demo_study_with_data
    old = study.instruments.get()
    answered = study.submissions.filter(values__has_key="hh_size").count()
    with_lgbt = study.submissions.filter(values__has_key="lgbt").count()
    assert answered > 200 and with_lgbt > 200
    client = signed_in("coordinator")
    assert upload(client, study, "vn_cgd_2022_v2.xlsx", demo_form_v2()).status_code == 302
    page = client.get(url(study, tail="confirm/"))
    text = page.content.decode()
    assert (
        f"{answered} submissions answered &#x27;hh_size&#x27; as a whole number; "
        "in the new version it is text." in text
    )
    assert f"{with_lgbt} submissions answered &#x27;lgbt&#x27;; the new version has no such question." in text
    assert "This version breaks earlier submissions" in text and 'name="accept_breaking"' in text
    # The earlier version's reviewed roles and consent questions are proposed again.
    proposed = {row["question"]["name"]: row["role"] for row in page.context["rows"]}
    assert {k: v for k, v in proposed.items() if v} == {k: v for k, v in old.roles.items() if k != "lgbt"}
    refused = client.post(url(study, tail="confirm/"), confirm_data(page.context))
    assert refused.status_code == 400 and "I understand" in refused.content.decode()
    assert study.instruments.count() == 1
    accepted = client.post(url(study, tail="confirm/"), confirm_data(page.context, accept_breaking="yes"))
    assert accepted.status_code == 302
    new = study.instruments.get(version="2022.2")
    assert new.roles == {k: v for k, v in old.roles.items() if k != "lgbt"}
    assert new.consent_question == "consent" and new.child_assent_question == "child_assent"
    breaking = AuditEntry.objects.get(action="instrument_added", details__version="2022.2").details[
        "breaking"
    ]
    assert {(b["kind"], b["question"], b["submissions"]) for b in breaking} == {
        ("removed", "lgbt", with_lgbt),
        ("type_changed", "hh_size", answered),
    }


def test_a_personal_question_made_plain_breaks_and_the_same_version_is_refused(demo_study_with_data):
    study = demo_study_with_data
    coordinator = study.organisation.memberships.get(user__username="coordinator").user
    content = demo_form_v2(remove=(), retype=())
    preview = review.preview_upload(
        study, "v2.xlsx", content, roles={**study.instruments.get().roles, "phone": ""}
    )
    assert [(c.kind, c.question) for c in preview.breaking] == [("role_changed", "phone")]
    with translation.override("en"):
        assert "stored encrypted" in preview.breaking[0].text
    with pytest.raises(review.BreakingChangesRefused):
        review.confirm_upload(study, "v2.xlsx", content, preview.roles, preview.special, by=coordinator)
    same = review.preview_upload(study, "again.xlsx", DEMO_FORM.read_bytes())
    assert same.existing is not None
    with pytest.raises(review.InstrumentError, match="already in this study"):
        review.confirm_upload(
            study, "again.xlsx", DEMO_FORM.read_bytes(), same.roles, same.special, by=coordinator
        )
    assert study.instruments.count() == 1


BROKEN = {
    "not-a-workbook.xlsx": (b"these are not the bytes of a spreadsheet", "not a valid .xlsx workbook"),
    "no-survey.md": (
        b"| choices | list_name | name | label |\n| | yn | yes | Yes |\n",
        "sheet named &#x27;survey&#x27;",
    ),
    "bad-reference.md": (
        b"| survey | type | name | label | relevant |\n| | integer | a | A | |\n"
        b"| | text | b | B | ${zz} > 3 |\n",
        "[row : 3] On the &#x27;survey&#x27; sheet, the &#x27;relevant&#x27; value is invalid",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_file_shows_the_parsers_error_and_stores_nothing(signed_in, plain_study, name):
    content, message = BROKEN[name]
    client = signed_in("coordinator")
    response = upload(client, plain_study, name, content)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Nothing was stored" in text and message in text and name in text
    assert not plain_study.instruments.exists()
    assert f"workspace.instrument_upload.{plain_study.pk}" not in client.session


def test_vietnamese_pages(signed_in, demo_study):
    client = signed_in("coordinator", "vi")
    listing = client.get(url(demo_study, "vi"))
    assert listing.status_code == 200
    assert "Tải lên" in listing.content.decode()
    upload(client, demo_study, "v2.xlsx", demo_form_v2(), lang="vi")
    page = client.get(url(demo_study, "vi", "confirm/")).content.decode()
    assert "được lưu mã hóa" in page and "Kiểm tra biểu mẫu" in page
    detail = client.get(url(demo_study, "vi", f"{demo_study.instruments.get().pk}/"))
    assert detail.status_code == 200 and "Câu hỏi" in detail.content.decode()


def test_an_enumerator_may_not_upload_and_another_organisation_sees_nothing(signed_in, demo_study):
    instrument = demo_study.instruments.get()
    enumerator = signed_in("enumerator")
    assert upload(enumerator, demo_study, "v2.xlsx", demo_form_v2()).status_code == 403
    assert enumerator.get(url(demo_study, tail="confirm/")).status_code == 403
    assert demo_study.instruments.count() == 1
    enumerator.post("/en/accounts/sign-out/")
    outsider = signed_in("youth-coordinator")
    assert outsider.get(url(demo_study)).status_code == 404
    assert upload(outsider, demo_study, "v2.xlsx", demo_form_v2()).status_code == 404
    assert outsider.get(url(demo_study, tail=f"{instrument.pk}/")).status_code == 404
    assert outsider.get(url(demo_study, tail="confirm/")).status_code == 404
    assert demo_study.instruments.count() == 1


def test_an_analyst_sees_the_list_and_a_reviewer_cannot_upload(signed_in, demo_study):
    reviewer = signed_in("nso-reviewer")
    listing = reviewer.get(url(demo_study))
    assert listing.status_code == 200 and "vn_cgd_2022" in listing.content.decode()
    assert 'type="file"' not in listing.content.decode()
    assert upload(reviewer, demo_study, "v2.xlsx", demo_form_v2()).status_code == 403


def test_a_condition_pyxform_lets_through_but_imports_cannot_check_is_shown(signed_in, plain_study):
    form = b"| survey | type | name | label | relevant |\n| | integer | a | A | |\n"
    form += b"| | text | b | B | ${a} >>> 3 |\n"
    client = signed_in("coordinator")
    assert upload(client, plain_study, "typo.md", form).status_code == 302
    page = client.get(url(plain_study, tail="confirm/"))
    assert page.context["preview"].unchecked == [
        "relevant '${a} >>> 3' is not checked: unsupported syntax near '>'"
    ]
    assert "Conditions imports will not check" in page.content.decode()


def test_roles_naming_no_question_or_no_role_are_refused(signed_in, plain_study):
    client = signed_in("coordinator")
    upload(client, plain_study, "group.md", (FORMS / "group.md").read_bytes())
    page = client.get(url(plain_study, tail="confirm/"))
    data = confirm_data(page.context, **{"role:not_in_form": "personal", "role:age": "boss"})
    refused = client.post(url(plain_study, tail="confirm/"), data)
    assert refused.status_code == 400
    text = refused.content.decode()
    assert "&#x27;not_in_form&#x27; is not a question of this form." in text
    assert "&#x27;boss&#x27; is not a role a question can have (&#x27;age&#x27;)." in text
    assert not plain_study.instruments.exists()
    # Sent again as the page proposed it, it is added.
    assert client.post(url(plain_study, tail="confirm/"), confirm_data(page.context)).status_code == 302
    assert plain_study.instruments.get().roles == {
        "family_name": "personal",
        "phone_number": "personal",
        "age": "dimension:AGE",
    }


def test_the_studys_design_proposes_the_roles_of_its_variables(plain_study):
    # A new study whose design names the demo form's commune as its PSU: the first upload proposes that
    # role (names alone suggest commune is an area to break results down by).
    plain_study.weight_variable, plain_study.strata_variable, plain_study.psu_variable = (
        "weight",
        "stratum",
        "commune",
    )
    plain_study.save()
    content = (demo_load.PACKAGE / "forms" / "vn_cgd_2022.xlsx").read_bytes()
    proposed = review.preview_upload(plain_study, "vn_cgd_2022.xlsx", content).roles
    assert (proposed["weight"], proposed["stratum"], proposed["commune"]) == ("weight", "stratum", "psu")
    plain_study.psu_variable = ""
    plain_study.save()
    assert review.preview_upload(plain_study, "vn_cgd_2022.xlsx", content).roles["commune"] != "psu"
