"""The SDG framework: goals, targets, indicators of the global, national and complementary frameworks,
and the code lists used to disaggregate them.

Global goals, targets and indicators come from the committed reference files (``data/``, loaded by
``loaders.load_all``). National frameworks (e.g. Viet Nam's national SDG indicators) and a coalition's
*complementary* indicators live in their own ``Framework`` rows; an indicator of those may link to the
global indicator it complements (``linked_global``). Titles are bilingual; Vietnamese titles that are our
own translation carry ``vi_unofficial``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from voicescount.accounts.models import Organisation, OwnedQuerySet

GLOBAL = "global"


def sort_key(code: str) -> str:
    """A string that sorts codes like ``1.a.1``, ``1.10.2``, ``10.1.1`` in their natural order."""
    parts = []
    for part in code.split("."):
        parts.append(part.zfill(4) if part.isdigit() else "zz" + part.rjust(2, "0"))
    return ".".join(parts)


class Framework(models.Model):
    class Kind(models.TextChoices):
        GLOBAL = "global", _("UN global indicator framework")
        NATIONAL = "national", _("National SDG indicators")
        COMPLEMENTARY = "complementary", _("Complementary (community) indicators")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name_en = models.CharField(_("name (English)"), max_length=250)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=250, blank=True)
    country_code = models.CharField(_("country (ISO 3166-1 alpha-2)"), max_length=2, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="frameworks"
    )
    source = models.TextField(_("source"), blank=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("framework")
        verbose_name_plural = _("frameworks")

    def __str__(self) -> str:
        return self.name_en


class Goal(models.Model):
    number = models.PositiveSmallIntegerField(_("number"), unique=True)
    short_title_en = models.CharField(_("short title (English)"), max_length=120)
    short_title_vi = models.CharField(_("short title (Vietnamese)"), max_length=120, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=300)
    title_vi = models.CharField(_("title (Vietnamese)"), max_length=300, blank=True)
    vi_unofficial = models.BooleanField(_("unofficial Vietnamese translation"), default=False)
    colour = models.CharField(
        _("colour"), max_length=7, help_text=_("The goal's colour in the UN SDG palette.")
    )

    class Meta:
        ordering = ["number"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")

    def __str__(self) -> str:
        return f"{self.number}. {self.short_title_en}"

    @property
    def text_colour(self) -> str:
        """White or near-black, whichever contrasts more with the goal's colour (WCAG relative luminance)."""

        def luminance(hex_colour: str) -> float:
            channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
            linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
            return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

        background = luminance(self.colour)
        on_white = 1.05 / (background + 0.05)
        on_dark = (background + 0.05) / (luminance("#1a1a1a") + 0.05)
        return "#1a1a1a" if on_dark > on_white else "#ffffff"


class Target(models.Model):
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="targets")
    code = models.CharField(_("code"), max_length=10, unique=True)
    sort_key = models.CharField(max_length=40, editable=False, db_index=True)
    title_en = models.TextField(_("title (English)"))
    title_vi = models.TextField(_("title (Vietnamese)"), blank=True)
    vi_unofficial = models.BooleanField(_("unofficial Vietnamese translation"), default=False)

    class Meta:
        ordering = ["sort_key"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.sort_key = sort_key(self.code)
        super().save(*args, **kwargs)


class Direction(models.TextChoices):
    """Which way an indicator's value is good: what "furthest behind" means for it.

    ``higher_worse`` for a deprivation or a barrier (poverty, violence, NEET, mortality, bribery): the
    furthest behind have the highest value. ``higher_better`` for an access, coverage or completion: the
    furthest behind have the lowest. ``neutral`` where neither is better (a share, a parity index, a
    count): groups are compared without anyone being "behind"."""

    HIGHER_BETTER = "higher_better", _("Higher is better")
    HIGHER_WORSE = "higher_worse", _("Higher is worse")
    NEUTRAL = "neutral", _("Neither (no better direction)")


class Indicator(models.Model):
    """An indicator of a framework; global ones are public, national/complementary ones may be drafts."""

    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(_("code"), max_length=40)
    sort_key = models.CharField(max_length=80, editable=False, db_index=True)
    target = models.ForeignKey(
        Target, null=True, blank=True, on_delete=models.SET_NULL, related_name="indicators"
    )
    title_en = models.TextField(_("title (English)"))
    title_vi = models.TextField(_("title (Vietnamese)"), blank=True)
    vi_unofficial = models.BooleanField(_("unofficial Vietnamese translation"), default=False)
    unsd_codes = models.CharField(_("UNSD indicator codes"), max_length=100, blank=True)
    direction = models.CharField(
        _("direction"),
        max_length=20,
        choices=Direction.choices,
        default=Direction.NEUTRAL,
        help_text=_("Whether a higher value is better, worse or neither; the default of its definitions."),
    )
    linked_global = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="linked_indicators",
        verbose_name=_("global indicator it complements"),
        limit_choices_to={"framework__code": GLOBAL},
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="indicators"
    )
    is_public = models.BooleanField(_("public"), default=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["framework", "sort_key"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="unique_indicator_code_in_framework")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title_en[:60]}"

    def save(self, *args, **kwargs):
        self.sort_key = sort_key(self.code)
        super().save(*args, **kwargs)


class CodeList(models.Model):
    """A list of disaggregation codes (SDMX ``CL_SEX``…, or a CGD list such as population groups)."""

    code = models.CharField(_("code"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200, blank=True)
    sdmx_id = models.CharField(
        _("SDMX code list"),
        max_length=100,
        blank=True,
        help_text=_("e.g. IAEG-SDGs:CL_SEX(1.0); blank if CGD"),
    )
    description_en = models.TextField(_("description (English)"), blank=True)
    description_vi = models.TextField(_("description (Vietnamese)"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("code list")
        verbose_name_plural = _("code lists")

    def __str__(self) -> str:
        return self.code


class Code(models.Model):
    code_list = models.ForeignKey(CodeList, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(_("code"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["code_list", "order", "code"]
        verbose_name = _("code")
        verbose_name_plural = _("codes")
        constraints = [models.UniqueConstraint(fields=["code_list", "code"], name="unique_code_in_list")]

    def __str__(self) -> str:
        return f"{self.code_list.code}:{self.code}"
