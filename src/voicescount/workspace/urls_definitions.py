"""Workspace addresses of the definitions part (included by workspace.urls)."""

from django.urls import path

from voicescount.workspace import views_definitions as views

urlpatterns = [
    path("studies/<slug:slug>/definitions/", views.definitions, name="definitions"),
    path("studies/<slug:slug>/definitions/new/", views.definition_new, name="definition-new"),
    path("studies/<slug:slug>/definitions/preview/", views.definition_preview, name="definition-preview"),
    path("studies/<slug:slug>/definitions/<slug:code>/edit/", views.definition_edit, name="definition-edit"),
]
