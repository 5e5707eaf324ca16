"""The questionnaire code (the ``respondent_id`` role, e.g. ``94-008-017``) is personal data: it is what
field teams write on the paper questionnaire and the household list, so stored beside its pseudonym it
would undo the pseudonym. It is stored encrypted with the other personal fields; the pseudonym derived
from it still links a person's records and finds them for a consent withdrawal."""

import datetime as dt
import importlib
import json

import pytest
from django.apps import apps as django_apps
from django.db import connection

from voicescount.collection import batches, services
from voicescount.collection.crypto import decrypt_json, encrypt_json
from voicescount.collection.models import ImportBatch, Submission
from voicescount.collection.records import RawRecord
from voicescount.collection.sealing import seal_personal_answers

seal_questionnaire_codes = importlib.import_module(
    "voicescount.collection.migrations.0006_seal_questionnaire_codes"
).seal_questionnaire_codes

pytestmark = pytest.mark.django_db

CODE = "94-008-017"


@pytest.fixture
def instrument(make_instrument):
    return make_instrument(roles={"name": "personal", "hh": "respondent_id"}, consent_question="consent")


def _record(instance: str, code: str = CODE) -> RawRecord:
    values = {"consent": "yes", "age": "34", "name": "Nguyễn Văn Ân", "hh": code}
    return RawRecord(
        source="kobo-json",
        locator="results[0]",
        values=values,
        instance_id=instance,
        submitted_at=dt.datetime(2022, 3, 7, 1, 2, 3, tzinfo=dt.UTC),
        meta={"_id": 7},
        raw={**values, "_id": 7},
    )


def test_questionnaire_code_is_stored_encrypted_not_in_clear(instrument, coordinator):
    report = batches.import_records(
        instrument,
        [_record("uuid:a")],
        checker=lambda r: services.Checked(dict(r.values), []),
        source="kobo-json",
        user=coordinator,
    )
    assert report.accepted == 1
    submission = Submission.objects.get()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT raw, {connection.ops.quote_name('values')}, meta, warnings FROM collection_submission"
        )
        stored = " ".join(
            value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            for value in cursor.fetchone()
        )
    assert CODE not in stored
    assert "Nguyễn" not in stored
    personal = decrypt_json(bytes(submission.personal))
    assert CODE in json.dumps(personal, ensure_ascii=False)
    assert submission.respondent == services.pseudonym(instrument.study, CODE)


def test_records_of_one_questionnaire_code_share_a_pseudonym(instrument, coordinator):
    batches.import_records(
        instrument,
        [_record("uuid:a"), _record("uuid:b"), _record("uuid:c", code="94-008-018")],
        checker=lambda r: services.Checked(dict(r.values), []),
        source="kobo-json",
        user=coordinator,
    )
    pseudonyms = list(Submission.objects.order_by("instance_id").values_list("respondent", flat=True))
    assert pseudonyms[0] == pseudonyms[1] != pseudonyms[2]
    assert all(CODE not in p for p in pseudonyms)


def _stored_the_old_way(instrument, coordinator) -> Submission:
    """A submission as imports stored it before questionnaire codes were personal data: the code in
    clear in values and raw, the name already encrypted."""
    batch = ImportBatch.objects.create(
        study=instrument.study, instrument=instrument, source="kobo-json", created_by=coordinator
    )
    marker = services.PERSONAL_MARKER
    return Submission.objects.create(
        study=instrument.study,
        instrument=instrument,
        batch=batch,
        instance_id="uuid:old",
        content_hash="h-old",
        respondent=services.pseudonym(instrument.study, CODE),
        raw={"consent": "yes", "name": marker, "hh": CODE, "_id": 7},
        values={"consent": "yes", "name": marker, "hh": CODE},
        personal=encrypt_json({"values": {"name": "Nguyễn Văn Ân"}, "raw": {"name": "Nguyễn Văn Ân"}}),
    )


def test_codes_stored_in_clear_before_are_sealed_by_the_migration(instrument, coordinator):
    old = _stored_the_old_way(instrument, coordinator)
    seal_questionnaire_codes(django_apps, None)
    old.refresh_from_db()
    assert CODE not in json.dumps([old.raw, old.values])
    assert old.raw["hh"] == old.values["hh"] == services.PERSONAL_MARKER
    assert decrypt_json(bytes(old.personal)) == {
        "values": {"name": "Nguyễn Văn Ân", "hh": CODE},
        "raw": {"name": "Nguyễn Văn Ân", "hh": CODE},
    }
    assert old.respondent == services.pseudonym(instrument.study, CODE)
    # Run again: nothing left to seal, nothing changes.
    before = bytes(old.personal)
    assert seal_personal_answers(instrument, frozenset({"hh"}), Submission.objects) == 0
    old.refresh_from_db()
    assert bytes(old.personal) == before
