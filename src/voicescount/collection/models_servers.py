"""Collection servers a study pulls submissions from, and receives pushes from (``collection/servers/``).

A ``ServerConnection`` names a KoboToolbox asset or an ODK Central form; its credential (a Kobo API
token, an ODK Central account's password) is kept encrypted with the personal-data keys
(``crypto.encrypt_json``) and only the SHA-256 of the Kobo REST Services push secret is kept. A
``ServerPull`` is one pull: queued, run by a background worker, done with its batch or failed with why.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ServerConnection(models.Model):
    """A study's KoboToolbox asset or ODK Central form, pulled on demand or every ``interval_minutes``."""

    class Kind(models.TextChoices):
        KOBO = "kobo", "KoboToolbox"
        ODK_CENTRAL = "odk_central", "ODK Central"

    study = models.ForeignKey("collection.Study", on_delete=models.CASCADE, related_name="server_connections")
    instrument = models.ForeignKey(
        "collection.Instrument", on_delete=models.PROTECT, related_name="server_connections"
    )
    kind = models.CharField(_("server"), max_length=20, choices=Kind.choices)
    base_url = models.URLField(_("server address"), help_text=_("e.g. https://kf.kobotoolbox.org"))
    asset_uid = models.CharField(_("Kobo asset uid"), max_length=100, blank=True)
    project_id = models.PositiveIntegerField(_("ODK Central project id"), null=True, blank=True)
    form_id = models.CharField(_("ODK Central form id"), max_length=200, blank=True)
    username = models.CharField(
        _("account"), max_length=200, blank=True, help_text=_("The ODK Central account's e-mail address.")
    )
    credential = models.BinaryField(
        help_text=_("The Kobo API token or the ODK Central password, encrypted (crypto.encrypt_json).")
    )
    push_secret_sha256 = models.CharField(max_length=64, blank=True)
    last_submission_time = models.DateTimeField(
        _("newest submission pulled"),
        null=True,
        blank=True,
        help_text=_("The next pull asks for newer ones."),
    )
    interval_minutes = models.PositiveIntegerField(
        _("pull every (minutes)"), default=0, help_text=_("0: only on demand.")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        where = self.asset_uid or f"{self.project_id}/{self.form_id}"
        return f"{self.get_kind_display()} {self.base_url} {where}"


class ServerPull(models.Model):
    """One pull of a connection as a background job (``servers/pulls.py``): one batch, or nothing."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    connection = models.ForeignKey(ServerConnection, on_delete=models.CASCADE, related_name="pulls")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    scheduled = models.BooleanField(default=False, help_text=_("Queued by the scheduler, not by a person."))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    since = models.DateTimeField(
        null=True, blank=True, help_text=_("Submissions newer than this were asked for.")
    )

    class Stage(models.TextChoices):
        FETCHING = "fetching", _("Reading the server's pages")
        STORING = "storing", _("Storing the submissions")

    stage = models.CharField(max_length=10, choices=Stage.choices, blank=True)
    pages = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0, help_text=_("New submissions read so far."))
    read = models.PositiveIntegerField(
        default=0, help_text=_("Submissions read so far, new or already held.")
    )
    expected = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Submissions the server said it would send (its count).")
    )
    batch = models.OneToOneField(
        "collection.ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="server_pull"
    )
    error = models.TextField(blank=True, help_text=_("Why the pull failed (never a field's value)."))
    task_id = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"pull {self.pk} of {self.connection_id} ({self.status})"

    @property
    def ended(self) -> bool:
        """Done or failed."""
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        """How far the pull has got: reading pages up to 90 (by the server's count, when it gave one),
        storing them 95, ended 100."""
        if self.ended:
            return 100
        if self.stage == self.Stage.STORING:
            return 95
        if self.expected:
            return min(90, 90 * self.read // self.expected)
        return 0
