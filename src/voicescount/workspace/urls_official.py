"""Workspace addresses of the official part (included by workspace.urls): an organisation's official
series — upload, mapping step, import report — and its saved mappings as files."""

from django.urls import path

from voicescount.workspace import views_official

urlpatterns = [
    path("organisations/<slug:org>/official/", views_official.official, name="official"),
    path("organisations/<slug:org>/official/mapping/", views_official.official_map, name="official-map"),
    path("organisations/<slug:org>/official/report/", views_official.official_report, name="official-report"),
    path(
        "organisations/<slug:org>/official/mappings/<int:pk>.<str:kind>",
        views_official.official_mapping_file,
        name="official-mapping-file",
    ),
]
