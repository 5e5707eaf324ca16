"""Changing sources, excerpts and redactions: each function checks the user's right and the input, then
writes in one transaction; bad input raises ``VoicesError`` and changes nothing.

Who may do what (``accounts.permissions``): adding sources and excerpts, setting consent and deciding
redactions needs ``EDIT`` on the study's organisation (analysts, coordinators); marking an excerpt
reviewed — the person's statement that it is de-identified and may be shown — needs ``PUBLISH``
(coordinators), the right to make records public. Any change to an excerpt's consent, paraphrase or
redactions takes a review back (the excerpt is a draft again). A withdrawal of consent is
``DO_NOT_PUBLISH`` and withholds the excerpt at once.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from voicescount.accounts.permissions import Action, require
from voicescount.collection.models import AuditEntry, Study
from voicescount.collection.study_service import POPULATION_GROUP
from voicescount.framework.models import Code
from voicescount.geography.models import Area
from voicescount.voices.deidentify import propose_redactions, replacement_for
from voicescount.voices.models import Consent, Excerpt, Redaction, Source
from voicescount.voices.reading import check_text

PLACE_LEVELS = (Area.Level.PROVINCE, Area.Level.MACRO_REGION)
"""A source's place is a province or a region: never a commune or village (those identify people)."""


class VoicesError(ValueError):
    """Input that cannot be taken as it is; ``field`` names the form field it is about (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _audit(user, study: Study, action: str, **details) -> None:
    AuditEntry.objects.create(
        actor=user, study=study, organisation=study.organisation, action=action, details=details
    )


def check_participant_groups(groups: dict) -> dict[str, int]:
    """``{code: count}`` with codes of the POPULATION_GROUP list and whole counts ≥ 0 (zeros dropped)."""
    known = set(
        Code.objects.filter(code_list__code=POPULATION_GROUP)
        .exclude(code="_T")
        .values_list("code", flat=True)
    )
    checked: dict[str, int] = {}
    for code, count in groups.items():
        if code not in known:
            raise VoicesError(
                _("%(code)s is not a population group code.") % {"code": code}, "participant_groups"
            )
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise VoicesError(
                _("The number of participants of %(code)s must be a whole number, 0 or more.")
                % {"code": code},
                "participant_groups",
            )
        if count:
            checked[code] = count
    return checked


def create_source(
    user,
    study: Study,
    *,
    title: str,
    method: str,
    held_on: dt.date,
    language: str,
    text: str,
    default_consent: str,
    place: Area | None = None,
    facilitator: str = "",
    participant_groups: dict | None = None,
    consent_notes: str = "",
    imported_from: str = "typed",
) -> Source:
    """A new source of ``study`` with its text (encrypted), after checking every field."""
    require(user, Action.EDIT, study.organisation)
    if method not in Source.Method.values:
        raise VoicesError(_("Choose a method."), "method")
    if language not in Source.Language.values:
        raise VoicesError(_("Choose a language."), "language")
    if default_consent not in Consent.values:
        raise VoicesError(_("Choose what the consent allows."), "default_consent")
    if not title.strip():
        raise VoicesError(_("Give the source a short title."), "title")
    if place is not None and place.level not in PLACE_LEVELS:
        raise VoicesError(_("The place must be a province or a region, never a commune or village."), "place")
    groups = check_participant_groups(participant_groups or {})
    source = Source(
        study=study,
        title=title.strip(),
        method=method,
        held_on=held_on,
        language=language,
        place=place,
        facilitator=facilitator.strip(),
        participant_groups=groups,
        default_consent=default_consent,
        consent_notes=consent_notes,
        imported_from=imported_from,
        created_by=user,
    )
    source.set_text(check_text(text))
    with transaction.atomic():
        source.save()
        _audit(
            user, study, "voice_source_added", source=source.pk, method=method, characters=source.text_length
        )
    return source


def create_excerpt(user, source: Source, start: int, end: int) -> Excerpt:
    """An excerpt ``text[start:end]`` with the source's consent and the detector's proposed redactions."""
    require(user, Action.EDIT, source.study.organisation)
    text = source.text
    if not (0 <= start < end <= len(text)) or not text[start:end].strip():
        raise VoicesError(_("Select some words of the text to make an excerpt."))
    # Whitespace at either end is no part of what was said.
    while text[start].isspace():
        start += 1
    while text[end - 1].isspace():
        end -= 1
    consent = source.default_consent
    with transaction.atomic():
        excerpt = Excerpt.objects.create(
            source=source,
            start=start,
            end=end,
            consent=consent,
            status=Excerpt.Status.WITHHELD if consent == Consent.DO_NOT_PUBLISH else Excerpt.Status.DRAFT,
            created_by=user,
        )
        Redaction.objects.bulk_create(
            Redaction(
                excerpt=excerpt,
                start=p.start,
                end=p.end,
                entity=p.entity,
                score=p.score,
                proposed_by=Redaction.ProposedBy.DETECTOR,
                replacement=p.replacement,
            )
            for p in propose_redactions(text[start:end], source.language, offset=start)
        )
    return excerpt


def _back_to_draft(excerpt: Excerpt) -> None:
    if excerpt.status == Excerpt.Status.REVIEWED:
        excerpt.status = Excerpt.Status.DRAFT
    excerpt.reviewed_by = None
    excerpt.reviewed_at = None


def set_consent(user, excerpt: Excerpt, consent: str, paraphrase: str | None = None) -> Excerpt:
    """Record the speaker's consent (and the paraphrase); audited without any text.

    ``DO_NOT_PUBLISH`` (a withdrawal) withholds the excerpt at once; a paraphrase-only consent needs the
    paraphrase. Any change takes the review back.
    """
    study = excerpt.source.study
    require(user, Action.EDIT, study.organisation)
    if consent not in Consent.values:
        raise VoicesError(_("Choose what the consent allows."), "consent")
    paraphrase = excerpt.paraphrase if paraphrase is None else paraphrase.strip()
    if consent == Consent.PARAPHRASE and not paraphrase:
        raise VoicesError(_("Consent to a paraphrase only: write the paraphrase."), "paraphrase")
    before = excerpt.consent
    if before == consent and paraphrase == excerpt.paraphrase:
        return excerpt
    excerpt.consent = consent
    excerpt.paraphrase = paraphrase
    _back_to_draft(excerpt)
    if consent == Consent.DO_NOT_PUBLISH:
        excerpt.status = Excerpt.Status.WITHHELD
    elif excerpt.status == Excerpt.Status.WITHHELD:
        excerpt.status = Excerpt.Status.DRAFT
    with transaction.atomic():
        excerpt.save()
        if before != consent:
            _audit(
                user,
                study,
                "excerpt_consent_changed",
                excerpt=excerpt.pk,
                source=excerpt.source_id,
                before=before,
                after=consent,
            )
    return excerpt


def decide_redaction(
    user,
    redaction: Redaction,
    decision: str,
    replacement: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> Redaction:
    """Accept, reject or edit (another span within the excerpt, another replacement) a redaction."""
    excerpt = redaction.excerpt
    require(user, Action.EDIT, excerpt.source.study.organisation)
    if decision not in (Redaction.Decision.ACCEPTED, Redaction.Decision.REJECTED, Redaction.Decision.EDITED):
        raise VoicesError(_("Accept, edit or reject the proposal."), "decision")
    if decision == Redaction.Decision.EDITED:
        start = redaction.start if start is None else start
        end = redaction.end if end is None else end
        if not (excerpt.start <= start < end <= excerpt.end):
            raise VoicesError(_("A redaction must lie within its excerpt."))
        replacement = (replacement if replacement is not None else redaction.replacement).strip()
        if not replacement:
            raise VoicesError(_("Write what stands in place of the words (like [name])."), "replacement")
        redaction.start, redaction.end, redaction.replacement = start, end, replacement[:60]
    redaction.decision = decision
    redaction.decided_by = user
    redaction.decided_at = timezone.now()
    _back_to_draft(excerpt)
    with transaction.atomic():
        redaction.save()
        excerpt.save()
    return redaction


def add_redaction(
    user, excerpt: Excerpt, start: int, end: int, entity: str, replacement: str = ""
) -> Redaction:
    """A redaction a person marks by selecting text: decided (accepted) as it is made."""
    require(user, Action.EDIT, excerpt.source.study.organisation)
    if not (excerpt.start <= start < end <= excerpt.end):
        raise VoicesError(_("Select words inside the excerpt."))
    if entity not in Redaction.Entity.values:
        raise VoicesError(_("Choose what kind of personal detail it is."), "entity")
    replacement = (replacement or replacement_for(entity, excerpt.source.language)).strip()[:60]
    _back_to_draft(excerpt)
    with transaction.atomic():
        redaction = Redaction.objects.create(
            excerpt=excerpt,
            start=start,
            end=end,
            entity=entity,
            proposed_by=Redaction.ProposedBy.PERSON,
            decision=Redaction.Decision.ACCEPTED,
            replacement=replacement,
            decided_by=user,
            decided_at=timezone.now(),
        )
        excerpt.save()
    return redaction


def mark_reviewed(user, excerpt: Excerpt) -> Excerpt:
    """A person's sign-off that the excerpt is de-identified: every proposal decided, consent allowing."""
    study = excerpt.source.study
    require(user, Action.PUBLISH, study.organisation)
    if excerpt.consent == Consent.DO_NOT_PUBLISH:
        raise VoicesError(_("The speaker did not consent to publication: the excerpt stays withheld."))
    if excerpt.consent == Consent.PARAPHRASE and not excerpt.paraphrase.strip():
        raise VoicesError(_("Consent to a paraphrase only: write the paraphrase first."), "paraphrase")
    undecided = excerpt.redactions.filter(decision=Redaction.Decision.PROPOSED).count()
    if undecided:
        raise VoicesError(
            _("%(n)s proposed redaction(s) are not decided yet: accept, edit or reject each.")
            % {"n": undecided}
        )
    excerpt.status = Excerpt.Status.REVIEWED
    excerpt.reviewed_by = user
    excerpt.reviewed_at = timezone.now()
    with transaction.atomic():
        excerpt.save()
        _audit(user, study, "excerpt_reviewed", excerpt=excerpt.pk, source=excerpt.source_id)
    return excerpt
