"""Connections of a study to a collection server: created here, their credential read here only.

The Kobo API token or the ODK Central password is stored encrypted with the personal-data keys
(``crypto.encrypt_json``, AES-256-GCM); the Kobo REST Services push secret is shown once, when it is
made, and only its SHA-256 is stored (a 256-bit random secret needs no slow hash).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _

from voicescount.accounts.permissions import Action, require
from voicescount.collection.crypto import decrypt_json, encrypt_json
from voicescount.collection.models import AuditEntry, Instrument, ServerConnection, ServerPull, Study

PUSH_SECRET_PREFIX = "vcpush_"


class InvalidConnection(ValueError):
    """A connection's settings cannot be used: ``field`` (the form's and the model's name) and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def create_connection(
    study: Study,
    *,
    kind: str,
    base_url: str,
    credential: str,
    user=None,
    instrument: Instrument | None = None,
    asset_uid: str = "",
    project_id: int | None = None,
    form_id: str = "",
    username: str = "",
    interval_minutes: int = 0,
) -> ServerConnection:
    """A new connection of ``study`` (to its newest instrument unless ``instrument``), as ``user`` (who
    must be allowed to import; ``None``: the operator at the command line). Raises ``InvalidConnection``."""
    if user is not None:
        require(user, Action.IMPORT, study.organisation)
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidConnection("base_url", _("Give the server's address, e.g. https://kf.kobotoolbox.org."))
    if kind not in ServerConnection.Kind.values:
        raise InvalidConnection(
            "kind", _("One of %(kinds)s.") % {"kinds": ", ".join(ServerConnection.Kind.values)}
        )
    if kind == ServerConnection.Kind.KOBO and not asset_uid.strip():
        raise InvalidConnection("asset_uid", _("A KoboToolbox connection needs the form's asset uid."))
    if kind == ServerConnection.Kind.ODK_CENTRAL:
        for field, value in (
            ("project_id", project_id),
            ("form_id", form_id.strip()),
            ("username", username.strip()),
        ):
            if not value:
                raise InvalidConnection(
                    field, _("An ODK Central connection needs the project id, the form id and the account.")
                )
    if not credential:
        raise InvalidConnection("credential", _("The Kobo API token or the ODK Central password is needed."))
    instrument = instrument or study.instruments.order_by("-uploaded", "-pk").first()
    if instrument is None or instrument.study_id != study.pk:
        raise InvalidConnection(
            "instrument", _("Add the study's XLSForm first; pulled submissions are checked against it.")
        )
    with transaction.atomic():
        connection = ServerConnection.objects.create(
            study=study,
            instrument=instrument,
            kind=kind,
            base_url=base_url.strip().rstrip("/"),
            asset_uid=asset_uid.strip(),
            project_id=project_id,
            form_id=form_id.strip(),
            username=username.strip(),
            credential=encrypt_json(credential),
            interval_minutes=interval_minutes,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        AuditEntry.objects.create(
            actor=connection.created_by,
            study=study,
            organisation=study.organisation,
            action="server_connection_created",
            details={"connection": connection.pk, "kind": kind, "server": parts.hostname},
        )
    return connection


def credential_of(connection: ServerConnection) -> str:
    """The connection's token or password, decrypted (for the request to its server only)."""
    return decrypt_json(connection.credential)


def new_push_secret(connection: ServerConnection, user=None) -> str:
    """A new push secret for the Kobo ``connection`` (the previous one stops working), made by ``user``
    (who must be allowed to import; ``None``: the operator at the command line); shown once."""
    if user is not None:
        require(user, Action.IMPORT, connection.study.organisation)
    if connection.kind != ServerConnection.Kind.KOBO:
        raise InvalidConnection("kind", _("Only KoboToolbox servers push submissions (REST Services)."))
    secret = PUSH_SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        connection.push_secret_sha256 = hashlib.sha256(secret.encode()).hexdigest()
        connection.save(update_fields=["push_secret_sha256"])
        AuditEntry.objects.create(
            actor=user if getattr(user, "is_authenticated", False) else None,
            study=connection.study,
            organisation=connection.study.organisation,
            action="server_push_secret_made",
            details={"connection": connection.pk},
        )
    return secret


def remove_connection(connection: ServerConnection, user=None) -> None:
    """Remove ``connection`` and its pull history, as ``user`` (who must be allowed to import). The
    batches its pulls stored are kept: nothing accepted is lost."""
    if user is not None:
        require(user, Action.IMPORT, connection.study.organisation)
    study = connection.study
    live = (ServerPull.Status.QUEUED, ServerPull.Status.RUNNING)
    if connection.pulls.filter(status__in=live).exists():
        raise InvalidConnection(
            "connection", _("A pull of this server is under way; remove it once it has ended.")
        )
    with transaction.atomic():
        AuditEntry.objects.create(
            actor=user if getattr(user, "is_authenticated", False) else None,
            study=study,
            organisation=study.organisation,
            action="server_connection_removed",
            details={
                "connection": connection.pk,
                "kind": connection.kind,
                "server": urlsplit(connection.base_url).hostname,
            },
        )
        connection.delete()


def push_connection(connection_id: str | int, secret: str) -> ServerConnection | None:
    """The Kobo connection ``connection_id`` if ``secret`` is its push secret, else ``None``."""
    try:
        pk = int(connection_id)
    except (TypeError, ValueError):
        return None
    connection = (
        ServerConnection.objects.select_related("study__organisation", "instrument", "created_by")
        .filter(pk=pk, kind=ServerConnection.Kind.KOBO)
        .first()
    )
    if connection is None or not connection.push_secret_sha256:
        return None
    offered = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    return connection if hmac.compare_digest(offered, connection.push_secret_sha256) else None
