"""The import writes submission rows below the ORM: they must be the rows the ORM would store.

Each test imports records through ``import_records`` (rows written by ``SubmissionWriter``:
``executemany`` on SQLite, ``COPY`` on PostgreSQL), then saves the same submission through the ORM
(``services._submission(...).save()``, the path ``revalidate`` uses and imports used before) and
compares the two rows column by column as the database holds them. Run the suite with
``DATABASE_URL=postgres://…`` to check PostgreSQL.
"""

import datetime as dt
import json

import pytest
from django.db import connection

from voicescount.collection import batches, services
from voicescount.collection.crypto import decrypt_json
from voicescount.collection.models import (
    ImportBatch,
    QuarantinedRecord,
    Submission,
)
from voicescount.collection.records import RawRecord
from voicescount.collection.storing import SUBMISSION_FIELDS, RecordKeys, SubmissionWriter

pytestmark = pytest.mark.django_db

COMPARED = [f for f in SUBMISSION_FIELDS if f not in ("created", "personal")]


@pytest.fixture
def instrument(make_instrument):
    return make_instrument(
        roles={"name": "personal", "phone": "personal", "hh": "respondent_id"}, consent_question="consent"
    )


def typed(record: RawRecord) -> services.Checked:
    """A stand-in checker: typed values differ from the raw answers (numbers, lists, NFC text)."""
    values = {k: v for k, v in record.values.items() if k != "skip"}
    if "age" in values:
        values["age"] = int(values["age"])
    if "items" in values:
        values["items"] = values["items"].split()
    return services.Checked(values, [])


RECORDS = [
    RawRecord(
        source="kobo-json",
        locator="results[0]",
        values={"consent": "yes", "age": "34", "name": "Nguyễn Văn Ân", "phone": "0901", "hh": "hh-1"},
        instance_id="uuid:a",
        submitted_at=dt.datetime(2022, 3, 7, 1, 2, 3, 456789, tzinfo=dt.UTC),
        meta={"_id": 7, "_tags": [], "_geolocation": [None, None], "_validation_status": {}},
        raw={
            "consent": "yes",
            "age": "34",
            "name": "Nguyễn Văn Ân",
            "phone": "0901",
            "hh": "hh-1",
            "_id": 7,
            "_tags": [],
            "_geolocation": [None, None],
            "_validation_status": {},
            "float": 1.5,
            "quote": 'say "xin chào"\n',
        },
    ),
    # no instanceID, no submission time, no raw: raw is the values; personal data inside a repeat
    RawRecord(
        source="csv",
        locator="row 3",
        values={
            "consent": "có",
            "items": "a b",
            "grp/name": "",
            "members": [{"name": "Lê Thị B", "age": "9"}, {"age": "40"}],
            "skip": None,
        },
    ),
    # a group sent as an object, with a personal answer inside; the respondent id among them
    RawRecord(
        source="api",
        locator="record 1",
        values={"consent": "yes", "grp": {"phone": "0912", "hh": "hh-9"}, "hh": "hh-9"},
        instance_id="uuid:c",
        submitted_at=dt.datetime(2022, 3, 8, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=7))),
    ),
]


JSON_FIELDS = {"raw", "values", "meta", "warnings"}


def as_json(name: str, value):
    """A JSON column's value parsed (SQLite returns the text; psycopg may return it parsed)."""
    return json.loads(value) if name in JSON_FIELDS and isinstance(value, str) else value


def stored_row(pk: int) -> dict:
    """The submission's columns as the database returns them (JSON as text on SQLite)."""
    meta = Submission._meta
    columns = [meta.get_field(name).column for name in SUBMISSION_FIELDS]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quoted} FROM {meta.db_table} WHERE id = %s", [pk])
        return dict(zip(SUBMISSION_FIELDS, cursor.fetchone(), strict=True))


@pytest.mark.parametrize("record", RECORDS, ids=["kobo", "csv-repeat", "group-object"])
def test_imported_rows_are_the_rows_the_orm_stores(instrument, coordinator, record):
    report = batches.import_records(
        instrument, [record], checker=typed, source=record.source, user=coordinator
    )
    assert report.accepted == 1
    imported = Submission.objects.get()
    fast = stored_row(imported.pk)
    batch = ImportBatch.objects.get()
    key = services.dedup_key(record, typed(record))  # without an instance id: keyed by its checked answers
    imported.delete()
    orm = services._submission(
        instrument.study,
        instrument,
        batch,
        record,
        key,
        typed(record),
        services.personal_fields(instrument),
        "hh",
    )
    orm.save()
    slow = stored_row(orm.pk)
    # JSON columns hold the same JSON (the import writes it compact and in UTF-8, the ORM with
    # json.dumps's spaces and \u escapes); every other column holds the same value.
    assert {f: as_json(f, fast[f]) for f in COMPARED} == {f: as_json(f, slow[f]) for f in COMPARED}
    # Encrypted with a fresh IV each time: the same plaintext, not the same bytes.
    if slow["personal"] is None:
        assert fast["personal"] is None
    else:
        assert decrypt_json(fast["personal"]) == decrypt_json(slow["personal"])
    assert type(fast["created"]) is type(slow["created"])
    orm.refresh_from_db()
    assert orm.created.tzinfo is not None and orm.consent_status == Submission.ConsentStatus.GIVEN


def test_personal_values_are_split_off_wherever_they_are(instrument, coordinator):
    batches.import_records(instrument, RECORDS, checker=typed, source="api", user=coordinator)
    repeat = Submission.objects.get(instance_id=None)
    assert repeat.raw["members"][0]["name"] == services.PERSONAL_MARKER
    assert repeat.raw["grp/name"] == ""  # an empty answer is not personal data
    assert decrypt_json(repeat.personal)["raw"] == {"members[0]/name": "Lê Thị B"}
    grouped = Submission.objects.get(instance_id="uuid:c")
    # The questionnaire code (role respondent_id) is personal data too.
    assert grouped.raw["grp"] == {"phone": services.PERSONAL_MARKER, "hh": services.PERSONAL_MARKER}
    assert "0912" not in str(grouped.values) and "0912" not in str(grouped.raw)
    assert "hh-9" not in str(grouped.values) and "hh-9" not in str(grouped.raw)
    # The respondent is the pseudonym of the first answer named hh.
    assert grouped.respondent == services.pseudonym(instrument.study, "hh-9")


def test_every_stored_field_of_a_submission_is_written():
    fields = {f.name for f in Submission._meta.concrete_fields if not f.primary_key}
    assert set(SUBMISSION_FIELDS) == fields


def test_record_keys_find_answers_by_their_leaf_name():
    keys = RecordKeys(frozenset({"phone"}))
    values = {"a/hh": "first", "consent": "yes", "b-hh": "last"}
    assert keys.value_of(values, "hh") == "last"
    assert keys.value_of(values, "hh", first=True) == "first"
    assert keys.value_of({"consent": "no"}, "consent") == "no"
    assert keys.value_of({"other": 1}, "consent") is None
    split, removed = keys.split({"g/phone": "1", "x": [{"phone": "2"}, 3], "y": [1, 2]})
    assert split == {
        "g/phone": services.PERSONAL_MARKER,
        "x": [{"phone": services.PERSONAL_MARKER}, 3],
        "y": [1, 2],
    }
    assert removed == {"g/phone": "1", "x[0]/phone": "2"}


def rec(i, **values):
    base = {"consent": "yes", "age": "30", "name": f"Tên {i}", "hh": f"hh{i}"}
    base.update(values)
    return RawRecord(source="api", locator=f"record {i}", values=base, instance_id=f"uuid:{i}")


def check_age(record):
    issues = [] if record.values["age"].isdigit() else [services.Issue("age", "type", "not a number")]
    return services.Checked(dict(record.values), issues)


def test_duplicates_are_found_across_chunks_of_one_batch(instrument, coordinator):
    later = batches.CHUNK + 3
    records = [rec(i) for i in range(later)] + [rec(1), rec(2, age="x"), rec(later - 1)]
    records[5] = rec(5, age="x")  # quarantined in the first chunk ...
    records.append(rec(5))  # ... and its corrected copy in the same batch is a duplicate, as before
    report = batches.import_records(instrument, records, checker=check_age, source="api", user=coordinator)
    assert (report.received, report.accepted, report.quarantined, report.duplicates) == (
        later + 4,
        later - 1,
        1,
        4,
    )
    assert Submission.objects.count() == later - 1


def test_a_corrected_record_in_a_later_batch_resolves_its_quarantine(instrument, coordinator):
    batches.import_records(instrument, [rec(1, age="x")], checker=check_age, source="api", user=coordinator)
    report = batches.import_records(instrument, [rec(1)], checker=check_age, source="api", user=coordinator)
    assert report.accepted == 1
    held = QuarantinedRecord.objects.get()
    assert held.status == QuarantinedRecord.Status.ACCEPTED
    assert held.submission == Submission.objects.get(instance_id="uuid:1")
    assert decrypt_json(held.payload) == {}


def test_a_discarded_record_imported_again_is_a_duplicate(instrument, coordinator):
    batches.import_records(instrument, [rec(1, age="x")], checker=check_age, source="api", user=coordinator)
    services.discard(QuarantinedRecord.objects.get(), user=coordinator, reason="test entry")
    report = batches.import_records(
        instrument, [rec(1, age="x")], checker=check_age, source="api", user=coordinator
    )
    assert (report.quarantined, report.duplicates) == (0, 1)
    assert QuarantinedRecord.objects.count() == 1


def test_record_keys_beyond_the_cap_still_find_answers_and_personal_fields(monkeypatch):
    monkeypatch.setattr("voicescount.collection.storing._MAX_KEYS", 3)
    keys = RecordKeys(frozenset({"phone"}))
    keys.learn({"a": 1, "b": 2, "c": 3})  # the cap is reached: later keys are not remembered
    values = {"x/hh": "first", "g/phone": "0901", "y/hh": "last"}
    assert keys.value_of(values, "hh") == "last" and keys.value_of(values, "hh", first=True) == "first"
    split, removed = keys.split(values)
    assert split["g/phone"] == services.PERSONAL_MARKER and removed == {"g/phone": "0901"}


def test_postgresql_compresses_submission_json_with_lz4():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL storage setting")
    with connection.cursor() as cursor:
        cursor.execute("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        if "lz4" not in (cursor.fetchone()[0] or []):
            pytest.skip("this PostgreSQL is built without lz4")
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [Submission._meta.db_table])
        (options,) = cursor.fetchone()
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            [Submission._meta.db_table],
        )
        compression = dict(cursor.fetchall())
    assert not any(o.startswith("toast_tuple_target") for o in options or [])
    assert {compression[c] for c in ("raw", "values", "meta")} == {"l"}


def test_submissions_keep_one_index_per_purpose():
    """Every index of the table is maintained by each import: respondent has a plain one (no
    ``varchar_pattern_ops`` copy for LIKE queries), study has none of its own (the composites start
    with it)."""
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, Submission._meta.db_table)
    indexed = sorted(
        tuple(c["columns"]) for c in indexes.values() if (c["index"] or c["unique"]) and not c["primary_key"]
    )
    assert indexed == sorted(
        [
            ("batch_id",),
            ("instrument_id",),
            ("respondent",),
            ("study_id", "consent_status"),
            ("study_id", "content_hash"),
        ]
    )


def test_json_that_orjson_refuses_is_written_as_django_would(instrument, coordinator):
    record = RawRecord(
        source="api",
        locator="submissions[0]",
        values={"consent": "yes", "hh": "hh-1"},
        instance_id="uuid:big",
        raw={"consent": "yes", "hh": "hh-1", "count": 2**70},  # beyond 64 bits: orjson refuses it
    )
    report = batches.import_records(instrument, [record], checker=typed, source="api", user=coordinator)
    assert report.accepted == 1
    assert Submission.objects.get().raw["count"] == 2**70


def test_copies_of_personal_locations_and_media_are_personal_too(instrument, coordinator):
    """Kobo copies the first geopoint into ``_geolocation`` and media into ``_attachments``; ODK Central
    splits a geopoint into ``gps-Latitude``… columns: none of them may stay in clear."""
    instrument.roles = {**instrument.roles, "gps": "personal", "photo": "personal"}
    instrument.definition = {
        "questions": [{"name": "gps", "type": "geopoint"}, {"name": "photo", "type": "image"}]
    }
    instrument.save()
    record = RawRecord(
        source="kobo-json",
        locator="results[0]",
        values={"consent": "yes", "gps": "21.0285 105.8542 0 5", "photo": "face.jpg", "hh": "hh-1"},
        instance_id="uuid:geo",
        meta={"_geolocation": [21.0285, 105.8542], "_attachments": [{"filename": "u/face.jpg"}]},
        raw={
            "consent": "yes",
            "gps": "21.0285 105.8542 0 5",
            "_geolocation": [21.0285, 105.8542],
            "_attachments": [{"filename": "u/face.jpg"}],
            "export.csv": {"grp-gps-Latitude": "21.0285", "grp-gps-Longitude": "105.8542", "grp-n": "1"},
        },
    )
    batches.import_records(instrument, [record], checker=typed, source="kobo-json", user=coordinator)
    stored = Submission.objects.get()
    text = json.dumps([stored.raw, stored.values, stored.meta])
    assert "21.0285" not in text and "105.8542" not in text and "face.jpg" not in text
    assert stored.raw["export.csv"]["grp-n"] == "1"
    hidden = decrypt_json(stored.personal)
    assert hidden["raw"]["_geolocation"] == [21.0285, 105.8542]
    assert hidden["raw"]["export.csv/grp-gps-Latitude"] == "21.0285"


def test_metadata_split_from_the_raw_split_is_the_metadata_split():
    keys = RecordKeys(frozenset({"phone", "_geolocation"}))
    raw = {"q": "1", "_id": 7, "_geolocation": [21.0, 105.8], "_notes": [], "grp": {"phone": "0901"}}
    meta = {k: raw[k] for k in ("_id", "_geolocation", "_notes", "grp")}
    raw_split = keys.split(raw)[0]
    assert keys.split_part(meta, raw, raw_split) == keys.split(meta)[0]
    assert keys.split_part(meta, raw, raw_split)["grp"] == {"phone": services.PERSONAL_MARKER}
    # a value that is not the raw payload's own object (as ODK's meta is not): split on its own
    other = {"_id": 7, "grp": {"phone": "0901"}}
    assert keys.split_part(other, raw, raw_split) == keys.split(other)[0]
    assert keys.split_part(other, ["not", "a", "dict"], None) == keys.split(other)[0]


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2022, 3, 7, 1, 2, 3, 456789, tzinfo=dt.UTC),
        dt.datetime(2022, 3, 7, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=7))),
        dt.datetime(2022, 12, 31, 23, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
        dt.datetime(2022, 1, 1),
        None,
    ],
)
def test_date_times_are_written_as_the_backend_writes_them(value):
    writer = SubmissionWriter()
    assert writer.stored("r", value, {}, {}, {}, None)[1] == connection.ops.adapt_datetimefield_value(value)
