"""Workspace addresses of the definitions part (included by workspace.urls)."""

urlpatterns: list = []
