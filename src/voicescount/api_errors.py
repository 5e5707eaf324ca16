"""What the JSON API answers when it cannot answer with data: the error bodies, the responses each operation
documents, and the handlers that make the answers match what is documented.

- ``{"detail": "…"}`` (:class:`Error`) for every error the API words itself: 401 (no valid token), 403, 404,
  409, 413 and the submissions API's 422 (a body that is not a batch of submissions);
- ``{"detail": [{"type": …, "loc": […], "msg": …}, …]}`` (:class:`ValidationErrors`) for the 422 that
  django-ninja answers when a parameter does not validate (``?limit=0``, ``?goal=one``);
- a 401 carries ``WWW-Authenticate: Bearer realm="VoicesCount API"`` (RFC 6750, section 3), so a client
  knows which credentials to send.

Operations declare their errors from here (``response={200: IndicatorOut, **NOT_FOUND}``), so the
OpenAPI description at ``/api/openapi.json`` lists every status an operation can answer
(``tests/test_api_contract.py`` checks it with Schemathesis).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError

AUTH_CHALLENGE = 'Bearer realm="VoicesCount API"'
UNAUTHORIZED = (
    "A valid API token is needed: send 'Authorization: Bearer vc_…' "
    "(tokens are made with 'voicescount manage create_api_token')."
)


class Error(Schema):
    """Any error the API words itself."""

    detail: str = Field(description="What went wrong, in words a user can act on.")


class ValidationIssue(Schema):
    """One parameter that did not validate, as django-ninja (pydantic) reports it."""

    type: str = Field(description="The kind of error, e.g. int_parsing or greater_than_equal.")
    loc: list[str | int] = Field(
        description="Where: the parameter's place and name, e.g. ['query', 'limit']."
    )
    msg: str = Field(description="What is wrong, in English.")
    ctx: dict[str, Any] | None = Field(None, description="The rule's values, e.g. {'ge': 1}.")


class ValidationErrors(Schema):
    """The 422 answered when a path or query parameter does not validate."""

    detail: list[ValidationIssue]


NOT_FOUND: dict[int, Any] = {404: Error}
"""For operations with a code or slug in the path that may name nothing public."""
INVALID_PARAMETERS: dict[int, Any] = {422: ValidationErrors}
"""For operations with typed query parameters (integers, pages)."""
TOKEN_REQUIRED: dict[int, Any] = {401: Error}
"""For operations that need an API token."""


def names_nothing(*values: str | None) -> bool:
    """Whether a code or slug of the request contains a NUL character, and so names no record: no stored
    code has one, and PostgreSQL refuses such text in a query (an error, a 500, rather than no rows)."""
    return any(value is not None and "\x00" in value for value in values)


def unauthorized(request: HttpRequest, exc: AuthenticationError, *, api: NinjaAPI) -> HttpResponse:
    """The 401 of a missing, unknown or revoked token, with the challenge RFC 6750 asks for."""
    response = api.create_response(request, {"detail": UNAUTHORIZED}, status=exc.status_code)
    response["WWW-Authenticate"] = AUTH_CHALLENGE
    return response


def install_handlers(api: NinjaAPI) -> None:
    """Answer errors of ``api`` as this module documents them."""
    api.add_exception_handler(AuthenticationError, partial(unauthorized, api=api))


def document_challenge(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (an OpenAPI description) with the ``WWW-Authenticate`` header on every 401 response."""
    header = {
        "description": "The authentication scheme to use: a bearer token.",
        "required": True,
        "schema": {"type": "string", "const": AUTH_CHALLENGE},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if str(status) == "401":
                    response.setdefault("headers", {})["WWW-Authenticate"] = header
    return schema
