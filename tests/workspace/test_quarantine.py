"""Held-back records in the workspace: the list, fixing a record through its page (checked again against its
instrument), discarding it with a reason, re-validating all after the instrument changed; each audited without
a personal value, and personal answers hidden from those who may not view personal data."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from tests.workspace.conftest import sign_in
from voicescount.collection import quarantine, services
from voicescount.collection.crypto import decrypt_json
from voicescount.collection.models import AuditEntry, QuarantinedRecord, Submission

pytestmark = pytest.mark.django_db


def held_without_consent(study) -> QuarantinedRecord:
    """An adult's record held back only because the consent question is not answered yes."""
    for record in study.quarantine.filter(status=QuarantinedRecord.Status.OPEN):
        if [i["field"] for i in record.issues] == ["consent"]:
            return record
    raise AssertionError("the demo has no record held back for its consent question alone")


def answers_of(record: QuarantinedRecord) -> dict:
    return decrypt_json(record.payload)["values"]


def form_data(record: QuarantinedRecord, **changes) -> dict[str, str]:
    """What the fix form posts: every answer as its text, with ``changes``."""
    data = {f"a:{path}": "" if value is None else str(value) for path, value in answers_of(record).items()}
    data.update({f"a:{path}": value for path, value in changes.items()})
    return {"action": "fix", **data}


def url(study, record=None) -> str:
    base = f"/en/workspace/studies/{study.slug}/quarantine/"
    return f"{base}{record.pk}/" if record else base


def test_the_demo_holds_records_back(demo_study_with_data):
    assert demo_study_with_data.quarantine.filter(status=QuarantinedRecord.Status.OPEN).count() >= 2


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_list_says_what_is_wrong_in_plain_words(signed_in, demo_study_with_data, lang):
    study = demo_study_with_data
    client = signed_in("coordinator", lang)
    page = client.get(f"/{lang}/workspace/studies/{study.slug}/quarantine/")
    assert page.status_code == 200
    html = page.content.decode()
    record = held_without_consent(study)
    assert record.locator in html and f"/quarantine/{record.pk}/" in html
    with translation.override(lang):
        assert str(translation.gettext("Consent is not recorded")) in html
        assert str(translation.gettext("Re-validate all")) in html
    if lang == "vi":
        assert "Consent is not recorded" not in html and "Chưa ghi nhận sự đồng ý" in html


def test_a_fixed_record_is_accepted_as_a_submission_and_audited(signed_in, demo_study_with_data):
    study = demo_study_with_data
    record = held_without_consent(study)
    before = Submission.objects.filter(study=study).count()
    client = signed_in("coordinator")
    page = client.get(url(study, record))
    assert page.status_code == 200 and 'name="a:consent"' in page.content.decode()
    posted = form_data(record, consent="yes")
    response = client.post(url(study, record), posted)
    assert response.status_code == 302 and response["Location"] == url(study)
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.ACCEPTED
    submission = record.submission
    assert Submission.objects.filter(study=study).count() == before + 1
    assert submission.values["consent"] == "yes" and submission.submitted_at is not None
    assert submission in Submission.objects.in_analysis()
    assert decrypt_json(record.payload) == {}
    entry = AuditEntry.objects.get(action="quarantine_fixed")
    assert entry.actor.username == "coordinator" and entry.organisation == study.organisation
    assert entry.details == {"quarantined": record.pk, "submission": submission.pk, "changed": ["consent"]}
    assert client.get(url(study)).content.decode().count("passed the checks") == 1  # said once
    # The same record again: no second submission.
    assert client.post(url(study, record), posted).status_code == 200
    assert Submission.objects.filter(study=study).count() == before + 1


def test_a_fix_that_still_fails_shows_the_issues_and_changes_nothing(signed_in, demo_study_with_data):
    study = demo_study_with_data
    record = held_without_consent(study)
    payload, issues = bytes(record.payload), record.issues
    client = signed_in("coordinator")
    response = client.post(url(study, record), form_data(record, consent="yes", age="forty"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "still does not pass the checks" in html and "Should be a whole number" in html
    assert 'value="forty"' in html  # the correction is shown back to be fixed further
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.OPEN
    assert bytes(record.payload) == payload and record.issues == issues
    assert not AuditEntry.objects.filter(action__startswith="quarantine_").exists()


def test_fix_returns_the_issues_per_field(demo_study_with_data):
    study = demo_study_with_data
    record = held_without_consent(study)
    coordinator = get_user_model().objects.get(username="coordinator")
    left = quarantine.fix(record, {"age": "forty"}, coordinator)
    assert set(left) == {"age", "consent"}
    assert [i.code for i in left["age"]] == ["not_integer"]
    assert [i.code for i in left["consent"]] == ["consent_missing"]


def test_discard_with_a_reason_keeps_the_note_and_is_audited(signed_in, demo_study_with_data):
    study = demo_study_with_data
    record = held_without_consent(study)
    client = signed_in("coordinator")
    reason = "Interview stopped at the first question; confirmed with the field team."
    response = client.post(url(study, record), {"action": "discard", "reason": reason})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.DISCARDED and record.note == reason
    assert decrypt_json(record.payload) == {}
    entry = AuditEntry.objects.get(action="quarantine_discarded")
    assert entry.organisation == study.organisation and entry.details["quarantined"] == record.pk
    assert reason in client.get(url(study, record)).content.decode()  # the closed record's page
    assert f"/quarantine/{record.pk}/" not in client.get(url(study)).content.decode()


def test_discard_without_a_reason_is_refused(signed_in, demo_study_with_data):
    study = demo_study_with_data
    record = held_without_consent(study)
    client = signed_in("coordinator")
    response = client.post(url(study, record), {"action": "discard", "reason": "   "})
    assert response.status_code == 200 and "Say why the record is discarded." in response.content.decode()
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.OPEN and record.note == ""
    assert answers_of(record)  # still held whole
    with pytest.raises(ValueError, match="reason"):
        services.discard(record, user=get_user_model().objects.get(username="coordinator"), reason="")
    assert not AuditEntry.objects.filter(action="quarantine_discarded").exists()


def test_revalidate_all_after_the_instrument_changed(signed_in, demo_study_with_data):
    study = demo_study_with_data
    open_before = list(study.quarantine.filter(status=QuarantinedRecord.Status.OPEN))
    consent_only = [r for r in open_before if {i["field"] for i in r.issues} == {"consent"}]
    assert consent_only
    # The form's consent question was wrongly set: consent was recorded on paper for the whole study.
    instrument = study.instruments.get()
    instrument.consent_question = ""
    instrument.save()
    coordinator = get_user_model().objects.get(username="coordinator")
    services.record_study_consent(study, user=coordinator, note="Signed sheets kept by the team")
    client = signed_in("coordinator")
    response = client.post(url(study), {})
    assert response.status_code == 302
    accepted = study.quarantine.filter(status=QuarantinedRecord.Status.ACCEPTED)
    assert {r.pk for r in accepted} == {r.pk for r in consent_only}
    still = study.quarantine.filter(status=QuarantinedRecord.Status.OPEN).count()
    assert still == len(open_before) - len(consent_only)
    entry = AuditEntry.objects.get(action="quarantine_revalidated")
    assert entry.details == {"checked": len(open_before), "accepted": len(consent_only), "held": still}
    assert entry.organisation == study.organisation
    html = client.get(url(study)).content.decode()
    assert f"{len(open_before)} records checked again: {len(consent_only)} accepted" in html


def test_personal_answers_are_hidden_without_the_right_to_view_them(signed_in, demo_study_with_data):
    study = demo_study_with_data
    record = held_without_consent(study)
    values = answers_of(record)
    secrets = [values[name] for name in ("respondent_name", "respondent_id", "phone") if values.get(name)]
    assert len(secrets) >= 2
    coordinator_html = signed_in("coordinator").get(url(study, record)).content.decode()
    assert all(secret in coordinator_html for secret in secrets)

    analyst = sign_in(Client(), "analyst")  # may import and fix, may not view personal data
    html = analyst.get(url(study, record)).content.decode()
    assert not any(secret in html for secret in secrets)
    assert 'name="a:respondent_name"' not in html and "Personal data is hidden" in html
    # A posted personal answer is ignored: it is kept as it was.
    response = analyst.post(
        url(study, record), form_data(record, consent="yes", respondent_name="Someone Else")
    )
    assert response.status_code == 302
    record.refresh_from_db()
    personal = decrypt_json(record.submission.personal)
    assert personal["values"]["respondent_name"] == values["respondent_name"]
    audit = str(list(AuditEntry.objects.values_list("details", flat=True)))
    assert not any(secret in audit for secret in secrets) and "Someone Else" not in audit


def test_a_failing_fix_by_an_analyst_shows_no_personal_answer(signed_in, demo_study_with_data):
    study = demo_study_with_data
    record = held_without_consent(study)
    values = answers_of(record)
    response = signed_in("analyst").post(url(study, record), {"action": "fix", "a:age": "forty"})
    html = response.content.decode()
    assert response.status_code == 200 and "Should be a whole number" in html
    assert values["respondent_name"] not in html and values["respondent_id"] not in html


@pytest.mark.parametrize(
    "username, status", [("enumerator", 403), ("nso-reviewer", 403), ("youth-coordinator", 404)]
)
def test_who_may_not_work_on_held_records(signed_in, demo_study_with_data, username, status):
    study = demo_study_with_data
    record = held_without_consent(study)
    client = signed_in(username)
    assert client.get(url(study)).status_code == status
    assert client.get(url(study, record)).status_code == status
    assert client.post(url(study), {}).status_code == status
    assert client.post(url(study, record), form_data(record, consent="yes")).status_code == status
    assert client.post(url(study, record), {"action": "discard", "reason": "x"}).status_code == status
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.OPEN
    assert not AuditEntry.objects.filter(action__startswith="quarantine_").exists()


def test_a_record_of_another_study_is_not_found(signed_in, demo_study_with_data):
    record = held_without_consent(demo_study_with_data)
    client = signed_in("coordinator")
    assert (
        client.get(f"/en/workspace/studies/{demo_study_with_data.slug}/quarantine/999999/").status_code == 404
    )
    assert client.get(f"/en/workspace/studies/no-such-study/quarantine/{record.pk}/").status_code == 404


def test_a_record_of_a_respondent_who_withdrew_is_discarded_with_the_withdrawal(
    signed_in, demo_study_with_data
):
    from voicescount.collection.crypto import decrypt_json

    study = demo_study_with_data
    record = held_without_consent(study)
    coordinator = get_user_model().objects.get(username="coordinator")
    # The person asked to be left out while their record was held back: nothing of theirs stays waiting.
    services.withdraw_consent(
        study, services.pseudonym(study, answers_of(record)["respondent_id"]), user=coordinator
    )
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.DISCARDED and decrypt_json(record.payload) == {}
    assert record.note == services.WITHDRAWN_NOTE
    signed_in("coordinator").post(url(study, record), {"a:consent": "yes"})
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.DISCARDED and record.submission is None
    assert not Submission.objects.filter(study=study, content_hash=record.content_hash).exists()


def test_a_childs_record_needs_both_consents_and_the_form_offers_the_missing_answer(
    signed_in, demo_study_with_data
):
    study = demo_study_with_data
    record = next(
        r
        for r in study.quarantine.filter(status=QuarantinedRecord.Status.OPEN)
        if "child_assent" in {i["field"] for i in r.issues} and "child_assent" not in answers_of(r)
    )
    client = signed_in("coordinator")
    html = client.get(url(study, record)).content.decode()
    assert 'name="a:child_assent"' in html  # not answered on the device: offered, with its issue
    coordinator = get_user_model().objects.get(username="coordinator")
    left = quarantine.fix(record, {"guardian_consent": "yes"}, coordinator)
    assert list(left) == ["child_assent"]
    response = client.post(url(study, record), form_data(record, guardian_consent="yes", child_assent="yes"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == QuarantinedRecord.Status.ACCEPTED
    assert record.submission.values["child_assent"] == "yes"
