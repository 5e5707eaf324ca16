"""Workspace addresses of the quarantine part (included by workspace.urls): held-back records and
consent withdrawal."""

from django.urls import path

from voicescount.workspace import views_quarantine

urlpatterns = [
    path("studies/<slug:slug>/quarantine/", views_quarantine.quarantine_list, name="quarantine"),
    path(
        "studies/<slug:slug>/quarantine/<int:pk>/",
        views_quarantine.quarantine_record,
        name="quarantine-record",
    ),
    path("studies/<slug:slug>/consent/", views_quarantine.consent, name="consent"),
]
