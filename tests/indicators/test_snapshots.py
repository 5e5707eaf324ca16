"""Analysis snapshots: what a computation reads is an immutable, typed Parquet file of the answers in
analysis, never a personal field, made anew when the submissions change and recorded by every run."""
# ruff: noqa: F811  (pytest fixtures imported from test_compute)

import os
import signal
import stat
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.db import connection

from tests.indicators.factories import study_with_answers
from tests.indicators.test_compute import N, definition, study, synthetic_records  # noqa: F401  (fixtures)
from voicescount.collection import batches, services
from voicescount.collection.models import Submission
from voicescount.collection.records import RawRecord
from voicescount.indicators import columns, compute, dataset, snapshots
from voicescount.indicators.errors import DatasetError
from voicescount.indicators.models import AnalysisSnapshot, EstimateRun

pytestmark = pytest.mark.django_db

NAMES = ["age", "sex", "commune", "weight", "stratum", "covered", "province", "wg_walking"]


def read_back(snapshot):
    return pq.read_table(snapshots.snapshot_root() / snapshot.path)


def files(study):
    return sorted(p.name for p in (snapshots.snapshot_root() / study.slug).iterdir())


def add_records(study, count, seed=99, **changes):
    extra = []
    for i, record in enumerate(synthetic_records(seed=seed)[:count]):
        values = {**record.values, "hh": f"new-{seed}-{i}", **changes}
        extra.append(
            RawRecord(source="api", locator=f"new {i}", values=values, instance_id=f"uuid:n{seed}-{i}")
        )
    return batches.import_records(
        study.instruments.get(),
        extra,
        checker=lambda r: services.Checked(dict(r.values), []),
        source="api",
        check_permission=False,
    )


def test_the_snapshot_holds_the_answers_in_analysis_with_their_types(study):
    snapshot = snapshots.snapshot_for(study, NAMES)
    table = read_back(snapshot)
    stored = dict(Submission.objects.filter(study=study).in_analysis().values_list("id", "values"))
    assert snapshot.rows == table.num_rows == N == len(stored)
    assert table.column(snapshots.ID_COLUMN).to_pylist() == sorted(stored)
    for name in NAMES:
        assert table.column(name).to_pylist() == [stored[i][name] for i in sorted(stored)], name
    types = {f.name: f.type for f in table.schema}
    assert (
        types["age"] == pa.int64() and types["weight"] == pa.float64() and types["wg_walking"] == pa.int64()
    )
    assert types["sex"] == pa.dictionary(pa.int32(), pa.string())  # text, each code once
    assert {c["name"]: c["type"] for c in snapshot.columns}["age"] == "int64"
    # the dataset gives the very values (and Python types) the stored JSON held
    data = dataset.load_dataset(study, NAMES)
    assert data.snapshot == snapshot and data.ids == sorted(stored)
    for name in NAMES:
        column = data.column(name)
        assert [(type(v), v) for v in column] == [(type(stored[i][name]), stored[i][name]) for i in data.ids]


def test_no_personal_field_nor_questionnaire_code_is_ever_in_a_snapshot(study):
    instrument = study.instruments.get()
    assert instrument.roles == {"hh": "respondent_id"}
    snapshot = snapshots.snapshot_for(study, [*NAMES, "hh"])  # asked for, left out
    assert "hh" not in read_back(snapshot).column_names
    hh_values = {f"hh{i}".encode() for i in range(N)}
    raw = (snapshots.snapshot_root() / snapshot.path).read_bytes()
    assert not any(v in raw for v in list(hh_values)[:50])
    # a question that becomes personal after import (still in clear in the stored values) leaves the
    # next snapshot, and a computation cannot read it
    instrument.roles = {**instrument.roles, "commune": "personal"}
    instrument.save()
    after = snapshots.snapshot_for(study, NAMES)
    assert after.pk != snapshot.pk and "commune" not in read_back(after).column_names
    assert "commune" in after.source_state["excluded"]
    with pytest.raises(snapshots.SnapshotError, match="'s' are personal data"):
        snapshots.build_snapshot(study, ["age", "commune"])
    with pytest.raises(DatasetError, match="question 'commune' is personal data"):
        dataset.load_dataset(study, NAMES).column("commune")


def test_snapshot_files_are_private_and_named_by_their_hash(study):
    snapshot = snapshots.snapshot_for(study, NAMES)
    path = snapshots.snapshot_root() / snapshot.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(snapshots.snapshot_root().stat().st_mode) == 0o700
    assert path.name == f"{snapshot.content_hash}.parquet" == f"{snapshots.file_sha256(path)}.parquet"
    assert path.parent.name == study.slug


def test_the_same_data_gives_the_same_snapshot_and_no_new_file(study):
    first = snapshots.snapshot_for(study, NAMES)
    listing, mtime = files(study), (snapshots.snapshot_root() / first.path).stat().st_mtime_ns
    again = snapshots.snapshot_for(study, NAMES[:3])  # fewer questions: the snapshot holds them
    data = dataset.load_dataset(study, NAMES)
    assert again.pk == first.pk == data.snapshot.pk and AnalysisSnapshot.objects.count() == 1
    assert files(study) == listing and (snapshots.snapshot_root() / first.path).stat().st_mtime_ns == mtime
    # built again from scratch, the same answers give the same bytes: the same snapshot
    rebuilt = snapshots.build_snapshot(study, NAMES)
    assert rebuilt.pk == first.pk and files(study) == listing


def test_a_withdrawal_and_an_import_each_make_a_new_snapshot_leaving_the_old_file_untouched(
    study, django_user_model
):
    first = snapshots.snapshot_for(study, NAMES)
    old_path = snapshots.snapshot_root() / first.path
    old_bytes, old_mtime = old_path.read_bytes(), old_path.stat().st_mtime_ns
    admin = django_user_model.objects.create_superuser("admin", password="x")
    gone = Submission.objects.filter(study=study).order_by("id")[5]
    services.withdraw_consent(study, gone.respondent, user=admin)
    second = snapshots.snapshot_for(study, NAMES)
    assert second.pk != first.pk and second.content_hash != first.content_hash
    assert second.rows == N - 1 and gone.pk not in read_back(second).column(snapshots.ID_COLUMN).to_pylist()
    assert old_path.read_bytes() == old_bytes and old_path.stat().st_mtime_ns == old_mtime
    assert add_records(study, 10).accepted == 10
    third = snapshots.snapshot_for(study, NAMES)
    assert third.content_hash not in (first.content_hash, second.content_hash) and third.rows == N + 9
    assert len(files(study)) == 3 and old_path.read_bytes() == old_bytes


def test_every_run_records_the_snapshot_it_read(definition, study, django_user_model):
    runs = compute.compute_study(study, force=True)
    first = study.snapshots.get()
    assert all(r.snapshot_id == first.pk for r in runs.values())
    admin = django_user_model.objects.create_superuser("admin", password="x")
    services.withdraw_consent(study, Submission.objects.filter(study=study).first().respondent, user=admin)
    again = compute.compute_definition(definition)
    latest = study.snapshots.order_by("-pk").first()
    assert latest.pk != first.pk and again.snapshot_id == latest.pk and again.submissions == latest.rows
    assert EstimateRun.objects.filter(snapshot=None).count() == 0


def test_a_later_block_of_another_type_widens_the_column_to_json_exactly():
    # the first rows answer 'code' with numbers, the later ones with text: one exact column of JSON texts
    records = synthetic_records(seed=5)[:10]
    for i, record in enumerate(records):
        record.values["code"] = 7 if i < 5 else "B7"
    mixed, report = study_with_answers("mixed", records)
    assert report.accepted == 10
    snapshot = snapshots.build_snapshot(mixed, ["code", "age"], block=5)  # block 1 int64, block 2 text
    assert {c["name"]: c["type"] for c in snapshot.columns} == {
        snapshots.ID_COLUMN: "int64",
        "code": "json",
        "age": "int64",
    }
    data = dataset.load_dataset(mixed, ["code", "age"])
    assert data.snapshot == snapshot
    assert [(type(v), v) for v in data.column("code")] == [(int, 7)] * 5 + [(str, "B7")] * 5


def test_a_failed_build_leaves_no_file_and_no_snapshot(study, monkeypatch):
    blocks = snapshots.answer_blocks

    def failing(study, names, block):
        yield from blocks(study, names, 100)  # one block written, then the failure
        raise KeyboardInterrupt

    listing_before = files(study) if (snapshots.snapshot_root() / study.slug).exists() else []
    monkeypatch.setattr(snapshots, "answer_blocks", failing)
    with pytest.raises(KeyboardInterrupt):
        snapshots.build_snapshot(study, NAMES)
    assert files(study) == listing_before == [] and AnalysisSnapshot.objects.count() == 0


def test_a_killed_build_leaves_no_file_under_a_snapshots_name(study, tmp_path):
    directory = snapshots.study_directory(study)

    def slow_blocks():
        yield [1, 2], {"x": [1, 2]}
        time.sleep(60)  # killed here, with a row group written
        yield [3], {"x": [3]}

    pid = os.fork()
    if pid == 0:  # the build, in a child process that gets SIGKILL
        try:
            snapshots.write_file(directory, slow_blocks(), {"x": None})
        finally:
            os._exit(1)
    deadline = time.monotonic() + 20
    while not list(directory.glob(".building-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    left = [p.name for p in directory.iterdir()]
    assert len(left) == 1 and left[0].startswith(f".building-{pid}-")  # no <hash>.parquet
    snapshot = snapshots.snapshot_for(study, NAMES)  # the next build removes what the killed one left
    assert files(study) == [f"{snapshot.content_hash}.parquet"]


def needs_a_database_workers_can_reach():
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("worker processes need a database they can connect to (PostgreSQL, a SQLite file)")


@pytest.fixture
def workers_started(settings, monkeypatch):
    """The builds' worker processes (each time ``AheadInChild`` starts them: how many), from any size."""
    started = []

    class Recorded(snapshots.AheadInChild):
        def __init__(self, *args, **kwargs):
            started.append(kwargs["children"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(snapshots, "AheadInChild", Recorded)
    settings.VOICESCOUNT_PARALLEL_ROWS = 1
    settings.VOICESCOUNT_COMPUTE_WORKERS = 2
    return started


@pytest.mark.django_db(transaction=True)  # the workers connect anew: the rows must be committed
def test_blocks_read_by_worker_processes_give_the_same_file(study, settings, workers_started):
    needs_a_database_workers_can_reach()
    ids = snapshots.analysis_ids(study)
    settings.VOICESCOUNT_COMPUTE_WORKERS = 1
    alone = snapshots.build_snapshot(study, NAMES, block=7, ids=ids)
    (snapshots.snapshot_root() / alone.path).unlink()
    settings.VOICESCOUNT_COMPUTE_WORKERS = 2
    shared = snapshots.build_snapshot(study, NAMES, block=7, ids=ids)
    assert workers_started == [2] and shared == alone
    assert snapshots.file_sha256(snapshots.snapshot_root() / shared.path) == alone.content_hash


@pytest.mark.django_db(transaction=True)
def test_a_workers_block_of_another_type_widens_the_column_exactly(workers_started):
    needs_a_database_workers_can_reach()
    records = synthetic_records(seed=5)[:10]
    for i, record in enumerate(records):
        record.values["code"] = 7 if i < 5 else "B7"
    mixed, _ = study_with_answers("mixed", records)
    widened = snapshots.build_snapshot(mixed, ["code", "age"], block=5, ids=snapshots.analysis_ids(mixed))
    # int64 from the first block, read here; the second, read by a worker, is text: started again
    assert workers_started == [2, 2]
    assert {c["name"]: c["type"] for c in widened.columns}["code"] == "json"
    data = dataset.load_dataset(mixed, ["code", "age"])
    assert [(type(v), v) for v in data.column("code")] == [(int, 7)] * 5 + [(str, "B7")] * 5


@pytest.mark.parametrize("other", [1, 2.5, True, ["a"], {"a": 1}])
def test_a_text_column_refuses_every_answer_that_is_not_a_text(other):
    assert columns.to_arrow("x", ["a", None], "text").to_pylist() == ["a", None]
    with pytest.raises(columns.TypeMismatch) as caught:
        columns.to_arrow("x", ["a", other, None], "text")
    assert caught.value.name == "x"
