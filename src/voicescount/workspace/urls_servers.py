"""Workspace addresses of the servers part (included by workspace.urls): a study's KoboToolbox and ODK
Central connections, their pulls and push secrets."""

from django.urls import path

from voicescount.workspace import views_servers as views

urlpatterns = [
    path("studies/<slug:slug>/servers/", views.servers, name="servers"),
    path("studies/<slug:slug>/servers/<int:pk>/pull/", views.pull_now, name="server-pull-now"),
    path("studies/<slug:slug>/servers/<int:pk>/push-secret/", views.push_secret, name="server-push-secret"),
    path("studies/<slug:slug>/servers/<int:pk>/remove/", views.remove, name="server-remove"),
    path("studies/<slug:slug>/servers/pulls/<int:pull_id>/", views.pull_page, name="server-pull"),
]
