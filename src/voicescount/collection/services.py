"""Taking collected records in: one batch at a time, validated, de-duplicated, consent checked, nothing lost.

``import_records`` is the single entry point used by the CLI, the upload page and the JSON API. It
runs inside one database transaction: an import stopped half-way (killed, crashed, a database error)
leaves either the whole batch or nothing. Each incoming record ends up in exactly one place:

* **accepted** — a ``Submission`` with the typed values (personal fields removed), the raw payload
  (personal fields replaced by a marker) and the personal fields encrypted;
* **duplicate** — already held (same ``instanceID``, or for records without one the same content);
* **quarantined** — kept whole and encrypted with the reasons (validation issues, missing consent),
  waiting to be fixed and re-validated or discarded by a coordinator.

Nothing here logs or reports a personal value: reasons name the field, never its content.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.db import transaction

from voicescount.accounts.permissions import Action, require
from voicescount.collection.crypto import decrypt_json, encrypt_json
from voicescount.collection.errors import ImportFileError
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
from voicescount.collection.storing import PERSONAL_MARKER, RecordKeys, SubmissionWriter, leaf  # noqa: F401 -- PERSONAL_MARKER is part of this module's API
from voicescount.perf import AheadInChild, paused_gc

T = TypeVar("T")

CHUNK = 1000
MAX_INSTANCE_ID = 200  # Submission.instance_id's length
GC_EVERY = 16  # chunks between collections of the young generation while the collector is paused
CONSENT_YES = frozenset(
    {"yes", "y", "1", "true", "agree", "agreed", "co", "có", "đồng ý", "dong_y", "consent"}
)
MINOR_AGE = 16  # below this age, guardian consent plus the child's own assent are required


@dataclass(frozen=True)
class Issue:
    """Why a record cannot be accepted as it is. ``message`` never contains a personal value."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class Checked:
    typed_values: dict[str, Any]
    issues: list[Issue]


Checker = Callable[[RawRecord], Checked]
"""Validates one record against the instrument; see ``checker_for``."""


@dataclass
class ImportReport:
    batch_id: int | None = None
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    """Per quarantined record: locator, and issues (field, code, message); capped at ``MAX_REASONS``."""
    notes: list[dict[str, Any]] = field(default_factory=list)
    """Non-blocking findings of the checker over the whole batch, each once with a count (labels
    mapped to codes, unknown columns, rules not checked): field, code, message[, count]."""

    MAX_REASONS = 1000

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch_id,
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "reasons": self.reasons,
            "reasons_truncated": self.quarantined > len(self.reasons),
            "notes": self.notes,
        }


# --- keys, pseudonyms and personal data ------------------------------------------------------------


def _canonical(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_canonical(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def dedup_key(record: RawRecord) -> str:
    """The de-duplication key: the ``instanceID`` when the source has one, else a hash of the answers.

    Answers are compared after NFC normalisation, so the same export saved by a tool that wrote NFD
    is still recognised. Two records without an instanceID and with identical answers are treated as
    the same submission (sources without ids give nothing else to tell them apart).
    """
    if record.instance_id:
        basis = "id:" + unicodedata.normalize("NFC", record.instance_id.strip())
    else:
        basis = "values:" + json.dumps(
            _canonical(record.values), sort_keys=True, ensure_ascii=False, default=str
        )
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def pseudonym(study: Study, key: str) -> str:
    """A stable pseudonymous respondent id: HMAC of the respondent key with the study's secret."""
    digest = hmac.digest(study.pseudonym_key.encode(), key.encode("utf-8"), "sha256").hex()
    return "r-" + digest[:20]


@functools.lru_cache(maxsize=8192)
def _leaf(name: str) -> str:
    return leaf(name)


def split_personal(values: Any, personal: frozenset[str]) -> tuple[Any, dict[str, Any]]:
    """``values`` with personal fields replaced by a marker, and the removed values by path.

    Parts without personal data may be shared with ``values``: use the result for storing.
    """
    return RecordKeys(personal).split(values)


GEO_TYPES = frozenset({"geopoint", "geotrace", "geoshape"})
MEDIA_TYPES = frozenset({"image", "audio", "video", "file", "signature", "background-audio"})


def personal_fields(instrument: Instrument) -> frozenset[str]:
    """Names of the answers to store encrypted: the questions with the ``personal`` role, and the
    KoboToolbox fields that copy them — ``_geolocation`` (the form's first geopoint) when a location
    question is personal, ``_attachments`` (file names and links) when a media question is."""
    names = {name for name, role in (instrument.roles or {}).items() if role == "personal"}
    kinds = {
        q.get("type") for q in (instrument.definition or {}).get("questions", []) if q.get("name") in names
    }
    if kinds & GEO_TYPES:
        names.add("_geolocation")
    if kinds & MEDIA_TYPES:
        names.add("_attachments")
    return frozenset(names)


# --- consent ---------------------------------------------------------------------------------------


def _yes(value: Any) -> bool:
    if value is None:
        return False
    return unicodedata.normalize("NFC", str(value)).strip().lower() in CONSENT_YES


def consent_issues(
    record_values: dict[str, Any],
    instrument: Instrument,
    study_level_consent: bool,
    *,
    keys: RecordKeys | None = None,
) -> list[Issue]:
    """Why the record may not enter analysis for lack of consent (empty list: consent is recorded).

    Questions are found by their name at the end of the answer's path; ``keys`` (an import's
    ``RecordKeys``) saves working the names out again for each record.
    """
    issues: list[Issue] = []
    keys = keys or RecordKeys(frozenset())

    def answer(name: str) -> Any:
        return keys.value_of(record_values, name)

    q = instrument.consent_question
    if q:
        if not _yes(answer(q)):
            issues.append(
                Issue(
                    q,
                    "consent_missing",
                    f"Consent question '{q}' is not answered yes: the record is held back.",
                )
            )
    elif not study_level_consent:
        issues.append(
            Issue(
                "",
                "consent_missing",
                "The instrument has no consent question and the study has no consent record: "
                "record the study's consent procedure first.",
            )
        )
    if instrument.study.consent_procedure == Study.Consent.GUARDIAN_AND_ASSENT and instrument.age_question:
        try:
            age = float(answer(instrument.age_question))
        except (TypeError, ValueError):
            age = None
        if age is not None and age < MINOR_AGE:
            for question, what in (
                (instrument.guardian_consent_question, "guardian consent"),
                (instrument.child_assent_question, "the child's assent"),
            ):
                if not question:
                    issues.append(
                        Issue(
                            "",
                            "consent_missing",
                            f"The instrument does not say which question records {what}.",
                        )
                    )
                elif not _yes(answer(question)):
                    issues.append(
                        Issue(question, "consent_missing", f"Respondent under {MINOR_AGE} without {what}.")
                    )
    return issues


def _study_level_consent(study: Study) -> bool:
    last = study.consent_records.filter(respondent="").order_by("-recorded", "-pk").first()
    return last is not None and last.kind == ConsentRecord.Kind.GIVEN


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
        return [_Pending(dedup_key(record), record) for record in chunk]

    def prepare(self, record: RawRecord, key: str) -> Prepared:
        checked = self.checker(record)
        issues = [
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
        return [tuple(self.prepare(p.record, p.key)) for p in self.keyed(records)]

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

    Raises ``ImportFileError`` (nothing imported) when the source cannot be read to the end, and
    ``PermissionDenied`` when ``user`` may not import for the study's organisation.
    """
    study = instrument.study
    if check_permission:
        require(user, Action.IMPORT, study.organisation)
    report = ImportReport()

    # Records are a few hundred small containers each and leave no garbage cycles: the collector
    # would walk the live objects again and again (a tenth of the import's time). Paused, with the
    # young generation collected every few chunks in case something did leave a cycle.
    with paused_gc(), transaction.atomic():
        batch = ImportBatch.objects.create(
            study=study,
            instrument=instrument,
            source=source,
            filename=filename[:300],
            file_sha256=file_sha256,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        report.batch_id = batch.pk
        writer = SubmissionWriter()
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
            preparer.prepare(item[1], key) if type(item) is _Pending else item
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


def _respondent_field(instrument: Instrument) -> str | None:
    return next((n for n, r in (instrument.roles or {}).items() if r == "respondent_id"), None)


def _payload(record: RawRecord) -> dict[str, Any]:
    return {
        "source": record.source,
        "locator": record.locator,
        "values": record.values,
        "instance_id": record.instance_id,
        "submitted_at": record.submitted_at.isoformat() if record.submitted_at else None,
        "meta": record.meta,
        "raw": record.raw,
    }


def _submission_fields(
    study: Study,
    record: RawRecord,
    key: str,
    checked: Checked,
    keys: RecordKeys,
    respondent_field: str | None,
) -> tuple[str, Any, Any, Any, Any, bytes | None]:
    """respondent, submitted_at, raw, values, meta, personal of an accepted record's submission."""
    typed, removed_typed = keys.split(checked.typed_values)
    whole = record.raw if record.raw is not None else record.values
    raw, removed_raw = keys.split(whole)
    respondent_key = keys.value_of(record.values, respondent_field, first=True) if respondent_field else None
    respondent_key = str(respondent_key or record.instance_id or key)
    personal = (
        encrypt_json({"values": removed_typed, "raw": removed_raw}) if removed_raw or removed_typed else None
    )
    meta = keys.split_part(record.meta, whole, raw)
    return pseudonym(study, respondent_key), record.submitted_at, raw, typed, meta, personal


def _submission(
    study: Study,
    instrument: Instrument,
    batch: ImportBatch,
    record: RawRecord,
    key: str,
    checked: Checked,
    personal: frozenset[str],
    respondent_field: str | None,
) -> Submission:
    """The submission of an accepted record, as a model instance (one record; imports write rows)."""
    respondent, submitted_at, raw, typed, meta, encrypted = _submission_fields(
        study, record, key, checked, RecordKeys(personal), respondent_field
    )
    return Submission(
        study=study,
        instrument=instrument,
        batch=batch,
        instance_id=record.instance_id,
        content_hash=key,
        respondent=respondent,
        submitted_at=submitted_at,
        raw=raw,
        values=typed,
        meta=meta,
        personal=encrypted,
    )


# --- quarantine ------------------------------------------------------------------------------------


def quarantined_payload(record: QuarantinedRecord, user) -> dict[str, Any]:
    """The held record, decrypted, for a coordinator allowed to see personal data."""
    require(user, Action.VIEW_PERSONAL_DATA, record.study.organisation)
    return decrypt_json(record.payload)


def revalidate(record: QuarantinedRecord, values: dict[str, Any], *, checker: Checker, user) -> list[Issue]:
    """Re-check a quarantined record with corrected ``values``; accept it when it passes.

    Returns the remaining issues (empty: accepted). The original payload stays in the
    accepted submission's ``raw`` with the correction noted in ``meta``.
    """
    require(user, Action.IMPORT, record.study.organisation)
    payload = decrypt_json(record.payload)
    fixed = RawRecord(
        source=payload["source"],
        locator=payload["locator"],
        values=values,
        instance_id=payload.get("instance_id"),
        meta={**(payload.get("meta") or {}), "corrected_from_quarantine": record.pk},
        raw=payload.get("raw"),
    )
    instrument = record.instrument
    checked = checker(fixed)
    issues = list(checked.issues) + consent_issues(values, instrument, _study_level_consent(record.study))
    with transaction.atomic():
        if issues:
            record.issues = [i.as_dict() for i in issues]
            record.save(update_fields=["issues", "updated"])
            return issues
        submission = _submission(
            record.study,
            instrument,
            record.batch,
            fixed,
            record.content_hash,
            checked,
            personal_fields(instrument),
            _respondent_field(instrument),
        )
        submission.save()
        record.status = QuarantinedRecord.Status.ACCEPTED
        record.submission = submission
        record.payload = encrypt_json({})
        record.save(update_fields=["status", "submission", "payload", "updated"])
        AuditEntry.objects.create(
            actor=user, study=record.study, action="quarantine_accepted", details={"quarantined": record.pk}
        )
    return []


def discard(record: QuarantinedRecord, *, user, reason: str) -> None:
    """Drop a quarantined record's payload for good (with an audit entry naming who and why)."""
    require(user, Action.IMPORT, record.study.organisation)
    with transaction.atomic():
        record.status = QuarantinedRecord.Status.DISCARDED
        record.payload = encrypt_json({})
        record.save(update_fields=["status", "payload", "updated"])
        AuditEntry.objects.create(
            actor=user,
            study=record.study,
            action="quarantine_discarded",
            details={"quarantined": record.pk, "reason": reason},
        )


# --- consent withdrawal ----------------------------------------------------------------------------


def withdraw_consent(study: Study, respondent: str, *, user, note: str = "") -> int:
    """Record that ``respondent`` (a pseudonymous id) withdrew consent.

    Their personal data and answers are erased, their submissions are excluded from every later
    estimate (``Submission.objects.in_analysis()``) while the row itself stays as the trace that a
    record existed, and the withdrawal is audited. Returns the number of submissions affected.
    """
    require(user, Action.EDIT, study.organisation)
    if not respondent:
        raise ValueError("A respondent id is needed to withdraw consent.")
    with transaction.atomic():
        ConsentRecord.objects.create(
            study=study, respondent=respondent, kind=ConsentRecord.Kind.WITHDRAWN, note=note, recorded_by=user
        )
        affected = Submission.objects.filter(study=study, respondent=respondent).update(
            consent_status=Submission.ConsentStatus.WITHDRAWN, personal=None, raw={}, values={}, meta={}
        )
        AuditEntry.objects.create(
            actor=user,
            study=study,
            action="consent_withdrawn",
            details={"respondent": respondent, "submissions": affected},
        )
    return affected


def record_study_consent(study: Study, *, user, note: str = "") -> ConsentRecord:
    """Record that the study's consent procedure was followed for every respondent."""
    require(user, Action.EDIT, study.organisation)
    record = ConsentRecord.objects.create(
        study=study, respondent="", kind=ConsentRecord.Kind.GIVEN, note=note, recorded_by=user
    )
    AuditEntry.objects.create(
        actor=user, study=study, action="study_consent_recorded", details={"note": note}
    )
    return record
