"""Workspace addresses of the results part (included by workspace.urls)."""

urlpatterns: list = []
