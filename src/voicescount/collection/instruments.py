"""Adding an XLSForm instrument (one version of a questionnaire) to a study."""

from __future__ import annotations

from django.db import transaction

from voicescount.accounts.permissions import Action, require
from voicescount.collection.errors import InstrumentError
from voicescount.collection.models import AuditEntry, Instrument, Study
from voicescount.collection.xlsform import detect_special_questions, parse_xlsform, suggest_roles


def add_instrument(
    study: Study,
    filename: str,
    content: bytes,
    *,
    user=None,
    check_permission: bool = True,
    roles: dict[str, str] | None = None,
    special: dict[str, str] | None = None,
    audit: dict | None = None,
) -> Instrument:
    """Parse the XLSForm ``content`` and store it as an instrument of ``study``.

    Stores the question tree (``definition``), the generated XForm, the file unchanged, the proposed
    question roles and the detected consent, age, guardian-consent and child-assent questions.
    Uploading the same form id and version again returns the existing instrument when the file is
    byte-identical, and raises ``InstrumentError`` when it differs (the version must be bumped:
    records already imported were checked against the old one). Raises ``PermissionDenied`` when
    ``user`` may not edit the study's organisation.

    ``roles`` and ``special`` (consent, age, guardian_consent, child_assent → question name), when
    given, are the reviewed ones (``instrument_review.confirm_upload``) and replace the proposals;
    ``audit`` adds to the audit entry's details.
    """
    if check_permission:
        require(user, Action.EDIT, study.organisation)
    definition = parse_xlsform(filename, content)
    form_id, version = definition["form_id"], definition["version"]
    existing = Instrument.objects.filter(study=study, form_id=form_id, version=version).first()
    if existing is not None:
        # The same form saved again is the same instrument, even when the file's bytes differ (an .xlsx
        # carries the time it was written): what counts is the parsed form.
        parsed = {k: v for k, v in definition.items() if k != "xform"}
        if bytes(existing.source) == content or existing.definition == parsed:
            return existing
        raise InstrumentError(
            f"Form '{form_id}' version '{version or '(none)'}' is already in this study with different "
            "content: change 'version' on the settings sheet and upload again.",
            file=filename,
        )
    xform = definition.pop("xform")
    special = detect_special_questions(definition) if special is None else special
    with transaction.atomic():
        instrument = Instrument.objects.create(
            study=study,
            form_id=form_id[:200],
            version=version[:100],
            title=definition["title"][:300],
            filename=filename[:300],
            source=content,
            definition=definition,
            xform=xform,
            roles=suggest_roles(definition) if roles is None else roles,
            consent_question=special.get("consent", ""),
            age_question=special.get("age", ""),
            guardian_consent_question=special.get("guardian_consent", ""),
            child_assent_question=special.get("child_assent", ""),
            uploaded_by=user if getattr(user, "is_authenticated", False) else None,
        )
        AuditEntry.objects.create(
            actor=instrument.uploaded_by,
            study=study,
            organisation=study.organisation,
            action="instrument_added",
            details={"instrument": instrument.pk, "form_id": form_id, "version": version} | (audit or {}),
        )
    return instrument
