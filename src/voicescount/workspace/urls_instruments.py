"""Workspace addresses of the instruments part (included by workspace.urls)."""

from django.urls import path

from voicescount.workspace import views_instruments as views

urlpatterns = [
    path("studies/<slug:slug>/instruments/", views.instruments, name="instruments"),
    path("studies/<slug:slug>/instruments/confirm/", views.instrument_confirm, name="instrument-confirm"),
    path("studies/<slug:slug>/instruments/<int:pk>/", views.instrument_detail, name="instrument"),
]
