"""Submissions a KoboToolbox REST Service posts, one at a time (``servers/api.py`` receives them).

Kobo posts each new submission's JSON — the object its API v2 data endpoint lists — and retries a post
that is not answered with a 2xx (up to three times, then marks it failed). So a submission already held
(stored, or in the quarantine) is answered as received and stores nothing: idempotent by its instance
id (``meta/instanceID``, else ``_uuid`` as ``uuid:…``, the id the pulls and file imports use as well).
A submission is imported through ``import_service.import_submitted`` as one batch of one record, with
the same checks as any other; two retries at once are made one after the other by the study's import
lock, and the second finds the first's submission.
"""

from __future__ import annotations

from dataclasses import dataclass

from voicescount.collection.models import QuarantinedRecord, ServerConnection, Submission
from voicescount.collection.records import RawRecord

IMPORT_WAIT = 60.0
"""Seconds a push waits for another import of the study (a pull) before it is answered 409."""


class PushRefused(ValueError):
    """The post is not a submission that can be stored once only; the message says why."""


@dataclass(frozen=True)
class PushResult:
    """What became of a pushed submission: ``stored``, ``quarantined`` or ``duplicate``."""

    status: str
    instance_id: str
    batch: int | None


def already_held(connection: ServerConnection, key: str) -> bool:
    """Whether the study holds the submission of de-duplication key ``key`` (stored or quarantined)."""
    study = connection.study_id
    return (
        Submission.objects.filter(study=study, content_hash=key).exists()
        or QuarantinedRecord.objects.filter(study=study, content_hash=key).exists()
    )


def receive_push(connection: ServerConnection, record: RawRecord) -> PushResult:
    """Store one pushed submission unless it is held already. Raises ``PushRefused`` (no instance id),
    ``CollectionError`` (another form or version: nothing stored) or ``ImportInProgress``."""
    # imported here, as the submissions API does: the import's checker loads the geography's codes,
    # which the site's other pages need not wait for
    from voicescount.collection.import_service import import_submitted
    from voicescount.collection.services import dedup_key

    if not (record.instance_id and record.instance_id.strip()):
        raise PushRefused(
            "The submission has no instance id ('meta/instanceID' or '_uuid'): it could not be told "
            "apart from a retry of it."
        )
    key = dedup_key(record)
    if already_held(connection, key):
        return PushResult("duplicate", record.instance_id, None)
    report = import_submitted(
        connection.instrument,
        [record],
        user=connection.created_by,
        check_permission=False,  # the push secret is the connection's: its maker allowed the import
        wait=IMPORT_WAIT,
    )
    status = "stored" if report.accepted else "quarantined" if report.quarantined else "duplicate"
    return PushResult(status, record.instance_id, report.batch_id if status != "duplicate" else None)
