from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from voicescount.api import api

handler404 = "voicescount.publishing.views.not_found"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("voicescount.accounts.urls")),
    # Publishing's public study pages answer /studies/ and /studies/<slug>/; collection keeps the import page.
    path("", include("voicescount.publishing.urls")),
    path("", include("voicescount.collection.urls")),
    path("", include("voicescount.indicators.urls")),
    path("", include("voicescount.workspace.urls")),
    prefix_default_language=True,
)
