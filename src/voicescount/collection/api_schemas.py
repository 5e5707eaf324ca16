"""What the submissions API (``collection/api.py``) takes and answers, as its OpenAPI description states it.

The body is read by hand (``payload_items``: byte-order marks, NaN and numbers beyond the float range are
refused with a reason), so its schema is stated here for the description rather than parsed by django-ninja;
the answer is the batch report (``ImportReport.as_dict``).
"""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

SUBMISSION: dict[str, Any] = {
    "type": "object",
    "description": "One submission: answers keyed by question name or path ('hh/size', or a group as an "
    "object: {'hh': {'size': 3}}), with KoboToolbox or ODK metadata such as 'meta/instanceID', "
    "{'meta': {'instanceID': …}}, 'instanceID', '__id' or '_uuid'.",
    "additionalProperties": True,
}


def request_body(max_batch: int) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a push: one submission, or a batch of at most ``max_batch``."""
    batch = {
        "type": "object",
        "required": ["submissions"],
        "properties": {
            "submissions": {"type": "array", "items": SUBMISSION, "minItems": 1, "maxItems": max_batch}
        },
    }
    return {
        "required": True,
        "content": {"application/json": {"schema": {"anyOf": [batch, SUBMISSION]}}},
    }


class ReportIssue(Schema):
    """Why a record was quarantined, or a note on the whole batch."""

    field: str
    code: str
    message: str


class QuarantinedOut(Schema):
    """A quarantined record: where it was in the body and what is wrong with it (never its values)."""

    locator: str = Field(description="The record's place in the body, e.g. 'submissions[3]'.")
    issues: list[ReportIssue]


class NoteOut(ReportIssue):
    """A non-blocking finding of the checker over the batch (a label mapped to its code, an unknown
    column, a rule not checked)."""

    count: int | None = Field(None, description="How many records it concerned, when counted.")


class BatchReportOut(Schema):
    """The import batch a push made: all of it is recorded or none of it."""

    batch: int | None = Field(description="The import batch's id.")
    received: int
    accepted: int
    duplicates: int
    quarantined: int
    reasons: list[QuarantinedOut] = Field(description="Per quarantined record, the first 1,000.")
    reasons_truncated: bool
    notes: list[NoteOut]
