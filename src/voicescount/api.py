"""The JSON API (django-ninja); OpenAPI documentation at ``/api/docs``."""

from ninja import NinjaAPI

from voicescount.api_head import answer_head
from voicescount.collection.api import router as submissions_router
from voicescount.publishing.api import router as public_router

api = NinjaAPI(
    title="VoicesCount API",
    version="1",
    description="Citizen-generated data for SDG monitoring. Write endpoints need a token "
    "(`Authorization: Bearer vc_…`, made with `voicescount manage create_api_token`).",
    urls_namespace="api",
)
api.add_router("/v1/", answer_head(public_router))
api.add_router("/v1/", answer_head(submissions_router))
