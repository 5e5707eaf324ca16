"""Computations of a study's indicators as background jobs, run by ``voicescount worker`` processes.

The results page calls ``enqueue_compute``: a ``ComputeJob`` row and its django-tasks task
(``settings.TASKS``) are created in one transaction, with an audit entry ``compute_queued``; the page then
shows the job (``job_status``) and polls it. A worker runs ``run_compute_job``, which calls
``compute.compute_study`` (every definition) or ``compute.compute_definition`` (the job's codes) — the
same computation as ``voicescount compute``. Each definition's run is stored in its own transaction, so
the job's progress (``runs_done``) is written to the job row as the definitions are done.

What a job makes is a draft: a new ``EstimateRun`` has no ``published`` date, and the public pages
show a definition's published run only (``publishing.selectors``) until a coordinator publishes the new
one (``indicators.publication``).

A worker that dies (SIGKILL, out of memory). While the job runs the worker holds an exclusive ``flock``
on ``DATA_DIR/compute-jobs/<job>.lock``; the kernel releases it whatever ends the process. When the job
page (or a starting ``voicescount worker``) finds a running job whose lock is free, it marks the job
failed ("compute again"); the runs stored before the worker died stay, as drafts, and are the job's.
A job is never re-queued by itself, as in ``collection.jobs``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_tasks import task

from voicescount.accounts.permissions import Action, require
from voicescount.collection.models import AuditEntry, Study
from voicescount.indicators.compute import compute_definition, compute_study
from voicescount.indicators.dataset import load_dataset, questions_read
from voicescount.indicators.errors import ComputeError
from voicescount.indicators.models import ComputeJob, EstimateRun, IndicatorDefinition

log = logging.getLogger(__name__)

# Stored in English with the job, shown translated (``ComputeJobStatus.error``).
WORKER_GONE = gettext_noop(
    "The computation stopped before it finished (the worker process ended). The estimates computed "
    "before it stopped are kept as drafts; compute again for the others."
)
UNEXPECTED = gettext_noop("The computation failed unexpectedly (%(error)s).")

UNCLAIMED_AFTER = 15  # seconds a job may wait for a worker before its page asks whether one runs


class UnknownDefinition(ValueError):
    """``enqueue_compute`` was given a code that is not one of the study's definitions."""


class ComputeJobFailed(Exception):
    """Raised to the task backend when a job failed for a reason that is not a definition's."""


def lock_path(job: ComputeJob) -> Path:
    """The file a worker holds locked while it runs ``job`` (``DATA_DIR/compute-jobs/``, 0700)."""
    directory = Path(settings.DATA_DIR) / "compute-jobs"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory / f"{job.pk}.lock"


# --- the page's side --------------------------------------------------------------------------------


def enqueue_compute(study: Study, user, codes: list[str] | None = None, *, force: bool = False) -> ComputeJob:
    """Queue the computation of ``study``'s definitions (``codes``; None: all of them) as ``user``, who
    must be allowed to compute; the job. ``force`` recomputes definitions whose inputs did not change.

    A job of the study with the same codes that is still queued or running is returned instead of a
    second one. Raises ``UnknownDefinition`` (nothing queued) for a code the study does not have."""
    require(user, Action.COMPUTE, study.organisation)
    known = set(study.indicator_definitions.values_list("code", flat=True))
    wanted = sorted(set(codes)) if codes else []
    unknown = [code for code in wanted if code not in known]
    if unknown:
        raise UnknownDefinition(
            f"Study '{study.slug}' has no indicator definition {', '.join(unknown)}; "
            f"its definitions: {', '.join(sorted(known)) or '—'}."
        )
    if not known:
        raise UnknownDefinition(f"Study '{study.slug}' has no indicator definitions to compute.")
    with transaction.atomic():
        running = (
            ComputeJob.objects.select_for_update()
            .filter(
                study=study,
                definitions=wanted,
                status__in=[ComputeJob.Status.QUEUED, ComputeJob.Status.RUNNING],
            )
            .first()
        )
        if running is not None:
            return running
        job = ComputeJob.objects.create(
            study=study,
            user=user if getattr(user, "is_authenticated", False) else None,
            definitions=wanted,
            runs_total=len(wanted or known),
        )
        AuditEntry.objects.create(
            actor=job.user,
            study=study,
            organisation=study.organisation,
            action="compute_queued",
            details={"job": job.pk, "definitions": wanted or "all", "force": force},
        )
        task_id = str(run_compute_job.enqueue(job.pk, force).id)
        ComputeJob.objects.filter(pk=job.pk).update(task_id=task_id)
    job.refresh_from_db()
    return job


@dataclass(frozen=True)
class ComputeJobStatus:
    """What the job page shows: the job (its row) and whether it waits for a worker."""

    job: ComputeJob
    unclaimed: bool = False
    """Queued for longer than ``UNCLAIMED_AFTER``: is any worker running?"""

    @property
    def problems(self) -> list[str]:
        """Why the job failed, or why each definition it could not compute was not, one a line; in
        the active language where it is one of this module's sentences."""
        return [gettext(line) for line in self.job.error.splitlines() if line.strip()]

    @property
    def percent(self) -> int:
        """Share of the definitions done, 0–100 (100 when the job ended)."""
        if self.job.ended:
            return 100
        if not self.job.runs_total:
            return 0
        return min(99, self.job.runs_done * 100 // self.job.runs_total)


def job_status(job: ComputeJob) -> ComputeJobStatus:
    """The job now; a running job whose worker has died is marked failed first."""
    if job.status == ComputeJob.Status.RUNNING and not worker_alive(job):
        fail_abandoned(job)
        job.refresh_from_db()
    queued_for = (timezone.now() - job.created).total_seconds()
    return ComputeJobStatus(job, job.status == ComputeJob.Status.QUEUED and queued_for > UNCLAIMED_AFTER)


def worker_alive(job: ComputeJob) -> bool:
    """Whether a worker holds ``job``'s lock (a running job without one was abandoned)."""
    try:
        with open(lock_path(job), "rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
    except FileNotFoundError:
        return False  # the file goes when its job ends, or was never made: no worker holds it
    return False


def fail_abandoned(job: ComputeJob) -> bool:
    """Mark ``job`` failed if it is still running although no worker holds it; True if it was. The runs
    its worker stored for the job's definitions since it started are recorded as the job's."""
    failed = ComputeJob.objects.filter(pk=job.pk, status=ComputeJob.Status.RUNNING).update(
        status=ComputeJob.Status.FAILED, error=WORKER_GONE, finished=timezone.now()
    )
    if failed:
        job.refresh_from_db()
        job.runs.add(*runs_stored_by(job))
        lock_path(job).unlink(missing_ok=True)
    return bool(failed)


def runs_stored_by(job: ComputeJob):
    """The runs of ``job``'s definitions stored for its user since it started: what a job that stopped
    half-way had made (a run made at the same time by another job of the same user counts too)."""
    if job.started is None:
        return EstimateRun.objects.none()
    stored = EstimateRun.objects.filter(definition__study_id=job.study_id, started__gte=job.started)
    if job.definitions:
        stored = stored.filter(definition__code__in=job.definitions)
    return stored.filter(created_by_id=job.user_id) if job.user_id else stored.filter(created_by=None)


def fail_abandoned_jobs() -> int:
    """``fail_abandoned`` for every running job whose worker is gone; how many (``voicescount worker``
    calls it as it starts)."""
    return sum(
        fail_abandoned(job)
        for job in ComputeJob.objects.filter(status=ComputeJob.Status.RUNNING)
        if not worker_alive(job)
    )


# --- the worker's side ------------------------------------------------------------------------------


@contextlib.contextmanager
def _held(job: ComputeJob) -> Iterator[bool]:
    """The job's lock taken by this process (True), or False if another process holds it."""
    file = open(lock_path(job), "ab")  # noqa: SIM115 -- closed below, which releases the lock
    try:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        file.close()


@contextlib.contextmanager
def _removed_after(path: Path) -> Iterator[None]:
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


@task()
def run_compute_job(job_id: int, force: bool = False) -> list[int]:
    """The background task: compute the job's definitions (see the module docstring); the runs' ids."""
    job = ComputeJob.objects.select_related("study__organisation", "user").get(pk=job_id)
    if job.status != ComputeJob.Status.QUEUED:
        return []
    with _held(job) as held:
        if not held:
            return []  # another worker has it
        with _removed_after(lock_path(job)):
            claimed = ComputeJob.objects.filter(pk=job.pk, status=ComputeJob.Status.QUEUED).update(
                status=ComputeJob.Status.RUNNING, started=timezone.now()
            )
            if not claimed:
                return []
            job.refresh_from_db()
            try:
                outcome = compute_job(job, force=force)
            except BaseException as exc:  # a stop (SystemExit, KeyboardInterrupt) or a defect
                stopped = not isinstance(exc, Exception)
                log.error("Compute job %s failed: %s", job.pk, type(exc).__name__)
                reason = WORKER_GONE if stopped else UNEXPECTED % {"error": type(exc).__name__}
                _finish(job, None, failure=reason)
                if stopped:
                    raise
                raise ComputeJobFailed(f"compute job {job.pk} failed: {type(exc).__name__}") from None
            _finish(job, outcome)
    return [run.pk for run in outcome.runs]


@dataclass(frozen=True)
class ComputeOutcome:
    """What a job's computation made: the new runs, the codes whose inputs had not changed (no run) and
    the reason each definition that could not be computed was not (each names its definition)."""

    runs: list[EstimateRun]
    unchanged: list[str]
    errors: list[str]


def compute_job(job: ComputeJob, *, force: bool = False) -> ComputeOutcome:
    """Compute ``job``'s definitions, counting them in ``runs_done`` as they are done."""
    study = job.study
    errors: list[str] = []

    def failed(definition: IndicatorDefinition, exc: ComputeError) -> None:
        errors.append(str(exc))  # it names the definition

    def progress(_label: str, done: int, _total: int) -> None:
        ComputeJob.objects.filter(pk=job.pk).update(runs_done=done)

    definitions = list(
        study.indicator_definitions.select_related("study", "indicator")
        .filter(**({"code__in": job.definitions} if job.definitions else {}))
        .order_by("code")
    )
    made: dict[str, EstimateRun | None] = {}
    try:
        if not job.definitions:
            made = compute_study(study, progress=progress, force=force, user=job.user, on_error=failed)
        else:
            data = load_dataset(study, questions_read(study, definitions))
            for done, definition in enumerate(definitions, start=1):
                try:
                    made[definition.code] = compute_definition(
                        definition, data=data, force=force, user=job.user
                    )
                except ComputeError as exc:
                    failed(definition, exc)
                progress("", done, len(definitions))
    except ComputeError as exc:  # the study's data cannot be read (its design, a derived variable)
        errors.append(str(exc))
    runs = [run for run in made.values() if run is not None]
    return ComputeOutcome(runs, sorted(code for code, run in made.items() if run is None), errors)


def _finish(job: ComputeJob, outcome: ComputeOutcome | None, *, failure: str = "") -> None:
    """Record the job's end: done (naming the definitions that could not be computed, if any), or failed
    when it stopped (``failure``) or no definition could be computed."""
    job.refresh_from_db(fields=["runs_done"])
    if outcome is None:
        job.status, job.error = ComputeJob.Status.FAILED, failure
    else:
        nothing = bool(outcome.errors) and not outcome.runs and not outcome.unchanged
        job.status = ComputeJob.Status.FAILED if nothing else ComputeJob.Status.DONE
        job.error = "\n".join(outcome.errors)
        job.runs_done = job.runs_total
    job.finished = timezone.now()
    with transaction.atomic():
        job.save(update_fields=["status", "error", "runs_done", "finished"])
        job.runs.add(*(runs_stored_by(job) if outcome is None else outcome.runs))
