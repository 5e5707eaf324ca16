"""Public, read-only JSON API: goals, indicators, estimates, comparisons and studies.

Only public records, as :mod:`voicescount.publishing.selectors` decides: public studies' public
definitions, their public (latest published) run; suppressed cells carry their flag and no number.
Responses are cached for five minutes and lists are paginated (limit/offset); which runs are the public
ones is looked up at most once a minute, and a run's estimates, which never change, are kept serialised
in each worker (see ``_RunRows``). A run published or unpublished shows in the API within those delays.

Numbers are on the scale of every other publication (the pages, CSV, SDMX, Open SDG): a proportion in
percent (``unit`` ``PT``) is a percentage from 0 to 100 — its estimate, standard error and interval
(``IndicatorDefinition.published_scale``); design effects and counts are unscaled.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Literal

from django.core.cache import cache
from django.views.decorators.cache import cache_page
from ninja import Field, Router, Schema
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from voicescount.api_errors import INVALID_PARAMETERS, NOT_FOUND, names_nothing
from voicescount.framework import selectors as framework
from voicescount.framework.models import GLOBAL, Indicator
from voicescount.geography.codes import public_codes, published
from voicescount.indicators.comparison import compare_run
from voicescount.indicators.direction import direction_of
from voicescount.indicators.estimation import canonical_key
from voicescount.indicators.models import Estimate, EstimateRun, published_scale_of
from voicescount.publishing import selectors
from voicescount.publishing.exports import PLACES_FINEST_FIRST, study_area

router = Router(tags=["public data"])
CACHE_SECONDS = 300
#: Whether a higher value is better, worse or neither (``framework.models.Direction``).
DirectionName = Literal["higher_better", "higher_worse", "neutral"]
LATEST_SECONDS = 60


class GoalOut(Schema):
    number: int
    short_title_en: str
    short_title_vi: str
    title_en: str
    title_vi: str
    target_count: int
    indicator_count: int


class IndicatorOut(Schema):
    code: str
    framework: str
    target: str | None
    title_en: str
    title_vi: str
    vi_unofficial: bool
    unsd_codes: str
    direction: DirectionName  # the default of its definitions


PERCENT_NOTE = "A proportion (unit PT) is in percent, 0 to 100, as in every file we publish."


class EstimateOut(Schema):
    key: str = Field(description="The cell: its dimensions as CODE=value joined by '|', or _T for the total.")
    dimensions: dict[str, str] = Field(
        description="Places (AREA, REGION) by their published codes: ISO 3166-2 (VN-HN), VN-GSO-<code> "
        "for a province ISO has none for, our regions' codes."
    )
    area: str = Field(description="The cell's place: its province or region, else the study's area (VN).")
    unit: str = Field(
        description="The definition's unit: PT (percent), or the unit of a mean, total or ratio."
    )
    estimate: float | None = Field(description=f"None: suppressed. {PERCENT_NOTE}")
    se: float | None = Field(description=f"Standard error, on the estimate's scale. {PERCENT_NOTE}")
    ci_low: float | None = Field(description=f"Lower bound of the 95 % interval. {PERCENT_NOTE}")
    ci_high: float | None = Field(description=f"Upper bound of the 95 % interval. {PERCENT_NOTE}")
    deff: float | None
    n: int | None
    weighted_n: float | None
    flag: str
    flag_reason: str
    direction: DirectionName  # of the estimate's definition: decides who is furthest behind


class DefinitionOut(Schema):
    code: str
    indicator: str
    study: str
    title_en: str
    title_vi: str
    kind: str
    unit: str
    universe: str
    numerator: str
    value: str
    direction: DirectionName
    computed: str | None
    submissions: int | None


class ComparisonOut(Schema):
    definition: str
    key: str
    area_code: str = Field(description="The place compared, by its published code (VN, VN-HN …).")
    period: str
    unit: str = Field(description="The definition's unit: PT (percent), or another unit.")
    community: float = Field(description=f"The community estimate. {PERCENT_NOTE}")
    official: float = Field(description=f"The official figure, on the same scale. {PERCENT_NOTE}")
    official_illustrative: bool
    official_source: str
    difference: float = Field(description=f"Community minus official. {PERCENT_NOTE}")
    se: float = Field(description=f"Standard error of the difference. {PERCENT_NOTE}")
    ci_low: float
    ci_high: float
    p_adjusted: float
    direction: str
    official_se_basis: str
    verdict_en: str
    verdict_vi: str


class StudyOut(Schema):
    slug: str
    title_en: str
    title_vi: str
    organisation: str
    method: str
    period_start: str
    period_end: str
    target_groups: list[str]
    planned_sample_size: int | None


def _indicator_out(i: Indicator) -> dict:
    return {
        "code": i.code,
        "framework": i.framework.code,
        "target": i.target.code if i.target_id else None,
        "title_en": i.title_en,
        "title_vi": i.title_vi,
        "vi_unofficial": i.vi_unofficial,
        "unsd_codes": i.unsd_codes,
        "direction": i.direction,
    }


def _indicator(code: str) -> Indicator:
    indicator = None if names_nothing(code) else framework.indicator_by_code(code)
    if indicator is None:
        raise HttpError(404, f"No indicator has the code {code}.")
    return indicator


def _latest_runs(code: str, definition: str | None) -> list[tuple[Any, EstimateRun]]:
    """The public definitions of the indicator with their public run, in one query (404: no such code)."""
    if names_nothing(code, definition):
        _indicator(code)
        return []
    runs = (
        selectors.published_runs()
        .defer("lnob")
        .filter(definition__indicator__framework__code=GLOBAL, definition__indicator__code=code)
        .select_related(
            "definition",
            "definition__indicator",
            "definition__study",
            "definition__study__organisation__coalition",
        )
        .prefetch_related("definition__study__areas")
        .order_by("definition__study__period_start", "definition__code")
    )
    if definition:
        runs = runs.filter(definition__code=definition)
    found = list(runs)
    if not found:
        _indicator(code)  # an unknown code is a 404, a known one without public data an empty list
    return [(run.definition, run) for run in found]


def _latest_run_keys(code: str, definition: str | None) -> list[tuple[int, Any, str, str, str]]:
    """(pk, start time, the definition's direction and unit, its study's area) of the runs
    :func:`_latest_runs` finds, remembered for ``LATEST_SECONDS``.

    Responses are cached for ``CACHE_SECONDS`` already; this only spares a query for each new query
    string (another breakdown, page or cell of the same indicator). A newly published or unpublished run
    shows within ``LATEST_SECONDS`` at URLs not yet cached.
    """
    # Hashed: the codes come from the URL, and cache backends refuse keys with spaces or control characters.
    digest = hashlib.sha256(f"{code}\n{definition or ''}".encode()).hexdigest()
    cache_key = f"voicescount:api:latest-runs:v3:{digest}"
    found = cache.get(cache_key)
    if found is None:
        found = [
            (run.pk, run.started, direction_of(d), d.unit, study_area(d.study))
            for d, run in _latest_runs(code, definition)
        ]
        cache.set(cache_key, found, LATEST_SECONDS)
    return found


class _RunRows:
    """The estimates of recent runs, ready to serialise, kept in the worker process.

    A run's estimates are written once, in the transaction that creates the run, and never change, so
    they can be kept as long as the run is the one served; the key includes the run's start time, so a
    (test) database that reuses a primary key is never served another run's rows. Which runs are public
    and latest is looked up at most every ``LATEST_SECONDS`` (see :func:`_latest_run_keys`).
    """

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._rows: OrderedDict[tuple, list[tuple[tuple[str, ...], dict[str, Any]]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, run_id: int, started: Any, unit: str, area: str
    ) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
        key = (run_id, started, unit, area)
        with self._lock:
            if key in self._rows:
                self._rows.move_to_end(key)
                return self._rows[key]
        estimates = Estimate.objects.filter(run_id=run_id).order_by("pk")
        scale = published_scale_of(unit)
        estimates = list(estimates)
        places = len(area) != 2 or any(n in e.dimensions for e in estimates for n in PLACES_FINEST_FIRST)
        known = public_codes() if places else {}  # a national study without place breakdowns needs none
        rows = [(tuple(sorted(e.dimensions)), _estimate_out(e, unit, scale, area, known)) for e in estimates]
        with self._lock:
            self._rows[key] = rows
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
        return rows

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


def scaled(value: float | None, scale: float) -> float | None:
    """A stored value as published (rounded to 10 decimals: ``38.8``, not ``38.800000000000004``)."""
    return None if value is None else round(value * scale, 10)


def _estimate_out(e: Estimate, unit: str, scale: float, study_area: str, known: dict) -> dict[str, Any]:
    """An estimate for the API (``flag_reason`` is filled in the request's language when served); places by
    their published codes (``geography.codes``)."""
    dims = {k: published(v, known) if k in PLACES_FINEST_FIRST else v for k, v in e.dimensions.items()}
    place = next((dims[n] for n in PLACES_FINEST_FIRST if n in dims), None)
    return {
        "key": canonical_key(dims),
        "dimensions": dims,
        "area": place or published(study_area, known),
        "unit": unit,
        "estimate": scaled(e.estimate, scale),
        "se": scaled(e.se, scale),
        "ci_low": scaled(e.ci_low, scale),
        "ci_high": scaled(e.ci_high, scale),
        "deff": e.deff,
        # A suppressed cell's counts are not published either (docs/open-data.md), as on the pages and in
        # the CSV: how many answered in a small cell is itself what suppression protects.
        "n": None if e.suppressed else e.n,
        "weighted_n": None if e.suppressed else e.weighted_n,
        "flag": e.flag,
    }


run_rows = _RunRows()


@router.get("/goals", response=list[GoalOut])
@decorate_view(cache_page(CACHE_SECONDS))
def goals(request):
    return list(framework.goals_with_counts())


@router.get("/indicators", response={200: list[IndicatorOut], **INVALID_PARAMETERS})
@decorate_view(cache_page(CACHE_SECONDS))
@paginate(LimitOffsetPagination)
def indicators(request, goal: int | None = None):
    qs = Indicator.objects.filter(framework__code=GLOBAL).select_related("framework", "target")
    if goal is not None:
        qs = qs.filter(target__goal__number=goal)
    return [_indicator_out(i) for i in qs.order_by("sort_key")]


@router.get("/indicators/{code}", response={200: IndicatorOut, **NOT_FOUND})
@decorate_view(cache_page(CACHE_SECONDS))
def indicator(request, code: str):
    return _indicator_out(_indicator(code))


@router.get("/indicators/{code}/definitions", response={200: list[DefinitionOut], **NOT_FOUND})
@decorate_view(cache_page(CACHE_SECONDS))
def definitions(request, code: str):
    out = []
    definitions = selectors.public_definitions(_indicator(code))
    runs = {d.pk: run for d, run in selectors.with_published_runs(definitions)}
    for d in definitions:
        run = runs.get(d.pk)
        out.append(
            {
                "code": d.code,
                "indicator": code,
                "study": d.study.slug,
                "title_en": d.title_en,
                "title_vi": d.title_vi,
                "kind": d.kind,
                "unit": d.unit,
                "universe": d.universe,
                "numerator": d.numerator,
                "value": d.value,
                "direction": direction_of(d),
                "computed": run.started.isoformat() if run else None,
                "submissions": run.submissions if run else None,
            }
        )
    return out


@router.get(
    "/indicators/{code}/estimates",
    response={200: list[EstimateOut], **NOT_FOUND, **INVALID_PARAMETERS},
)
@decorate_view(cache_page(CACHE_SECONDS))
@paginate(LimitOffsetPagination)
def estimates(
    request, code: str, definition: str | None = None, by: str | None = None, key: str | None = None
):
    """Estimates of the latest runs; ``by=SEX,AGE`` keeps one breakdown, ``key=SEX=F`` one cell."""
    wanted = tuple(sorted(p for p in (by or "").split(",") if p)) if by is not None else None
    reasons: dict[str, str] = {"": ""}
    out = []
    for run_id, started, direction, unit, area in _latest_run_keys(code, definition):
        for dims, row in run_rows.get(run_id, started, unit, area):
            if key is not None and row["key"] != key:
                continue
            if wanted is not None and dims != wanted:
                continue
            flag = row["flag"]
            if flag not in reasons:
                reasons[flag] = str(Estimate.Flag(flag).label)
            out.append({**row, "flag_reason": reasons[flag], "direction": direction})
    return out


@router.get("/indicators/{code}/comparisons", response={200: list[ComparisonOut], **NOT_FOUND})
@decorate_view(cache_page(CACHE_SECONDS))
def comparisons(request, code: str, definition: str | None = None):
    out = []
    known = None
    for d, run in _latest_runs(code, definition):
        scale = d.published_scale
        for c in compare_run(run):
            known = public_codes() if known is None else known
            out.append(
                {
                    "definition": d.code,
                    "key": c.key,
                    "area_code": published(c.area_code, known),
                    "period": c.official.period,
                    "unit": d.unit,
                    "community": scaled(c.cgd.estimate, scale),
                    "official": scaled(c.official_value, scale),
                    "official_illustrative": c.official.illustrative,
                    "official_source": c.official.source,
                    "difference": scaled(c.difference, scale),
                    "se": scaled(c.se, scale),
                    "ci_low": scaled(c.ci_low, scale),
                    "ci_high": scaled(c.ci_high, scale),
                    "p_adjusted": c.p_adjusted,
                    "direction": c.direction,
                    "official_se_basis": c.official_se_basis,
                    "verdict_en": c.text_en,
                    "verdict_vi": c.text_vi,
                }
            )
    return out


@router.get("/studies", response={200: list[StudyOut], **INVALID_PARAMETERS})
@decorate_view(cache_page(CACHE_SECONDS))
@paginate(LimitOffsetPagination)
def studies(request):
    return [
        {
            "slug": s.slug,
            "title_en": s.title_en,
            "title_vi": s.title_vi,
            "organisation": s.organisation.name,
            "method": s.method,
            "period_start": s.period_start.isoformat(),
            "period_end": s.period_end.isoformat(),
            "target_groups": list(s.target_groups),
            "planned_sample_size": s.planned_sample_size,
        }
        for s in selectors.public_studies().select_related("organisation")
    ]
