"""Workspace addresses of the members part (included by workspace.urls): an organisation's members and
roles, and its audit log."""

from django.urls import path

from voicescount.workspace import views_members

urlpatterns = [
    path("organisations/<slug:org>/members/", views_members.members, name="members"),
    path("organisations/<slug:org>/members/<int:pk>/role/", views_members.member_role, name="member-role"),
    path(
        "organisations/<slug:org>/members/<int:pk>/remove/", views_members.member_remove, name="member-remove"
    ),
    path(
        "organisations/<slug:org>/members/<int:pk>/invite/", views_members.member_invite, name="member-invite"
    ),
    path("organisations/<slug:org>/audit/", views_members.audit, name="audit"),
]
