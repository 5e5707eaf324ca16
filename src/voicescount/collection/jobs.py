"""Imports of uploaded exports as background jobs, run by ``voicescount worker`` processes.

The upload page calls ``enqueue_import``: the upload is kept encrypted (``job_files``), an
``ImportJob`` row records it and a django-tasks task (database backend, ``settings.TASKS``) is queued;
the page then shows the job (``job_status``) and polls it until the batch report is there. A worker
runs ``run_import_job``, which calls ``import_upload`` — the same import the upload page ran inside
the request before: ``import_service.import_file`` (the one import of every caller), one transaction.

Progress. The import writes its batch in one transaction, and on SQLite a writer holds the whole
database until it commits, so the progress of a running job cannot be written to the database: the
worker keeps it in ``jobs/<job>.progress`` (two numbers, nothing personal) and the job page reads it.
The numbers are copied to the job row when the job ends.

A worker that dies (SIGKILL, out of memory, the machine stops). The worker holds an exclusive
``flock`` on the job's encrypted upload while the job runs; the kernel releases it whatever ends the
process. The transaction is rolled back by the database, so no part of the batch is stored. When the
job page (or a starting ``voicescount worker``) finds a running job whose lock is free, it marks the
job failed ("upload it again") and deletes its files: a job is never re-queued by itself, since a file
that makes the worker die would otherwise make every worker die in turn. Web and worker processes
must therefore share the data directory (one machine, or a shared file system with working locks).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import multiprocessing
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_tasks import task

from voicescount.collection import import_service
from voicescount.collection.errors import CollectionError
from voicescount.collection.job_files import decrypt_into, jobs_dir, write_encrypted
from voicescount.collection.models import ImportJob, Instrument, Study
from voicescount.collection.services import ImportReport
from voicescount.collection.uploads import UnnamedUploadedFile

log = logging.getLogger(__name__)

# Stored in English with the job, shown translated (``JobStatus.error``).
WORKER_GONE = gettext_noop(
    "The import stopped before it finished (the worker process ended); nothing from this file was "
    "stored. Upload it again."
)
UNEXPECTED = gettext_noop("The import failed unexpectedly (%(error)s); nothing from this file was stored.")


class ImportJobFailed(Exception):
    """Raised to the task backend when a job failed for a reason that is not the file's."""


UNCLAIMED_AFTER = 15  # seconds a job may wait for a worker before its page asks whether one runs
ORPHAN_AGE = 3600  # seconds after which an encrypted upload that no job names is deleted


def upload_path(job: ImportJob) -> Path:
    """Where the job's upload is kept, encrypted, until the job ends."""
    return jobs_dir() / f"{job.file_token}.upload"


def progress_path(job: ImportJob) -> Path:
    """The running job's progress: bytes read and records stored (``write_progress``)."""
    return jobs_dir() / f"{job.file_token}.progress"


# --- the upload page's side -------------------------------------------------------------------------


def enqueue_import(
    study: Study, instrument: Instrument, upload: UnnamedUploadedFile, fmt: str, user
) -> ImportJob:
    """Keep ``upload`` encrypted and queue its import (``fmt``: a format or "auto"); the new job.

    The file is written first, then the job and its task are created in one transaction: a web
    worker killed half-way leaves at most an encrypted file that no job names, which
    ``delete_orphan_uploads`` removes later, never a job without its file or its task."""
    token = secrets.token_hex(16)
    path = jobs_dir() / f"{token}.upload"
    upload.seek(0)
    size = write_encrypted(upload.file, path)
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                study=study,
                instrument=instrument,
                user=user if getattr(user, "is_authenticated", False) else None,
                filename=upload.name[:300],
                format=fmt,
                file_sha256=upload.sha256,
                bytes_total=size,
                file_token=token,
            )
            job.task_id = str(run_import_job.enqueue(job.pk).id)
            ImportJob.objects.filter(pk=job.pk).update(task_id=job.task_id)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job


def delete_orphan_uploads(age: float = ORPHAN_AGE) -> int:
    """Delete the files in ``jobs/`` older than ``age`` seconds that no queued or running job names
    (left by a web worker killed while it kept an upload); how many."""
    live = set(
        ImportJob.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]).values_list(
            "file_token", flat=True
        )
    )
    deleted = 0
    now = time.time()
    for path in jobs_dir().iterdir():
        token = path.name.lstrip(".").split(".", 1)[0]
        with contextlib.suppress(FileNotFoundError):
            if token not in live and now - path.stat().st_mtime > age:
                path.unlink()
                deleted += 1
    return deleted


@dataclass(frozen=True)
class JobStatus:
    """What the job page shows: the job (its row) and its progress now."""

    job: ImportJob
    bytes_done: int
    records_done: int
    waiting: bool
    unclaimed: bool = False
    """Queued for longer than ``UNCLAIMED_AFTER``: is any worker running?"""

    @property
    def error(self) -> str:
        """Why the job failed, in the active language where it is one of this module's sentences."""
        return gettext(self.job.error) if self.job.error else ""

    @property
    def percent(self) -> int:
        """Share of the file read, 0–100 (100 when the job ended)."""
        if self.job.ended:
            return 100
        if not self.job.bytes_total:
            return 0
        return min(99, self.bytes_done * 100 // self.job.bytes_total)


def job_status(job: ImportJob) -> JobStatus:
    """The job's progress; a running job whose worker has died is marked failed first."""
    if job.status == ImportJob.Status.RUNNING and not _worker_alive(job):
        fail_abandoned(job)
        job.refresh_from_db()
    if job.status != ImportJob.Status.RUNNING:
        queued_for = (timezone.now() - job.created).total_seconds()
        unclaimed = job.status == ImportJob.Status.QUEUED and queued_for > UNCLAIMED_AFTER
        return JobStatus(job, job.bytes_done, job.records_done, False, unclaimed)
    bytes_done, records_done, waiting = read_progress(job)
    return JobStatus(job, bytes_done, records_done, waiting)


def _worker_alive(job: ImportJob) -> bool:
    try:
        with open(upload_path(job), "rb") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
    except FileNotFoundError:
        return False  # the file goes when its job ends: no worker can hold it
    return False


def fail_abandoned(job: ImportJob) -> bool:
    """Mark ``job`` failed if it is still running although no worker holds it; True if it was."""
    failed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=ImportJob.Status.FAILED, error=WORKER_GONE, finished=timezone.now()
    )
    if failed:
        _delete_files(job)
    return bool(failed)


def fail_abandoned_jobs() -> int:
    """``fail_abandoned`` for every running job whose worker is gone, and ``delete_orphan_uploads``;
    how many jobs were failed (``voicescount worker`` calls it as it starts)."""
    failed = sum(
        fail_abandoned(job)
        for job in ImportJob.objects.filter(status=ImportJob.Status.RUNNING)
        if not _worker_alive(job)
    )
    delete_orphan_uploads()
    return failed


# --- the worker's side ------------------------------------------------------------------------------


def write_progress(job: ImportJob, bytes_done: int, records_done: int, waiting: bool = False) -> None:
    """Replace the job's progress file (atomically: a reader sees the old numbers or the new)."""
    directory = jobs_dir()
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{job.file_token}.", suffix=".progress")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(f"{bytes_done} {records_done} {int(waiting)}\n")
        os.replace(name, progress_path(job))
    except BaseException:  # a worker stopped half-way (SIGTERM raises here too) leaves no temporary file
        Path(name).unlink(missing_ok=True)
        raise


def read_progress(job: ImportJob) -> tuple[int, int, bool]:
    """Bytes read, records stored and whether the job waits for another import (zeros before any)."""
    try:
        done, records, waiting = progress_path(job).read_text().split()
        return int(done), int(records), waiting == "1"
    except (FileNotFoundError, ValueError):
        return 0, 0, False


def _delete_files(job: ImportJob) -> None:
    upload_path(job).unlink(missing_ok=True)
    progress_path(job).unlink(missing_ok=True)
    # the temporary file of a progress write that a killed worker never renamed (write_progress)
    for stray in jobs_dir().glob(f".{job.file_token}.*.progress"):
        stray.unlink(missing_ok=True)


@contextlib.contextmanager
def _held(job: ImportJob) -> Iterator[bool]:
    """The job's upload locked for this process (True), or False if another holds it or it is gone."""
    try:
        file = open(upload_path(job), "rb")  # noqa: SIM115 -- closed below, which releases the lock
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        file.close()


@task()
def run_import_job(job_id: int) -> int | None:
    """The background task: import the job's upload (see the module docstring); the batch's id."""
    job = ImportJob.objects.select_related("instrument__study", "user").get(pk=job_id)
    with _held(job) as held:
        if not held:
            return None  # another worker has it, or it ended
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
            status=ImportJob.Status.RUNNING, started=timezone.now()
        )
        if not claimed:
            return None
        error = None
        state = {"bytes": 0, "records": 0}
        try:
            report = _run(job, state)
        except (CollectionError, PermissionDenied) as exc:
            error = str(exc)  # errors name file, row and field, never a personal field's value
        except BaseException as exc:  # a stop (SystemExit, KeyboardInterrupt) or a defect
            stopped = not isinstance(exc, Exception)
            log.error("Import job %s failed: %s", job.pk, type(exc).__name__)
            reason = WORKER_GONE if stopped else UNEXPECTED % {"error": type(exc).__name__}
            _finish(job, state, error=reason)
            if stopped:
                raise
            raise ImportJobFailed(f"import job {job.pk} failed: {type(exc).__name__}") from None
        _finish(job, state, error=error, batch_id=None if error else report.batch_id)
    return job.batch_id


def _finish(job: ImportJob, state: dict, *, error: str | None, batch_id: int | None = None) -> None:
    job.status = ImportJob.Status.FAILED if error else ImportJob.Status.DONE
    job.error = error or ""
    job.batch_id = batch_id
    job.bytes_done = job.bytes_total if not error else state["bytes"]
    job.records_done = state["records"]
    job.finished = timezone.now()
    with transaction.atomic():
        job.save(update_fields=["status", "error", "batch", "bytes_done", "records_done", "finished"])
    _delete_files(job)


def _run(job: ImportJob, state: dict) -> ImportReport:
    upload = UnnamedUploadedFile(job.filename, "application/octet-stream", None)
    with upload:
        upload.size = decrypt_into(upload_path(job), upload.file)
        upload.file.flush()
        # The file may be read in an import worker process: it reports the bytes read through shared
        # memory, and the progress file is written here as each chunk is stored.
        shared = multiprocessing.get_context("fork").Value("q", 0, lock=False)

        def bytes_read(done: int, _total: int) -> None:
            shared.value = done

        def stored(records: int) -> None:
            state["bytes"], state["records"] = shared.value, state["records"] + records
            write_progress(job, state["bytes"], state["records"])

        return import_upload(
            job.instrument,
            upload,
            job.format,
            job.user,
            file_sha256=job.file_sha256,
            read=bytes_read,
            stored=stored,
            waiting=lambda: write_progress(job, state["bytes"], state["records"], waiting=True),
        )


def import_upload(
    instrument: Instrument,
    upload: UnnamedUploadedFile,
    fmt: str,
    user,
    *,
    file_sha256: str,
    read: Callable[[int, int], None] | None = None,
    stored: Callable[[int], None] | None = None,
    waiting: Callable[[], None] | None = None,
) -> ImportReport:
    """Import an uploaded export (``fmt``: a format or "auto") as one batch, as ``user``: what the
    upload page did inside the request and a job now does in a worker. The import waits as long as
    another import of the study takes. Raises ``CollectionError`` (nothing imported) or
    ``PermissionDenied``."""
    return import_service.import_file(
        instrument,
        upload.readable_path(),
        fmt=fmt,
        name=upload.name,
        user=user,
        file_sha256=file_sha256,
        read=read,
        stored=stored,
        wait=None,
        waiting=waiting,
    )
