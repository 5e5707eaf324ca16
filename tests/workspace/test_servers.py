"""The servers part of the workspace: connect a KoboToolbox asset or an ODK Central form, pull now (a job
with its progress and batch report), the pull history, push secrets, removal — signed in through the
site's page, against loopback servers answering with recorded real responses (``server_fakes``)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import translation

from tests.collection.server_fakes import (
    KOBO_TOKEN,
    ODK_EMAIL,
    ODK_PASSWORD,
    kobo_recorded,
    odk_recorded,
    serving,
)
from tests.collection.test_server_pulls import SIMPLE, TREES
from voicescount.accounts.models import Organisation
from voicescount.collection.models import (
    AuditEntry,
    ConsentRecord,
    ImportBatch,
    Instrument,
    ServerConnection,
    ServerPull,
    Study,
    Submission,
)
from voicescount.collection.servers import pulls
from voicescount.collection.servers.connections import credential_of, push_connection
from voicescount.collection.xlsform import parse_xlsform
from voicescount.demo import load as demo_load

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def study_with_form(slug: str, form: bytes) -> Study:
    organisation = Organisation.objects.get(slug=demo_load.ORGANISATION)
    study = Study.objects.create(
        organisation=organisation,
        slug=slug,
        title_en=f"Study {slug}",
        title_vi=f"Nghiên cứu {slug}",
        method=Study.Method.HOUSEHOLD_SURVEY,
        period_start=dt.date(2022, 1, 1),
        period_end=dt.date(2022, 12, 31),
        consent_procedure=Study.Consent.ORAL,
    )
    definition = parse_xlsform(f"{slug}.md", form)
    Instrument.objects.create(
        study=study,
        form_id=definition["form_id"],
        version=definition.get("version") or "",
        filename=f"{slug}.xlsx",
        source=form,
        xform="<x/>",
        definition={k: v for k, v in definition.items() if k != "xform"},
    )
    ConsentRecord.objects.create(study=study, kind=ConsentRecord.Kind.GIVEN)
    return study


@pytest.fixture
def trees(demo_accounts):
    return study_with_form("trees", TREES)


def add_kobo(client, study, base, lang="en", **extra):
    return client.post(
        f"/{lang}/workspace/studies/{study.slug}/servers/",
        {
            "kind": "kobo",
            "base_url": base,
            "asset_uid": "aTreesFixtureUid",
            "credential": KOBO_TOKEN,
            "instrument": study.instruments.get().pk,
            "interval_minutes": "0",
            **extra,
        },
    )


def test_who_sees_the_servers_page(trees, signed_in, client):
    url = f"/en/workspace/studies/{trees.slug}/servers/"
    coordinator = signed_in("coordinator")
    page = coordinator.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "No server is connected yet." in text and 'name="credential"' in text
    hub = coordinator.get(f"/en/workspace/studies/{trees.slug}/").content.decode()
    assert f'href="{url}"' in hub  # the study's navigation links the part
    client.post("/en/accounts/sign-out/")
    assert signed_in("nso-reviewer").get(url).status_code == 403  # may view, not import
    client.post("/en/accounts/sign-out/")
    assert signed_in("youth-coordinator").get(url).status_code == 404  # another organisation's study


def test_connect_kobo_then_pull_now_shows_the_batch_report_and_history(trees, signed_in, settings):
    settings.TASKS = IMMEDIATE
    client = signed_in("coordinator", "vi")
    with serving("kobo", kobo_recorded()) as fake:
        response = add_kobo(client, trees, fake.base, lang="vi")
        assert response.status_code == 302, response.content.decode()[:2000]
        connection = ServerConnection.objects.get(study=trees)
        assert credential_of(connection) == KOBO_TOKEN
        assert KOBO_TOKEN.encode() not in bytes(connection.credential)
        listing = client.get(response["Location"]).content.decode()
        assert fake.base in listing and "aTreesFixtureUid" in listing
        assert "Kéo về ngay" in listing  # "Pull now", in Vietnamese
        assert KOBO_TOKEN not in listing

        pulled = client.post(f"/vi/workspace/studies/{trees.slug}/servers/{connection.pk}/pull/")
        assert pulled.status_code == 302
        pull = ServerPull.objects.get(connection=connection)
        assert pulled["Location"] == f"/vi/workspace/studies/{trees.slug}/servers/pulls/{pull.pk}/"
    assert pull.status == ServerPull.Status.DONE
    assert (pull.pages, pull.read, pull.received, pull.expected) == (2, 3, 3, 3)
    assert Submission.objects.filter(study=trees).count() == 3
    page = client.get(pulled["Location"]).content.decode()
    assert "Báo cáo nhập dữ liệu" in page  # the batch report, in Vietnamese
    assert 'max="100" value="100"' in page and "hx-get" not in page  # ended: no more polling
    with translation.override("en"):
        english = client.get(pulled["Location"].replace("/vi/", "/en/")).content.decode()
    assert "Import report" in english and "Accepted: 3" in english
    assert "2 pages read: 3 of 3 submissions, 3 new." in english
    fragment = client.get(pulled["Location"].replace("/vi/", "/en/"), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="server-pull"') and "<html" not in fragment
    history = client.get(f"/en/workspace/studies/{trees.slug}/servers/").content.decode()
    assert "3 accepted · 0 duplicates · 0 quarantined" in history and "coordinator" in history
    actions = set(AuditEntry.objects.filter(study=trees).values_list("action", flat=True))
    assert {"server_connection_created", "server_pull_requested"} <= actions


def test_a_second_pull_finds_nothing_new_and_says_so(trees, signed_in, settings):
    settings.TASKS = IMMEDIATE
    client = signed_in("coordinator")
    with serving("kobo", kobo_recorded()) as fake:
        add_kobo(client, trees, fake.base)
        connection = ServerConnection.objects.get(study=trees)
        client.post(f"/en/workspace/studies/{trees.slug}/servers/{connection.pk}/pull/")
        second = client.post(f"/en/workspace/studies/{trees.slug}/servers/{connection.pk}/pull/")
    page = client.get(second["Location"]).content.decode()
    assert "Nothing new on the server since the last pull: no batch." in page
    assert ImportBatch.objects.filter(study=trees).count() == 1
    assert Submission.objects.filter(study=trees).count() == 3


def test_a_failing_server_fails_the_pull_with_its_reason_on_the_page(trees, signed_in, settings):
    settings.TASKS = IMMEDIATE
    client = signed_in("coordinator")
    with serving("kobo", kobo_recorded()) as fake:
        add_kobo(client, trees, fake.base)
        fake.fault[2] = "500"
        connection = ServerConnection.objects.get(study=trees)
        pulled = client.post(f"/en/workspace/studies/{trees.slug}/servers/{connection.pk}/pull/")
    page = client.get(pulled["Location"]).content.decode()
    assert "Nothing from this pull was stored." in page and "500" in page
    assert Submission.objects.filter(study=trees).count() == 0


def test_odk_central_connection_and_pull(demo_accounts, signed_in, settings):
    settings.TASKS = IMMEDIATE
    study = study_with_form("simple", SIMPLE)
    client = signed_in("coordinator")
    with serving("odk", odk_recorded()) as fake:
        response = client.post(
            f"/en/workspace/studies/{study.slug}/servers/",
            {
                "kind": "odk_central",
                "base_url": fake.base,
                "project_id": "1",
                "form_id": "simple",
                "username": ODK_EMAIL,
                "credential": ODK_PASSWORD,
                "instrument": study.instruments.get().pk,
                "interval_minutes": "60",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        connection = ServerConnection.objects.get(study=study)
        assert connection.interval_minutes == 60
        pulled = client.post(f"/en/workspace/studies/{study.slug}/servers/{connection.pk}/pull/")
    assert ServerPull.objects.get(connection=connection).status == ServerPull.Status.DONE
    assert "Accepted: " in client.get(pulled["Location"]).content.decode()
    assert "every 60 minutes" in client.get(f"/en/workspace/studies/{study.slug}/servers/").content.decode()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"asset_uid": ""}, "asset_uid", "A KoboToolbox connection needs the form&#x27;s asset uid."),
        ({"base_url": "kf.kobotoolbox.org"}, "base_url", "Give the server&#x27;s address"),
        ({"credential": ""}, "credential", "This field is required."),
        ({"kind": "odk_central"}, "project_id", "An ODK Central connection needs the project id"),
    ],
)
def test_a_connection_that_cannot_work_is_refused_beside_its_field(trees, signed_in, fields, field, message):
    client = signed_in("coordinator")
    response = add_kobo(client, trees, "https://kf.kobotoolbox.org", **fields)
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text
    # the message stands in the field's block, after its input
    block = text[text.index(f'name="{field}"') :]
    assert block.index(message) < block.index('<div class="field')
    assert not ServerConnection.objects.exists()
    assert KOBO_TOKEN not in text  # the credential is never sent back


def test_errors_are_in_vietnamese_on_the_vietnamese_page(trees, signed_in):
    client = signed_in("coordinator", "vi")
    response = add_kobo(client, trees, "https://kf.kobotoolbox.org", lang="vi", asset_uid="")
    assert response.status_code == 400
    with translation.override("vi"):
        from django.utils.translation import gettext

        expected = gettext("A KoboToolbox connection needs the form's asset uid.")
    assert expected != "A KoboToolbox connection needs the form's asset uid."
    assert expected.replace("'", "&#x27;") in response.content.decode()


def test_push_secret_is_shown_once_and_accepted_by_the_push_endpoint(trees, signed_in):
    client = signed_in("coordinator")
    response = add_kobo(client, trees, "https://kf.kobotoolbox.org", push="on")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    connection = ServerConnection.objects.get(study=trees)
    text = response.content.decode()
    secret = text.split("data-secret>")[1].split("<")[0]
    assert secret.startswith("vcpush_")
    assert f"http://testserver/api/v1/servers/{connection.pk}/kobo-submissions" in text
    assert push_connection(connection.pk, secret) == connection
    assert secret not in client.get(f"/en/workspace/studies/{trees.slug}/servers/").content.decode()
    again = client.post(f"/en/workspace/studies/{trees.slug}/servers/{connection.pk}/push-secret/")
    new = again.content.decode().split("data-secret>")[1].split("<")[0]
    assert new != secret and push_connection(connection.pk, secret) is None
    assert push_connection(connection.pk, new) == connection
    assert AuditEntry.objects.filter(study=trees, action="server_push_secret_made").count() == 2


def test_the_push_endpoint_stores_what_kobo_posts_with_the_secret(trees, signed_in, client):
    signed = signed_in("coordinator")
    text = add_kobo(signed, trees, "https://kf.kobotoolbox.org", push="on").content.decode()
    secret = text.split("data-secret>")[1].split("<")[0]
    connection = ServerConnection.objects.get(study=trees)
    submission = kobo_recorded()[0]
    answer = client.post(
        f"/api/v1/servers/{connection.pk}/kobo-submissions",
        data=json.dumps(submission),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert answer.status_code in (200, 201), answer.content
    assert Submission.objects.filter(study=trees).count() == 1


def test_remove_asks_then_removes_and_keeps_what_was_stored(trees, signed_in, settings):
    settings.TASKS = IMMEDIATE
    client = signed_in("coordinator")
    with serving("kobo", kobo_recorded()) as fake:
        add_kobo(client, trees, fake.base)
        connection = ServerConnection.objects.get(study=trees)
        client.post(f"/en/workspace/studies/{trees.slug}/servers/{connection.pk}/pull/")
    url = f"/en/workspace/studies/{trees.slug}/servers/{connection.pk}/remove/"
    ask = client.get(url).content.decode()
    assert "its history of 1 pull?" in ask and "The 1 batch it stored stays in the study" in ask
    assert ServerConnection.objects.filter(pk=connection.pk).exists()
    assert client.post(url).status_code == 302
    assert not ServerConnection.objects.filter(pk=connection.pk).exists()
    assert Submission.objects.filter(study=trees).count() == 3
    assert AuditEntry.objects.filter(study=trees, action="server_connection_removed").exists()


def test_a_pull_whose_worker_died_is_shown_failed(trees, signed_in, settings):
    client = signed_in("coordinator")
    add_kobo(client, trees, "https://kf.kobotoolbox.org")
    connection = ServerConnection.objects.get(study=trees)
    pull = ServerPull.objects.create(
        connection=connection, status=ServerPull.Status.RUNNING, stage="fetching"
    )
    with translation.override("en"):
        page = client.get(f"/en/workspace/studies/{trees.slug}/servers/pulls/{pull.pk}/").content.decode()
    assert "the worker process ended" in page
    pull.refresh_from_db()
    assert pull.status == ServerPull.Status.FAILED


def test_a_queued_pull_nobody_runs_asks_whether_a_worker_runs(trees, signed_in, settings):
    client = signed_in("coordinator")
    add_kobo(client, trees, "https://kf.kobotoolbox.org")
    connection = ServerConnection.objects.get(study=trees)
    pull = pulls.enqueue_pull(connection)  # the database backend: no worker runs in this test
    ServerPull.objects.filter(pk=pull.pk).update(created=pull.created - dt.timedelta(minutes=1))
    page = client.get(f"/en/workspace/studies/{trees.slug}/servers/pulls/{pull.pk}/").content.decode()
    assert "Is a worker running (voicescount worker)?" in page
    assert 'hx-trigger="every 1s"' in page
