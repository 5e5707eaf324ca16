"""Computations as background jobs: queued with an audit entry, run by a worker (here at once, or by
django-tasks-db's worker), counted, their runs drafts; a job whose worker died is shown failed."""
# ruff: noqa: F811  (pytest fixtures imported from test_compute)

import fcntl

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.utils import timezone, translation

from tests.indicators.test_compute import definition, study  # noqa: F401  (fixtures)
from voicescount.accounts.models import Membership, Role
from voicescount.collection.models import AuditEntry
from voicescount.indicators import compute_jobs
from voicescount.indicators.models import ComputeJob, EstimateRun, IndicatorDefinition

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def member(django_user_model, study, role, name):
    user = django_user_model.objects.create_user(name, password="pw")
    Membership.objects.create(user=user, organisation=study.organisation, role=role)
    return user


def test_a_job_computes_the_definitions_as_drafts(settings, data_dir, django_user_model, definition, study):
    settings.TASKS = IMMEDIATE
    analyst = member(django_user_model, study, Role.ANALYST, "ana")
    job = compute_jobs.enqueue_compute(study, analyst)
    assert (job.status, job.runs_total, job.runs_done, job.error) == ("done", 1, 1, "")
    run = definition.runs.get()
    assert list(job.runs.all()) == [run] and run.published is None and run.created_by == analyst
    entry = AuditEntry.objects.get(action="compute_queued")
    assert (entry.actor, entry.study, entry.organisation) == (analyst, study, study.organisation)
    assert entry.details == {"job": job.pk, "definitions": "all", "force": False}
    status = compute_jobs.job_status(job)
    assert status.percent == 100 and status.problems == [] and not status.unclaimed
    assert not list((data_dir / "compute-jobs").iterdir())  # the lock went with the job
    # nothing changed: the next job makes no run; force makes one
    again = compute_jobs.enqueue_compute(study, analyst, ["sp"])
    assert again.status == "done" and not again.runs.exists() and definition.runs.count() == 1
    forced = compute_jobs.enqueue_compute(study, analyst, ["sp"], force=True)
    assert forced.runs.count() == 1 and definition.runs.count() == 2


def test_definitions_that_cannot_be_computed_are_named(
    settings, data_dir, django_user_model, definition, study
):
    settings.TASKS = IMMEDIATE
    IndicatorDefinition.objects.create(
        study=study, indicator=definition.indicator, code="broken", title_en="Broken", universe="income > 0"
    )
    job = compute_jobs.enqueue_compute(study, member(django_user_model, study, Role.COORDINATOR, "co"))
    assert job.status == "done" and job.runs_total == 2 and job.runs.count() == 1
    (problem,) = compute_jobs.job_status(job).problems
    assert problem == "Definition 'broken' has no numerator expression."
    only_broken = compute_jobs.enqueue_compute(study, job.user, ["broken"])
    assert only_broken.status == "failed" and only_broken.error == problem


def test_bad_requests_queue_nothing(settings, data_dir, django_user_model, definition, study):
    settings.TASKS = IMMEDIATE
    coordinator = member(django_user_model, study, Role.COORDINATOR, "co")
    with pytest.raises(
        compute_jobs.UnknownDefinition, match="no indicator definition nope, zzz; its definitions: sp"
    ):
        compute_jobs.enqueue_compute(study, coordinator, ["zzz", "sp", "nope"])
    with pytest.raises(PermissionDenied):
        compute_jobs.enqueue_compute(study, member(django_user_model, study, Role.NSO_REVIEWER, "nso"))
    assert (
        not ComputeJob.objects.exists()
        and not AuditEntry.objects.filter(action="compute_queued").exists()
        and not EstimateRun.objects.exists()
    )


def test_a_queued_job_is_not_queued_twice(data_dir, django_user_model, definition, study):
    coordinator = member(django_user_model, study, Role.COORDINATOR, "co")
    first = compute_jobs.enqueue_compute(study, coordinator)  # the database backend: it waits for a worker
    assert first.status == "queued" and first.task_id
    assert compute_jobs.enqueue_compute(study, coordinator) == first
    other = compute_jobs.enqueue_compute(study, coordinator, ["sp"])
    assert other != first and ComputeJob.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_runs_the_job(data_dir, django_user_model, definition, study):
    job = compute_jobs.enqueue_compute(study, member(django_user_model, study, Role.ANALYST, "ana"))
    assert compute_jobs.job_status(job).percent == 0 and not definition.runs.exists()
    call_command("db_worker", "--batch", "--no-reload", "--interval", "0.1")
    job.refresh_from_db()
    assert job.status == "done" and job.runs_done == 1 and job.runs.get() == definition.runs.get()


def test_a_running_job_without_its_worker_is_failed(data_dir, django_user_model, definition, study):
    coordinator = member(django_user_model, study, Role.COORDINATOR, "co")
    job = ComputeJob.objects.create(
        study=study, user=coordinator, status="running", runs_total=1, started=timezone.now()
    )
    # a worker holds the lock: the job runs
    with open(compute_jobs.lock_path(job), "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert compute_jobs.job_status(job).job.status == "running"
        assert compute_jobs.fail_abandoned_jobs() == 0
    # the worker died after storing a run: the job is failed, the run is its draft
    EstimateRun.objects.create(
        definition=definition,
        definition_version=1,
        input_fingerprint="x",
        submissions=1,
        code_version="t",
        created_by=coordinator,
    )
    status = compute_jobs.job_status(job)
    with translation.override("en"):  # problems are in the user's language (the default is Vietnamese)
        assert status.job.status == "failed" and status.problems == [compute_jobs.WORKER_GONE]
    assert status.job.runs.count() == 1 and status.percent == 100
    assert not compute_jobs.lock_path(job).exists() and compute_jobs.fail_abandoned_jobs() == 0
