"""The disclosure rule in force for a study: the one place it is decided.

The deployment sets it (``config.disclosure``: ``VOICESCOUNT_MIN_CELL_SIZE``, ``VOICESCOUNT_SUPPRESS_BELOW``,
``VOICESCOUNT_CAUTION_BELOW``; by default 10 and the DHS convention 25/50); a study may be stricter —
a small community, a sensitive topic — but never looser: each of its thresholds is the larger of the
study's and the deployment's. The computation, the pages and the methodology note all take the rule from
:func:`rule_for`, so what a page states is what was applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from voicescount.config import DisclosureConfig
from voicescount.stats.disclosure import CellSizeRule


@dataclass(frozen=True)
class DisclosureRule:
    """Thresholds on unweighted counts: ``min_cell_size`` for any public count (groups of speakers,
    participants, respondents), ``suppress_below`` / ``caution_below`` for estimates."""

    min_cell_size: int
    suppress_below: int
    caution_below: int
    stricter_than_deployment: bool = False

    @property
    def cell_size_rule(self) -> CellSizeRule:
        """The rule the statistics kernel applies to estimates."""
        return CellSizeRule(suppress_below=self.suppress_below, caution_below=self.caution_below)


def deployment_rule() -> DisclosureRule:
    """The deployment's rule (settings, read from the environment once)."""
    config: DisclosureConfig = settings.VOICESCOUNT_DISCLOSURE
    return DisclosureRule(config.min_cell_size, config.suppress_below, config.caution_below)


def looser_settings(study: Any) -> list[str]:
    """The study's thresholds that are below the deployment's (the fields an edit must refuse)."""
    floor = deployment_rule()
    return [
        field
        for field in ("min_cell_size", "suppress_below", "caution_below")
        if getattr(study, field) is not None and getattr(study, field) < getattr(floor, field)
    ]


def rule_for(study: Any) -> DisclosureRule:
    """The rule in force for ``study`` (a ``collection.Study``): the stricter of the study's and the
    deployment's threshold, each; never looser than the deployment."""
    floor = deployment_rule()
    own = [getattr(study, f) or 0 for f in ("min_cell_size", "suppress_below", "caution_below")]
    min_cell = max(floor.min_cell_size, own[0])
    suppress = max(floor.suppress_below, own[1], min_cell)
    caution = max(floor.caution_below, own[2], suppress)
    return DisclosureRule(
        min_cell,
        suppress,
        caution,
        stricter_than_deployment=(min_cell, suppress, caution)
        != (floor.min_cell_size, floor.suppress_below, floor.caution_below),
    )
