"""What a definition of a study may refer to: the names its expressions read (the study's questions and
derived variables, with their labels), the dimensions it can be broken down by, the framework's indicators.

Read by the definition checks (``indicators.definition_service``) and by the pages that help write a
definition (autocompletion of names, the choice of dimensions and of the indicator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voicescount.collection.models import Study
from voicescount.framework.models import GLOBAL, Indicator
from voicescount.indicators.dataset import WG_ITEMS
from voicescount.indicators.snapshots import excluded_fields

#: Variables the computation makes for dimensions (``dataset._derived``), not usable in expressions.
BUILT_IN_SOURCES = ("@wg_disability", "@province", "@province_2025")
_NOT_QUESTIONS = frozenset({"begin_group", "end_group", "begin_repeat", "end_repeat", "note"})


@dataclass(frozen=True)
class Variable:
    """A name an expression may read: a question of the study's forms or one of its derived variables."""

    name: str
    label_en: str
    label_vi: str
    derived: bool = False
    choices: tuple[str, ...] = ()

    def label(self, language: str) -> str:
        return (self.label_vi if language == "vi" else self.label_en) or self.label_en or self.label_vi


def study_variables(study: Study) -> dict[str, Variable]:
    """The names expressions of ``study`` may read, by name: its forms' questions (never a personal one)
    and its derived variables, with their labels and a select question's choice codes."""
    excluded = excluded_fields(study)
    found: dict[str, Variable] = {}
    for instrument in study.instruments.all():
        for q in (instrument.definition or {}).get("questions", []):
            name = q.get("name", "")
            if not name or name in excluded or name in found or q.get("type") in _NOT_QUESTIONS:
                continue
            labels = q.get("labels") or {}
            choices = tuple(c["code"] for c in q.get("choices") or [])
            found[name] = Variable(name, labels.get("en", ""), labels.get("vi", ""), choices=choices)
    for v in study.derived_variables.all():
        found[v.name] = Variable(v.name, v.title_en or v.expression, v.title_vi, derived=True)
    return found


def dimension_roles(study: Study) -> dict[str, str]:
    """Question name → code list of the questions the study's forms give a ``dimension:<CODE LIST>`` role."""
    roles: dict[str, str] = {}
    for instrument in study.instruments.all():
        for name, role in (instrument.roles or {}).items():
            if role.startswith("dimension:"):
                roles[name] = role.split(":", 1)[1]
    return roles


def dimension_choices(study: Study) -> list[dict[str, Any]]:
    """Dimensions a definition of ``study`` can be broken down by: the codings its definitions use, else
    each dimension question coded as answered (and the Washington Group status from the six ``wg_*``)."""
    seen: dict[str, dict[str, Any]] = {}
    for specs in study.indicator_definitions.order_by("code").values_list("dimensions", flat=True):
        for spec in specs:
            seen.setdefault(repr(sorted(spec.items())), spec)
    used = {s["code_list"] for s in seen.values()}
    roles = dimension_roles(study)
    for name, code_list in sorted(roles.items()):
        if code_list not in used and list(roles.values()).count(code_list) == 1:
            seen[name] = {"code_list": code_list, "source": name}
    if "DISABILITY_STATUS" not in used and set(WG_ITEMS.values()) <= set(roles):
        seen["@wg_disability"] = {"code_list": "DISABILITY_STATUS", "source": "@wg_disability"}
    return list(seen.values())


def find_indicator(text: str) -> Indicator | None:
    """The indicator ``1.3.1`` (global framework) or ``<framework>:<code>``; also the code before " — "."""
    text = text.split(" — ", 1)[0].strip()
    framework, _sep, code = text.rpartition(":") if ":" in text else (GLOBAL, "", text)
    return Indicator.objects.filter(framework__code=framework, code=code).select_related("framework").first()


def indicator_choices(user) -> list[Indicator]:
    """The indicators a definition may measure, for ``user``: the global framework's and those of the
    frameworks ``user`` may see, in the frameworks' order."""
    return list(
        Indicator.objects.visible_to(user).select_related("framework").order_by("framework__code", "sort_key")
    )


def indicator_key(indicator: Indicator) -> str:
    """How :func:`find_indicator` finds ``indicator``: its code, prefixed by a non-global framework's."""
    if indicator.framework.code == GLOBAL:
        return indicator.code
    return f"{indicator.framework.code}:{indicator.code}"
