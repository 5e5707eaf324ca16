"""One import = one batch: an export read, checked, de-duplicated and stored in one transaction.

``import_records`` is the single entry point used by the CLI, the upload page, the JSON API and the
demo. It runs inside one database transaction: an import stopped half-way (killed, crashed, a database
error, a corrupt file found by a worker process) leaves either the whole batch or nothing. Each
incoming record ends up in exactly one place (``collection/services.py`` says which and why):
accepted as a ``Submission``, a duplicate, or quarantined with its reasons. ``FormCheck`` refuses an
export of another form or form version before anything is stored. Imports of one study run one at a
time (``collection/locks.py``): one started while another is running waits for it, then counts the
records that one stored as duplicates.

The work per record — checking (``checker``), consent, splitting personal fields off and encrypting
them, the JSON of the stored columns — is done by ``_Preparer``, which touches no database, so that
worker processes (``perf.AheadInChild``) can do it a chunk ahead while this process looks duplicates
up and writes (``storing.SubmissionWriter``).
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from django.conf import settings

from voicescount.accounts.permissions import Action, require
from voicescount.collection.crypto import encrypt_json
from voicescount.collection.errors import ImportFileError
from voicescount.collection.locks import DEFAULT_WAIT, import_transaction
from voicescount.collection.models import (
    AuditEntry,
    ConsentRecord,
    ImportBatch,
    Instrument,
    QuarantinedRecord,
    Study,
    Submission,
)
from voicescount.collection.records import RawRecord, RecordStream
from voicescount.collection.services import (
    Checked,
    Checker,
    ImportReport,
    Issue,
    _leaf,
    _payload,
    _respondent_field,
    _study_level_consent,
    _submission_fields,
    consent_issues,
    dedup_key,
    personal_fields,
)
from voicescount.collection.storing import RecordKeys, SubmissionWriter
from voicescount.perf import AheadInChild, paused_gc

T = TypeVar("T")

CHUNK = 1000
MAX_INSTANCE_ID = 200  # Submission.instance_id's length
GC_EVERY = 16  # chunks between collections of the young generation while the collector is paused


# --- is this export from this form? --------------------------------------------------------------


VERSION_KEYS = ("__version__", "version", "formVersion", "__system/formVersion", "_version_")
FORM_ID_KEYS = ("form_id", "xmlFormId", "formId", "_xform_id_string")


@dataclass
class FormCheck:
    """Refuses an export of another form, or of another version of this form, before anything is stored.

    ``names`` are the instrument's question names. The first records must share most of their
    answer names with the form; a record whose metadata names another form id or version stops the
    import with the record's locator and the field.
    """

    form_id: str
    version: str
    names: frozenset[str]
    filename: str = ""
    checked: int = 0
    SAMPLE = 20

    def __call__(self, record: RawRecord) -> None:
        meta = record.meta or {}
        for key in FORM_ID_KEYS:
            got = meta.get(key)
            if got and self.form_id and str(got) != self.form_id:
                raise ImportFileError(
                    f"This export is of form '{got}', not of the instrument '{self.form_id}'.",
                    file=self.filename,
                    row=record.locator,
                    field=key,
                )
        for key in VERSION_KEYS:
            got = meta.get(key)
            if got and self.version and str(got) != self.version:
                raise ImportFileError(
                    f"The record was collected with form version '{got}' but the instrument is version "
                    f"'{self.version}'; add that version of the XLSForm first.",
                    file=self.filename,
                    row=record.locator,
                    field=key,
                )
        if self.checked < self.SAMPLE and self.names:
            self.checked += 1
            answered = {_leaf(k) for k in record.values}
            if answered and len(answered & self.names) < max(1, len(answered) // 3):
                raise ImportFileError(
                    f"The columns do not match the form '{self.form_id}' (e.g. "
                    f"{', '.join(sorted(answered - self.names)[:5])} are not questions of it): "
                    "is this an export of another form?",
                    file=self.filename,
                    row=record.locator,
                )


def form_check_for(instrument: Instrument, filename: str = "") -> FormCheck:
    """The ``FormCheck`` of an export meant for ``instrument`` (``filename`` names it in errors)."""
    questions = (instrument.definition or {}).get("questions", [])
    return FormCheck(
        form_id=instrument.form_id,
        version=instrument.version,
        names=frozenset(q["name"] for q in questions if q.get("name")),
        filename=filename,
    )


# --- the import ------------------------------------------------------------------------------------


def _chunks(records: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Prepared(NamedTuple):
    """What an import stores for one record, worked out before the database is asked anything."""

    key: str
    instance_id: str | None
    locator: str
    issues: list[dict[str, str]]
    """Why the record is held back (empty: accepted)."""
    stored: Any
    """Accepted: the submission's columns from ``respondent`` to ``consent_status`` (``SubmissionWriter.
    stored``); held back: the whole record, encrypted, for the quarantine."""


class _Pending(NamedTuple):
    """A record read in this process, prepared only if it is not a duplicate."""

    key: str
    record: RawRecord
    checked: Checked | None = None
    """A record without an instance id is checked before its key is made (``dedup_key``)."""


@dataclass
class _Preparer:
    """Checks a record and turns it into what is stored (``Prepared``); touches no database, so that it
    can run in a worker process."""

    instrument: Instrument
    checker: Checker
    keys: RecordKeys
    respondent_field: str | None
    study_consent: bool
    writer: SubmissionWriter
    form_check: Callable[[RawRecord], None] | None

    def keyed(self, chunk: list[RawRecord]) -> list[_Pending]:
        """The records of a chunk with their de-duplication keys, the export's form checked first."""
        if self.form_check is not None:
            for record in chunk:
                self.form_check(record)
        pending = []
        for record in chunk:
            if record.instance_id and record.instance_id.strip():
                pending.append(_Pending(dedup_key(record), record))
            else:  # keyed by its checked answers: the same whether the file gave codes or labels
                checked = self.checker(record)
                pending.append(_Pending(dedup_key(record, checked), record, checked))
        return pending

    def prepare(self, record: RawRecord, key: str, checked: Checked | None = None) -> Prepared:
        checked = checked if checked is not None else self.checker(record)
        issues = [
            *(Issue(*problem) for problem in record.problems),
            *checked.issues,
            *consent_issues(record.values, self.instrument, self.study_consent, keys=self.keys),
        ]
        instance_id = record.instance_id
        if instance_id is not None and len(instance_id) > MAX_INSTANCE_ID:
            message = (
                f"The instanceID is longer than {MAX_INSTANCE_ID} characters: is the column the form's id?"
            )
            issues.append(Issue("meta/instanceID", "instance_id_too_long", message))
            instance_id = None  # kept whole in the held record's payload
        if issues:
            payload = encrypt_json(_payload(record))
            return Prepared(key, instance_id, record.locator, [i.as_dict() for i in issues], payload)
        fields = _submission_fields(
            self.instrument.study, record, key, checked, self.keys, self.respondent_field
        )
        return Prepared(key, record.instance_id, record.locator, [], self.writer.stored(*fields))

    def chunk(
        self, chunk: list[Any], convert: Callable[[Any], RawRecord] | None = None
    ) -> list[tuple[Any, ...]]:
        """Every record of a chunk prepared (in a worker process: duplicates are not known there), as
        plain tuples of ``Prepared``'s fields, which pickle faster; ``convert`` makes the records from
        what the parser gave (``RecordStream``)."""
        records = chunk if convert is None else [convert(item) for item in chunk]
        return [tuple(self.prepare(p.record, p.key, p.checked)) for p in self.keyed(records)]

    def notes(self) -> list[dict[str, Any]]:
        return list(getattr(self.checker, "notes", None) or [])


def import_workers() -> int:
    """Worker processes for importing a file: ``VOICESCOUNT_IMPORT_WORKERS`` (``config.import_workers``)."""
    return int(getattr(settings, "VOICESCOUNT_IMPORT_WORKERS", 0))


def _prepared_chunks(
    records: Iterable[RawRecord], preparer: _Preparer, workers: int
) -> tuple[Iterator[list[tuple[Any, ...]] | list[_Pending]], AheadInChild[Any, Any] | None]:
    """Chunks of prepared records from a worker process, or of pending ones read here."""
    if workers > 0 and AheadInChild.available():
        # Each worker passes over the records it leaves to the others without converting them.
        items, convert = (
            (records.items, records.convert) if isinstance(records, RecordStream) else (records, None)
        )
        ahead: AheadInChild[Any, Any] = AheadInChild(
            _chunks(items, CHUNK),
            functools.partial(preparer.chunk, convert=convert),
            preparer.notes,
            children=workers,
        )
        return iter(ahead), ahead
    return (preparer.keyed(chunk) for chunk in _chunks(records, CHUNK)), None


def import_records(
    instrument: Instrument,
    records: Iterable[RawRecord],
    *,
    checker: Checker,
    source: str,
    filename: str = "",
    file_sha256: str = "",
    user=None,
    check_permission: bool = True,
    form_check: Callable[[RawRecord], None] | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 0,
    wait: float | None = DEFAULT_WAIT,
    waiting: Callable[[], None] | None = None,
) -> ImportReport:
    """Import ``records`` for ``instrument`` as one batch; see the module docstring.

    Records are taken a chunk (``CHUNK``) at a time: the keys of a chunk are looked up in the
    database (which, inside the transaction, also holds what earlier chunks of this batch stored),
    so memory does not grow with the size of the batch. When ``checker`` has ``notes`` (an
    ``InstrumentChecker``), they are kept in the report.

    With ``workers`` > 0 (``voicescount import``: ``import_workers()``, two on a machine with two
    cores or more) the records are read, checked and encrypted in forked worker processes a chunk
    ahead of this one, which looks up duplicates and writes: the same batch, in the same transaction.
    Each worker reads the whole source and checks every ``workers``-th chunk. Workers check duplicates
    too (they cannot know them), so the report's notes then count every record read. ``progress(n)``
    is called after each chunk of ``n`` records is stored.

    While another import of the study is running, ``waiting()`` is called and the import waits up to
    ``wait`` seconds (``None``: as long as it takes) for it to finish.

    Raises ``ImportFileError`` (nothing imported) when the source cannot be read to the end,
    ``ImportInProgress`` when the wait ran out and ``PermissionDenied`` when ``user`` may not import for
    the study's organisation.
    """
    study = instrument.study
    if check_permission:
        require(user, Action.IMPORT, study.organisation)
    report = ImportReport()

    # Records are a few hundred small containers each and leave no garbage cycles: the collector
    # would walk the live objects again and again (a tenth of the import's time). Paused, with the
    # young generation collected every few chunks in case something did leave a cycle.
    with paused_gc(), import_transaction(study, wait, waiting):
        batch = ImportBatch.objects.create(
            study=study,
            instrument=instrument,
            source=source,
            filename=filename[:300],
            file_sha256=file_sha256,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        report.batch_id = batch.pk
        writer = SubmissionWriter(withdrawn=withdrawn_respondents(study))
        preparer = _Preparer(
            instrument=instrument,
            checker=checker,
            keys=RecordKeys(personal_fields(instrument)),
            respondent_field=_respondent_field(instrument),
            study_consent=_study_level_consent(study),
            writer=writer,
            form_check=form_check,
        )
        ids = (study.pk, instrument.pk, batch.pk)
        stream, ahead = _prepared_chunks(records, preparer, workers)
        with ahead or contextlib.nullcontext():
            for number, chunk in enumerate(stream, start=1):
                _store_chunk(chunk, batch, ids, writer, preparer, report)
                if progress is not None:
                    progress(len(chunk))
                if number % GC_EVERY == 0:
                    gc.collect(0)
        report.notes = _merged_notes(ahead.final) if ahead is not None else preparer.notes()
        if report.withdrawn_traces:
            report.notes.append(
                {
                    "field": "",
                    "code": "consent_withdrawn",
                    "count": report.withdrawn_traces,
                    "message": "Records of respondents who had withdrawn consent: kept as a trace, without "
                    "their answers, and left out of every estimate.",
                }
            )
        batch.received = report.received
        batch.accepted = report.accepted
        batch.duplicates = report.duplicates
        batch.quarantined = report.quarantined
        batch.report = report.as_dict()
        batch.save()
        AuditEntry.objects.create(
            actor=batch.created_by,
            study=study,
            action="import",
            details={k: v for k, v in report.as_dict().items() if k not in ("reasons", "notes")}
            | {"source": source},
        )
    return report


def _merged_notes(per_worker: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The checker's notes of several worker processes as one list: counts added up, others once."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for notes in per_worker:
        for note in notes:
            key = (note.get("field"), note.get("code"), note.get("message"))
            if key not in merged:
                merged[key] = dict(note)
            elif "count" in note:
                merged[key]["count"] = merged[key].get("count", 0) + note["count"]
    return list(merged.values())


def withdrawn_respondents(study: Study) -> frozenset[str]:
    """Pseudonyms of the study's respondents whose latest consent record is a withdrawal: a record of
    theirs imported later is stored only as a trace (``SubmissionWriter.withdrawn_trace``)."""
    latest: dict[str, str] = {}
    records = ConsentRecord.objects.filter(study=study).exclude(respondent="").order_by("recorded", "pk")
    for respondent, kind in records.values_list("respondent", "kind"):
        latest[respondent] = kind
    return frozenset(r for r, kind in latest.items() if kind == ConsentRecord.Kind.WITHDRAWN)


def _store_chunk(
    chunk: list[tuple[Any, ...]] | list[_Pending],
    batch: ImportBatch,
    ids: tuple[int, int, int],
    writer: SubmissionWriter,
    preparer: _Preparer,
    report: ImportReport,
) -> None:
    """Sort one chunk into duplicates, quarantine and submissions, and store it."""
    study = batch.study
    hashes = [item[0] for item in chunk]
    held = writer.held(Submission, study.pk, hashes)
    waiting: dict[str, QuarantinedRecord] = {}
    quarantined = writer.held(QuarantinedRecord, study.pk, hashes, "status", "batch_id")
    if quarantined:
        earlier = {
            k
            for k, status, batch_id in quarantined
            if status == QuarantinedRecord.Status.OPEN and batch_id != batch.pk
        }
        held.update(k for k, *_ in quarantined if k not in earlier)  # held back by this batch, or dealt with
        if earlier:  # held by an earlier batch: a fixed copy resolves it
            waiting = {
                q.content_hash: q
                for q in QuarantinedRecord.objects.filter(study=study, content_hash__in=earlier)
            }
    seen: set[str] = set()
    rows: list[tuple[Any, ...]] = []
    new_quarantine: list[QuarantinedRecord] = []
    resolved: list[QuarantinedRecord] = []
    created = writer.now()
    for item in chunk:
        report.received += 1
        key = item[0]
        if key in held or key in seen:
            report.duplicates += 1
            continue
        seen.add(key)
        # a Prepared, or the same fields as a plain tuple from a worker (it pickles faster)
        _, instance_id, locator, issues, stored = (
            preparer.prepare(item[1], key, item[2]) if type(item) is _Pending else item
        )
        if issues:
            if key in waiting:  # the same record, still not fixed: already held in quarantine
                report.duplicates += 1
                continue
            new_quarantine.append(
                QuarantinedRecord(
                    study=study,
                    instrument_id=ids[1],
                    batch=batch,
                    locator=locator[:200],
                    instance_id=instance_id,
                    content_hash=key,
                    payload=stored,
                    issues=issues,
                )
            )
            report.quarantined += 1
            if len(report.reasons) < ImportReport.MAX_REASONS:
                report.reasons.append({"locator": locator, "issues": issues})
            continue
        if writer.withdrawn and stored[0] in writer.withdrawn:
            stored = writer.withdrawn_trace(stored)
            report.withdrawn_traces += 1
        rows.append(writer.row(ids, instance_id, key, stored, created))
        if key in waiting:
            resolved.append(waiting[key])
        report.accepted += 1
    writer.write(rows)
    QuarantinedRecord.objects.bulk_create(new_quarantine)
    if resolved:
        _resolve(study, resolved)


def _resolve(study: Study, resolved: list[QuarantinedRecord]) -> None:
    """Mark quarantined records of earlier batches as accepted by the submissions just stored."""
    stored = dict(
        Submission.objects.filter(
            study=study, content_hash__in=[q.content_hash for q in resolved]
        ).values_list("content_hash", "pk")
    )
    for quarantined in resolved:
        quarantined.status = QuarantinedRecord.Status.ACCEPTED
        quarantined.submission_id = stored[quarantined.content_hash]
        quarantined.payload = encrypt_json({})  # the accepted submission now holds the data
        quarantined.save(update_fields=["status", "submission", "payload", "updated"])
