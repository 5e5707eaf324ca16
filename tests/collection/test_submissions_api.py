"""The submissions API: a field tool or script pushes submissions with a token and reads the batch report."""

import json

import pytest

from voicescount.accounts.models import Membership, Organisation, Role
from voicescount.accounts.services import create_api_token
from voicescount.collection import api as submissions_api
from voicescount.collection.models import ImportBatch, QuarantinedRecord, Submission
from voicescount.collection.xlsform import parse_xlsform

pytestmark = pytest.mark.django_db

URL = "/api/v1/studies/survey/instruments/hh_api/submissions"
FORM = b"""| survey |
| | type          | name    | label         |
| | select_one yn | consent | Do you agree? |
| | text          | name    | Name          |
| | text          | phone   | Phone         |
| | integer       | age     | Age           |
| | begin_group   | hh      | Household     |
| | integer       | size    | Size          |
| | end_group     |         |               |
| choices |
| | list_name | name | label |
| | yn        | yes  | Yes   |
| | yn        | no   | No    |
| settings |
| | form_id | version |
| | hh_api  | 1       |
"""
NAME, PHONE = "Nguyễn Thị Lan", "0912345678"


@pytest.fixture(scope="module")
def definition():
    return {k: v for k, v in parse_xlsform("hh_api.md", FORM).items() if k != "xform"}


@pytest.fixture
def instrument(make_instrument, definition):
    return make_instrument(
        study_slug="survey",
        form_id="hh_api",
        filename="hh_api.md",
        source=FORM,
        definition=definition,
        roles={"name": "personal", "phone": "personal"},
        consent_question="consent",
    )


@pytest.fixture
def token(coordinator):
    return create_api_token(coordinator, "field tool")[1]


@pytest.fixture
def push(client, instrument, token):
    """POST a body (a JSON-able value, or bytes as they are) to the instrument's submissions URL."""

    def post(body, *, url=URL, secret=token):
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        return client.post(url, data=data, content_type="application/json", headers=headers)

    return post


def answers(**changes):
    return {"consent": "yes", "name": NAME, "phone": PHONE, "age": "34", "hh/size": "3"} | changes


def counts(report):
    return report["received"], report["accepted"], report["duplicates"], report["quarantined"]


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def nothing_stored():
    return not ImportBatch.objects.exists() and not Submission.objects.exists()


# --- who may push -----------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["", "vc_not-a-token", "not even the prefix"])
def test_no_token_or_a_wrong_one_is_401(push, secret):
    response = push(answers(), secret=secret)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="VoicesCount API"'  # RFC 6750: how to authenticate
    assert "Authorization: Bearer vc_" in response.json()["detail"]
    assert nothing_stored()


def test_a_revoked_token_is_401(push, token, coordinator):
    coordinator.api_tokens.update(revoked=True)
    assert push(answers()).status_code == 401


def test_a_member_who_may_not_submit_or_import_is_403(push, org, django_user_model):
    reviewer = django_user_model.objects.create_user("reviewer")
    Membership.objects.create(user=reviewer, organisation=org, role=Role.NSO_REVIEWER)
    response = push(answers(), secret=create_api_token(reviewer, "t")[1])
    assert response.status_code == 403
    assert "may not submit or import" in response.json()["detail"]
    assert nothing_stored()


def test_another_organisations_private_study_is_not_said_to_exist(push, org, instrument, django_user_model):
    other = Organisation.objects.create(slug="other", name="Other", coalition=org.coalition)
    outsider = django_user_model.objects.create_user("outsider")
    Membership.objects.create(user=outsider, organisation=other, role=Role.COORDINATOR)
    secret = create_api_token(outsider, "t")[1]
    response = push(answers(), secret=secret)
    unknown = push(answers(), secret=secret, url="/api/v1/studies/nope/instruments/hh_api/submissions")
    assert response.status_code == unknown.status_code == 404
    assert response.json()["detail"] == "No instrument 'hh_api' in study 'survey'."
    instrument.study.is_public = True  # a public study is known anyway: say why not
    instrument.study.save()
    assert push(answers(), secret=secret).status_code == 403
    assert nothing_stored()


def test_an_enumerator_of_the_organisation_may_push(push, org, django_user_model):
    enumerator = django_user_model.objects.create_user("enumerator")
    Membership.objects.create(user=enumerator, organisation=org, role=Role.ENUMERATOR)
    response = push(answers(), secret=create_api_token(enumerator, "phone")[1])
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    assert ImportBatch.objects.get().created_by == enumerator


def test_a_submission_of_another_form_version_is_refused(push):
    response = push(answers() | {"__version__": "1999"})
    assert response.status_code == 422
    assert "form version '1999'" in response.json()["detail"]
    assert nothing_stored()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/studies/nope/instruments/hh_api/submissions",
        "/api/v1/studies/survey/instruments/nope/submissions",
    ],
)
def test_unknown_study_or_form_is_404(push, url):
    response = push(answers(), url=url)
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/studies/survey%00/instruments/hh_api/submissions",
        "/api/v1/studies/survey/instruments/%00/submissions",
    ],
)
def test_a_slug_with_a_nul_character_names_nothing(push, url):
    """PostgreSQL refuses text with NUL characters: such a slug was a 500 instead of a 404."""
    response = push(answers(), url=url)
    assert response.status_code == 404 and response.json()["detail"].startswith("No instrument")
    assert nothing_stored()


def test_the_description_documents_the_body_and_every_answer(client):
    operation = client.get("/api/openapi.json").json()["paths"][
        "/api/v1/studies/{study}/instruments/{form_id}/submissions"
    ]["post"]
    responses = operation["responses"]
    assert set(responses) == {"200", "401", "403", "404", "409", "413", "422"}
    assert (
        responses["401"]["headers"]["WWW-Authenticate"]["schema"]["const"] == 'Bearer realm="VoicesCount API"'
    )
    report = responses["200"]["content"]["application/json"]["schema"]
    assert report == {"$ref": "#/components/schemas/BatchReportOut"}
    body = operation["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert body[0]["properties"]["submissions"]["maxItems"] == submissions_api.MAX_BATCH


RULE_FORM = b"""| survey |
| | type          | name    | label         | constraint                     |
| | select_one yn | consent | Do you agree? |                                |
| | integer       | age     | Age           | pulldata('a', 'b', 'c', .) > 1 |
| choices |
| | list_name | name | label |
| | yn        | yes  | Yes   |
| | yn        | no   | No    |
| settings |
| | form_id | version |
| | hh_rule | 1       |
"""


def test_a_note_without_a_count_is_answered_without_one(client, make_instrument, token):
    """The report keeps the shape ImportReport.as_dict gives it: a rule not checked is a note once, with
    no count (the response schema does not invent a null one), beside counted notes."""
    parsed = parse_xlsform("hh_rule.md", RULE_FORM)
    make_instrument(
        study_slug="rules",
        form_id="hh_rule",
        filename="hh_rule.md",
        source=RULE_FORM,
        definition={k: v for k, v in parsed.items() if k != "xform"},
        consent_question="consent",
    )
    response = client.post(
        "/api/v1/studies/rules/instruments/hh_rule/submissions",
        data={"consent": "Yes", "age": "30"},  # the label: mapped to its code, with a counted note
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.content
    report = response.json()
    assert list(report) == [
        "batch", "received", "accepted", "duplicates", "quarantined", "reasons", "reasons_truncated", "notes"
    ]  # fmt: skip
    notes = {note["code"]: note for note in report["notes"]}
    assert set(notes["constraint_not_evaluated"]) == {"field", "code", "message"}
    assert notes["label_mapped"]["count"] == 1


def test_a_script_needs_no_csrf_cookie(instrument, token):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        URL, data=answers(), content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


# --- what is stored ---------------------------------------------------------------------------------


def test_one_submission_is_one_batch_from_the_api(push, coordinator):
    response = push(answers(**{"meta/instanceID": "uuid:1"}))
    assert response.status_code == 200
    report = response.json()
    assert counts(report) == (1, 1, 0, 0)
    batch = ImportBatch.objects.get()
    assert report["batch"] == batch.pk and batch.source == "api" and batch.created_by == coordinator
    submission = Submission.objects.get()
    assert submission.batch == batch and submission.instance_id == "uuid:1"
    assert submission.values["age"] == 34 and submission.values["hh/size"] == 3
    assert NAME not in json.dumps(submission.values, ensure_ascii=False) + json.dumps(submission.raw)


def test_a_batch_is_one_import(push):
    batch = [answers(**{"meta/instanceID": f"uuid:{i}"}) for i in range(3)]
    report = push({"submissions": batch}).json()
    assert counts(report) == (3, 3, 0, 0)
    assert ImportBatch.objects.count() == 1 and Submission.objects.count() == 3


@pytest.mark.parametrize(
    "ids",
    [
        {"meta/instanceID": "uuid:a"},
        {"meta": {"instanceID": "uuid:a"}},
        {"_uuid": "a"},
        {},  # no id: the same answers are the same submission
    ],
    ids=["meta/instanceID", "meta object", "_uuid", "content"],
)
def test_the_same_push_again_stores_nothing_twice(push, ids):
    body = {"submissions": [answers(**ids), answers(age="35", **{"meta/instanceID": "uuid:b"})]}
    assert counts(push(body).json()) == (2, 2, 0, 0)
    assert counts(push(body).json()) == (2, 0, 2, 0)
    assert Submission.objects.count() == 2


def test_a_submission_is_recognised_whichever_way_its_id_is_sent(push):
    """Kobo's ``_uuid`` is the instanceID without ``uuid:``: its JSON and CSV exports share ids."""
    push(answers(_uuid="a"))
    assert counts(push(answers(age="35", **{"meta/instanceID": "uuid:a"})).json()) == (1, 0, 1, 0)
    assert Submission.objects.get().instance_id == "uuid:a"


def test_groups_may_be_sent_as_objects(push):
    """ODK Central's JSON nests groups; the answers are the same as with ``hh/size`` keys."""
    report = push({"consent": "yes", "age": "34", "hh": {"size": "3"}}).json()
    assert counts(report) == (1, 1, 0, 0) and report["notes"] == []
    assert Submission.objects.get().values["hh/size"] == 3


# --- quarantine and personal data -------------------------------------------------------------------


def test_invalid_or_unconsented_records_are_quarantined_with_reasons_but_no_personal_value(push):
    body = {"submissions": [answers(), answers(age="ba mươi"), answers(consent="no", age="40")]}
    response = push(body)
    report = response.json()
    assert counts(report) == (3, 1, 0, 2)
    issues = {r["locator"]: [(i["field"], i["code"]) for i in r["issues"]] for r in report["reasons"]}
    assert issues == {
        "submissions[1]": [("age", "not_integer")],
        "submissions[2]": [("consent", "consent_missing")],
    }
    assert QuarantinedRecord.objects.count() == 2
    text = response.content.decode()
    assert NAME not in text and PHONE not in text and "ba mươi" not in text


def test_an_answer_to_a_question_the_form_lacks_holds_the_record_back_naming_it(push):
    report = push(answers(colour="blue")).json()
    assert (report["accepted"], report["quarantined"]) == (0, 1)
    assert [(i["field"], i["code"]) for i in report["reasons"][0]["issues"]] == [("colour", "unknown_field")]
    assert "blue" not in json.dumps(report)


# --- bad bodies: 422, nothing stored ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "empty"),
        (b"{not json", "not valid"),
        (json.dumps(answers()).encode("utf-16"), "UTF-8"),
        (b'{"consent": "yes", "age": NaN}', "NaN"),
        (b'{"submissions": [{"age": Infinity}]}', "Infinity"),
        (b'{"consent": "yes", "comment": 1e999}', "number"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (
            json.dumps({"submissions": [answers(), answers(x=nested(40))]}).encode(),
            "submissions[1] is nested",
        ),
        (b'"a string"', "submission object"),
        (b"[]", "submission object"),
        (b'{"submissions": {"a": 1}}', "must be a list"),
        (b'{"submissions": []}', "no submissions"),
        (json.dumps({"submissions": [answers(), "yes", answers()]}).encode(), "submissions[1]"),
        (json.dumps(answers(_uuid="x" * 300)).encode(), "instanceID"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_bad_body_is_422_and_nothing_is_stored(push, body, detail):
    response = push(body)
    assert response.status_code == 422, response.content
    assert detail in response.json()["detail"]
    assert nothing_stored()


def test_more_than_max_batch_is_refused_whole(push, monkeypatch):
    monkeypatch.setattr(submissions_api, "MAX_BATCH", 3)
    assert push({"submissions": [answers(age=str(20 + i)) for i in range(3)]}).status_code == 200
    response = push({"submissions": [answers(age=str(30 + i)) for i in range(4)]})
    assert response.status_code == 422
    assert "At most 3" in response.json()["detail"]
    assert ImportBatch.objects.count() == 1 and Submission.objects.count() == 3


def test_a_body_over_the_servers_limit_is_413(push, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = push({"submissions": [answers(age=str(20 + i)) for i in range(20)]})
    assert response.status_code == 413
    assert "split the batch" in response.json()["detail"]
    assert nothing_stored()


def test_a_byte_order_mark_is_allowed(push):
    assert push(b"\xef\xbb\xbf" + json.dumps(answers()).encode()).json()["accepted"] == 1


def test_the_largest_batch_fits_in_the_body_limit():
    from django.conf import settings

    from voicescount.collection import api

    realistic = 3000  # bytes of a KoboToolbox submission of a 60-question form, with its metadata
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE >= api.MAX_BATCH * realistic
