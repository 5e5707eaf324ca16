"""Held-back records, as a coordinator works through them: see, fix, discard, re-validate.

An import holds back a record it cannot accept (``services``: validation issues, missing consent),
whole and encrypted. Here a coordinator (``Action.IMPORT``) sees its answers beside their issues
(``held_record``), corrects answers (``fix``: the record is checked again against its own instrument
and accepted only when nothing is left), discards it with a reason (``discard``), or checks every
open record again after the instrument changed (``revalidate_all``). The acceptance and discarding
rules stay in ``services.revalidate`` and ``services.discard``; each action is audited there or here,
naming records and fields, never an answer.

Personal answers (``services.personal_fields``) are shown and changed only for a user who may view
personal data (``Action.VIEW_PERSONAL_DATA``); for anyone else they are masked and kept as they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from voicescount.accounts.permissions import Action, has_permission, require
from voicescount.collection import services
from voicescount.collection.checking import checker_for
from voicescount.collection.crypto import decrypt_json
from voicescount.collection.models import AuditEntry, QuarantinedRecord, Study
from voicescount.collection.storing import leaf
from voicescount.collection.xlsform import GROUP_TYPES

SCALAR = (str, int, float, bool, type(None))


class RecordNotOpen(ValueError):
    """The record was fixed or discarded already (by someone else, or in another tab)."""


@dataclass(frozen=True)
class Answer:
    """One answer of a held record as the fix form shows it."""

    path: str
    question: dict[str, Any] | None
    """The instrument's question (labels, type, choices), None for a column the form does not have."""
    value: str
    """The answer as text ("" when empty or masked)."""
    personal: bool
    masked: bool
    """Personal and the user may not see it: shown as masked, kept as it was."""
    editable: bool
    issues: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class HeldRecord:
    record: QuarantinedRecord
    answers: list[Answer]
    general_issues: list[dict[str, str]]
    """Issues about the record as a whole, or about something the form does not show (its clock)."""


@dataclass(frozen=True)
class Revalidation:
    checked: int
    accepted: int

    @property
    def held(self) -> int:
        return self.checked - self.accepted


def open_records(study: Study) -> QuerySet[QuarantinedRecord]:
    """The study's records waiting for a fix, oldest first (their issues are ``record.issues``)."""
    return study.quarantine.filter(status=QuarantinedRecord.Status.OPEN).select_related("instrument", "batch")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _is_personal(path: str, personal: frozenset[str]) -> bool:
    return path in personal or leaf(path) in personal


def _questions(record: QuarantinedRecord) -> list[dict[str, Any]]:
    return [
        q
        for q in (record.instrument.definition or {}).get("questions", [])
        if q.get("type") not in GROUP_TYPES and q.get("type") != "end_repeat"
    ]


def _field_of(issue_field: str, paths: dict[str, str]) -> str | None:
    """The shown answer an issue is about: its path, the question's name, or the repeat it is in."""
    for candidate in (issue_field, issue_field.split("[", 1)[0]):
        if candidate in paths:
            return paths[candidate]
    return paths.get(leaf(issue_field)) if issue_field else None


def held_record(
    record: QuarantinedRecord,
    user,
    *,
    submitted: dict[str, str] | None = None,
    issues: list[dict[str, str]] | None = None,
) -> HeldRecord:
    """The record's answers with their issues, personal answers masked unless ``user`` may see them.

    With ``submitted`` (a correction that did not pass) and ``issues`` (what ``fix`` found), the answers
    as corrected — what the user may change — beside the issues left."""
    require(user, Action.IMPORT, record.study.organisation)
    see_personal = has_permission(user, Action.VIEW_PERSONAL_DATA, record.study.organisation)
    personal = services.personal_fields(record.instrument)
    values = (decrypt_json(record.payload) or {}).get("values") or {}
    if submitted is not None:
        values = _corrected(record, values, submitted, user)
    issues = (record.issues or []) if issues is None else issues
    questions = _questions(record)
    by_path = {q.get("path") or q["name"]: q for q in questions}
    names = {q["name"]: q.get("path") or q["name"] for q in reversed(questions)}
    issue_paths = set()
    lookup = {**names, **{p: p for p in by_path}, **{p: p for p in values}}
    for issue in issues:
        target = _field_of(issue.get("field") or "", lookup)
        if target is not None and (target in values or target in by_path):
            issue_paths.add(target)
    # The form's order, then columns the form does not have, as the record gave them.
    shown = [p for p in by_path if p in values or p in issue_paths]
    shown += [p for p in values if p not in by_path]
    answers: dict[str, Answer] = {}
    for path in shown:
        value = values.get(path)
        is_personal = _is_personal(path, personal)
        masked = is_personal and not see_personal
        answers[path] = Answer(
            path=path,
            question=by_path.get(path),
            value="" if masked or not isinstance(value, SCALAR) else _text(value),
            personal=is_personal,
            masked=masked,
            editable=not masked and isinstance(value, SCALAR),
        )
    general: list[dict[str, str]] = []
    for issue in issues:
        target = _field_of(issue.get("field") or "", lookup)
        if target in answers:
            answers[target].issues.append(issue)
        else:
            general.append(issue)
    return HeldRecord(record, list(answers.values()), general)


def _corrected(
    record: QuarantinedRecord, original: dict[str, Any], submitted: dict[str, str], user
) -> dict[str, Any]:
    """The record's answers with ``submitted`` texts applied where the user may and did change them."""
    see_personal = has_permission(user, Action.VIEW_PERSONAL_DATA, record.study.organisation)
    personal = services.personal_fields(record.instrument)
    questions = {q.get("path") or q["name"] for q in _questions(record)}
    values = dict(original)
    for path, text in submitted.items():
        if path not in original and path not in questions:
            continue  # not an answer of this record or a question of its form
        if _is_personal(path, personal) and not see_personal:
            continue
        old = original.get(path)
        if not isinstance(old, SCALAR) or text == _text(old):
            continue  # repeats are kept as they were; an unchanged text keeps the original's type
        if path not in original and text == "":
            continue
        values[path] = text
    return values


def fix(record: QuarantinedRecord, values: dict[str, str], by) -> dict[str, list[services.Issue]]:
    """Correct the answers in ``values`` (path → text) and check the record again against its instrument.

    Returns the issues left, by answer path ("" for the record as a whole): empty when the record
    was accepted as a submission (audited ``quarantine_fixed``). When issues remain nothing is stored.
    Raises ``RecordNotOpen`` for a record that was fixed or discarded already."""
    require(by, Action.IMPORT, record.study.organisation)
    with transaction.atomic():
        record = (
            QuarantinedRecord.objects.select_for_update()
            .select_related("study", "instrument")
            .get(pk=record.pk)
        )
        if record.status != QuarantinedRecord.Status.OPEN:
            raise RecordNotOpen(f"Record {record.locator} is no longer waiting for a fix.")
        original = (decrypt_json(record.payload) or {}).get("values") or {}
        corrected = _corrected(record, original, values, by)
        issues = services.revalidate(record, corrected, checker=checker_for(record.instrument), user=by)
    by_field: dict[str, list[services.Issue]] = {}
    known = [*(q.get("path") or q["name"] for q in _questions(record)), *corrected]
    paths = {leaf(p): p for p in known} | {p: p for p in known}
    for issue in issues:
        by_field.setdefault(_field_of(issue.field, paths) or "", []).append(issue)
    return by_field


def discard(record: QuarantinedRecord, reason: str, by) -> None:
    """Discard the record for good; ``reason`` (required) is kept as its note. Audited
    ``quarantine_discarded``. Raises ``ValueError`` without a reason, ``RecordNotOpen`` when the record
    was fixed or discarded already; either way nothing changes."""
    require(by, Action.IMPORT, record.study.organisation)
    if not (reason or "").strip():
        raise ValueError("A reason is needed to discard a held-back record.")
    with transaction.atomic():
        record = QuarantinedRecord.objects.select_for_update().select_related("study").get(pk=record.pk)
        if record.status != QuarantinedRecord.Status.OPEN:
            raise RecordNotOpen(f"Record {record.locator} is no longer waiting for a fix.")
        services.discard(record, user=by, reason=reason)


def revalidate_all(study: Study, by) -> Revalidation:
    """Check every open record of ``study`` again, as it is, against its instrument (after the form,
    its roles or the known areas changed); records that now pass are accepted, the others keep the
    issues found now. One audit entry ``quarantine_revalidated`` with the counts."""
    require(by, Action.IMPORT, study.organisation)
    checkers: dict[int, services.Checker] = {}
    checked = accepted = 0
    with transaction.atomic():
        for record in open_records(study).select_for_update(of=("self",)).order_by("pk"):
            if record.instrument_id not in checkers:
                checkers[record.instrument_id] = checker_for(record.instrument)
            values = (decrypt_json(record.payload) or {}).get("values") or {}
            issues = services.revalidate(
                record, values, checker=checkers[record.instrument_id], user=by, audit=False
            )
            checked += 1
            accepted += not issues
        AuditEntry.objects.create(
            actor=by,
            study=study,
            organisation=study.organisation,
            action="quarantine_revalidated",
            details={"checked": checked, "accepted": accepted, "held": checked - accepted},
        )
    return Revalidation(checked, accepted)
