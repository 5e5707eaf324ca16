"""Kobo REST Services pushes (``POST /api/v1/servers/{connection}/kobo-submissions``): one recorded real
Kobo submission (``data/kobo_trees``), posted as a REST Service posts it, retried as Kobo retries."""

from __future__ import annotations

import base64
import json

import pytest

from tests.collection.server_fakes import kobo_recorded
from tests.collection.test_server_pulls import TREES, instrument_of
from voicescount.collection.models import ImportBatch, QuarantinedRecord, ServerConnection, Submission
from voicescount.collection.servers.connections import create_connection, new_push_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(make_instrument, coordinator):
    instrument = instrument_of(make_instrument, "trees", TREES)
    connection = create_connection(
        instrument.study,
        kind="kobo",
        base_url="https://kf.kobotoolbox.org",
        credential="kobo-token",
        asset_uid="aTreesFixtureUid",
        user=coordinator,
    )
    return connection, new_push_secret(connection)


def post(client, connection, body, **headers):
    return client.post(
        f"/api/v1/servers/{connection.pk}/kobo-submissions",
        data=json.dumps(body) if not isinstance(body, bytes) else body,
        content_type="application/json",
        headers=headers,
    )


def test_a_push_retried_three_times_stores_one_submission(client, pushed):
    connection, secret = pushed
    submission = kobo_recorded()[0]
    answers = [post(client, connection, submission, Authorization=f"Bearer {secret}") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]  # Kobo retries only what is not 2xx
    first, *retries = [a.json() for a in answers]
    assert first["status"] == "stored" and first["instance_id"] == "uuid:e58da38d-3eee-4bd7-8512-4a97ea8fbb01"
    assert all(
        r == {"status": "duplicate", "instance_id": first["instance_id"], "batch": None} for r in retries
    )
    assert Submission.objects.filter(study=connection.study).count() == 1
    assert ImportBatch.objects.get().pk == first["batch"]  # a retry makes no batch
    assert Submission.objects.get().batch.created_by == connection.created_by


def test_basic_authentication_with_the_secret_as_password(client, pushed):
    connection, secret = pushed
    basic = base64.b64encode(f"kobo:{secret}".encode()).decode()
    answer = post(client, connection, kobo_recorded()[1], Authorization=f"Basic {basic}")
    assert answer.status_code == 200 and answer.json()["status"] == "stored"


@pytest.mark.parametrize("authorization", [None, "Bearer vcpush_wrong", "Bearer ", "Basic a29ibzp3cm9uZw=="])
def test_a_wrong_or_missing_secret_is_refused_and_stores_nothing(client, pushed, authorization):
    connection, _secret = pushed
    headers = {"Authorization": authorization} if authorization else {}
    answer = post(client, connection, kobo_recorded()[0], **headers)
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"] == 'Bearer realm="VoicesCount API"'
    assert not Submission.objects.exists() and not ImportBatch.objects.exists()


def test_the_secret_of_one_connection_opens_no_other(client, pushed, make_instrument):
    connection, secret = pushed
    other = ServerConnection.objects.create(
        study=connection.study,
        instrument=connection.instrument,
        kind="kobo",
        base_url="https://x.org",
        asset_uid="other",
        credential=b"",
        push_secret_sha256=connection.push_secret_sha256[::-1],
    )
    answer = post(client, other, kobo_recorded()[0], Authorization=f"Bearer {secret}")
    assert answer.status_code == 401
    assert not Submission.objects.exists()


def test_a_new_secret_replaces_the_old_and_only_its_hash_is_kept(client, pushed):
    connection, old = pushed
    new = new_push_secret(connection)
    assert post(client, connection, kobo_recorded()[0], Authorization=f"Bearer {old}").status_code == 401
    assert post(client, connection, kobo_recorded()[0], Authorization=f"Bearer {new}").status_code == 200
    stored = ServerConnection.objects.values_list("push_secret_sha256", flat=True).get(pk=connection.pk)
    assert new not in stored and len(stored) == 64


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "The body is not valid JSON"),
        ({"submissions": [{"a": 1}, {"b": 2}]}, "one submission at a time"),
        ({"Estimate_height_of_your_tree_in_meters": "3"}, "no instance id"),
    ],
)
def test_a_body_that_is_not_one_identifiable_submission_is_refused(client, pushed, body, message):
    connection, secret = pushed
    answer = post(client, connection, body, Authorization=f"Bearer {secret}")
    assert answer.status_code == 422 and message in answer.json()["detail"]
    assert not Submission.objects.exists() and not ImportBatch.objects.exists()


def test_a_submission_of_another_form_version_is_refused(client, pushed):
    connection, secret = pushed
    submission = dict(kobo_recorded()[0], __version__="vSomeOtherVersion")
    answer = post(client, connection, submission, Authorization=f"Bearer {secret}")
    assert answer.status_code == 422 and "vSomeOtherVersion" in answer.json()["detail"]
    assert not Submission.objects.exists()


def test_a_quarantined_push_is_held_once(client, pushed):
    connection, secret = pushed
    broken = dict(kobo_recorded()[0], Estimate_height_of_your_tree_in_meters="tall")
    answers = [post(client, connection, broken, Authorization=f"Bearer {secret}").json() for _ in range(2)]
    assert [a["status"] for a in answers] == ["quarantined", "duplicate"]
    assert QuarantinedRecord.objects.count() == 1 and not Submission.objects.exists()
