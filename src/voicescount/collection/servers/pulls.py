"""Pulls of a connection's new submissions as background jobs, on demand and on a schedule.

``enqueue_pull`` creates a ``ServerPull`` and its django-tasks task (database backend, run by
``voicescount worker``); ``enqueue_due_pulls`` does so for every connection whose interval has passed
(the worker's scheduler calls it every ``SCHEDULE_EVERY`` seconds, ``voicescount worker --batch`` once).
``run_pull`` — the task, and ``voicescount pull`` in its own process — fetches every page first
(``kobo.pull_into`` / ``odk_central.pull_into`` into one ``fetch.Spool``), then imports the spool through
``import_service.import_file`` as one batch in one transaction. A server that fails half-way (HTTP 500,
a timeout, an answer that is not JSON) fails the pull with its reason before anything is imported; an
import that fails rolls back whole. Only then is the connection's ``last_submission_time`` moved on.

A worker that dies holds, until then, an exclusive ``flock`` on ``DATA_DIR/server-pulls/<pull>.lock``;
a starting worker fails the running pulls whose lock is free (``fail_abandoned_pulls``), as
``collection.jobs`` does for uploads. A pull is never re-queued by itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext_noop
from django_tasks import task

from voicescount.accounts.permissions import Action, require
from voicescount.collection import import_service
from voicescount.collection.errors import CollectionError
from voicescount.collection.models import AuditEntry, ServerConnection, ServerPull, Submission
from voicescount.collection.servers import kobo, odk_central
from voicescount.collection.servers.fetch import ServerError, Spool

log = logging.getLogger(__name__)

WORKER_GONE = gettext_noop(
    "The pull stopped before it finished (the worker process ended); nothing from it was stored. Pull again."
)
UNEXPECTED = gettext_noop("The pull failed unexpectedly (%(error)s); nothing from it was stored.")
UNCLAIMED_AFTER = 15.0
"""Seconds a pull may wait for a worker before its page asks whether one runs."""
SCHEDULE_EVERY = 30.0
"""Seconds between two looks of the scheduler for connections due a pull."""

PULLERS = {
    ServerConnection.Kind.KOBO: kobo.pull_into,
    ServerConnection.Kind.ODK_CENTRAL: odk_central.pull_into,
}
FORMATS = {
    ServerConnection.Kind.KOBO: ("kobo-json", "results"),
    ServerConnection.Kind.ODK_CENTRAL: ("odk-odata", "value"),
}
LIVE = (ServerPull.Status.QUEUED, ServerPull.Status.RUNNING)


class PullJobFailed(Exception):
    """Raised to the task backend when a pull failed for a reason that is not the server's."""


def lock_path(pull: ServerPull) -> Path:
    """The file a worker holds locked while it runs ``pull`` (``DATA_DIR/server-pulls/``, 0700)."""
    directory = Path(settings.DATA_DIR) / "server-pulls"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory / f"{pull.pk}.lock"


# --- queueing ---------------------------------------------------------------------------------------


def enqueue_pull(
    connection: ServerConnection, user=None, *, scheduled: bool = False, queue: bool = True
) -> ServerPull:
    """Queue a pull of ``connection`` as ``user`` (who must be allowed to import; ``None``: the operator
    or the scheduler); the pull. A pull of the connection still queued or running is returned instead
    of a second one. With ``queue=False`` no task is made (``voicescount pull`` runs it itself)."""
    if user is not None:
        require(user, Action.IMPORT, connection.study.organisation)
    live = connection.pulls.filter(status__in=LIVE).first()
    if live is not None:
        return live
    requested_by = user if getattr(user, "is_authenticated", False) else None
    pull = ServerPull.objects.create(connection=connection, requested_by=requested_by, scheduled=scheduled)
    if requested_by is not None:
        AuditEntry.objects.create(
            actor=requested_by,
            study=connection.study,
            organisation=connection.study.organisation,
            action="server_pull_requested",
            details={"connection": connection.pk, "pull": pull.pk},
        )
    if queue:
        pull.task_id = str(run_pull_job.enqueue(pull.pk).id)
        ServerPull.objects.filter(pk=pull.pk).update(task_id=pull.task_id)
    return pull


def due_connections(now: dt.datetime | None = None) -> list[ServerConnection]:
    """The connections with a schedule whose last pull was made at least their interval ago (or never),
    and none of whose pulls is queued or running."""
    now = now or timezone.now()
    due = []
    for connection in ServerConnection.objects.filter(interval_minutes__gt=0).select_related("study"):
        pulls = connection.pulls.order_by("-created", "-pk")
        if pulls.filter(status__in=LIVE).exists():
            continue
        last = pulls.first()
        if last is None or last.created + dt.timedelta(minutes=connection.interval_minutes) <= now:
            due.append(connection)
    return due


def enqueue_due_pulls(now: dt.datetime | None = None) -> list[ServerPull]:
    """Queue a pull of every connection due one (``due_connections``); the pulls queued."""
    return [enqueue_pull(connection, scheduled=True) for connection in due_connections(now)]


# --- running ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _held(pull: ServerPull) -> Iterator[bool]:
    with open(lock_path(pull), "a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


@task()
def run_pull_job(pull_id: int) -> int | None:
    """The background task: ``run_pull``; the batch's id."""
    return run_pull(ServerPull.objects.get(pk=pull_id))


def run_pull(pull: ServerPull) -> int | None:
    """Run a queued pull (see the module docstring); the batch's id (None: nothing new, failed, or
    another worker has it). Its row says how it ended and why."""
    with _held(pull) as held:
        if not held:
            return None
        claimed = ServerPull.objects.filter(pk=pull.pk, status=ServerPull.Status.QUEUED).update(
            status=ServerPull.Status.RUNNING, started=timezone.now()
        )
        if not claimed:
            return None
        pull.refresh_from_db()
        try:
            _pull(pull)
        except (ServerError, CollectionError, PermissionDenied) as exc:
            _finish(pull, error=str(exc))  # the messages name pages and fields, never a value or a token
        except BaseException as exc:
            stopped = not isinstance(exc, Exception)
            log.error("Server pull %s failed: %s", pull.pk, type(exc).__name__)
            _finish(pull, error=WORKER_GONE if stopped else UNEXPECTED % {"error": type(exc).__name__})
            if stopped:
                raise
            raise PullJobFailed(f"server pull {pull.pk} failed: {type(exc).__name__}") from None
        else:
            _finish(pull)
    lock_path(pull).unlink(missing_ok=True)
    return pull.batch_id


def _seen_at(connection: ServerConnection, since: dt.datetime | None):
    """``seen(instance_id, submitted_at)``: whether a submission of the second ``since`` is stored."""
    stored: set[str] = set()
    if since is not None:
        stored = set(
            Submission.objects.filter(study=connection.study_id, submitted_at=since)
            .exclude(instance_id=None)
            .values_list("instance_id", flat=True)
        )

    def seen(instance_id: str | None, when: dt.datetime | None) -> bool:
        return when is not None and when == since and instance_id in stored

    return seen


def _pull(pull: ServerPull) -> None:
    connection = ServerConnection.objects.select_related("study", "instrument", "created_by").get(
        pk=pull.connection_id
    )
    since = connection.last_submission_time
    fmt, list_key = FORMATS[connection.kind]
    name = f"{connection.kind}-pull-{pull.pk}.json"
    pull.since = since

    def on_page(fetched, received: int) -> None:
        """Progress after each page (of up to ``fetch.PAGE_SIZE`` submissions), kept on the pull's row."""
        pull.stage, pull.pages, pull.read = ServerPull.Stage.FETCHING, fetched.pages, fetched.read
        pull.received, pull.expected = received, fetched.expected
        ServerPull.objects.filter(pk=pull.pk).update(
            stage=pull.stage, pages=pull.pages, read=pull.read, received=received, expected=pull.expected
        )

    ServerPull.objects.filter(pk=pull.pk).update(stage=ServerPull.Stage.FETCHING, since=since)
    with Spool(name, list_key) as spool:
        fetched = PULLERS[connection.kind](
            connection, since, spool, _seen_at(connection, since), on_page=on_page
        )
        spool.finish()
        on_page(fetched, spool.count)  # also when the server sent no page
        pull.stage = ServerPull.Stage.STORING
        ServerPull.objects.filter(pk=pull.pk).update(stage=pull.stage)
        if spool.count:
            report = import_service.import_file(
                connection.instrument,
                spool.path(),
                fmt=fmt,
                name=name,
                user=pull.requested_by or connection.created_by,
                check_permission=False,  # checked when the pull was asked for, or the connection made
                file_sha256=spool.sha256,
                wait=None,
            )
            pull.batch_id = report.batch_id
    if fetched.newest is not None and (since is None or fetched.newest > since):
        ServerConnection.objects.filter(pk=connection.pk).update(last_submission_time=fetched.newest)


def _finish(pull: ServerPull, *, error: str = "") -> None:
    pull.status = ServerPull.Status.FAILED if error else ServerPull.Status.DONE
    pull.error = error
    if error:
        pull.batch_id = None
    pull.finished = timezone.now()
    pull.stage = ""
    pull.save(
        update_fields=[
            "status",
            "error",
            "since",
            "pages",
            "read",
            "received",
            "expected",
            "batch",
            "stage",
            "finished",
        ]
    )


def fail_if_abandoned(pull: ServerPull) -> bool:
    """Mark ``pull`` failed if it is running but no worker holds its lock; whether it was."""
    if pull.status != ServerPull.Status.RUNNING:
        return False
    with _held(pull) as held:
        if not held:
            return False
        return bool(
            ServerPull.objects.filter(pk=pull.pk, status=ServerPull.Status.RUNNING).update(
                status=ServerPull.Status.FAILED, error=WORKER_GONE, finished=timezone.now(), stage=""
            )
        )


def fail_abandoned_pulls() -> int:
    """Mark failed the running pulls whose worker has gone (their lock is free); how many."""
    return sum(
        fail_if_abandoned(pull) for pull in ServerPull.objects.filter(status=ServerPull.Status.RUNNING)
    )


def pull_status(pull: ServerPull) -> ServerPull:
    """``pull`` as it stands now (for its page): read again, failed first if its worker has gone."""
    fail_if_abandoned(pull)
    pull.refresh_from_db()
    return pull


def unclaimed(pull: ServerPull, after: float = UNCLAIMED_AFTER) -> bool:
    """Queued for longer than ``after`` seconds: is a worker running?"""
    return pull.status == ServerPull.Status.QUEUED and (timezone.now() - pull.created).total_seconds() > after


def schedule_forever(every: float = SCHEDULE_EVERY) -> None:
    """Queue the due pulls every ``every`` seconds until the process is stopped (``voicescount worker``'s
    scheduler process); a database that cannot be reached is tried again at the next look."""
    from django.db import DatabaseError, connections

    while True:
        try:
            enqueue_due_pulls()
        except DatabaseError as exc:
            log.error("Scheduling server pulls failed: %s", type(exc).__name__)
            connections.close_all()
        time.sleep(every)
