"""Study pages and the coordinators' upload page: the real import path from a browser form.

The page queues the import as a background job and redirects to the job's page (``collection/jobs.py``);
here the job runs at once, inside the request (django-tasks' ImmediateBackend), so that the page that
the redirect leads to shows the report. ``test_import_jobs.py`` runs jobs in real worker processes."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.collection.import_site import survey_study
from voicescount.accounts.models import Coalition, Membership, Organisation, Role
from voicescount.collection.models import Submission
from voicescount.demo import survey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def immediate_jobs(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def setup(django_user_model):
    coalition = Coalition.objects.create(slug="vn", name="VN", country_code="VN")
    org = Organisation.objects.create(slug="org", name="Org A", coalition=coalition)
    other = Organisation.objects.create(slug="other", name="Org B", coalition=coalition)
    study, instrument = survey_study(org)
    coordinator = django_user_model.objects.create_user("coord", password="x")
    Membership.objects.create(user=coordinator, organisation=org, role=Role.COORDINATOR)
    outsider = django_user_model.objects.create_user("outsider", password="x")
    Membership.objects.create(user=outsider, organisation=other, role=Role.COORDINATOR)
    return study, instrument, coordinator, outsider


def export(n=40):
    page = survey.kobo_page(survey.generate_submissions(n=200, seed=5)[:n])
    return SimpleUploadedFile("export.json", json.dumps(page).encode(), content_type="application/json")


def test_coordinator_uploads_a_kobo_export_and_sees_the_report(client, setup):
    study, instrument, coordinator, _ = setup
    client.force_login(coordinator)
    url = "/en/studies/survey/import/"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"instrument": instrument.pk, "format": "auto", "file": export()}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[0][0].startswith("/en/studies/survey/imports/jobs/")
    report = response.context["report"]
    assert report["received"] == 40 and report["accepted"] + report["quarantined"] == 40
    assert report["accepted"] > 30
    assert Submission.objects.filter(study=study).count() == report["accepted"]
    # Uploading the same export again adds nothing.
    again = client.post(
        url, {"instrument": instrument.pk, "format": "auto", "file": export()}, follow=True
    ).context["report"]
    assert again["accepted"] == 0 and again["duplicates"] == 40  # quarantined ones are recognised too
    page = response.content.decode()
    assert "Nguyễn" not in page and "Trần" not in page  # no personal data in the report


def test_a_corrupt_file_is_refused_whole_with_a_reason(client, setup):
    study, instrument, coordinator, _ = setup
    client.force_login(coordinator)
    bad = SimpleUploadedFile("export.json", b'{"results": [{"a": 1}, ', content_type="application/json")
    response = client.post(
        "/en/studies/survey/import/",
        {"instrument": instrument.pk, "format": "kobo-json", "file": bad},
        follow=True,
    )
    assert response.context["job"].status == "failed"
    assert (
        "export.json" in response.context["job"].error and "Nothing was imported" in response.content.decode()
    )
    assert not Submission.objects.filter(study=study).exists()


def test_other_organisations_and_anonymous_users_cannot_import(client, setup):
    _, _, _, outsider = setup
    assert client.get("/en/studies/survey/import/").status_code == 302  # to the sign-in page
    client.force_login(outsider)
    assert client.get("/en/studies/survey/import/").status_code == 404  # a private study is not even listed
    assert "Survey" not in client.get("/en/studies/").content.decode()


def test_the_report_keeps_the_checkers_notes_and_shows_why_records_are_held_back(client, setup):
    study, instrument, coordinator, _ = setup
    client.force_login(coordinator)
    records = survey.generate_submissions(n=200, seed=5)[:3]
    for record in records:
        record["tablet_battery"] = "80%"  # a column the form does not have: its answer cannot be stored
    upload = SimpleUploadedFile("export.json", json.dumps(survey.kobo_page(records)).encode())
    response = client.post(
        "/en/studies/survey/import/",
        {"instrument": instrument.pk, "format": "auto", "file": upload},
        follow=True,
    )
    report = response.context["report"]
    assert (report["accepted"], report["quarantined"]) == (0, 3)
    assert {("tablet_battery", "unknown_field")} == {
        (i["field"], i["code"]) for reason in report["reasons"] for i in reason["issues"]
    }
    page = response.content.decode()
    assert "not a question of this form version" in page and "80%" not in page
    batch = study.batches.get()
    assert batch.report["notes"] == report["notes"]  # stored with the batch


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("__version__", "1999.9", "form version '1999.9'"),
        ("_xform_id_string", "other_form", "form 'other_form'"),
    ],
)
def test_an_export_of_another_form_or_version_is_refused_whole(client, setup, field, value, says):
    study, instrument, coordinator, _ = setup
    client.force_login(coordinator)
    records = survey.generate_submissions(n=200, seed=5)[:12]
    records[10][field] = value  # found part-way through the file
    upload = SimpleUploadedFile("export.json", json.dumps(survey.kobo_page(records)).encode())
    response = client.post(
        "/en/studies/survey/import/",
        {"instrument": instrument.pk, "format": "auto", "file": upload},
        follow=True,
    )
    assert response.context["job"].status == "failed"
    error = response.context["job"].error
    assert says in error and "export.json" in error and "results[10]" in error
    assert not Submission.objects.filter(study=study).exists() and not study.batches.exists()


def test_the_upload_page_still_checks_the_csrf_token(setup):
    """The page reads the form after setting its own upload handler: CSRF is checked there, not skipped."""
    from django.test import Client

    study, instrument, coordinator, _ = setup
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(coordinator)
    url = "/en/studies/survey/import/"
    refused = browser.post(url, {"instrument": instrument.pk, "format": "auto", "file": export()})
    assert refused.status_code == 403 and not study.batches.exists()
    token = browser.get(url).context["csrf_token"]
    form = {"instrument": instrument.pk, "format": "auto", "file": export(), "csrfmiddlewaretoken": token}
    assert browser.post(url, form).status_code == 302 and study.batches.count() == 1


def test_the_batch_records_the_sha256_of_the_uploaded_bytes(client, setup):
    import hashlib

    study, instrument, coordinator, _ = setup
    client.force_login(coordinator)
    upload = export()
    digest = hashlib.sha256(upload.read()).hexdigest()
    upload.seek(0)
    client.post("/en/studies/survey/import/", {"instrument": instrument.pk, "format": "auto", "file": upload})
    assert study.batches.get().file_sha256 == digest
