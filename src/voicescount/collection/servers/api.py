"""The Kobo REST Services endpoint: ``POST /api/v1/servers/{connection}/kobo-submissions``.

In KoboToolbox, *Project → Settings → REST Services → Register a new service*: the endpoint's address,
type JSON, and either a custom HTTP header ``Authorization: Bearer vcpush_…`` or basic authentication
with any user name and the secret as the password (``voicescount server push-secret`` makes it).
Answers: 200 with what became of the submission (``stored``, ``quarantined``, or ``duplicate`` for a
retry: nothing stored twice); 401 with a wrong or missing secret (nothing stored); 409 while another
import of the study runs past ``push.IMPORT_WAIT`` (Kobo retries); 422 for a body that is not one
submission with an instance id, or of another form or version (nothing stored).
"""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.security import HttpBasicAuth, HttpBearer

from voicescount.api_errors import TOKEN_REQUIRED, Error
from voicescount.collection.api import payload_items, record_from_item
from voicescount.collection.api_schemas import SUBMISSION
from voicescount.collection.errors import CollectionError, ImportInProgress
from voicescount.collection.servers.connections import push_connection
from voicescount.collection.servers.push import PushRefused, receive_push


def _connection_of(request: HttpRequest, secret: str):
    match = getattr(request, "resolver_match", None)
    connection_id = match.kwargs.get("connection") if match is not None else None
    return push_connection(connection_id, secret) if connection_id is not None else None


class PushSecret(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        return _connection_of(request, token)


class PushSecretBasic(HttpBasicAuth):
    def authenticate(self, request: HttpRequest, username: str, password: str):
        return _connection_of(request, password)


class PushOut(Schema):
    """What became of the pushed submission."""

    status: Literal["stored", "quarantined", "duplicate"] = Field(
        description="stored; quarantined (held back with its reasons, see the workspace); duplicate: "
        "already held, nothing stored (a retry)."
    )
    instance_id: str
    batch: int | None = Field(description="The import batch it was stored in (none for a duplicate).")


router = Router(tags=["servers"])


@router.post(
    "/servers/{connection}/kobo-submissions",
    auth=[PushSecret(), PushSecretBasic()],
    summary="Receive one submission from a KoboToolbox REST Service",
    response={200: PushOut, **TOKEN_REQUIRED, 409: Error, 413: Error, 422: Error},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": SUBMISSION}}}
    },
)
def kobo_push(request: HttpRequest, connection: int) -> dict[str, Any]:
    server = request.auth
    try:
        body = request.body
    except RequestDataTooBig:
        raise HttpError(413, "The body is larger than the server accepts.") from None
    items = payload_items(body)
    if len(items) != 1:
        raise HttpError(422, "A REST Service posts one submission at a time; send one JSON object.")
    record = record_from_item(items[0], "the submission")
    try:
        result = receive_push(server, record)
    except PushRefused as exc:
        raise HttpError(422, str(exc)) from None
    except ImportInProgress as exc:
        raise HttpError(409, str(exc)) from None
    except CollectionError as exc:
        raise HttpError(422, str(exc)) from None
    return {"status": result.status, "instance_id": result.instance_id, "batch": result.batch}
