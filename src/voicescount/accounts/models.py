"""Coalitions, organisations and people's roles in them.

A user's rights come only from memberships (see ``permissions.py``): a role held in one
organisation, or ``coalition_admin`` held in any organisation of a coalition, which extends to
every organisation of that coalition.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Coalition(models.Model):
    """A national coalition of civil-society organisations (e.g. the Vietnam SDG CSO coalition)."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    country_code = models.CharField(_("country (ISO 3166-1 alpha-2)"), max_length=2)

    class Meta:
        ordering = ["name"]
        verbose_name = _("coalition")
        verbose_name_plural = _("coalitions")

    def __str__(self) -> str:
        return self.name


class Organisation(models.Model):
    """A member organisation (CSO, NSO, research institute…) that owns studies and records."""

    class Kind(models.TextChoices):
        CSO = "cso", _("Civil-society organisation")
        NSO = "nso", _("National statistics office")
        GOVERNMENT = "government", _("Government agency")
        ACADEMIC = "academic", _("Research or academic institution")
        UN = "un", _("UN agency or development partner")
        OTHER = "other", _("Other")

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=250)
    name_en = models.CharField(_("name (English)"), max_length=250, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.CSO)
    coalition = models.ForeignKey(
        Coalition, verbose_name=_("coalition"), on_delete=models.PROTECT, related_name="organisations"
    )
    website = models.URLField(_("website"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    COALITION_ADMIN = "coalition_admin", _("Coalition administrator")
    COORDINATOR = "coordinator", _("Organisation coordinator")
    ANALYST = "analyst", _("Analyst")
    ENUMERATOR = "enumerator", _("Enumerator")
    NSO_REVIEWER = "nso_reviewer", _("NSO reviewer")


class Membership(models.Model):
    """A user's role in one organisation. A user may hold several memberships."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="unique_membership_role")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} — {self.organisation}"


class OwnedQuerySet(models.QuerySet):
    """Query set of records owned by an organisation and either public or not.

    Models that use it have ``organisation`` (FK to Organisation, nullable for shared records)
    and ``is_public`` fields. ``visible_to`` is the one filter every page and API uses.
    """

    def visible_to(self, user) -> OwnedQuerySet:
        from voicescount.accounts.permissions import visible_organisation_ids

        public = models.Q(is_public=True)
        if user is None or not user.is_authenticated:
            return self.filter(public)
        if user.is_superuser:
            return self
        return self.filter(public | models.Q(organisation_id__in=visible_organisation_ids(user)))


class ApiToken(models.Model):
    """A secret that lets a program act as a user on the JSON API (e.g. to push submissions).

    Only a SHA-256 hash of the token is stored; the token itself is shown once when created.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(
        _("name"), max_length=100, help_text=_("What the token is for, e.g. 'Kobo sync'.")
    )
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
