"""A study's collection servers in the workspace (part "servers"): connect a KoboToolbox asset or an ODK
Central form, pull now (a background job whose page shows its progress, then the batch report), see the
pull history, make a KoboToolbox REST Services push secret, remove a connection.

Everything here is for those who may import the study's data (``Action.IMPORT``: coordinators); others
with a role get a 403, anyone else a 404 (``workspace.access``). The views are thin: connections are
``collection.servers.connections``, pulls ``collection.servers.pulls`` — as for ``voicescount server`` and
``voicescount pull``. A credential is never shown again once given; a push secret is shown once, on the
page answering the button that made it, and never cached.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from voicescount.accounts.permissions import Action
from voicescount.collection.models import ServerConnection, ServerPull, Study
from voicescount.collection.servers import connections, pulls
from voicescount.workspace.access import allowed, study_for
from voicescount.workspace.server_forms import ConnectionForm

HISTORY = 20
"""Pulls shown in the history table."""


def _connection(study: Study, pk: int) -> ServerConnection:
    return get_object_or_404(
        ServerConnection.objects.select_related("study__organisation"), pk=pk, study=study
    )


def push_endpoint(request, connection: ServerConnection) -> str:
    """The full address a KoboToolbox REST Service posts to for ``connection``."""
    return request.build_absolute_uri(f"/api/v1/servers/{connection.pk}/kobo-submissions")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def servers(request, slug: str):
    """The study's connections with their last pull, the pull history, and the form to add one."""
    study = study_for(request.user, slug, Action.IMPORT)
    form = ConnectionForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connection = connections.create_connection(
                study,
                kind=data["kind"],
                base_url=data["base_url"],
                credential=data["credential"],
                user=request.user,
                instrument=data["instrument"],
                asset_uid=data["asset_uid"],
                project_id=data["project_id"],
                form_id=data["form_id"],
                username=data["username"],
                interval_minutes=data["interval_minutes"] or 0,
            )
        except connections.InvalidConnection as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if data["push"] and connection.kind == ServerConnection.Kind.KOBO:
                return _secret_page(request, study, connection, created=True)
            messages.success(
                request,
                _("Connected: %(server)s. Press 'Pull now' to read its submissions.")
                % {"server": connection.base_url},
            )
            return redirect("workspace:servers", slug=study.slug)
    listed = list(study.server_connections.select_related("instrument"))
    for connection in listed:
        connection.last_pull = connection.pulls.select_related("batch").first()
    history = (
        ServerPull.objects.filter(connection__study=study)
        .select_related("connection", "requested_by", "batch")
        .order_by("-created", "-pk")[:HISTORY]
    )
    context = {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "form": form,
        "connections": listed,
        "history": history,
        "has_instrument": study.instruments.exists(),
    }
    return render(request, "workspace/servers.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def pull_now(request, slug: str, pk: int):
    """Queue a pull of the connection (or find the one under way) and show its page."""
    study = study_for(request.user, slug, Action.IMPORT)
    pull = pulls.enqueue_pull(_connection(study, pk), request.user)
    return redirect("workspace:server-pull", slug=study.slug, pull_id=pull.pk)


@login_required
@require_safe
def pull_page(request, slug: str, pull_id: int):
    """A pull: its progress while it runs (htmx asks for the fragment every second), then its batch report."""
    study = study_for(request.user, slug, Action.IMPORT)
    pull = get_object_or_404(
        ServerPull.objects.select_related("connection", "requested_by"), pk=pull_id, connection__study=study
    )
    pull = pulls.pull_status(pull)
    batch = pull.batch
    context = {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "pull": pull,
        "connection": pull.connection,
        "unclaimed": pulls.unclaimed(pull),
        "error": _(pull.error) if pull.error else "",  # the worker's sentences are stored untranslated
        "report": batch.report if batch else None,
        "batch": batch,
    }
    template = (
        "workspace/_servers_pull.html" if request.headers.get("HX-Request") else "workspace/servers_pull.html"
    )
    return render(request, template, context)


@never_cache
@login_required
@require_POST
def push_secret(request, slug: str, pk: int):
    """Make a new push secret for a KoboToolbox connection and show it, once."""
    study = study_for(request.user, slug, Action.IMPORT)
    return _secret_page(request, study, _connection(study, pk), created=False)


def _secret_page(request, study: Study, connection: ServerConnection, *, created: bool):
    try:
        secret = connections.new_push_secret(connection, request.user)
    except connections.InvalidConnection as exc:
        messages.error(request, exc.message)
        return redirect("workspace:servers", slug=study.slug)
    context = {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "connection": connection,
        "secret": secret,
        "endpoint": push_endpoint(request, connection),
        "created": created,
    }
    response = render(request, "workspace/servers_secret.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def remove(request, slug: str, pk: int):
    """Ask, then remove a connection and its pull history (the batches it stored are kept)."""
    study = study_for(request.user, slug, Action.IMPORT)
    connection = _connection(study, pk)
    if request.method == "POST":
        try:
            connections.remove_connection(connection, request.user)
        except connections.InvalidConnection as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Removed: %(server)s. What it stored is kept.") % {"server": connection}
            )
        return redirect(reverse("workspace:servers", kwargs={"slug": study.slug}))
    context = {
        "study": study,
        "can": allowed(request.user, study.organisation),
        "connection": connection,
        "pulls": connection.pulls.count(),
        "batches": connection.pulls.exclude(batch=None).count(),
    }
    return render(request, "workspace/servers_remove.html", context)
