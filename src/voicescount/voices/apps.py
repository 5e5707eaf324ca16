from django.apps import AppConfig


class VoicesConfig(AppConfig):
    name = "voicescount.voices"
    verbose_name = "Voices"
    default_auto_field = "django.db.models.BigAutoField"
