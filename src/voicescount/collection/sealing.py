"""Sealing stored answers that became personal data after they were imported.

An import splits the answers of the instrument's personal fields off into the encrypted ``personal``
column (``storing.RecordKeys``). When a field becomes personal later — a role changed to ``personal``
on review, or a rule that now counts the questionnaire code (``respondent_id``) as personal data —
the submissions already stored still hold it in clear. :func:`seal_personal_answers` moves it into the
encrypted column, as an import would have stored it; nothing else of a submission changes, and a
value already sealed is left alone, so it can be run again.
"""

from __future__ import annotations

from typing import Any

from voicescount.collection.crypto import decrypt_json, encrypt_json
from voicescount.collection.storing import PERSONAL_MARKER, RecordKeys

CHUNK = 2000
"""Submissions read and written at a time (memory stays bounded on a large study)."""


def _unsealed(removed: dict[str, Any]) -> dict[str, Any]:
    return {path: value for path, value in removed.items() if value != PERSONAL_MARKER}


def seal_personal_answers(instrument: Any, fields: frozenset[str], submissions: Any) -> int:
    """Encrypt the answers to ``fields`` that ``instrument``'s stored submissions still hold in clear.

    ``submissions`` is the Submission model's manager (a migration passes its historical model's).
    Returns how many submissions changed."""
    if not fields:
        return 0
    keys = RecordKeys(fields)
    changed = 0
    pending: list[Any] = []
    rows = submissions.filter(instrument_id=instrument.pk).only("id", "raw", "values", "personal")
    for submission in rows.iterator(chunk_size=CHUNK):
        values, from_values = keys.split(submission.values)
        raw, from_raw = keys.split(submission.raw)
        from_values, from_raw = _unsealed(from_values), _unsealed(from_raw)
        if not from_values and not from_raw:
            continue
        personal = decrypt_json(bytes(submission.personal)) if submission.personal else {}
        personal = {
            "values": {**(personal.get("values") or {}), **from_values},
            "raw": {**(personal.get("raw") or {}), **from_raw},
        }
        submission.values, submission.raw, submission.personal = values, raw, encrypt_json(personal)
        pending.append(submission)
        if len(pending) >= CHUNK:
            submissions.bulk_update(pending, ["values", "raw", "personal"])
            changed += len(pending)
            pending = []
    if pending:
        submissions.bulk_update(pending, ["values", "raw", "personal"])
        changed += len(pending)
    return changed
