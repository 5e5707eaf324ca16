"""Workspace addresses of the official part (included by workspace.urls)."""

urlpatterns: list = []
