"""Areas with validity dates: countries, macro-regions and provinces, and how provinces succeeded each other.

Viet Nam's 63 provinces were merged into 34 on 1 July 2025 (Resolution 202/2025/QH15). A province whose
territory did not change is one ``Area`` valid before and after; a merged province ends on 30 June 2025
and the new province starts on 1 July 2025, with ``AreaSuccession`` rows linking them. Data are mapped on
the boundaries in force in their reference period (``selectors.provinces_on``) and re-coded with
``selectors.recode_to``.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _


class AreaQuerySet(models.QuerySet):
    def valid_on(self, on: dt.date) -> AreaQuerySet:
        return self.filter(
            models.Q(valid_from__isnull=True) | models.Q(valid_from__lte=on),
            models.Q(valid_to__isnull=True) | models.Q(valid_to__gte=on),
        )


class Area(models.Model):
    class Level(models.TextChoices):
        COUNTRY = "country", _("Country")
        MACRO_REGION = "macro_region", _("Macro-region")
        PROVINCE = "province", _("Province")
        ARCHIPELAGO = "archipelago", _("Archipelago")

    code = models.CharField(_("code"), max_length=40, unique=True)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    country_code = models.CharField(_("country (ISO 3166-1 alpha-2)"), max_length=2, db_index=True)
    gso_code = models.CharField(
        _("statistical office code"), max_length=10, blank=True, help_text=_("GSO code for Viet Nam")
    )
    iso_code = models.CharField(_("ISO 3166-2 code"), max_length=10, blank=True)
    name = models.CharField(_("name"), max_length=200, help_text=_("Name in the country's language"))
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    geometry = models.JSONField(_("boundary (GeoJSON geometry)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AreaQuerySet.as_manager()

    class Meta:
        ordering = ["country_code", "level", "name"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        indexes = [models.Index(fields=["country_code", "level", "gso_code"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AreaGrouping(models.Model):
    """Membership of an area in a grouping scheme (e.g. the survey's three macro-regions, GSO's six)."""

    scheme = models.CharField(_("scheme"), max_length=40)
    member = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="groupings")
    group = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="grouped_members")

    class Meta:
        ordering = ["scheme", "group", "member"]
        constraints = [models.UniqueConstraint(fields=["scheme", "member"], name="one_group_per_scheme")]

    def __str__(self) -> str:
        return f"{self.scheme}: {self.member.code} → {self.group.code}"


class AreaSuccession(models.Model):
    """``predecessor`` became (part of) ``successor`` on ``date``."""

    predecessor = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="successions")
    successor = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="predecessions")
    date = models.DateField(_("date"))
    legal_basis = models.CharField(_("legal basis"), max_length=200, blank=True)

    class Meta:
        ordering = ["date", "predecessor"]
        constraints = [models.UniqueConstraint(fields=["predecessor", "successor"], name="unique_succession")]

    def __str__(self) -> str:
        return f"{self.predecessor.code} → {self.successor.code} ({self.date})"
