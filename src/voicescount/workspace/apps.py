from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "voicescount.workspace"
    verbose_name = "Workspace"
