"""Imports with worker processes (``workers`` 1 or 2): the batch one process stores; errors raised here."""

import json
import os

import pytest

from voicescount.collection import batches, services
from voicescount.collection.crypto import decrypt_json
from voicescount.collection.errors import ImportFileError
from voicescount.collection.models import (
    AuditEntry,
    ImportBatch,
    QuarantinedRecord,
    Study,
    Submission,
)
from voicescount.collection.records import RawRecord
from voicescount.perf import AheadInChild

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not AheadInChild.available(), reason="needs os.fork"),
]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(batches, "CHUNK", 7)  # several chunks from a few dozen records


@pytest.fixture
def instrument(make_instrument):
    return make_instrument(roles={"name": "personal", "hh": "respondent_id"}, consent_question="consent")


def check(record: RawRecord) -> services.Checked:
    """Stand-in validation: ``age`` must be a whole number; the typed values say which process checked."""
    values = dict(record.values)
    try:
        values["age"] = int(values["age"])
    except ValueError:
        return services.Checked(values, [services.Issue("age", "type", "age is not a whole number")])
    if record.instance_id is None:  # keyed by its checked answers (dedup_key): the same in every process
        return services.Checked(values, [])
    return services.Checked({**values, "checked_by": os.getpid()}, [])


def records(n: int = 40, *, fail_at: int | None = None):
    """Records 35-39 repeat records 0-4; some fail the age check or lack consent; one has no id."""
    for i in range(n):
        if i == fail_at:
            raise ImportFileError("The JSON is invalid or truncated after results[12].", file="x.json")
        j = i % 35
        values = {"consent": "no" if j % 9 == 4 else "yes", "age": "x" if j % 11 == 3 else str(20 + j)}
        values |= {"name": f"Nguyễn Văn {j}", "hh": f"hh-{j}"}
        yield RawRecord(
            source="api",
            locator=f"submissions[{i}]",
            values=values,
            instance_id=None if j == 2 else f"uuid:{j}",
        )


def stored(study: Study) -> tuple:
    submissions = [
        (s.instance_id, s.content_hash, s.respondent, s.raw, {**s.values, "checked_by": 0}, s.meta)
        for s in Submission.objects.filter(study=study).order_by("id")
    ]
    personal = [decrypt_json(s.personal) for s in Submission.objects.filter(study=study).order_by("id")]
    held = [
        (q.locator, q.content_hash, q.issues, decrypt_json(q.payload)["values"])
        for q in QuarantinedRecord.objects.filter(study=study).order_by("id")
    ]
    return submissions, personal, held


def run(instrument, workers: int, source=None) -> services.ImportReport:
    return batches.import_records(
        instrument,
        records() if source is None else source,
        checker=check,
        source="api",
        check_permission=False,
        workers=workers,
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_processes_store_the_batch_one_process_stores(instrument, workers):
    in_worker = run(instrument, workers=workers)
    assert (in_worker.received, in_worker.accepted, in_worker.quarantined, in_worker.duplicates) == (
        40,
        28,
        7,
        5,
    )
    pids = {s.values["checked_by"] for s in Submission.objects.exclude(instance_id=None)}
    assert pids and os.getpid() not in pids  # checked in another process
    with_worker = stored(instrument.study)
    batch = ImportBatch.objects.get()
    assert batch.accepted == 28 and batch.report["reasons"] == in_worker.as_dict()["reasons"]

    for model in (Submission, QuarantinedRecord, AuditEntry, ImportBatch):
        model.objects.all().delete()
    in_process = run(instrument, workers=0)
    assert in_process.as_dict() | {"batch": 0} == in_worker.as_dict() | {"batch": 0}
    assert {s.values["checked_by"] for s in Submission.objects.exclude(instance_id=None)} == {os.getpid()}
    assert stored(instrument.study) == with_worker


def test_the_same_export_again_adds_nothing(instrument):
    run(instrument, workers=1)
    again = run(instrument, workers=1)
    assert (again.accepted, again.quarantined, again.duplicates) == (0, 0, 40)
    assert Submission.objects.count() == 28


@pytest.mark.parametrize(("workers", "fail_at"), [(1, 30), (2, 30), (2, 23)])  # in either worker's chunk
def test_an_error_in_a_worker_is_raised_and_nothing_is_stored(instrument, workers, fail_at):
    with pytest.raises(
        ImportFileError, match=r"x\.json: The JSON is invalid or truncated after results\[12\]"
    ):
        run(instrument, workers=workers, source=records(fail_at=fail_at))
    assert not ImportBatch.objects.exists() and not Submission.objects.exists()
    assert not QuarantinedRecord.objects.exists()


@pytest.mark.parametrize("workers", [1, 2])
def test_an_export_of_another_form_found_in_a_worker_stops_the_import(instrument, workers):
    check_form = batches.FormCheck(form_id="f", version="1", names=frozenset(), filename="x.json")
    later = [
        RawRecord(source="kobo-json", locator="results[20]", values={}, meta={"_xform_id_string": "other"})
    ]
    with pytest.raises(ImportFileError, match="form 'other'") as caught:
        batches.import_records(
            instrument,
            [*records(20), *later],
            checker=check,
            source="kobo-json",
            check_permission=False,
            form_check=check_form,
            workers=workers,
        )
    assert caught.value.row == "results[20]" and caught.value.field == "_xform_id_string"
    assert not Submission.objects.exists()


def test_a_worker_that_dies_is_reported(instrument):
    def killed(record):
        os._exit(3)

    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        batches.import_records(
            instrument, records(), checker=killed, source="api", check_permission=False, workers=1
        )
    assert not Submission.objects.exists()


def test_notes_of_several_workers_are_added_up():
    skipped = {"field": "q", "code": "relevance_not_evaluated", "message": "not checked"}
    first = [skipped, {"field": "x", "code": "unknown_field", "message": "left out", "count": 3}]
    second = [skipped, {"field": "x", "code": "unknown_field", "message": "left out", "count": 4}]
    second.append({"field": "y", "code": "label_mapped", "message": "label", "count": 1})
    assert batches._merged_notes([first, second]) == [
        skipped,
        {"field": "x", "code": "unknown_field", "message": "left out", "count": 7},
        {"field": "y", "code": "label_mapped", "message": "label", "count": 1},
    ]


def test_workers_convert_only_the_records_they_check(instrument, tmp_path, monkeypatch):
    """Kobo records come as a RecordStream: each worker converts only its own chunks; the batch is the
    one a single process stores."""
    from voicescount.collection import importing
    from voicescount.collection.readers import kobo

    page = {
        "results": [
            {"consent": "yes", "age": str(20 + i % 30), "hh": f"hh-{i}", "_uuid": f"u{i}"} for i in range(40)
        ]
    }
    export = tmp_path / "export.json"
    export.write_text(json.dumps(page))
    log = tmp_path / "converted.txt"
    real = kobo.kobo_record

    def counting(item, locator, *, name):
        with open(log, "a") as out:  # one short line per call: appends from two processes do not mix
            out.write(f"{os.getpid()} {locator}\n")
        return real(item, locator, name=name)

    monkeypatch.setattr(kobo, "kobo_record", counting)
    reports = []
    for workers in (2, 0):
        log.write_text("")
        for model in (Submission, QuarantinedRecord, AuditEntry, ImportBatch):
            model.objects.all().delete()
        stream = importing.read_records(export, "kobo-json")
        report = batches.import_records(
            instrument, stream, checker=check, source="kobo-json", check_permission=False, workers=workers
        )
        stored = sorted(Submission.objects.values_list("instance_id", flat=True))
        reports.append((report.accepted, report.quarantined, stored))
        calls = [line.split(" ", 1) for line in log.read_text().splitlines()]
        assert sorted(locator for _, locator in calls) == sorted(
            f"results[{i}] in export.json" for i in range(40)
        )
        pids = {pid for pid, _ in calls}
        assert pids == ({str(os.getpid())} if workers == 0 else pids - {str(os.getpid())})
        assert len(pids) == (2 if workers else 1)  # each record converted once, by the worker checking it
    assert reports[0] == reports[1] and reports[0][0] == 40


@pytest.mark.parametrize("how", ["exit", "SIGKILL"])
def test_workers_do_not_outlive_their_parent(how):
    """A parent that dies without stopping its workers (killed, or gone by os._exit) takes them with it,
    even while they are blocked sending results nobody reads. (They used to stay, blocked for ever.)"""
    import itertools
    import signal
    import time

    from tests.collection.import_site import alive, descendants

    parent = os.fork()
    if parent == 0:  # the importing process: workers on an endless source, results never taken
        try:
            ahead = AheadInChild(itertools.count(), lambda i: b"x" * 100_000, children=2)
            time.sleep(30 if how == "SIGKILL" else 0.5)
            ahead.final.clear()  # held to the end: its pipes stay open until the process goes
        finally:
            os._exit(0)
    deadline = time.monotonic() + 10
    while len(workers := descendants(parent)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # their pipes are full: both are blocked writing
    assert len(workers) == 2
    if how == "SIGKILL":
        os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)
    deadline = time.monotonic() + 2
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if alive(w)]
    for worker in left:
        os.kill(worker, signal.SIGKILL)
    assert not left, f"{len(left)} workers outlived their parent"
