"""What a new version of a form changes for the submissions already collected with earlier versions.

``compare_versions`` puts the new parsed form beside the study's latest instrument of the same form id
and lists, question by question, what an earlier submission would no longer fit: a question removed,
a type changed (``integer`` to ``text``), choices removed or recoded, an answer made required, a role
that earlier answers relied on (personal data stored encrypted, the respondent id behind the
pseudonyms). Each change counts the earlier submissions it touches and says in plain words what
happens; a change is *breaking* when earlier submissions hold answers it no longer accepts or no
longer treats the same way. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models.fields.json import KeyTransform
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from voicescount.collection.models import Instrument, Submission
from voicescount.collection.services import ENCRYPTED_ROLES
from voicescount.collection.xlsform import GROUP_TYPES, FormDefinition

COMPATIBLE_TYPES = frozenset(
    {("integer", "decimal"), ("calculate", "text"), ("text", "calculate"), ("date", "datetime")}
)
"""Type changes every earlier answer still fits (a whole number is a number; a date is a date-time)."""


METADATA_TYPES = frozenset(
    {"start", "end", "today", "deviceid", "username", "phonenumber", "simserial", "subscriberid", "audit"}
)
"""Questions the data-collection app fills in by itself (start and end times, device)."""


@dataclass(frozen=True)
class Change:
    """One thing the new version does differently for a question, and the earlier submissions it touches."""

    kind: str  # removed, type_changed, choices_removed, choice_recoded, required_added, role_changed
    question: str
    submissions: int
    breaking: bool
    old: str = ""
    new: str = ""

    @property
    def text(self) -> str:
        """What the change means for earlier submissions, in plain words (the active language)."""
        n, q = self.submissions, self.question
        if self.kind == "removed":
            if not n:
                return _("'%(q)s' is not in the new version; no earlier submission answered it.") % {"q": q}
            return ngettext(
                "%(n)d submission answered '%(q)s'; the new version has no such question.",
                "%(n)d submissions answered '%(q)s'; the new version has no such question.",
                n,
            ) % {"n": n, "q": q}
        if self.kind == "type_changed":
            words = {"n": n, "q": q, "old": type_words(self.old), "new": type_words(self.new)}
            if not n:
                return _("'%(q)s' was %(old)s; in the new version it is %(new)s.") % words
            return (
                ngettext(
                    "%(n)d submission answered '%(q)s' as %(old)s; in the new version it is %(new)s.",
                    "%(n)d submissions answered '%(q)s' as %(old)s; in the new version it is %(new)s.",
                    n,
                )
                % words
            )
        if self.kind == "choices_removed":
            return ngettext(
                "%(n)d submission chose %(codes)s for '%(q)s'; the new version no longer offers it.",
                "%(n)d submissions chose %(codes)s for '%(q)s'; the new version no longer offers it.",
                n,
            ) % {"n": n, "q": q, "codes": self.old}
        if self.kind == "choice_recoded":
            return ngettext(
                "'%(q)s': the answer coded %(old)s is coded %(new)s in the new version; "
                "%(n)d submission holds the old code.",
                "'%(q)s': the answer coded %(old)s is coded %(new)s in the new version; "
                "%(n)d submissions hold the old code.",
                n,
            ) % {"n": n, "q": q, "old": self.old, "new": self.new}
        if self.kind == "required_added" and self.new == "when asked":
            return ngettext(
                "'%(q)s' is now required where it is asked; %(n)d earlier submission has no answer to it "
                "(it may not have been asked).",
                "'%(q)s' is now required where it is asked; %(n)d earlier submissions have no answer to it "
                "(some may not have been asked).",
                n,
            ) % {"n": n, "q": q}
        if self.kind == "required_added":
            return ngettext(
                "'%(q)s' is now required; %(n)d earlier submission has no answer to it.",
                "'%(q)s' is now required; %(n)d earlier submissions have no answer to it.",
                n,
            ) % {"n": n, "q": q}
        words = {"n": n, "q": q, "old": role_words(self.old), "new": role_words(self.new)}
        if self.old == "respondent_id":
            return (
                ngettext(
                    "'%(q)s' was the respondent id: the pseudonyms of %(n)d earlier submission come from "
                    "it; as %(new)s, new submissions of the same person would not be linked to earlier ones.",
                    "'%(q)s' was the respondent id: the pseudonyms of %(n)d earlier submissions come from "
                    "it; as %(new)s, new submissions of the same person would not be linked to earlier ones.",
                    n,
                )
                % words
            )
        if self.old in ENCRYPTED_ROLES and self.new not in ENCRYPTED_ROLES:
            return (
                ngettext(
                    "'%(q)s' was %(old)s: its answers in %(n)d earlier submission are stored encrypted; "
                    "the new version would keep new answers in clear as %(new)s.",
                    "'%(q)s' was %(old)s: its answers in %(n)d earlier submissions are stored encrypted; "
                    "the new version would keep new answers in clear as %(new)s.",
                    n,
                )
                % words
            )
        return (
            ngettext(
                "'%(q)s' was %(old)s and is now %(new)s (%(n)d earlier submission answered it).",
                "'%(q)s' was %(old)s and is now %(new)s (%(n)d earlier submissions answered it).",
                n,
            )
            % words
        )

    def as_audit(self) -> dict[str, Any]:
        """The change as the audit log keeps it (names and counts, never an answer)."""
        return {"kind": self.kind, "question": self.question, "submissions": self.submissions}


def type_words(kind: str) -> str:
    """A question type in plain words ("a whole number")."""
    words = {
        "integer": _("a whole number"),
        "decimal": _("a number"),
        "range": _("a number on a scale"),
        "text": _("text"),
        "select_one": _("one choice from a list"),
        "select_multiple": _("several choices from a list"),
        "date": _("a date"),
        "datetime": _("a date and time"),
        "time": _("a time"),
        "geopoint": _("a location"),
        "calculate": _("a calculation"),
        "note": _("a note"),
        "barcode": _("a barcode"),
    }
    if kind in ("image", "audio", "video", "file", "signature"):
        return _("a file")
    if kind in METADATA_TYPES:
        return _("recorded by the device")
    return words.get(kind, f"'{kind}'")


def role_words(role: str) -> str:
    """A question role in plain words ("personal data", "a dimension (SEX)")."""
    if role.startswith("dimension:"):
        return _("a dimension (%(list)s)") % {"list": role.split(":", 1)[1]}
    words = {
        "": _("an ordinary answer"),
        "personal": _("personal data"),
        "respondent_id": _("the respondent id"),
        "weight": _("the design weight"),
        "stratum": _("the stratum"),
        "psu": _("the cluster (PSU)"),
        "fpc": _("the finite population correction"),
    }
    return words.get(role, role)


def answer_questions(definition: FormDefinition) -> dict[str, dict[str, Any]]:
    """The questions that hold answers (no groups, no notes), by name."""
    return {
        q["name"]: q
        for q in definition.get("questions", [])
        if q["type"] not in GROUP_TYPES and q["type"] != "note"
    }


class _Answers:
    """Earlier submissions of the form, read one question at a time (one key of ``values`` per query)."""

    def __init__(self, previous: Instrument) -> None:
        self.submissions = Submission.objects.filter(
            study_id=previous.study_id, instrument__form_id=previous.form_id
        )
        self._total: int | None = None

    @property
    def total(self) -> int:
        if self._total is None:
            self._total = self.submissions.count()
        return self._total

    def values(self, question: dict[str, Any]) -> list[Any]:
        """The non-blank answers to ``question`` (for a question in a repeat: its repeats)."""
        if not self.total:
            return []
        key = question["repeat"] or question["path"]
        answers = self.submissions.annotate(answer=KeyTransform(key, "values")).values_list(
            "answer", flat=True
        )
        return [a for a in answers.iterator(chunk_size=5000) if a not in (None, "", [])]

    def answered(self, question: dict[str, Any]) -> int:
        return len(self.values(question))


def _codes_used(answers: list[Any]) -> Counter:
    used: Counter = Counter()
    for answer in answers:
        if isinstance(answer, list):
            used.update({str(a) for a in answer})
        else:
            used.update(set(str(answer).split()))
    return used


def _label(choice: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(choice.get("labels", {}).values()))


def _choice_changes(old: dict[str, Any], new: dict[str, Any], answers: _Answers) -> list[Change]:
    old_codes = {c["code"]: c for c in old["choices"]}
    new_codes = {c["code"]: c for c in new["choices"]}
    gone = [code for code in old_codes if code not in new_codes]
    if not gone:
        return []
    used = _codes_used(answers.values(old)) if old["repeat"] == "" else Counter()
    fresh = {_label(c): code for code, c in new_codes.items() if code not in old_codes and _label(c)}
    changes, removed = [], []
    for code in gone:
        target = fresh.get(_label(old_codes[code]))
        if target is not None:
            n = used[code]
            changes.append(Change("choice_recoded", old["name"], n, n > 0, old=code, new=target))
        else:
            removed.append(code)
    if removed:
        n = sum(used[code] for code in removed)
        changes.append(Change("choices_removed", old["name"], n, n > 0, old=", ".join(removed)))
    return changes


def compare_versions(
    previous: Instrument, definition: FormDefinition, roles: dict[str, str]
) -> tuple[list[Change], list[str]]:
    """The changes from ``previous`` to the new ``definition`` (with its ``roles``), and the names of
    the questions the new version adds (earlier submissions simply have no answer to them)."""
    answers = _Answers(previous)
    old_questions = answer_questions(previous.definition or {})
    new_questions = answer_questions(definition)
    old_roles = previous.roles or {}
    changes: list[Change] = []
    for name, old in old_questions.items():
        new = new_questions.get(name)
        if new is None:
            n = answers.answered(old)
            changes.append(Change("removed", name, n, n > 0))
            continue
        if old["type"] != new["type"] and (old["type"], new["type"]) not in COMPATIBLE_TYPES:
            n = answers.answered(old)
            changes.append(Change("type_changed", name, n, n > 0, old=old["type"], new=new["type"]))
        elif old["choices"] and new["choices"]:
            changes.extend(_choice_changes(old, new, answers))
        if new["required"] is True and old["required"] is not True and not new["repeat"]:
            n = answers.total - answers.answered(old)
            if new["relevant"]:  # required only where asked: a blank may be a question skipped, as it should
                changes.append(Change("required_added", name, n, False, new="when asked"))
            else:
                changes.append(Change("required_added", name, n, n > 0))
        old_role, new_role = old_roles.get(name, ""), roles.get(name, "")
        if old_role != new_role:
            n = answers.answered(old)
            # Earlier answers stored encrypted, or pseudonyms derived from this question, rely on the role.
            relied_on = old_role == "respondent_id" or (
                old_role in ENCRYPTED_ROLES and new_role not in ENCRYPTED_ROLES
            )
            changes.append(Change("role_changed", name, n, relied_on and n > 0, old=old_role, new=new_role))
    added = [name for name in new_questions if name not in old_questions]
    return changes, added
