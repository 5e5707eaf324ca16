"""Workspace addresses of the studies part (included by workspace.urls)."""

urlpatterns: list = []
