"""The JSON API (django-ninja); OpenAPI description at ``/api/openapi.json``, documentation at ``/api/docs``.

Every status an operation can answer is documented (errors: ``voicescount.api_errors``), and the
documentation page is Swagger UI served from the site's own static files, like every other asset: it works
offline and asks no other host for anything.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI, Router
from ninja.errors import HttpError
from ninja.openapi.docs import DocsBase

from voicescount import api_errors
from voicescount.api_head import answer_head
from voicescount.collection.api import router as submissions_router
from voicescount.collection.servers.api import router as servers_router
from voicescount.publishing.api import router as public_router

SWAGGER_SETTINGS = {
    "layout": "BaseLayout",
    "deepLinking": True,
    # Swagger UI would otherwise send the description to swagger.io's validator for a badge.
    "validatorUrl": None,
}


class LocalSwagger(DocsBase):
    """Swagger UI from ``static/vendor/`` (npm's swagger-ui-dist, copied by ``scripts/vendor_assets.py``),
    not from a CDN: django-ninja's own page loads it from jsDelivr unless ninja is an installed app."""

    template = "api/docs.html"

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**SWAGGER_SETTINGS, "url": self.get_openapi_url(api, kwargs)}
        return render(request, self.template, {"api": api, "swagger_settings": settings})


class VoicesCountAPI(NinjaAPI):
    """The API whose OpenAPI description also names the header of its 401 answers."""

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return api_errors.document_challenge(schema)


api = VoicesCountAPI(
    title="VoicesCount API",
    version="1",
    description="Citizen-generated data for SDG monitoring. Write endpoints need a token "
    "(`Authorization: Bearer vc_…`, made with `voicescount manage create_api_token`). "
    'Errors are `{"detail": "…"}`, except a parameter that does not validate: 422 with '
    '`{"detail": [{"type", "loc", "msg"}, …]}`.',
    urls_namespace="api",
    docs=LocalSwagger(),
)
api_errors.install_handlers(api)
api.add_router("/v1/", answer_head(public_router))
api.add_router("/v1/", answer_head(submissions_router))
api.add_router("/v1/", answer_head(servers_router))

unknown_paths = Router()


@unknown_paths.api_operation(
    ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], "/{path:rest}", include_in_schema=False
)
def no_operation(request: HttpRequest, rest: str) -> None:
    """Any other path under /api/: a JSON 404, not the site's HTML page (an encoded slash in a code,
    %2F, also lands here: the path is decoded before it is matched)."""
    raise HttpError(404, f"No API operation at {request.path}; the operations are listed at /api/docs.")


api.add_router("", unknown_paths)  # added last: only paths that no operation matched get here
