from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "voicescount.publishing"
    verbose_name = _("Public site")

    def ready(self) -> None:
        from voicescount.publishing import page_cache

        page_cache.connect()
