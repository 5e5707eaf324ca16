"""Workspace addresses of the quarantine part (included by workspace.urls)."""

urlpatterns: list = []
