"""Consent withdrawal in the workspace: a respondent found by pseudonym or questionnaire code (the code
turned into its pseudonym, never searched for among the encrypted answers), a confirmation page saying what
will happen, then the withdrawal (answers erased, out of every estimate), its audit entry and the queued
recomputation."""

from __future__ import annotations

import pytest
from django.utils import translation

from voicescount.collection import withdrawal
from voicescount.collection.crypto import decrypt_json
from voicescount.collection.models import AuditEntry, ConsentRecord, Submission
from voicescount.indicators.models import ComputeJob

pytestmark = pytest.mark.django_db


def url(study, lang: str = "en") -> str:
    return f"/{lang}/workspace/studies/{study.slug}/consent/"


def a_respondent(study) -> tuple[Submission, str]:
    """A submission in analysis and its questionnaire code (read here from its encrypted personal fields)."""
    submission = Submission.objects.in_analysis().filter(study=study).order_by("pk")[3]
    return submission, decrypt_json(submission.personal)["values"]["respondent_id"]


def withdraw_through_the_pages(client, study, query: str, lang: str = "en", note: str = "Asked by phone"):
    confirm = client.post(url(study, lang), {"action": "find", "query": query})
    assert confirm.status_code == 200, confirm.content.decode()[:500]
    html = confirm.content.decode()
    assert 'name="action" value="withdraw"' in html
    pseudonym = html.split('name="respondent" value="', 1)[1].split('"', 1)[0]
    done = client.post(url(study, lang), {"action": "withdraw", "respondent": pseudonym, "note": note})
    assert done.status_code == 302 and done["Location"] == url(study, lang) + "?done=1"
    return confirm, client.get(done["Location"])


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_withdrawal_by_questionnaire_code(signed_in, demo_study_with_data, lang):
    study = demo_study_with_data
    submission, code = a_respondent(study)
    in_analysis = Submission.objects.in_analysis().filter(study=study).count()
    client = signed_in("coordinator", lang)
    assert client.get(url(study, lang)).status_code == 200
    confirm, result = withdraw_through_the_pages(client, study, code, lang)
    html = confirm.content.decode()
    assert submission.respondent in html and code not in html  # the code is not shown back
    with translation.override(lang):
        assert translation.gettext("This cannot be undone.") in html
        assert translation.gettext("found by questionnaire code") in html
    submission.refresh_from_db()
    assert submission.consent_status == Submission.ConsentStatus.WITHDRAWN
    assert submission.personal is None and submission.values == {}
    assert submission not in Submission.objects.in_analysis()
    assert Submission.objects.in_analysis().filter(study=study).count() == in_analysis - 1
    record = ConsentRecord.objects.get(study=study, kind=ConsentRecord.Kind.WITHDRAWN)
    assert record.respondent == submission.respondent and record.note == "Asked by phone"
    entry = AuditEntry.objects.get(action="consent_withdrawn")
    assert entry.actor.username == "coordinator" and entry.organisation == study.organisation
    assert entry.details == {
        "respondent": submission.respondent,
        "submissions": 1,
        "quarantined_discarded": 0,
    }
    job = ComputeJob.objects.get(study=study)
    assert job.status == ComputeJob.Status.QUEUED and job.user.username == "coordinator"
    page = result.content.decode()
    assert submission.respondent in page and code not in page
    with translation.override(lang):
        assert translation.gettext("Consent withdrawn") in page


def test_withdrawal_by_pseudonym(signed_in, demo_study_with_data):
    study = demo_study_with_data
    submission, _code = a_respondent(study)
    client = signed_in("coordinator")
    confirm, result = withdraw_through_the_pages(client, study, "  " + submission.respondent.upper() + " ")
    assert "found by pseudonym" in confirm.content.decode()
    submission.refresh_from_db()
    assert submission.consent_status == Submission.ConsentStatus.WITHDRAWN
    assert AuditEntry.objects.filter(action="consent_withdrawn").count() == 1
    assert ComputeJob.objects.filter(study=study, status=ComputeJob.Status.QUEUED).count() == 1
    assert "recomputation of the study" in result.content.decode()
    # Asked again: the confirmation page says so and offers nothing; a replayed POST changes nothing.
    again = client.post(url(study), {"action": "find", "query": submission.respondent}).content.decode()
    assert "was withdrawn already" in again and 'value="withdraw"' not in again
    replay = client.post(url(study), {"action": "withdraw", "respondent": submission.respondent})
    assert replay.status_code == 302
    assert ConsentRecord.objects.filter(kind=ConsentRecord.Kind.WITHDRAWN).count() == 1
    assert AuditEntry.objects.filter(action="consent_withdrawn").count() == 1


def test_a_code_of_no_respondent_changes_nothing(signed_in, demo_study_with_data):
    study = demo_study_with_data
    client = signed_in("coordinator")
    response = client.post(url(study), {"action": "find", "query": "99-999-999"})
    assert response.status_code == 200 and "No respondent of this study" in response.content.decode()
    response = client.post(url(study), {"action": "withdraw", "respondent": "r-00000000000000000000"})
    assert response.status_code == 200 and "No respondent of this study" in response.content.decode()
    assert not ConsentRecord.objects.filter(kind=ConsentRecord.Kind.WITHDRAWN).exists()
    assert not ComputeJob.objects.exists()


def test_find_respondent_derives_the_pseudonym_from_the_code(demo_study_with_data):
    study = demo_study_with_data
    submission, code = a_respondent(study)
    found = withdrawal.find_respondent(study, code)
    assert found == withdrawal.Respondent(submission.respondent, "questionnaire_code", 1, 1)
    assert withdrawal.find_respondent(study, submission.respondent).found_by == "pseudonym"
    assert withdrawal.find_respondent(study, "") is None


@pytest.mark.parametrize(
    "username, status", [("enumerator", 403), ("nso-reviewer", 403), ("youth-coordinator", 404)]
)
def test_who_may_not_withdraw(signed_in, demo_study_with_data, username, status):
    study = demo_study_with_data
    submission, code = a_respondent(study)
    client = signed_in(username)
    assert client.get(url(study)).status_code == status
    assert client.post(url(study), {"action": "find", "query": code}).status_code == status
    response = client.post(url(study), {"action": "withdraw", "respondent": submission.respondent})
    assert response.status_code == status
    submission.refresh_from_db()
    assert submission.consent_status == Submission.ConsentStatus.GIVEN
    assert not AuditEntry.objects.filter(action="consent_withdrawn").exists()


def test_no_personal_value_on_the_pages_or_in_the_audit(signed_in, demo_study_with_data):
    study = demo_study_with_data
    submission, code = a_respondent(study)
    personal = decrypt_json(submission.personal)["values"]
    client = signed_in("analyst")  # may edit the study, may not view personal data
    confirm, result = withdraw_through_the_pages(client, study, code)
    for value in personal.values():
        assert value not in confirm.content.decode() and value not in result.content.decode()
    audit = str(list(AuditEntry.objects.values_list("details", flat=True)))
    assert not any(value in audit for value in personal.values())
