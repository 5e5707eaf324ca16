"""The submissions API: field tools and scripts push submissions one at a time or in batches.

``POST /api/v1/studies/{study}/instruments/{form_id}/submissions`` with ``Authorization: Bearer vc_…``
(a token made with ``voicescount manage create_api_token``). The body is one submission (a JSON object
of answers keyed by question name or path, as KoboToolbox and ODK name them) or
``{"submissions": [ … ]}``. Each call is one import batch: all of it is recorded or none of it.
The response is the batch report — counts, per-record reasons and the checker's non-blocking notes
(labels mapped to codes, rules not checked), never a personal value; an answer to a name the form lacks
holds its record back (``unknown_field``).

A submission is read as the KoboToolbox reader reads one (``readers/kobo.py``): Kobo's ``_…`` fields
and the ``meta/`` group are metadata, a group may be an object (``{"hh": {"size": 3}}``, as ODK
Central writes it) and the instanceID is ``meta/instanceID``, ``{"meta": {"instanceID": …}}``,
``instanceID``, ``meta-instanceID``, ``__id`` or Kobo's ``_uuid`` (as ``uuid:…``) — so a submission
pushed here and found again in a Kobo or ODK export is recognised as the same one.

Errors are ``{"detail": …}``: 401 without a valid token, 404 for an unknown study or form, 403 when the
token's user may not import for the study's organisation, 413 for a body over the server's size limit
and 422, with nothing stored, for a body that is not a batch of submissions. A call made while another
import of the study is running waits for it (``IMPORT_WAIT`` seconds at most, then 409, nothing
stored: send it again).
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError
from ninja.security import HttpBearer

from voicescount.accounts.permissions import Action, actions_for
from voicescount.accounts.services import user_for_api_token
from voicescount.api_errors import TOKEN_REQUIRED, Error, names_nothing
from voicescount.collection.api_schemas import BatchReportOut, request_body
from voicescount.collection.errors import CollectionError, ImportInProgress
from voicescount.collection.models import Instrument, Submission
from voicescount.collection.readers.kobo import kobo_record
from voicescount.collection.records import RawRecord

MAX_BATCH = 5000
IMPORT_WAIT = 60.0
"""Seconds a call waits for another import of the study to finish before answering 409."""
MAX_DEPTH = 32
"""Nesting of objects and lists allowed in a submission (groups in repeats in groups…): deeper input
would exhaust the stack of the code that walks it."""
OTHER_ID_KEYS = ("instanceID", "meta-instanceID", "__id")
"""Where a submission may carry its instanceID besides ``meta/instanceID`` and ``_uuid``."""
MAX_ID_LENGTH = Submission._meta.get_field("instance_id").max_length or 200
JSON_TYPES = {dict: "an object", list: "a list", str: "a string", bool: "true or false", type(None): "null"}


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = user_for_api_token(token)
        if user is not None:
            request.user = user
        return user


router = Router(tags=["submissions"])


def _refuse_constant(name: str) -> None:
    """NaN and Infinity: Python's json reads them, but they are not JSON and no JSON column stores them."""
    raise ValueError(f"{name} is not a JSON value (send null or a number)")


def _finite_float(text: str) -> float:
    """A JSON number; one too large for a float (``1e999``) would be read as infinity."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("a number is too large to store (send it as a string)")
    return number


def payload_items(body: bytes) -> list[Any]:
    """The submissions of a request body; a 422 saying what is wrong with it otherwise."""
    if not body.strip():
        raise HttpError(422, "The body is empty: send a submission object or {'submissions': [ … ]}.")
    try:
        text = body.decode("utf-8-sig")  # a byte-order mark, as some Windows tools write, is allowed
    except UnicodeDecodeError as exc:
        raise HttpError(422, f"The body is not UTF-8 (invalid byte at position {exc.start}).") from None
    try:
        payload = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise HttpError(422, "The body is nested too deeply to be a submission.") from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise HttpError(422, f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise HttpError(422, "The body must be a submission object or {'submissions': [ … ]}.")
    if "submissions" not in payload:
        return [payload]
    items = payload["submissions"]
    if not isinstance(items, list):
        raise HttpError(422, "'submissions' must be a list of JSON objects.")
    if not items:
        raise HttpError(422, "'submissions' is empty: there are no submissions to import.")
    if len(items) > MAX_BATCH:
        raise HttpError(422, f"At most {MAX_BATCH} submissions per call; split the batch.")
    return items


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def record_from_item(item: Any, locator: str) -> RawRecord:
    """One pushed submission as a record, read as the Kobo reader reads one; a 422 naming ``locator``
    when it is not a submission."""
    if not isinstance(item, dict):
        kind = JSON_TYPES.get(type(item), "a number")
        raise HttpError(422, f"{locator} must be a JSON object of answers, not {kind}.")
    if _too_deep(item):
        raise HttpError(422, f"{locator} is nested more than {MAX_DEPTH} levels deep.")
    flat = dict(item)
    meta = flat.pop("meta", None)
    if isinstance(meta, dict):  # {"meta": {"instanceID": …}}, as ODK Central writes the meta group
        for key, value in meta.items():
            flat.setdefault(f"meta/{key}", value)
    elif meta is not None:
        flat["meta"] = meta
    record = kobo_record(flat, locator, name="the request body")
    values, instance_id = record.values, record.instance_id
    if any(key in values for key in OTHER_ID_KEYS):
        values = {k: v for k, v in values.items() if k not in OTHER_ID_KEYS}
    if instance_id is None:
        found = next((flat[k] for k in OTHER_ID_KEYS if flat.get(k) not in (None, "")), None)
        instance_id = None if found is None else str(found)
    if instance_id is not None and len(instance_id) > MAX_ID_LENGTH:
        raise HttpError(422, f"{locator}: the instanceID is longer than {MAX_ID_LENGTH} characters.")
    return dataclasses.replace(record, source="api", values=values, instance_id=instance_id, raw=item)


def records_from_payload(items: list[Any]) -> list[RawRecord]:
    """API items as records; a malformed item is a 422 naming its position."""
    return [record_from_item(item, f"submissions[{i}]") for i, item in enumerate(items)]


@router.post(
    "/studies/{study}/instruments/{form_id}/submissions",
    auth=TokenAuth(),
    summary="Push submissions (one object, or {'submissions': [...]})",
    response={
        200: BatchReportOut,
        **TOKEN_REQUIRED,
        403: Error,
        404: Error,
        409: Error,
        413: Error,
        422: Error,
    },
    exclude_unset=True,  # a note without a count is answered without one
    openapi_extra={"requestBody": request_body(MAX_BATCH)},
)
def push_submissions(request: HttpRequest, study: str, form_id: str) -> dict[str, Any]:
    instrument = (
        None
        if names_nothing(study, form_id)
        else Instrument.objects.select_related("study__organisation")
        .filter(study__slug=study, form_id=form_id)
        .order_by("-uploaded", "-pk")
        .first()
    )
    allowed = actions_for(request.user, instrument.study.organisation) if instrument else frozenset()
    if instrument is None or not (allowed or instrument.study.is_public):
        # a private study of an organisation the user has no role in is not said to exist
        raise HttpError(404, f"No instrument '{form_id}' in study '{study}'.")
    if Action.SUBMIT not in allowed and Action.IMPORT not in allowed:  # field workers submit, others import
        raise HttpError(403, f"You may not submit or import for {instrument.study.organisation.name}.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise HttpError(413, "The body is larger than the server accepts; split the batch.") from None
    records = records_from_payload(payload_items(body))
    # imported here: the checker loads the geography's area codes
    from voicescount.collection.import_service import import_submitted

    try:
        report = import_submitted(
            instrument,
            records,
            user=request.user,
            check_permission=False,  # checked above: SUBMIT is enough here
            wait=IMPORT_WAIT,
        )
    except ImportInProgress as exc:  # another import of the study held it longer than IMPORT_WAIT
        raise HttpError(409, str(exc)) from None
    except CollectionError as exc:  # another form or version: nothing stored
        raise HttpError(422, str(exc)) from None
    return report.as_dict()
