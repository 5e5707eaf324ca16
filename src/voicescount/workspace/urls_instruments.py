"""Workspace addresses of the instruments part (included by workspace.urls)."""

urlpatterns: list = []
