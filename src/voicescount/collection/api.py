"""The submissions API: field tools and scripts push submissions one at a time or in batches.

``POST /api/v1/studies/{study}/instruments/{form_id}/submissions`` with ``Authorization: Bearer vc_…``
(a token made with ``voicescount manage create_api_token``). The body is one submission (a JSON object
of answers keyed by question name or path, as KoboToolbox and ODK name them) or
``{"submissions": [ … ]}``. Each call is one import batch: all of it is recorded or none of it.
The response is the batch report — counts, per-record reasons and the checker's non-blocking notes
(labels mapped to codes, unknown columns, rules not checked), never a personal value.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError
from ninja.security import HttpBearer

from voicescount.accounts.services import user_for_api_token
from voicescount.collection import services
from voicescount.collection.models import Instrument
from voicescount.collection.records import RawRecord

MAX_BATCH = 5000
ID_KEYS = ("meta/instanceID", "instanceID", "meta-instanceID", "__id", "_uuid")


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_api_token(token)
        if user is not None:
            request.user = user
        return user


router = Router(tags=["submissions"])


def records_from_payload(items: list[Any]) -> list[RawRecord]:
    """API items as records; a malformed item is a 422 naming its position."""
    records = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise HttpError(
                422, f"submissions[{i}] must be a JSON object of answers, not {type(item).__name__}."
            )
        instance_id = next((str(item[k]) for k in ID_KEYS if item.get(k)), None)
        if instance_id is None and isinstance(item.get("meta"), dict) and item["meta"].get("instanceID"):
            instance_id = str(item["meta"]["instanceID"])
        values = {k: v for k, v in item.items() if k not in ID_KEYS and k != "meta"}
        records.append(
            RawRecord(
                source="api", locator=f"submissions[{i}]", values=values, instance_id=instance_id, raw=item
            )
        )
    return records


def _refuse_constant(name: str) -> None:
    """NaN and Infinity: Python's json reads them, but they are not JSON and no JSON column stores them."""
    raise ValueError(f"{name} is not a JSON value (send null or a number)")


@router.post(
    "/studies/{study}/instruments/{form_id}/submissions",
    auth=TokenAuth(),
    summary="Push submissions (one object, or {'submissions': [...]})",
    response={200: dict, 403: dict, 404: dict, 422: dict},
)
def push_submissions(request: HttpRequest, study: str, form_id: str):
    try:
        payload = json.loads(request.body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        return 422, {"detail": f"The body is not valid UTF-8 JSON: {exc}."}
    instrument = (
        Instrument.objects.select_related("study__organisation")
        .filter(study__slug=study, form_id=form_id)
        .order_by("-uploaded", "-pk")
        .first()
    )
    if instrument is None:
        return 404, {"detail": f"No instrument '{form_id}' in study '{study}'."}
    if isinstance(payload, dict) and "submissions" in payload:
        items = payload["submissions"]
        if not isinstance(items, list):
            return 422, {"detail": "'submissions' must be a list of JSON objects."}
    elif isinstance(payload, dict):
        items = [payload]
    else:
        return 422, {"detail": "The body must be a submission object or {'submissions': [ … ]}."}
    if len(items) > MAX_BATCH:
        return 422, {"detail": f"At most {MAX_BATCH} submissions per call; split the batch."}
    records = records_from_payload(items)
    from voicescount.collection import checking  # imported here: it loads the geography's area codes

    try:
        report = services.import_records(
            instrument, records, checker=checking.checker_for(instrument), source="api", user=request.user
        )
    except PermissionDenied as exc:
        return 403, {"detail": str(exc)}
    return 200, report.as_dict()
