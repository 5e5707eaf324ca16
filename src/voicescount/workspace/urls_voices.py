"""Workspace addresses of the voices part (included by workspace.urls): a study's qualitative sources,
a source's text and its excerpts' review."""

from django.urls import path

from voicescount.workspace import views_voices

urlpatterns = [
    path("studies/<slug:slug>/voices/", views_voices.voices, name="voices"),
    path("studies/<slug:slug>/voices/new/", views_voices.voices_add, name="voices-add"),
    path("studies/<slug:slug>/voices/<int:pk>/", views_voices.voices_source, name="voices-source"),
    path("studies/<slug:slug>/voices/excerpts/<int:pk>/", views_voices.voices_excerpt, name="voices-excerpt"),
    path(
        "studies/<slug:slug>/voices/excerpts/<int:pk>/change/",
        views_voices.voices_excerpt_change,
        name="voices-excerpt-change",
    ),
]
