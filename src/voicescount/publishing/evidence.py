"""Community evidence for the public pages: published definitions, their public estimates and comparisons.

What is public is decided by :mod:`voicescount.publishing.selectors` (a public definition of a public
study, its latest published run); suppressed cells are shown as suppressed with their reason, never with
a number.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from voicescount.framework.labels import PLACE_LISTS, CodeLabels, code_labels
from voicescount.framework.models import Indicator
from voicescount.indicators.comparison import ComparisonRow, compare_run
from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition
from voicescount.publishing import selectors
from voicescount.publishing.lnob import LNOBResult, lnob_result
from voicescount.publishing.render_cache import memo, run_estimates
from voicescount.stats.lnob import describe_conditions

DIMENSION_NAMES = {
    "SEX": ("Sex", "Giới tính"),
    "AGE": ("Age group", "Nhóm tuổi"),
    "DISABILITY_STATUS": ("Disability status", "Tình trạng khuyết tật"),
    "URBANISATION": ("Urban or rural", "Thành thị/nông thôn"),
    "REGION": ("Region", "Vùng"),
    "AREA": ("Province", "Tỉnh/thành phố"),
    "ETHNICITY": ("Ethnicity", "Dân tộc"),
    "POPULATION_GROUP": ("Population group", "Nhóm dân cư"),
}


#: Code lists whose codes are places (areas of the geography app, not codes of a code list).
PLACES = ("REGION", "AREA")


def dimension_name(code_list: str, language: str) -> str:
    en, vi = DIMENSION_NAMES.get(code_list, (code_list.title(), code_list.title()))
    return vi if language == "vi" else en


def labels() -> CodeLabels:
    """The labels of disaggregation codes on the public pages, in both languages
    (:func:`voicescount.framework.labels.code_labels`): every code list's (the list's label, else an
    age bin's label read from its code, so a page never shows a bare ``Y25T59``), the regions and
    provinces used as REGION and AREA codes and the countries (COUNTRY) an estimate without a place
    stands for. A page takes its language with ``labels().label(code_list, code, language)``."""
    return memo(("code_labels",), code_labels)


def estimate_label(dimensions: Mapping[str, str], dims: Iterable[str], language: str) -> str:
    """The words for one cell of a breakdown: the labels of its codes of ``dims``, joined by commas."""
    words = labels()
    return ", ".join(words.label(d, dimensions[d], language) for d in dims)


def place_label(code: str, language: str) -> str:
    """The name of a province, region or country code in ``language``; the code if it is none of them."""
    words = labels()
    code_list = next((c for c in PLACE_LISTS if words.bilingual(c, code)), None)
    return words.label(code_list, code, language) if code_list else code


def comparison_label(row: ComparisonRow, language: str) -> str:
    """Where and whom a comparison with official statistics is about, in words: the place, then the
    labels of the group's codes (``Viet Nam · Female, 25 to 59 years old``)."""
    dims = sorted(d for d in row.cgd.dimensions if d not in PLACES)
    place = place_label(row.area_code, language)
    return f"{place} · {estimate_label(row.cgd.dimensions, dims, language)}" if dims else place


def described_group(
    group: Mapping[str, Any] | None, definition: IndicatorDefinition
) -> Mapping[str, Any] | None:
    """A furthest-behind or furthest-ahead group of ``run.lnob`` with ``description_en`` and
    ``description_vi`` worded afresh from its ``conditions`` (code list → codes) with :func:`labels`.

    The computation stores descriptions worded the same way (``CodeLabels.in_sentence``: labels
    lower-cased inside the sentence, names of places keep their capitals), but with the labels of
    the day it ran; a run is not computed again when only labels change (its fingerprint is its
    submissions and its definition), and runs stored before age bins missing from the AGE list were
    labelled show such a bin as its code. Worded here, the group reads as the breakdown table beside
    it does. A group without conditions (from older runs) is returned as stored.
    """
    if not group or "conditions" not in group:
        return group
    conditions: Mapping[str, list[str]] = group["conditions"]
    order = [spec["code_list"] if isinstance(spec, dict) else spec for spec in definition.dimensions]
    order += [d for d in conditions if d not in order]  # JSONB does not keep the stored key order
    words = labels()
    out = dict(group)
    for language in ("en", "vi"):
        names = {d: {c: words.in_sentence(d, c, language) for c in codes} for d, codes in conditions.items()}
        out[f"description_{language}"] = describe_conditions(conditions, names, language, order=order)
    return out


@dataclass
class Evidence:
    definition: IndicatorDefinition
    run: EstimateRun
    total: Estimate | None
    breakdowns: list[tuple[str, ...]]
    comparisons: list[ComparisonRow] = field(default_factory=list)

    @property
    def percent(self) -> bool:
        return self.definition.kind == IndicatorDefinition.Kind.PROPORTION and self.definition.unit == "PT"

    @cached_property
    def lnob(self) -> LNOBResult | None:
        """The run's furthest-behind and furthest-ahead groups in the indicator's direction (or its
        lowest and highest, where neither direction is better), described with the page's labels."""
        return lnob_result(self.run, self.definition)

    @property
    def furthest_behind(self) -> Mapping[str, Any] | None:
        """The run's furthest-behind group in the indicator's direction; None if no one is behind."""
        return self.lnob.first if self.lnob and self.lnob.has_direction else None

    @property
    def furthest_ahead(self) -> Mapping[str, Any] | None:
        """The run's furthest-ahead group in the indicator's direction; None if no one is ahead."""
        return self.lnob.second if self.lnob and self.lnob.has_direction else None


def evidence_for(indicator: Indicator, *, draft: EstimateRun | None = None) -> list[Evidence]:
    """The public definitions of ``indicator`` with their public run, its total, breakdowns and
    comparisons with official figures.

    With ``draft`` (a run of one of the indicator's definitions, published or not), the page as it would
    be once ``draft`` is published: it stands in for its definition's public run, and its definition is
    shown even if not public yet. Only the workspace's preview asks for that."""
    pairs = selectors.with_published_runs(selectors.public_definitions(indicator))
    if draft is not None:
        pairs = [(d, r) for d, r in pairs if d.pk != draft.definition_id] + [(draft.definition, draft)]
        pairs.sort(key=lambda pair: (pair[0].study.period_start, pair[0].code))
    return [evidence_of(definition, run) for definition, run in pairs]


def evidence_of(definition: IndicatorDefinition, run: EstimateRun) -> Evidence:
    """One definition's block of the indicator page for ``run``."""
    estimates = run_estimates(run)
    combos = sorted(
        {tuple(sorted(e.dimensions)) for e in estimates if e.dimensions}, key=lambda c: (len(c), c)
    )
    total = next((e for e in estimates if e.key == "_T"), None)
    return Evidence(definition, run, total, combos, compare_run(run))


def breakdown(run: EstimateRun, dims: tuple[str, ...]) -> list[Estimate]:
    """The estimates of ``run`` that cross exactly ``dims`` (sorted by their labels' codes)."""
    rows = [e for e in run_estimates(run) if tuple(sorted(e.dimensions)) == tuple(sorted(dims))]
    return sorted(rows, key=lambda e: e.key)


def parse_breakdown(text: str, available: list[tuple[str, ...]]) -> tuple[str, ...] | None:
    """``?by=SEX,AGE`` → ("AGE", "SEX") if that breakdown exists, else None."""
    wanted = tuple(sorted(p for p in text.split(",") if p))
    return wanted if wanted in available else None


def community_counts() -> dict[int, int]:
    """Goal number → number of global indicators with published community estimates."""
    rows = (
        selectors.published_definitions()
        .values_list("indicator__target__goal__number", "indicator_id")
        .distinct()
    )
    counts: dict[int, int] = {}
    for goal, _ in rows:
        if goal is not None:
            counts[goal] = counts.get(goal, 0) + 1
    return counts


def latest_public_studies(limit: int = 3):
    from voicescount.publishing.studies import public_studies

    return public_studies()[:limit]


def widest_gaps(limit: int = 3) -> list[dict]:
    """The published proportions whose furthest-behind group trails the furthest-ahead one the most, in
    each indicator's direction (:func:`voicescount.publishing.lnob.lnob_result`); indicators where
    neither direction is better have no one behind and are left out."""
    out = []
    proportions = selectors.public_definitions().filter(kind=IndicatorDefinition.Kind.PROPORTION)
    for definition, run in selectors.with_published_runs(proportions):
        result = lnob_result(run, definition)
        if result is None or not result.has_direction:
            continue
        out.append(
            {
                "definition": definition,
                "behind": result.first,
                "ahead": result.second,
                "roles": result.roles,
                "gap": result.gap,
            }
        )
    return sorted(out, key=lambda g: -g["gap"])[:limit]


def indicator_status(goal: int) -> dict[int, str]:
    """Indicator id → "both", "community" or "official" for the goal's indicators that have data."""
    from voicescount.indicators.models import OfficialObservation

    community = set(
        selectors.published_definitions()
        .filter(indicator__target__goal__number=goal)
        .values_list("indicator_id", flat=True)
    )
    official = set(
        OfficialObservation.objects.filter(indicator__target__goal__number=goal).values_list(
            "indicator_id", flat=True
        )
    )
    return {
        i: "both" if i in community and i in official else ("community" if i in community else "official")
        for i in community | official
    }


# --- which province boundaries a breakdown is mapped on -------------------------------------------------

PROVINCE_SOURCES = {"@province": "63", "@province_2025": "34"}


def reference_period_end(definition: IndicatorDefinition) -> dt.date:
    """Last day of the definition's reference period (``2022``, ``2022-Q2``, ``2022-06`` or a date), else
    the last day of the study's data collection."""
    text = (definition.reference_period or "").strip()
    if m := re.fullmatch(r"(\d{4})", text):
        return dt.date(int(m[1]), 12, 31)
    if m := re.fullmatch(r"(\d{4})-?Q([1-4])", text, re.IGNORECASE):
        year, month = int(m[1]), 3 * int(m[2])
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return dt.date(year, month, calendar.monthrange(year, month)[1])
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return definition.study.period_end


def province_boundaries(definition: IndicatorDefinition, codes: set[str] | None = None) -> str:
    """ "63" or "34": the Vietnamese provinces that the definition's AREA breakdown is mapped on.

    Data re-coded with ``@province`` (the 63 provinces) or ``@province_2025`` (the 34 from 1 July 2025)
    are shown on the map they are coded to, whatever the period: an old province cannot be drawn on the
    new map, nor a merged one split again. Otherwise the reference period decides (63 when it ends
    before 1 July 2025), unless the estimates' ``codes`` only fit the other set of provinces.
    """
    from voicescount.geography import selectors as geography

    spec = next((d for d in definition.dimensions if d.get("code_list") == "AREA"), {})
    if spec.get("source") in PROVINCE_SOURCES:
        return PROVINCE_SOURCES[spec["source"]]
    version = geography.boundary_version_for(reference_period_end(definition))
    if codes:
        valid = {
            v: set(geography.provinces_on("VN", on).values_list("code", flat=True))
            for v, on in (("63", dt.date(2025, 6, 30)), ("34", dt.date(2025, 7, 1)))
        }
        other = "34" if version == "63" else "63"
        if not codes <= valid[version] and codes <= valid[other]:
            return other
    return version
