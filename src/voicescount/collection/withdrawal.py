"""A respondent withdraws consent: finding them, withdrawing, and queueing the recomputation.

A respondent is known to the platform only by a pseudonym (``services.pseudonym``: an HMAC of their
questionnaire code with the study's secret). The code itself is stored encrypted, so it is never
searched for among the stored answers: the pseudonym is derived from it, as the import did, and looked
up in ``Submission.respondent`` (indexed). Withdrawal itself is ``services.withdraw_consent`` (answers
and personal data erased, submissions out of every estimate, audited ``consent_withdrawn``); then the
study's indicators are recomputed by a background job (``indicators.compute_jobs.enqueue_compute``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from voicescount.accounts.permissions import Action, require
from voicescount.collection import services
from voicescount.collection.models import ConsentRecord, Study, Submission
from voicescount.indicators.models import ComputeJob

PSEUDONYM = re.compile(r"^r-[0-9a-f]{20}$")


class AlreadyWithdrawn(ValueError):
    """The respondent's consent was withdrawn before: nothing more to do."""


@dataclass(frozen=True)
class Respondent:
    """A respondent of a study as the confirmation page shows them (no personal value)."""

    pseudonym: str
    found_by: str
    """"pseudonym" or "questionnaire_code"."""
    submissions: int
    in_analysis: int

    @property
    def withdrawn(self) -> bool:
        return self.in_analysis == 0


@dataclass(frozen=True)
class Withdrawal:
    respondent: str
    submissions: int
    job: ComputeJob | None
    """The queued ``ComputeJob``, or None with ``not_queued`` saying why."""
    not_queued: str = ""


def _respondent(study: Study, pseudonym: str, found_by: str) -> Respondent | None:
    rows = Submission.objects.filter(study=study, respondent=pseudonym)
    total = rows.count()
    if not total:
        return None
    return Respondent(pseudonym, found_by, total, rows.in_analysis().count())


def find_respondent(study: Study, query: str) -> Respondent | None:
    """The respondent of ``study`` with this pseudonym (``r-…``) or questionnaire code; None if neither.

    The code is turned into its pseudonym (as written on the form, then NFC-normalised): no stored
    answer is decrypted to find it."""
    text = (query or "").strip()
    if not text:
        return None
    if PSEUDONYM.match(text.lower()):
        found = _respondent(study, text.lower(), "pseudonym")
        if found is not None:
            return found
    for code in dict.fromkeys([text, unicodedata.normalize("NFC", text)]):
        found = _respondent(study, services.pseudonym(study, code), "questionnaire_code")
        if found is not None:
            return found
    return None


def withdraw(study: Study, respondent: str, note: str, by) -> Withdrawal:
    """Withdraw the consent of ``respondent`` (a pseudonym) and queue the recomputation of the study.

    Needs ``Action.EDIT`` (as ``services.withdraw_consent``). Raises ``AlreadyWithdrawn`` when none of
    their submissions is in analysis any more, ``LookupError`` for a pseudonym the study does not
    have; either way nothing changes. The withdrawal stands even when the recomputation cannot be
    queued (the user may not compute, the study has no indicators): ``not_queued`` says why."""
    # Imported here: the computation pipeline (pandas, the estimators) is the indicators app's; collection
    # modules load without it, as ``Study.clean`` reads the disclosure rule.
    from voicescount.indicators.compute_jobs import UnknownDefinition, enqueue_compute

    require(by, Action.EDIT, study.organisation)
    found = _respondent(study, respondent, "pseudonym")
    if found is None:
        raise LookupError(f"Study '{study.slug}' has no respondent {respondent}.")
    if found.withdrawn:
        raise AlreadyWithdrawn(f"Respondent {respondent} withdrew consent already.")
    affected = services.withdraw_consent(study, respondent, user=by, note=note.strip())
    try:
        job = enqueue_compute(study, by)
    except PermissionDenied:
        return Withdrawal(respondent, affected, None, "permission")
    except UnknownDefinition:
        return Withdrawal(respondent, affected, None, "no_definitions")
    return Withdrawal(respondent, affected, job)


def last_withdrawal(study: Study, respondent: str) -> ConsentRecord | None:
    """The latest withdrawal recorded for ``respondent`` (for the result page)."""
    return (
        study.consent_records.filter(respondent=respondent, kind=ConsentRecord.Kind.WITHDRAWN)
        .order_by("-recorded", "-pk")
        .first()
    )
