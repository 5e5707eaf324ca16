"""Pulls from KoboToolbox and ODK Central (``collection/servers/``), against loopback servers answering
with recorded real responses (``server_fakes``)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection as db

from tests.collection.server_fakes import (
    DATA,
    KOBO_TOKEN,
    ODK_EMAIL,
    ODK_PASSWORD,
    kobo_recorded,
    odk_recorded,
    serving,
)
from voicescount.collection.models import ConsentRecord, ImportBatch, ServerConnection, ServerPull, Submission
from voicescount.collection.servers import fetch
from voicescount.collection.servers.connections import create_connection
from voicescount.collection.servers.pulls import enqueue_due_pulls, enqueue_pull, run_pull
from voicescount.collection.xlsform import parse_xlsform

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


TREES = b"""| survey |
| | type | name | label |
| | start | start | |
| | end | end | |
| | today | today | |
| | username | username | |
| | deviceid | deviceid | |
| | simserial | simserial | |
| | geopoint | Record_your_current_location | Record your current location |
| | integer | Estimate_height_of_your_tree_in_meters | Estimate height of your tree in meters |
| | select_multiple why | I_like_this_tree_because | I like this tree because |
| | image | Take_a_photo_of_this_tree | Take a photo of this tree |
| choices |
| | list_name | name | label |
| | why | shade | Shade |
| | why | food | Food |
| | why | wildlife_habitat | Wildlife habitat |
| | why | beauty | Beauty |
| settings |
| | form_id | version |
| | aTreesFixtureUid | vLnrnT6Pvzgeh4DVfj6eDz |
"""
"""The tree survey of the recorded Kobo submissions, written by us from their answers."""
SIMPLE = b"""| survey |
| | type | name | label |
| | text | name | Name |
| | integer | age | Age |
| settings |
| | form_id | version |
| | simple | |
"""
"""ODK Central's test form 'simple' (getodk/central-backend test/data/xml.js), as an XLSForm."""


def instrument_of(make_instrument, slug, form):
    definition = parse_xlsform(f"{slug}.md", form)
    settings = {k: v for k, v in definition.items() if k != "xform"}
    instrument = make_instrument(
        study_slug=slug,
        form_id=definition["form_id"],
        version=definition.get("version") or "",
        definition=settings,
    )
    # the forms ask no consent question: the study's consent procedure is recorded for all
    ConsentRecord.objects.create(study=instrument.study, kind=ConsentRecord.Kind.GIVEN)
    return instrument


@pytest.fixture
def kobo_instrument(make_instrument):
    return instrument_of(make_instrument, "trees", TREES)


@pytest.fixture
def odk_instrument(make_instrument):
    return instrument_of(make_instrument, "simple", SIMPLE)


def kobo_connection(instrument, base, coordinator=None, **fields):
    return create_connection(
        instrument.study,
        kind="kobo",
        base_url=base,
        credential=KOBO_TOKEN,
        asset_uid="aTreesFixtureUid",
        user=coordinator,
        **fields,
    )


def odk_connection(instrument, base, password=ODK_PASSWORD):
    return create_connection(
        instrument.study,
        kind="odk_central",
        base_url=base,
        credential=password,
        project_id=1,
        form_id="simple",
        username=ODK_EMAIL,
    )


def pull(connection) -> ServerPull:
    made = enqueue_pull(connection, queue=False)
    run_pull(made)
    made.refresh_from_db()
    return made


def test_kobo_pull_over_two_recorded_pages_stores_every_submission_once(kobo_instrument, coordinator):
    with serving("kobo", kobo_recorded()) as server:
        connection = kobo_connection(kobo_instrument, server.base, coordinator)
        done = pull(connection)
        gets = server.data_requests()
    assert done.status == "done", done.error
    assert (done.pages, done.received) == (2, 3)
    # the fake pages the recorded submissions as the recording was paged: page for page the same answer
    for request in gets:
        assert request["headers"]["Authorization"] == f"Token {KOBO_TOKEN}"
        assert "query" not in request["query"]  # a first pull asks for everything
    recorded = [json.loads((DATA / "kobo_trees" / f"page{n}.json").read_text()) for n in (1, 2)]
    assert [r["_id"] for page in recorded for r in page["results"]] == [s["_id"] for s in kobo_recorded()]
    assert gets[1]["query"]["start"] == ["2"]
    batch = ImportBatch.objects.get()
    assert batch.quarantined == 0, batch.report["reasons"][:1]
    assert (batch.pk, batch.source, batch.received, batch.accepted) == (done.batch_id, "kobo-json", 3, 3)
    stored = Submission.objects.filter(study=kobo_instrument.study)
    assert sorted(stored.values_list("instance_id", flat=True)) == sorted(
        f"uuid:{s['_uuid']}" for s in kobo_recorded()
    )
    connection.refresh_from_db()
    assert connection.last_submission_time.isoformat() == "2021-11-18T17:26:02+00:00"
    assert batch.created_by == coordinator


def test_second_kobo_pull_asks_for_newer_ones_and_stores_only_them(kobo_instrument):
    submissions = kobo_recorded()
    with serving("kobo", submissions[:2]) as server:
        connection = kobo_connection(kobo_instrument, server.base)
        first = pull(connection)
        assert (first.status, first.received) == ("done", 2)
        server.held = submissions  # the third arrives on the server
        server.requests.clear()
        second = pull(connection)
        [asked] = server.data_requests()
        third = pull(connection)  # nothing new since
    assert json.loads(asked["query"]["query"][0]) == {"_submission_time": {"$gte": "2021-11-18T13:14:26"}}
    assert asked["query"]["limit"] == [str(fetch.PAGE_SIZE)]
    # the second of the boundary is asked again (Kobo writes seconds) but left out: only the new one
    assert (second.status, second.received, second.since.isoformat()) == (
        "done",
        1,
        "2021-11-18T13:14:26+00:00",
    )
    assert second.batch.accepted == 1 and second.batch.duplicates == 0
    assert (third.status, third.received, third.batch) == ("done", 0, None)
    assert Submission.objects.filter(study=kobo_instrument.study).count() == 3
    assert ImportBatch.objects.count() == 2


def test_odk_central_pull_keeps_review_states(odk_instrument):
    with serving("odk", odk_recorded()) as server:
        connection = odk_connection(odk_instrument, server.base)
        done = pull(connection)
        requests = list(server.requests)
        server.requests.clear()
        again = pull(connection)
        [asked] = server.data_requests()
    assert done.status == "done", done.error
    assert (done.pages, done.received) == (2, 3)
    assert [(r["method"], r["path"]) for r in requests] == [
        ("POST", "/v1/sessions"),
        ("GET", "/v1/projects/1/forms/simple.svc/Submissions"),
        ("GET", "/v1/projects/1/forms/simple.svc/Submissions"),
        ("DELETE", "/v1/sessions/central-session-token"),
    ]
    assert requests[1]["query"]["$expand"] == ["*"] and "$filter" not in requests[1]["query"]
    stored = Submission.objects.filter(study=odk_instrument.study)
    states = {s.instance_id: s.meta.get("__system/reviewState") for s in stored}
    assert states == {"one": "hasIssues", "two": "approved", "three": None}
    assert asked["query"]["$filter"] == ["__system/submissionDate gt 2017-09-20T17:10:45.000Z"]
    assert (again.status, again.received) == ("done", 0)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("500", "The server answered HTTP 500 to /api/v2/assets/aTreesFixtureUid/data/; nothing was stored."),
        ("stall", "The server did not answer /api/v2/assets/aTreesFixtureUid/data/ within 1 seconds."),
        (
            "not-json",
            "The server's answer to /api/v2/assets/aTreesFixtureUid/data/ is not valid JSON; "
            "nothing was stored.",
        ),
    ],
)
def test_a_failing_second_page_fails_the_pull_with_its_reason_and_stores_nothing(
    kobo_instrument, monkeypatch, fault, reason
):
    monkeypatch.setattr(fetch, "READ_SECONDS", 1.0)
    with serving("kobo", kobo_recorded()) as server:
        server.fault = {2: fault}  # the first page arrived whole
        connection = kobo_connection(kobo_instrument, server.base)
        failed = pull(connection)
    assert (failed.status, failed.error, failed.batch) == ("failed", reason, None)
    assert not Submission.objects.exists() and not ImportBatch.objects.exists()
    connection.refresh_from_db()
    assert connection.last_submission_time is None  # the next pull asks for everything again


def test_wrong_credentials_and_unknown_form_are_named(odk_instrument):
    with serving("odk", odk_recorded()) as server:
        refused = pull(odk_connection(odk_instrument, server.base, password="wrong"))
    assert refused.status == "failed"
    assert refused.error == (
        "The server refused the credentials (HTTP 401) for /v1/sessions: check the token or password."
    )
    assert not Submission.objects.exists()


def test_a_next_link_to_another_host_is_not_followed(kobo_instrument):
    with serving("kobo", kobo_recorded()) as server:
        connection = kobo_connection(kobo_instrument, server.base)
        real = server.base
        server.base = "http://169.254.169.254"  # the links it writes now point elsewhere
        failed = pull(connection)
        hosts = {r["headers"].get("Host") for r in server.requests}
    assert failed.status == "failed"
    assert failed.error == "The server sent a link to another address (169.254.169.254); not followed."
    assert hosts == {real.removeprefix("http://")}
    assert not Submission.objects.exists()


def test_the_token_is_not_stored_in_clear(kobo_instrument):
    connection = kobo_connection(kobo_instrument, "https://kf.kobotoolbox.org")
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM collection_serverconnection WHERE id = %s", [connection.pk])
        row = cursor.fetchone()
    text = repr([bytes(v) if isinstance(v, memoryview) else v for v in row])
    assert KOBO_TOKEN not in text and KOBO_TOKEN.encode().hex() not in text
    assert bytes(ServerConnection.objects.get().credential)[:1] == b"\x02"  # crypto.VERSION: AES-256-GCM


def test_pulls_run_as_jobs_on_demand_and_on_schedule(kobo_instrument, coordinator, settings):
    settings.TASKS = IMMEDIATE
    with serving("kobo", kobo_recorded()) as server:
        connection = kobo_connection(kobo_instrument, server.base, coordinator, interval_minutes=15)
        job = enqueue_pull(connection, coordinator)  # the immediate backend runs it here
        job.refresh_from_db()
        assert (job.status, job.received, job.scheduled) == ("done", 3, False)
        assert enqueue_due_pulls() == []  # pulled a moment ago
        ServerPull.objects.update(created=job.created - dt.timedelta(minutes=16))
        [scheduled] = enqueue_due_pulls()
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.scheduled, scheduled.received) == ("done", True, 0)
    assert Submission.objects.count() == 3


def test_a_user_who_may_not_import_cannot_ask_for_a_pull(kobo_instrument, django_user_model):
    from django.core.exceptions import PermissionDenied

    connection = kobo_connection(kobo_instrument, "https://kf.kobotoolbox.org")
    outsider = django_user_model.objects.create_user("outsider", password="x")
    with pytest.raises(PermissionDenied):
        enqueue_pull(connection, outsider)
    assert not ServerPull.objects.exists()


def test_voicescount_pull_runs_the_study_s_pulls_and_says_what_they_stored(kobo_instrument):
    from typer.testing import CliRunner

    from voicescount.cli import app

    with serving("kobo", kobo_recorded()) as server:
        connection = kobo_connection(kobo_instrument, server.base)
        first = CliRunner().invoke(app, ["pull", "trees"])
        again = CliRunner().invoke(app, ["pull", "trees", "--connection", str(connection.pk)])
        server.fault = {len(server.data_requests()) + 1: "500"}
        failed = CliRunner().invoke(app, ["pull", "trees"])
    assert first.exit_code == 0, first.output
    assert (
        first.output.split()
        == (
            f"Connection {connection.pk}: 2 page(s), 3 submission(s); batch "
            f"{ImportBatch.objects.get().pk}: 3 accepted, 0 duplicates, 0 quarantined"
        ).split()
    )
    assert again.exit_code == 0 and "1 page(s), 0 submission(s); nothing new" in again.output
    assert failed.exit_code == 1 and "HTTP 500" in failed.output
    unknown = CliRunner().invoke(app, ["pull", "trees", "--connection", "999999"])
    assert unknown.exit_code == 2 and "has no server connection 999999" in unknown.output


def test_voicescount_worker_batch_queues_the_due_pulls_and_runs_them(kobo_instrument):
    from voicescount.workers import run_workers

    if db.vendor != "sqlite":
        pytest.skip(
            "db_worker, run in the test's process, closes its connection and with it the test's transaction"
        )

    with serving("kobo", kobo_recorded()) as server:
        due = kobo_connection(kobo_instrument, server.base, interval_minutes=60)
        kobo_connection(kobo_instrument, server.base)  # on demand only: not pulled
        run_workers(1, batch=True, interval=0.1)
    [done] = ServerPull.objects.all()
    assert (done.connection, done.scheduled, done.status, done.received) == (due, True, "done", 3)
    assert Submission.objects.count() == 3
