"""Read-side queries on the framework, used by pages and the API."""

from __future__ import annotations

from django.db.models import Count, Prefetch

from voicescount.framework.models import GLOBAL, Code, Goal, Indicator, Target


def goals_with_counts():
    """The 17 goals with ``target_count`` and ``indicator_count`` (global indicators)."""
    return Goal.objects.annotate(
        target_count=Count("targets", distinct=True),
        indicator_count=Count("targets__indicators", distinct=True),
    ).order_by("number")


def goal_detail(number: int) -> Goal | None:
    """A goal with its targets and their global indicators prefetched, or None."""
    indicators = Indicator.objects.filter(framework__code=GLOBAL).order_by("sort_key")
    targets = Target.objects.order_by("sort_key").prefetch_related(
        Prefetch("indicators", queryset=indicators)
    )
    return Goal.objects.prefetch_related(Prefetch("targets", queryset=targets)).filter(number=number).first()


def indicator_by_code(code: str, framework: str = GLOBAL) -> Indicator | None:
    return (
        Indicator.objects.select_related("target__goal", "framework").filter(
            framework__code=framework, code=code
        )
    ).first()


def code_list(code: str) -> list[Code]:
    return list(Code.objects.filter(code_list__code=code).order_by("order", "code"))
