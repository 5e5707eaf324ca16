"""The leave-no-one-behind result of a run as the public pages show it: which group is furthest behind
in the indicator's direction, which is furthest ahead, and the D-index — or, for an indicator where
neither direction is better, its lowest and highest groups and no one behind.

A run stores its direction with its result (``indicators.estimation``). A run stored before directions
existed has none: its leaves are valid in any direction (the tree on ``1 − rate`` is the tree on the
rate), so its groups are picked from them in the definition's direction
(``indicators.direction.direction_of``); its D-index was computed on the rate, so it is shown only where
that is still the opportunity ESCAP measures (not for a higher-is-worse indicator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voicescount.framework.labels import lnob_roles
from voicescount.indicators.direction import Direction, direction_of
from voicescount.indicators.models import EstimateRun, IndicatorDefinition


@dataclass(frozen=True)
class LNOBResult:
    """A run's LNOB groups for the pages: ``first`` is the furthest behind (or, neutral, the lowest
    group), ``second`` the furthest ahead (or the highest); both described with the page's labels."""

    direction: str
    first: Mapping[str, Any]
    second: Mapping[str, Any]
    d_index: float | None
    d_index_of: str

    @property
    def has_direction(self) -> bool:
        """Whether anyone is "behind" (False for an indicator where neither direction is better)."""
        return self.direction != Direction.NEUTRAL

    @property
    def roles(self) -> dict[str, tuple[str, str]]:
        """Language → (first group's role, second group's role), e.g. ("furthest behind (highest
        rate)", "furthest ahead (lowest rate)"), worded by ``framework.labels.lnob_roles``."""
        return {language: lnob_roles(self.direction, language) for language in ("en", "vi")}

    @property
    def gap(self) -> float:
        """How far the second group is from the first, in rate (positive)."""
        return abs(self.second["mean"] - self.first["mean"])


def lnob_result(run: EstimateRun, definition: IndicatorDefinition) -> LNOBResult | None:
    """The LNOB groups of ``run`` in its direction (see the module's docstring for older runs); None
    when the run has no LNOB result (not a proportion, too few respondents)."""
    from voicescount.publishing.evidence import described_group

    lnob = run.lnob or {}
    leaves = lnob.get("leaves") or []
    if not leaves and not lnob.get("furthest_behind"):
        return None
    stored = lnob.get("direction")
    if stored:
        direction = stored
        ends = ("lowest", "highest") if stored == Direction.NEUTRAL else ("furthest_behind", "furthest_ahead")
        first, second = lnob.get(ends[0]), lnob.get(ends[1])
        d_index = lnob.get("d_index")
        d_index_of = lnob.get("d_index_of", "rate")
    else:
        direction = direction_of(definition)
        lowest, highest = (
            (min(leaves, key=lambda g: g["mean"]), max(leaves, key=lambda g: g["mean"]))
            if leaves
            else (lnob["furthest_behind"], lnob["furthest_ahead"])
        )
        first, second = (highest, lowest) if direction == Direction.HIGHER_WORSE else (lowest, highest)
        d_index = None if direction == Direction.HIGHER_WORSE else lnob.get("d_index")
        d_index_of = "rate"
    described = described_group(first, definition), described_group(second, definition)
    if described[0] is None or described[1] is None:
        return None
    return LNOBResult(direction, described[0], described[1], d_index, d_index_of)
