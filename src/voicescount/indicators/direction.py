"""Which way an indicator definition is good — the one reader of its direction.

A definition states whether a higher value is better, worse or neither (``IndicatorDefinition.direction``);
left blank, it takes its indicator's (``framework.Indicator.direction``, curated for the global framework in
``framework/data/indicator_direction.csv``). The direction decides who is "furthest behind": the group
with the highest rate where a higher value is worse (poverty, violence, NEET), the lowest where it is
better (coverage, access, completion); a neutral indicator shows its lowest and highest groups and no one
behind. The computation, the pages, the API and the exports all read it here.
"""

from __future__ import annotations

from voicescount.framework.models import Direction
from voicescount.indicators.models import IndicatorDefinition

__all__ = ["Direction", "direction_of"]


def direction_of(definition: IndicatorDefinition) -> str:
    """The definition's direction (a :class:`Direction` value): its own, else its indicator's."""
    return definition.direction or definition.indicator.direction or Direction.NEUTRAL
