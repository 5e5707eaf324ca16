"""Reviewing a new XLSForm (a new version of a form) before it is added to a study.

``preview_upload`` parses the file and shows what it would become — its questions, the roles and
consent questions proposed for them, and what it changes for the submissions collected with the
study's latest instrument of the same form id (``instrument_changes``) — storing nothing.
``confirm_upload`` stores it through ``instruments.add_instrument`` with the roles and special
questions the coordinator confirmed, after checking them against the form and the study's sampling
design, and refuses a change that breaks earlier submissions unless it is explicitly accepted.

Between the two steps the file is kept by ``seal_upload``/``open_upload``: encrypted with the
personal-data keys (``crypto.encrypt_json``, AES-256-GCM) into a value the page keeps in the user's
session. That is the simplest safe place: nothing is written to the data directory (no file to clean
up when the coordinator walks away), the session row holds only ciphertext, the ciphertext is
authenticated (a tampered value is refused) and it is bound to the study and the file's name.
Session rows are not meant for large values, so only files up to ``PENDING_MAX_BYTES`` are kept
this way; an XLSForm is a few dozen kilobytes, and larger ones are added with ``voicescount
instrument``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from voicescount.accounts.permissions import Action, require
from voicescount.collection.crypto import PersonalDataUnreadable, decrypt_json, encrypt_json
from voicescount.collection.errors import CollectionError, InstrumentError
from voicescount.collection.instrument_changes import Change, answer_questions, compare_versions
from voicescount.collection.instruments import add_instrument
from voicescount.collection.models import Instrument, Study
from voicescount.collection.sampling import design_of
from voicescount.collection.validation import compile_validator
from voicescount.collection.xlsform import (
    FormDefinition,
    detect_special_questions,
    parse_xlsform,
    suggest_roles,
)

PENDING_MAX_BYTES = 2 * 1024 * 1024
ROLES = ("personal", "respondent_id", "weight", "stratum", "psu", "fpc")
"""The roles a question may have besides ``dimension:<CODE LIST>`` (blank: an ordinary answer)."""
DIMENSIONS = ("SEX", "AGE", "DISABILITY", "AREA", "REGION", "URBANISATION", "ETHNICITY", "POPULATION_GROUP")
"""The code lists offered for disaggregation dimensions (a form's own ``dimension:X`` is kept too)."""
SPECIAL = ("consent", "age", "guardian_consent", "child_assent")
SPECIAL_FIELDS = {
    "consent": "consent_question",
    "age": "age_question",
    "guardian_consent": "guardian_consent_question",
    "child_assent": "child_assent_question",
}
DESIGN_ROLES = {"weight": "weight", "strata": "stratum", "psu": "psu", "fpc": "fpc"}
"""The role a question named by the study's design must have (design element → role)."""
_DIMENSION = re.compile(r"^dimension:[A-Z][A-Z0-9_]*$")


class RolesRefused(CollectionError):
    """Roles or special questions that do not fit the form or the study's design; ``problems`` lists them."""

    def __init__(self, problems: list[str], *, file: str | None = None) -> None:
        self.problems = problems
        super().__init__(" ".join(problems), file=file)


class BreakingChangesRefused(CollectionError):
    """The new version breaks earlier submissions and the change was not accepted; ``changes`` says how."""

    def __init__(self, changes: list[Change], *, file: str | None = None) -> None:
        self.changes = changes
        super().__init__(
            _("The new version breaks earlier submissions: confirm that you accept it."), file=file
        )


@dataclass(frozen=True)
class UploadPreview:
    """What an uploaded XLSForm would become in the study; nothing of it is stored."""

    filename: str
    definition: FormDefinition
    roles: dict[str, str]
    special: dict[str, str]
    previous: Instrument | None
    existing: Instrument | None
    changes: list[Change] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    """The form's conditions (relevant, constraint, required-if) that imports will not check, and why: XPath
    outside the subset VoicesCount evaluates, or a typing error pyxform let through."""

    @property
    def questions(self) -> list[dict[str, Any]]:
        """Every question of the form, groups and notes included, in order."""
        return self.definition["questions"]

    @property
    def breaking(self) -> list[Change]:
        """The changes that break earlier submissions."""
        return [c for c in self.changes if c.breaking]


def latest_instrument(study: Study, form_id: str, *, other_than: str | None = None) -> Instrument | None:
    """The study's newest instrument of ``form_id`` (of a version other than ``other_than``)."""
    instruments = study.instruments.filter(form_id=form_id).order_by("-uploaded", "-pk")
    if other_than is not None:
        instruments = instruments.exclude(version=other_than)
    return instruments.first()


def _parse(filename: str, content: bytes) -> FormDefinition:
    definition = parse_xlsform(filename, content)
    definition.pop("xform", None)
    return definition


def _proposals(study: Study, definition: FormDefinition, previous: Instrument | None) -> tuple[dict, dict]:
    """Roles and special questions to propose: the previous version's where its questions are still
    there (the coordinator reviewed them), else the role the study's sampling design gives a question
    (its weight, strata, PSU, fpc), else what names and types suggest."""
    roles = suggest_roles(definition)
    names = set(answer_questions(definition))
    design = design_of(study).as_dict()
    roles |= {design[e]: role for e, role in DESIGN_ROLES.items() if design.get(e) and design[e] in names}
    special = detect_special_questions(definition)
    if previous is not None:
        known = set(answer_questions(previous.definition or {}))
        roles = {name: role for name, role in roles.items() if name not in known}
        roles |= {name: role for name, role in (previous.roles or {}).items() if name in names}
        for key, model_field in SPECIAL_FIELDS.items():
            if getattr(previous, model_field) in names:
                special[key] = getattr(previous, model_field)
    return roles, special


def _review(study: Study, filename: str, content: bytes, roles: dict[str, str] | None) -> UploadPreview:
    definition = _parse(filename, content)
    form_id, version = definition["form_id"], definition["version"]
    previous = latest_instrument(study, form_id, other_than=version)
    proposed_roles, special = _proposals(study, definition, previous)
    roles = proposed_roles if roles is None else roles
    changes, added = compare_versions(previous, definition, roles) if previous else ([], [])
    return UploadPreview(
        filename=filename,
        definition=definition,
        roles=roles,
        special=special,
        previous=previous,
        existing=study.instruments.filter(form_id=form_id, version=version).first(),
        changes=changes,
        added=added,
        unchecked=[issue.message for issue in compile_validator(definition, roles=roles).skipped],
    )


def preview_upload(
    study: Study, filename: str, content: bytes, *, roles: dict[str, str] | None = None
) -> UploadPreview:
    """Parse ``content`` and say what it would become in ``study``; stores nothing.

    The changes are worked out with ``roles`` (question name → role) when given, else with the
    proposed ones: the previous version's for the questions it had, else what names and types suggest.

    Raises ``InstrumentError`` (naming the file, and the sheet, row and column pyxform names) when
    the file is not a valid XLSForm.
    """
    return _review(study, filename, content, roles)


def check_roles(
    study: Study, definition: FormDefinition, roles: dict[str, str], special: dict[str, str]
) -> list[str]:
    """Why ``roles`` and ``special`` questions do not fit the form or the study's design (empty: they do)."""
    questions = answer_questions(definition)
    problems = []
    for name, role in roles.items():
        if name not in questions:
            problems.append(_("'%(q)s' is not a question of this form.") % {"q": name})
        elif role not in ROLES and not _DIMENSION.match(role):
            problems.append(
                _("'%(role)s' is not a role a question can have ('%(q)s').") % {"role": role, "q": name}
            )
    for key, name in special.items():
        if key not in SPECIAL:
            problems.append(_("'%(key)s' is not a consent or age question.") % {"key": key})
        elif name and (name not in questions or questions[name]["repeat"]):
            problems.append(
                _("The %(what)s question '%(q)s' is not a question of this form outside a repeat.")
                % {"what": key.replace("_", " "), "q": name}
            )
    design = design_of(study).as_dict()
    for element in ("weight", "strata", "psu", "ssu", "fpc", "fpc2"):
        name = design[element]
        if not name:
            continue
        if name not in questions:
            problems.append(
                _("The study's sampling design uses '%(q)s' (%(element)s), which this form does not have.")
                % {"q": name, "element": element}
            )
        elif element in DESIGN_ROLES and roles.get(name) != DESIGN_ROLES[element]:
            problems.append(
                _("The study's sampling design uses '%(q)s' as its %(element)s: give it the role '%(role)s'.")
                % {"q": name, "element": element, "role": DESIGN_ROLES[element]}
            )
    return problems


def confirm_upload(
    study: Study,
    filename: str,
    content: bytes,
    roles: dict[str, str],
    special: dict[str, str],
    *,
    by,
    accept_breaking: bool = False,
) -> Instrument:
    """Store ``content`` as a new instrument of ``study`` with the confirmed ``roles`` (question name →
    role; blank roles are left out) and ``special`` questions (consent, age, guardian_consent,
    child_assent → question name or blank).

    Raises ``PermissionDenied`` unless ``by`` may edit the study, ``InstrumentError`` for a file that is
    not a valid XLSForm or a version already in the study, ``RolesRefused`` for roles that do not fit,
    and ``BreakingChangesRefused`` when the version breaks earlier submissions and ``accept_breaking``
    is not set. The audit entry names the breaking changes that were accepted.
    """
    require(by, Action.EDIT, study.organisation)
    roles = {name: role for name, role in roles.items() if role}
    special = {key: special.get(key, "") or "" for key in SPECIAL} | {
        k: v for k, v in special.items() if k not in SPECIAL
    }
    review = _review(study, filename, content, roles)
    if review.existing is not None:
        raise InstrumentError(
            _(
                "Form '%(form)s' version '%(version)s' is already in this study: change 'version' on the "
                "settings sheet to add a new version."
            )
            % {"form": review.definition["form_id"], "version": review.definition["version"] or "—"},
            file=filename,
        )
    problems = check_roles(study, review.definition, roles, special)
    if problems:
        raise RolesRefused(problems, file=filename)
    if review.breaking and not accept_breaking:
        raise BreakingChangesRefused(review.breaking, file=filename)
    return add_instrument(
        study,
        filename,
        content,
        user=by,
        roles=roles,
        special=special,
        audit={"breaking": [c.as_audit() for c in review.breaking]},
    )


def seal_upload(study: Study, filename: str, content: bytes) -> str:
    """The upload, encrypted and authenticated, as text for the session (see the module docstring)."""
    if len(content) > PENDING_MAX_BYTES:
        raise InstrumentError(
            _("The file is larger than %(mb)d MB: add it with the command line (voicescount instrument).")
            % {"mb": PENDING_MAX_BYTES // (1024 * 1024)},
            file=filename,
        )
    sealed = encrypt_json(
        {"study": study.pk, "filename": filename, "content": base64.b64encode(content).decode("ascii")}
    )
    return base64.b64encode(sealed).decode("ascii")


def open_upload(study: Study, sealed: str) -> tuple[str, bytes]:
    """The file name and bytes of an upload sealed by ``seal_upload`` for ``study``."""
    try:
        kept = decrypt_json(base64.b64decode(sealed.encode("ascii"), validate=True))
    except (PersonalDataUnreadable, ValueError):
        kept = None
    if not isinstance(kept, dict) or kept.get("study") != study.pk:
        raise InstrumentError(_("The uploaded form is no longer available: upload it again."))
    return kept["filename"], base64.b64decode(kept["content"])
