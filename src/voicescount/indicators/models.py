"""Indicator definitions over a study's questions, their estimates, official series and comparisons.

A definition says how an indicator of a framework (a global SDG indicator, a national one, or a
coalition's complementary one) is computed from one study: who is asked (``universe``), what counts
(``numerator`` for a proportion, ``value`` for a mean/total/ratio), by which dimensions it is broken
down. Estimates are stored per run with their provenance, uncertainty and disclosure flags; nothing
is overwritten — a new run supersedes the previous one.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from voicescount.framework.models import Direction


class IntervalMethod(models.TextChoices):
    """R's ``svyciprop(method=)`` names, plus Wald and Wilson (``stats.intervals.PROPORTION_METHODS``)."""

    LOGIT = "logit", _("Logit (R's default)")
    LIKELIHOOD = "likelihood", _("Scaled likelihood ratio (Rao-Scott)")
    ASIN = "asin", _("Arcsine square root")
    BETA = "beta", _("Korn-Graubard (beta)")
    WILSON = "wilson", _("Wilson score")
    WALD = "wald", _("Wald (symmetric)")


def published_scale_of(unit: str) -> float:
    """What a stored value of ``unit`` is multiplied by wherever it is published (pages, files, the API):
    proportions in percent (unit ``PT``) are stored as fractions and published as percentages."""
    return 100.0 if unit == "PT" else 1.0


class IndicatorDefinition(models.Model):
    class Kind(models.TextChoices):
        PROPORTION = "proportion", _("Proportion")
        MEAN = "mean", _("Mean")
        TOTAL = "total", _("Total")
        RATIO = "ratio", _("Ratio")

    study = models.ForeignKey(
        "collection.Study", on_delete=models.CASCADE, related_name="indicator_definitions"
    )
    indicator = models.ForeignKey(
        "framework.Indicator",
        on_delete=models.PROTECT,
        related_name="definitions",
        verbose_name=_("indicator"),
    )
    code = models.SlugField(_("code"), max_length=80, help_text=_("Short code, unique within the study."))
    version = models.PositiveIntegerField(default=1, editable=False)
    title_en = models.CharField(_("title (English)"), max_length=400)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=400, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PROPORTION)
    universe = models.TextField(
        _("universe"), blank=True, help_text=_("Who is asked, e.g. age >= 15 and age <= 24.")
    )
    numerator = models.TextField(_("numerator condition"), blank=True)
    value = models.TextField(_("value expression"), blank=True, help_text=_("For means, totals and ratios."))
    denominator = models.TextField(_("denominator expression"), blank=True, help_text=_("For ratios."))
    unit = models.CharField(_("unit"), max_length=50, default="PT")
    direction = models.CharField(
        _("direction"),
        max_length=20,
        choices=Direction.choices,
        blank=True,
        help_text=_(
            "Whether a higher value is better, worse or neither; blank: the indicator's direction. "
            "Decides who is furthest behind."
        ),
    )
    interval_method = models.CharField(
        _("interval method"),
        max_length=20,
        choices=IntervalMethod.choices,
        default=IntervalMethod.LOGIT,
        help_text=_("How a proportion's confidence interval is computed (R's svyciprop method)."),
    )
    dimensions = models.JSONField(_("dimensions"), default=list, blank=True)
    intersections = models.JSONField(_("intersections"), default=list, blank=True)
    reference_period = models.CharField(_("reference period"), max_length=20, blank=True)
    notes_en = models.TextField(_("notes (English)"), blank=True)
    notes_vi = models.TextField(_("notes (Vietnamese)"), blank=True)
    is_public = models.BooleanField(_("public"), default=False)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["study", "code"]
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="unique_definition_code")]

    def __str__(self) -> str:
        return f"{self.code} ({self.indicator.code})"

    @property
    def published_scale(self) -> float:
        """What a stored value is multiplied by wherever it is published (``published_scale_of``)."""
        return published_scale_of(self.unit)


class DefinitionVersion(models.Model):
    """A definition as it was saved: every version is kept, so a run's ``definition_version`` can always
    be read back (``fields`` holds the definition's editable fields, never data)."""

    definition = models.ForeignKey(IndicatorDefinition, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    fields = models.JSONField(default=dict)
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    saved = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["definition", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "version"], name="unique_definition_version")
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} v{self.version}"


class DerivedVariable(models.Model):
    """A variable computed from a study's questions — or from other derived variables — once, and reused
    by every definition of the study by its name: ``adult`` = ``age >= 16``, ``pwd`` = ``wg_walking in
    [3, 4] or …``. Written in the same expression language as definitions."""

    study = models.ForeignKey("collection.Study", on_delete=models.CASCADE, related_name="derived_variables")
    name = models.CharField(
        _("name"),
        max_length=60,
        validators=[
            RegexValidator(
                r"^[A-Za-z_][A-Za-z0-9_]*$",
                _("A name is letters, digits and underscores, not starting with a digit."),
            )
        ],
        help_text=_("Used in expressions like a question name."),
    )
    expression = models.TextField(_("expression"))
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        ordering = ["study", "name"]
        constraints = [models.UniqueConstraint(fields=["study", "name"], name="unique_derived_variable")]

    def __str__(self) -> str:
        return f"{self.name} = {self.expression}"

    def clean(self) -> None:
        from voicescount.indicators.expressions import ExpressionError, parse

        try:
            parse(self.expression)
        except ExpressionError as exc:
            raise ValidationError({"expression": str(exc)}) from None


class AnalysisSnapshot(models.Model):
    """An immutable copy of a study's analysis data: the typed answers and design variables of the
    submissions in analysis (consent given), never a personal field, in one Parquet file named by its
    SHA-256 (``indicators.snapshots``). Every estimate run records the snapshot it read; a withdrawal or
    new submissions make a new snapshot, and an old one is never rewritten."""

    study = models.ForeignKey("collection.Study", on_delete=models.CASCADE, related_name="snapshots")
    content_hash = models.CharField(max_length=64, help_text=_("SHA-256 of the Parquet file's bytes."))
    rows = models.PositiveIntegerField(help_text=_("Submissions in the snapshot."))
    columns = models.JSONField(default=list, help_text=_("Each column's name and type, in file order."))
    path = models.CharField(max_length=500, help_text=_("The file, relative to the snapshot directory."))
    source_state = models.JSONField(
        default=dict, help_text=_("What it was made from: ids' hash, count, instruments, personal fields.")
    )
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["study", "content_hash"], name="unique_snapshot_content")
        ]

    def __str__(self) -> str:
        return f"{self.study_id} {self.content_hash[:12]} ({self.rows} rows)"


class EstimateRun(models.Model):
    """One computation of a definition, with everything needed to reproduce it."""

    definition = models.ForeignKey(IndicatorDefinition, on_delete=models.CASCADE, related_name="runs")
    definition_version = models.PositiveIntegerField()
    instrument_versions = models.JSONField(default=list)
    input_fingerprint = models.CharField(
        max_length=64, help_text=_("Hash of the submissions and definition used.")
    )
    submissions = models.PositiveIntegerField()
    code_version = models.CharField(max_length=40)
    started = models.DateTimeField(auto_now_add=True)
    seconds = models.FloatField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    lnob = models.JSONField(default=dict, blank=True, help_text=_("D-index and furthest-behind groups."))
    snapshot = models.ForeignKey(
        AnalysisSnapshot,
        null=True,
        blank=True,
        on_delete=models.RESTRICT,  # a snapshot goes only with its study (and its runs)
        related_name="runs",
        help_text=_("The analysis data the run read (blank for runs made before snapshots)."),
    )

    published = models.DateTimeField(
        null=True, blank=True, help_text=_("When a coordinator published this run (blank: a draft).")
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started"]
        get_latest_by = "started"

    def __str__(self) -> str:
        return f"{self.definition.code} @ {self.started:%Y-%m-%d %H:%M}"


class ComputeJob(models.Model):
    """A computation of a study's definitions waiting for, or being run by, a background worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    study = models.ForeignKey("collection.Study", on_delete=models.CASCADE, related_name="compute_jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    definitions = models.JSONField(default=list, blank=True, help_text=_("Codes to compute (blank: all)."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    runs_total = models.PositiveIntegerField(default=0)
    runs_done = models.PositiveIntegerField(default=0)
    runs = models.ManyToManyField(EstimateRun, blank=True, related_name="+")
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.study_id} compute ({self.get_status_display()})"

    @property
    def ended(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class Estimate(models.Model):
    class Flag(models.TextChoices):
        NONE = "", _("None")
        IMPRECISE = "imprecise", _("Based on 25–49 unweighted cases: interpret with caution")
        SUPPRESSED_SMALL = "suppressed_small", _("Suppressed: too few respondents to publish safely")
        SUPPRESSED_COMPLEMENTARY = (
            "suppressed_complementary",
            _("Suppressed so that a small cell cannot be worked out from the totals"),
        )

    run = models.ForeignKey(EstimateRun, on_delete=models.CASCADE, related_name="estimates")
    key = models.CharField(
        max_length=300, help_text=_("Canonical dimensions: SEX=F|AGE=Y15T24, or _T for the total.")
    )
    dimensions = models.JSONField(default=dict)
    estimate = models.FloatField(null=True)
    se = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    deff = models.FloatField(null=True)
    n = models.PositiveIntegerField()
    weighted_n = models.FloatField()
    n_eff = models.FloatField(null=True)
    df = models.FloatField(null=True)
    flag = models.CharField(max_length=30, choices=Flag.choices, blank=True, default="")

    class Meta:
        ordering = ["run", "key"]
        constraints = [models.UniqueConstraint(fields=["run", "key"], name="unique_estimate_key")]

    def __str__(self) -> str:
        return f"{self.key}: {self.estimate}"

    @property
    def suppressed(self) -> bool:
        return self.flag.startswith("suppressed")


class OfficialObservation(models.Model):
    """A published official figure for an indicator, area, period and disaggregation."""

    indicator = models.ForeignKey("framework.Indicator", on_delete=models.CASCADE, related_name="official")
    series = models.CharField(max_length=50, blank=True)
    area_code = models.CharField(max_length=40)
    period = models.CharField(max_length=20)
    key = models.CharField(max_length=300, default="_T")
    dimensions = models.JSONField(default=dict, blank=True)
    value = models.FloatField()
    se = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=50, blank=True)
    source = models.CharField(max_length=500)
    source_url = models.URLField(blank=True)
    retrieved = models.DateField(null=True, blank=True)
    illustrative = models.BooleanField(
        default=False, help_text=_("Not a real published figure: shown only to demonstrate the comparison.")
    )

    class Meta:
        ordering = ["indicator", "area_code", "period", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "series", "area_code", "period", "key", "source"],
                name="unique_official_obs",
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator.code} {self.area_code} {self.period} {self.key}: {self.value}"


class OfficialMapping(models.Model):
    """How an official data file's codes map onto ours, saved to be reused: series → indicator, area
    codes → areas, code lists (``mapping``: ``{"series": {...}, "areas": {...}, "codes": {dim: {...}}}``)."""

    class Format(models.TextChoices):
        SDMX = "sdmx", _("SDMX (SDG DSD)")
        OPEN_SDG = "opensdg", _("Open SDG CSV")
        UN_API = "unsdg", _("UN SDG API (JSON)")

    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.CASCADE, related_name="official_mappings"
    )
    name = models.CharField(_("name"), max_length=200)
    source_format = models.CharField(_("format"), max_length=20, choices=Format.choices)
    mapping = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organisation", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="unique_official_mapping_name")
        ]

    def __str__(self) -> str:
        return self.name
