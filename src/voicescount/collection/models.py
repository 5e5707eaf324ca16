"""Studies, instruments and the submissions collected with them.

Nothing accepted is rewritten in place: a submission keeps its raw payload beside its typed values;
personal fields are split off and stored encrypted; invalid records wait in quarantine with their
reasons, never dropped.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from voicescount.accounts.models import Organisation, OwnedQuerySet


def _new_pseudonym_key() -> str:
    return secrets.token_hex(32)


class Study(models.Model):
    """A piece of citizen-generated-data work with its methodology, owned by an organisation."""

    class Method(models.TextChoices):
        HOUSEHOLD_SURVEY = "household_survey", _("Household survey")
        COMMUNITY_SURVEY = "community_survey", _("Community survey")
        SCORECARD = "scorecard", _("Community scorecard")
        FOCUS_GROUP = "focus_group", _("Focus group discussion")
        KEY_INFORMANT = "key_informant", _("Key-informant interview")
        DIALOGUE = "dialogue", _("Community dialogue")
        STORIES = "stories", _("Story collection")
        DESK_REVIEW = "desk_review", _("Desk review")

    class Consent(models.TextChoices):
        WRITTEN = "written", _("Individual written consent")
        ORAL = "oral", _("Individual oral consent, recorded by the enumerator")
        GUARDIAN_AND_ASSENT = "guardian_assent", _("Guardian consent plus child assent (under 16)")
        COMMUNITY = "community", _("Community-level agreement plus individual consent")

    class LonelyPSU(models.TextChoices):
        """R's ``options(survey.lonely.psu=)``; see ``collection.sampling``."""

        ADJUST = "adjust", _("Centre it at the grand mean (R: adjust)")
        AVERAGE = "average", _("Average variance of the other strata (R: average)")
        REMOVE = "remove", _("Leave it out of the variance (R: remove)")
        CERTAINTY = "certainty", _("Taken with certainty: no variance (R: certainty)")
        FAIL = "fail", _("Refuse to estimate (R: fail)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        COLLECTING = "collecting", _("Collecting data")
        CLOSED = "closed", _("Collection closed")
        PUBLISHED = "published", _("Published")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="studies")
    slug = models.SlugField(unique=True)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=300)
    summary_vi = models.TextField(_("summary (Vietnamese)"), blank=True)
    summary_en = models.TextField(_("summary (English)"), blank=True)
    method = models.CharField(_("method"), max_length=30, choices=Method.choices)
    period_start = models.DateField(_("data collection from"))
    period_end = models.DateField(_("data collection to"))
    areas = models.ManyToManyField(
        "geography.Area", blank=True, related_name="studies", verbose_name=_("areas")
    )
    target_groups = models.JSONField(
        _("target groups"), default=list, blank=True, help_text=_("Codes of the POPULATION_GROUP code list.")
    )
    sampling_description_vi = models.TextField(_("sampling (Vietnamese)"), blank=True)
    sampling_description_en = models.TextField(_("sampling (English)"), blank=True)
    weight_variable = models.CharField(_("weight variable"), max_length=200, blank=True)
    strata_variable = models.CharField(_("stratum variable"), max_length=200, blank=True)
    psu_variable = models.CharField(_("PSU (cluster) variable"), max_length=200, blank=True)
    fpc_variable = models.CharField(
        _("finite population correction variable"),
        max_length=200,
        blank=True,
        help_text=_(
            "First stage: per respondent, the number of PSUs in the stratum's population (values of 1 or "
            "more) or the sampling fraction (values of at most 1), as R's svydesign(fpc=)."
        ),
    )
    ssu_variable = models.CharField(
        _("second-stage unit variable"),
        max_length=200,
        blank=True,
        help_text=_("E.g. the household within the commune (PSU); enters the variance with its correction."),
    )
    fpc2_variable = models.CharField(
        _("second-stage finite population correction variable"),
        max_length=200,
        blank=True,
        help_text=_("Number of second-stage units in the PSU's population, or the sampling fraction."),
    )
    lonely_psu = models.CharField(
        _("stratum with a single PSU"),
        max_length=20,
        choices=LonelyPSU.choices,
        default=LonelyPSU.ADJUST,
        help_text=_(
            "What a stratum with one sampled PSU contributes to the variance (R's survey.lonely.psu)."
        ),
    )
    planned_sample_size = models.PositiveIntegerField(_("planned sample size"), null=True, blank=True)
    # Disclosure: blank follows the deployment; a value may only be stricter (indicators.disclosure_rule).
    min_cell_size = models.PositiveIntegerField(
        _("smallest public count"),
        null=True,
        blank=True,
        help_text=_("No public number rests on fewer people (blank: the deployment's; only stricter)."),
    )
    suppress_below = models.PositiveIntegerField(
        _("suppress estimates below"),
        null=True,
        blank=True,
        help_text=_("Estimates on fewer respondents are not published (blank: the deployment's)."),
    )
    caution_below = models.PositiveIntegerField(
        _("flag estimates below"),
        null=True,
        blank=True,
        help_text=_("Estimates on fewer respondents are marked 'interpret with caution'."),
    )
    consent_procedure = models.CharField(_("consent procedure"), max_length=30, choices=Consent.choices)
    consent_notes_vi = models.TextField(_("consent notes (Vietnamese)"), blank=True)
    consent_notes_en = models.TextField(_("consent notes (English)"), blank=True)
    partners = models.TextField(_("partners"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    is_public = models.BooleanField(_("public"), default=False)
    pseudonym_key = models.CharField(
        max_length=64,
        default=_new_pseudonym_key,
        editable=False,
        help_text=_("Secret used to derive pseudonymous respondent ids; never shown or exported."),
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "title_en"]
        verbose_name = _("study")
        verbose_name_plural = _("studies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")), name="study_period_ordered"
            )
        ]

    def __str__(self) -> str:
        return self.title_en

    def clean(self) -> None:
        from voicescount.indicators.disclosure_rule import deployment_rule, looser_settings

        looser = looser_settings(self)
        if looser:
            floor = deployment_rule()
            raise ValidationError(
                {
                    field: _("A study may be stricter than the deployment, never looser (at least %(n)d).")
                    % {"n": getattr(floor, field)}
                    for field in looser
                }
            )


class Instrument(models.Model):
    """One version of an XLSForm questionnaire used by a study."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="instruments")
    form_id = models.CharField(_("form id"), max_length=200)
    version = models.CharField(_("version"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    filename = models.CharField(max_length=300)
    source = models.BinaryField(help_text=_("The uploaded XLSForm file, unchanged."))
    definition = models.JSONField(
        help_text=_("The parsed question tree with annotations (Instrument.to_dict()).")
    )
    xform = models.TextField(_("generated XForm"))
    roles = models.JSONField(
        _("question roles"),
        default=dict,
        blank=True,
        help_text=_(
            "Question name → role: personal, weight, stratum, psu, fpc, respondent_id, dimension:<CODE LIST>."
        ),
    )
    consent_question = models.CharField(
        _("consent question"),
        max_length=300,
        blank=True,
        help_text=_(
            "Name of the yes/no question recording the respondent's consent (blank: study-level consent)."
        ),
    )
    age_question = models.CharField(_("age question"), max_length=300, blank=True)
    guardian_consent_question = models.CharField(_("guardian consent question"), max_length=300, blank=True)
    child_assent_question = models.CharField(_("child assent question"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    uploaded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["study", "form_id", "-uploaded"]
        constraints = [
            models.UniqueConstraint(fields=["study", "form_id", "version"], name="unique_instrument_version")
        ]

    def __str__(self) -> str:
        return f"{self.form_id} {self.version}".strip()


class ImportBatch(models.Model):
    """One import (a file, an API call): either wholly recorded or not at all."""

    class Source(models.TextChoices):
        KOBO_JSON = "kobo-json", "KoboToolbox JSON"
        ODK_CSV = "odk-csv", "ODK Central CSV (zip)"
        ODK_ODATA = "odk-odata", "ODK Central OData JSON"
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        API = "api", "JSON API"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="batches")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="batches")
    source = models.CharField(max_length=20, choices=Source.choices)
    filename = models.CharField(max_length=300, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    received = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    quarantined = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name_plural = _("import batches")

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.filename} ({self.created:%Y-%m-%d %H:%M})"


class ImportJob(models.Model):
    """An uploaded export waiting for, or being imported by, a background worker (``collection/jobs.py``).

    The file itself is kept encrypted in the data directory's ``jobs/`` until the job ends; the job
    keeps only what the job page shows: its progress, the resulting batch or why it failed."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="import_jobs")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="import_jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    filename = models.CharField(max_length=300)
    format = models.CharField(max_length=20, help_text=_("The format chosen on the upload page, or auto."))
    file_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    bytes_total = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    records_done = models.PositiveIntegerField(default=0)
    batch = models.OneToOneField(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="job"
    )
    error = models.TextField(blank=True, help_text=_("Why the job failed (never a field's value)."))
    task_id = models.CharField(max_length=64, blank=True)
    file_token = models.CharField(
        max_length=32, unique=True, editable=False, help_text=_("Names the encrypted upload in jobs/.")
    )
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def ended(self) -> bool:
        """Done or failed: nothing more will happen to this job."""
        return self.status in (self.Status.DONE, self.Status.FAILED)


class SubmissionQuerySet(models.QuerySet):
    def in_analysis(self):
        """Submissions that may enter estimates: consent given (withdrawn ones are excluded)."""
        return self.filter(consent_status=Submission.ConsentStatus.GIVEN)


class Submission(models.Model):
    """An accepted record: raw payload (personal fields removed) beside typed values; never edited."""

    class ConsentStatus(models.TextChoices):
        GIVEN = "given", _("Consent given")
        WITHDRAWN = "withdrawn", _("Consent withdrawn")

    # No index of its own: the (study, content_hash) and (study, consent_status) indexes start with it,
    # and a third copy would only slow imports down.
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="submissions", db_index=False)
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="submissions")
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="submissions")
    instance_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 -- NULL: no id, not unique
    content_hash = models.CharField(max_length=64)
    respondent = models.CharField(
        _("pseudonymous respondent id"),
        max_length=64,
        help_text=_("Links records of the same person without naming them."),
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(help_text=_("The payload as received, with personal fields replaced by a marker."))
    values = models.JSONField(
        help_text=_("Validated, typed, NFC-normalised answers without personal fields.")
    )
    meta = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    personal = models.BinaryField(null=True, blank=True, help_text=_("Personal fields, encrypted."))
    consent_status = models.CharField(
        max_length=20, choices=ConsentStatus.choices, default=ConsentStatus.GIVEN
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "content_hash"], name="unique_submission_content"),
        ]
        indexes = [
            models.Index(fields=["study", "consent_status"]),
            # A plain index: ``db_index=True`` on PostgreSQL adds a second, ``varchar_pattern_ops`` copy
            # for LIKE queries, which nothing runs on a pseudonym and every import would maintain.
            models.Index(fields=["respondent"], name="submission_respondent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.study.slug} #{self.pk}"


class QuarantinedRecord(models.Model):
    """A record that failed validation, kept whole (encrypted) with its reasons until fixed or discarded."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for a fix")
        ACCEPTED = "accepted", _("Fixed and accepted")
        DISCARDED = "discarded", _("Discarded by a coordinator")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="quarantine")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="quarantine")
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="quarantined_records")
    locator = models.CharField(max_length=200)
    instance_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 -- NULL: no id, not unique
    content_hash = models.CharField(max_length=64)
    payload = models.BinaryField(help_text=_("The whole raw record, encrypted (it may hold personal data)."))
    issues = models.JSONField(help_text=_("Validation issues: path, code, message (never a personal value)."))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(
        blank=True, help_text=_("Why it was discarded, or what was fixed (no personal data).")
    )
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "content_hash"], name="unique_quarantine_content")
        ]

    def __str__(self) -> str:
        return f"{self.locator} ({self.get_status_display()})"


class ConsentRecord(models.Model):
    """Consent given or withdrawn, for one respondent or (respondent blank) for a whole study's procedure."""

    class Kind(models.TextChoices):
        GIVEN = "given", _("Given")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="consent_records")
    respondent = models.CharField(max_length=64, blank=True, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    guardian_consent = models.BooleanField(default=False)
    child_assent = models.BooleanField(default=False)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    recorded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.respondent or 'study procedure'}"


class AuditEntry(models.Model):
    """Who did what to collected data, when; details never hold personal data."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    study = models.ForeignKey(Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit")
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit"
    )
    action = models.CharField(max_length=50)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


from voicescount.collection.models_servers import ServerConnection, ServerPull  # noqa: E402, F401
