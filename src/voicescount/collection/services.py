"""Taking collected records in: what happens to each record, consent, quarantine and withdrawal.

Imports run through ``collection/batches.py`` (``import_records``): one batch at a time, in one
database transaction. This module holds the rules they apply. Each incoming record ends up in exactly
one place:

* **accepted** — a ``Submission`` with the typed values (personal fields removed), the raw payload
  (personal fields replaced by a marker) and the personal fields encrypted;
* **duplicate** — already held (same ``instanceID``, or for records without one the same content);
* **quarantined** — kept whole and encrypted with the reasons (validation issues, missing consent),
  waiting to be fixed and re-validated or discarded by a coordinator.

Nothing here logs or reports a personal value: reasons name the field, never its content.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from voicescount.accounts.permissions import Action, require
from voicescount.collection.crypto import decrypt_json, encrypt_json
from voicescount.collection.models import (
    AuditEntry,
    ConsentRecord,
    ImportBatch,
    Instrument,
    QuarantinedRecord,
    Study,
    Submission,
)
from voicescount.collection.records import RawRecord
from voicescount.collection.storing import PERSONAL_MARKER, RecordKeys, leaf  # noqa: F401 -- PERSONAL_MARKER is part of this module's API

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
    mapped to codes, rules not checked): field, code, message[, count]."""
    withdrawn_traces: int = 0
    """Accepted records of respondents who had withdrawn consent: stored as a trace, without answers."""

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


_BARE_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def canonical_instance_id(instance_id: str) -> str:
    """An instance id as every reader's copy of it compares: NFC, trimmed, a bare UUID (Kobo's
    ``_uuid``, Ona's) written ``uuid:…`` as ``meta/instanceID`` and ODK Central's ``KEY`` write it."""
    text = unicodedata.normalize("NFC", instance_id.strip())
    return f"uuid:{text.lower()}" if _BARE_UUID.fullmatch(text) else text


def canonical_answers(value: Any) -> Any:
    """Answers as every reader's copy of one submission gives them: empty answers dropped (a CSV has a
    cell for every question, JSON only the answered ones), text NFC with runs of white space as one
    space, numbers as text without a needless ``.0`` (``25``, ``25.0`` and ``"25"`` from JSON, XLSX and
    CSV), repeat instances in order without the empty ones (wide CSV columns)."""
    if isinstance(value, dict):
        pairs = ((unicodedata.normalize("NFC", str(k)), canonical_answers(v)) for k, v in value.items())
        return {k: v for k, v in sorted(pairs) if v is not None}
    if isinstance(value, list | tuple):
        items = [canonical_answers(v) for v in value]
        return [v for v in items if v is not None] or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def dedup_key(record: RawRecord, checked: Checked | None = None) -> str:
    """The de-duplication key, the same whichever reader or format gave the record: the instance id
    (``meta/instanceID``, Kobo's ``_uuid``, ODK's ``KEY``/``__id``; ``canonical_instance_id``) when the
    source has one, else a hash of the answers normalised by ``canonical_answers``: the checked
    (typed) answers when ``checked`` found no issue — choice labels mapped to their codes, numbers and
    dates typed, so that a labels export and an XML-values export of one submission agree — else the
    answers as read (a record held back keeps every answer in its key, valid or not).

    Two records without an instance id and with the same answers are taken for the same submission
    (sources without ids give nothing else to tell them apart).
    """
    if record.instance_id and record.instance_id.strip():
        basis = "id:" + canonical_instance_id(record.instance_id)
    else:
        valid = checked is not None and not checked.issues and not record.problems
        answers = canonical_answers(checked.typed_values if valid else record.values) or {}  # type: ignore[union-attr]
        basis = "answers:" + json.dumps(answers, sort_keys=True, ensure_ascii=False)
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


ENCRYPTED_ROLES = frozenset({"personal", "respondent_id"})
"""Roles whose answers are stored encrypted. The questionnaire code (``respondent_id``) is personal
data too: field teams write it on the paper form and the household list, so kept in clear beside the
pseudonym derived from it, it would undo the pseudonym."""


def personal_fields(instrument: Instrument) -> frozenset[str]:
    """Names of the answers to store encrypted: the questions with a role of :data:`ENCRYPTED_ROLES`,
    and the KoboToolbox fields that copy them — ``_geolocation`` (the form's first geopoint) when a
    location question is personal, ``_attachments`` (file names and links) when a media question is."""
    names = {name for name, role in (instrument.roles or {}).items() if role in ENCRYPTED_ROLES}
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
    respondent = respondent_pseudonym(study, record.values, record.instance_id, key, respondent_field, keys)
    personal = (
        encrypt_json({"values": removed_typed, "raw": removed_raw}) if removed_raw or removed_typed else None
    )
    meta = keys.split_part(record.meta, whole, raw)
    return respondent, record.submitted_at, raw, typed, meta, personal


def respondent_pseudonym(
    study: Study,
    values: dict[str, Any],
    instance_id: str | None,
    key: str,
    respondent_field: str | None,
    keys: RecordKeys,
) -> str:
    """The pseudonym of a record's respondent: of its ``respondent_id`` answer, else of its instance id,
    else of its de-duplication ``key`` (the one rule, for accepted records and held-back ones alike)."""
    code = keys.value_of(values, respondent_field, first=True) if respondent_field else None
    return pseudonym(study, str(code or instance_id or key))


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


def revalidate(
    record: QuarantinedRecord, values: dict[str, Any], *, checker: Checker, user, audit: bool = True
) -> list[Issue]:
    """Re-check a quarantined record with corrected ``values``; accept it when it passes.

    Returns the remaining issues (empty: accepted). A correction that still fails changes nothing;
    the record checked with its own values again (after the instrument changed) keeps the new issues.
    A record of a respondent who withdrew consent is never accepted (issue ``consent_withdrawn``).
    The original payload stays in the accepted submission's ``raw`` with the correction noted in
    ``meta``; the acceptance is audited (``quarantine_fixed``: the names of the changed fields, never
    their values) unless ``audit`` is false, for a caller that audits the whole run.
    """
    require(user, Action.IMPORT, record.study.organisation)
    payload = decrypt_json(record.payload)
    submitted_at = payload.get("submitted_at")
    fixed = RawRecord(
        source=payload["source"],
        locator=payload["locator"],
        values=values,
        instance_id=payload.get("instance_id"),
        submitted_at=dt.datetime.fromisoformat(submitted_at) if submitted_at else None,
        meta={**(payload.get("meta") or {}), "corrected_from_quarantine": record.pk},
        raw=payload.get("raw"),
    )
    instrument = record.instrument
    checked = checker(fixed)
    issues = list(checked.issues) + consent_issues(values, instrument, _study_level_consent(record.study))
    before = payload.get("values") or {}
    changed = sorted(k for k in {*before, *values} if before.get(k) != values.get(k))
    with transaction.atomic():
        if issues:
            if not changed:
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
        withdrawn = ConsentRecord.objects.filter(
            study=record.study, respondent=submission.respondent, kind=ConsentRecord.Kind.WITHDRAWN
        )
        if withdrawn.exists():
            return [Issue("", "consent_withdrawn", "The respondent withdrew consent: discard this record.")]
        submission.save()
        record.status = QuarantinedRecord.Status.ACCEPTED
        record.submission = submission
        record.payload = encrypt_json({})
        record.save(update_fields=["status", "submission", "payload", "updated"])
        if audit:
            AuditEntry.objects.create(
                actor=user,
                study=record.study,
                organisation=record.study.organisation,
                action="quarantine_fixed",
                details={"quarantined": record.pk, "submission": submission.pk, "changed": changed},
            )
    return []


def discard(record: QuarantinedRecord, *, user, reason: str) -> None:
    """Drop a quarantined record's payload for good; the reason is kept as the record's ``note`` and
    the audit entry names who did it and which record (the reason is free text: not copied there)."""
    require(user, Action.IMPORT, record.study.organisation)
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is needed to discard a held-back record.")
    with transaction.atomic():
        record.status = QuarantinedRecord.Status.DISCARDED
        record.payload = encrypt_json({})
        record.note = reason
        record.save(update_fields=["status", "payload", "note", "updated"])
        AuditEntry.objects.create(
            actor=user,
            study=record.study,
            organisation=record.study.organisation,
            action="quarantine_discarded",
            details={"quarantined": record.pk, "locator": record.locator},
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
        discarded = _discard_held_back_records_of(study, respondent)
        AuditEntry.objects.create(
            actor=user,
            study=study,
            organisation=study.organisation,
            action="consent_withdrawn",
            details={"respondent": respondent, "submissions": affected, "quarantined_discarded": discarded},
        )
    return affected


WITHDRAWN_NOTE = "Discarded when the respondent withdrew consent."


def _discard_held_back_records_of(study: Study, respondent: str) -> int:
    """Discard the open quarantined records of ``respondent`` (their payloads erased): a withdrawal
    leaves none of their answers waiting in quarantine. How many."""
    discarded = 0
    keys: dict[int, tuple[str | None, RecordKeys]] = {}
    held = QuarantinedRecord.objects.filter(study=study, status=QuarantinedRecord.Status.OPEN)
    for record in held.select_related("instrument").select_for_update(of=("self",)).order_by("pk"):
        if record.instrument_id not in keys:
            keys[record.instrument_id] = (
                _respondent_field(record.instrument),
                RecordKeys(personal_fields(record.instrument)),
            )
        field_name, record_keys = keys[record.instrument_id]
        payload = decrypt_json(record.payload) or {}
        found = respondent_pseudonym(
            study,
            payload.get("values") or {},
            payload.get("instance_id"),
            record.instance_id or record.content_hash,
            field_name,
            record_keys,
        )
        if found == respondent:
            record.status = QuarantinedRecord.Status.DISCARDED
            record.payload = encrypt_json({})
            record.note = WITHDRAWN_NOTE
            record.save(update_fields=["status", "payload", "note", "updated"])
            discarded += 1
    return discarded


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
