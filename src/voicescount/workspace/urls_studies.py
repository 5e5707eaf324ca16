"""Workspace addresses of the studies part (included by workspace.urls): creating a study, editing it."""

from django.urls import path

from voicescount.workspace import views_studies

urlpatterns = [
    path("studies/new/", views_studies.study_new, name="study-new"),
    path("studies/<slug:slug>/edit/", views_studies.study_edit, name="study-edit"),
]
