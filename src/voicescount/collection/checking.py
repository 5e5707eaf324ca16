"""The record checker used by imports: an instrument's compiled validator plus submission-level checks.

``checker_for(instrument)`` compiles the instrument's definition once (``collection/validation.py``)
with its reviewed question roles and the area codes the platform knows — current and former codes
of every area (``Area.code``) and the statistical office codes (``Area.gso_code``), so that records
coded before and after a boundary reform both pass. It also refuses a submission time in the future
(a wrong device clock makes every date in the record suspect).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from voicescount.collection.models import Instrument
from voicescount.collection.records import RawRecord
from voicescount.collection.services import Checked, Issue
from voicescount.collection.validation import RecordValidator, compile_validator

CLOCK_SKEW = dt.timedelta(hours=1)  # tolerated difference between device and server clocks


def known_area_codes() -> frozenset[str]:
    """Every area code and non-empty statistical office code in the geography app."""
    from voicescount.geography.models import Area

    codes = set(Area.objects.values_list("code", flat=True))
    codes |= {c for c in Area.objects.exclude(gso_code="").values_list("gso_code", flat=True) if c}
    return frozenset(codes)


class InstrumentChecker:
    """A ``Checker`` (``RawRecord`` → ``Checked``) for one instrument; ``notes`` gathers non-blocking
    findings over the whole import (labels mapped to codes, rules not checked)."""

    def __init__(self, validator: RecordValidator, now: dt.datetime | None = None) -> None:
        self.validator = validator
        self.latest = (now or timezone.now()) + CLOCK_SKEW

    def __call__(self, record: RawRecord) -> Checked:
        result = self.validator.check(record.values)
        issues = result.issues
        submitted = record.submitted_at
        if submitted is not None:
            if timezone.is_naive(submitted):
                submitted = timezone.make_aware(submitted, dt.UTC)
            if submitted > self.latest:
                issues.append(
                    Issue(
                        "meta/submitted_at",
                        "future_submission",
                        "The submission time is in the future: check the device clock.",
                    )
                )
        return Checked(result.typed_values, issues)

    @property
    def notes(self) -> list[dict[str, Any]]:
        """Non-blocking findings, each once with how many records it concerned."""
        return [*(i.as_dict() for i in self.validator.skipped), *self.validator.notes.values()]


def checker_for(instrument: Instrument, *, today: dt.date | None = None) -> InstrumentChecker:
    """The checker for records of ``instrument`` (see the module docstring)."""
    return InstrumentChecker(
        compile_validator(
            instrument.definition or {},
            roles=instrument.roles or {},
            area_codes=known_area_codes(),
            today=today or timezone.localdate(),
        )
    )
