"""Models of the public site: the publication stamp under which rendered pages are cached."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PublicationStamp(models.Model):
    """One row whose ``stamp`` changes whenever what the public pages show may have changed (a run is
    computed, a study or definition is published or withdrawn, official figures are imported).

    Rendered pages are cached under the stamp (``page_cache``): every worker process reads it from the
    database on each request, so a change reaches all of them at once. The stamp is random, never a
    counter, so a cache shared by several databases (test runs, a restored backup) cannot mix them up.
    """

    stamp = models.CharField(_("stamp"), max_length=32)
    changed = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("publication stamp")

    def __str__(self) -> str:
        return f"{self.stamp} ({self.changed:%Y-%m-%d %H:%M})"
