"""Qualitative sources, excerpts (spans of a source's text) and the redactions reviewed on them.

A source's text is personal data until de-identified: it is stored encrypted (``collection.crypto``) and
never changes after import, so that an excerpt's ``start``/``end`` (character offsets into it, as
REFI-QDA's PlainTextSelection) keep pointing at the same words. Redactions carry offsets into the same
text; they belong to the excerpt under review. What may be shown publicly is decided in one place:
``voices.selectors.publishable_excerpts``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from voicescount.collection.crypto import decrypt_json, encrypt_json
from voicescount.collection.models import Study
from voicescount.geography.models import Area


class Consent(models.TextChoices):
    """What a speaker agreed to for their words."""

    VERBATIM = "verbatim", _("Quote verbatim")
    PARAPHRASE = "paraphrase", _("Paraphrase only")
    DO_NOT_PUBLISH = "do_not_publish", _("Do not publish")


class Source(models.Model):
    """A story, focus group, interview, dialogue or MSC story: its transcript or notes and who spoke."""

    class Method(models.TextChoices):
        STORY = "story", _("Story")
        FOCUS_GROUP = "focus_group", _("Focus group discussion")
        KEY_INFORMANT = "key_informant", _("Key-informant interview")
        COMMUNITY_DIALOGUE = "community_dialogue", _("Community dialogue")
        MOST_SIGNIFICANT_CHANGE = "most_significant_change", _("Most Significant Change story")

    class Language(models.TextChoices):
        VI = "vi", _("Vietnamese")
        EN = "en", _("English")
        OTHER = "other", _("Other language")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="voice_sources")
    title = models.CharField(_("title"), max_length=200, help_text=_("A short label, never a person's name."))
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    held_on = models.DateField(_("date"))
    place = models.ForeignKey(
        Area,
        verbose_name=_("place (region or province)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    facilitator = models.CharField(
        _("facilitator"),
        max_length=200,
        blank=True,
        help_text=_("A role or organisation (“youth union staff”), not a person's name."),
    )
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    participant_groups = models.JSONField(
        _("participants by group"),
        default=dict,
        blank=True,
        help_text=_("How many participants of each population group: {code: count}; never names."),
    )
    default_consent = models.CharField(
        _("consent given for quotes"),
        max_length=20,
        choices=Consent.choices,
        help_text=_("What the source's consent procedure allowed; each excerpt starts with it."),
    )
    consent_notes = models.TextField(_("consent procedure"), blank=True)
    text_encrypted = models.BinaryField(help_text=_("The transcript or notes, encrypted (personal data)."))
    text_length = models.PositiveIntegerField(default=0)
    imported_from = models.CharField(_("imported from"), max_length=10, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "-pk"]
        verbose_name = _("qualitative source")

    def __str__(self) -> str:
        return self.title

    @property
    def text(self) -> str:
        """The decrypted transcript (personal data: only for those who may VIEW the organisation)."""
        return decrypt_json(self.text_encrypted)

    def set_text(self, text: str) -> None:
        self.text_encrypted = encrypt_json(text)
        self.text_length = len(text)


class Excerpt(models.Model):
    """A span ``text[start:end]`` of a source, with its speaker's consent and its de-identification review."""

    Consent = Consent

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft: not reviewed")
        REVIEWED = "reviewed", _("Reviewed")
        WITHHELD = "withheld", _("Withheld")

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="excerpts")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    consent = models.CharField(_("consent"), max_length=20, choices=Consent.choices)
    paraphrase = models.TextField(_("paraphrase"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="excerpt_span_not_empty"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.start}-{self.end}"


class Redaction(models.Model):
    """A span of personal data in an excerpt, proposed by the detector or a person, decided by a person."""

    class Entity(models.TextChoices):
        PERSON = "PERSON", _("Name")
        PHONE = "PHONE_NUMBER", _("Phone number")
        NATIONAL_ID = "NATIONAL_ID", _("National ID number")
        AGE = "AGE", _("Exact age")
        LOCATION = "LOCATION", _("Address or village")
        EMAIL = "EMAIL_ADDRESS", _("E-mail address")
        OTHER = "OTHER", _("Other personal detail")

    class ProposedBy(models.TextChoices):
        DETECTOR = "detector", _("Detector")
        PERSON = "person", _("Person")

    class Decision(models.TextChoices):
        PROPOSED = "proposed", _("Not decided")
        ACCEPTED = "accepted", _("Accepted")
        EDITED = "edited", _("Accepted with changes")
        REJECTED = "rejected", _("Rejected: not personal")

    excerpt = models.ForeignKey(Excerpt, on_delete=models.CASCADE, related_name="redactions")
    start = models.PositiveIntegerField(help_text=_("Offset into the source's text, like the excerpt's."))
    end = models.PositiveIntegerField()
    entity = models.CharField(_("kind"), max_length=20, choices=Entity.choices)
    score = models.FloatField(null=True, blank=True, help_text=_("The detector's confidence."))
    proposed_by = models.CharField(max_length=10, choices=ProposedBy.choices)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PROPOSED)
    replacement = models.CharField(_("replacement"), max_length=60, default="[…]")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["excerpt", "start", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="redaction_span_not_empty"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.start}-{self.end} ({self.decision})"

    @property
    def applies(self) -> bool:
        """Accepted as it was or with changes: the span is replaced in anything shown."""
        return self.decision in (self.Decision.ACCEPTED, self.Decision.EDITED)
