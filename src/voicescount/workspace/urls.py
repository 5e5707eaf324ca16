"""Addresses of the workspace, under /<language>/workspace/; each part keeps its own ``urls_<part>``."""

from django.urls import include, path

from voicescount.workspace import views

app_name = "workspace"
urlpatterns = [
    path("workspace/", views.home, name="home"),
    path("workspace/", include("voicescount.workspace.urls_members")),
    path("workspace/", include("voicescount.workspace.urls_studies")),
    path("workspace/", include("voicescount.workspace.urls_instruments")),
    path("workspace/", include("voicescount.workspace.urls_quarantine")),
    path("workspace/", include("voicescount.workspace.urls_definitions")),
    path("workspace/", include("voicescount.workspace.urls_results")),
    path("workspace/", include("voicescount.workspace.urls_official")),
    path("workspace/", include("voicescount.workspace.urls_voices")),
    path("workspace/", include("voicescount.workspace.urls_servers")),
    # After the parts: "studies/new/" (a part's address) is not a study called "new".
    path("workspace/studies/<slug:slug>/", views.study, name="study"),
]
