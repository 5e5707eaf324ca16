"""Workspace addresses of the members part (included by workspace.urls)."""

urlpatterns: list = []
