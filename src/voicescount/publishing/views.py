"""Public pages: thin views over the framework and geography selectors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from voicescount.framework import selectors as framework
from voicescount.geography import selectors as geography
from voicescount.indicators.models import EstimateRun
from voicescount.publishing import evidence, selectors
from voicescount.publishing.charts import estimate_chart_spec, estimate_map_spec, province_map_spec
from voicescount.publishing.page_cache import public_page

MERGER_DATE = dt.date(2025, 7, 1)
BOUNDARY_DATES = {"63": MERGER_DATE - dt.timedelta(days=1), "34": MERGER_DATE}


def _language() -> str:
    return (get_language() or "vi")[:2]


class BadRequest(Exception):
    """A query parameter the page cannot use; shown as a 400 with the reason."""


def _bad_request(request, message: str) -> HttpResponse:
    return render(request, "publishing/error.html", {"status": 400, "message": message}, status=400)


@require_safe
@public_page
def home(request):
    goals = list(framework.goals_with_counts())
    community = evidence.community_counts()
    for goal in goals:
        goal.community_count = community.get(goal.number, 0)
    context = {
        "goals": goals,
        "studies": evidence.latest_public_studies(),
        "left_behind": evidence.widest_gaps(limit=3),
    }
    return render(request, "publishing/home.html", context)


@require_safe
@public_page
def goal_detail(request, number: int):
    goal = framework.goal_detail(number)
    if goal is None:
        raise Http404(
            _("There is no Sustainable Development Goal %(number)s; the goals are numbered 1 to 17.")
            % {"number": number}
        )
    status = evidence.indicator_status(goal.number)
    return render(request, "publishing/goal.html", {"goal": goal, "status": status})


@require_safe
@public_page
def indicator_detail(request, code: str):
    indicator = framework.indicator_by_code(code)
    if indicator is None:
        raise Http404(_("No indicator has the code %(code)s.") % {"code": code})
    context = indicator_page_context(indicator, evidence.evidence_for(indicator), request.user)
    return render(request, "publishing/indicator.html", context)


def indicator_page_context(
    indicator,
    items: list[evidence.Evidence],
    user,
    *,
    breakdown_url: Callable[[EstimateRun], str] | None = None,
) -> dict:
    """What the indicator page's template shows for ``items``; each block's breakdown picker asks
    ``breakdown_url(run)`` (the public breakdown of the run, unless the workspace's preview of a draft
    gives its own)."""
    linked = indicator.linked_indicators.visible_to(user).select_related("framework", "organisation")
    language = _language()
    blocks = []
    for item in items:
        dims = item.breakdowns[0] if item.breakdowns else ()
        url = (
            breakdown_url(item.run)
            if breakdown_url
            else reverse("publishing:breakdown", kwargs={"code": indicator.code, "run_id": item.run.pk})
        )
        blocks.append(
            {
                "item": item,
                "table": _breakdown_context(item.run, dims, item.breakdowns, language),
                "map": _province_map(item, language),
                "comparisons": [(evidence.comparison_label(c, language), c) for c in item.comparisons],
                "breakdown_url": url,
            }
        )
    return {"indicator": indicator, "linked": linked, "blocks": blocks}


def breakdown_table(run: EstimateRun, by: str) -> dict | None:
    """The table and chart of ``run`` broken down by ``by`` ("SEX,AGE") for ``publishing/_breakdown.html``;
    None when the run has no such breakdown."""
    available = sorted(
        {tuple(sorted(e.dimensions)) for e in evidence.run_estimates(run) if e.dimensions},
        key=lambda c: (len(c), c),
    )
    dims = evidence.parse_breakdown(by, available)
    return None if dims is None else _breakdown_context(run, dims, available, _language())


def _province_map(item, language: str) -> dict | None:
    """A choropleth by province when the definition has that breakdown, on the provinces the data are
    coded to: the 63 until 30 June 2025 or the 34 from 1 July 2025 (``evidence.province_boundaries``)."""
    if ("AREA",) not in item.breakdowns:
        return None
    rows = evidence.breakdown(item.run, ("AREA",))
    scale = 100 if item.percent else 1
    values = [
        {"code": e.dimensions["AREA"], "value": e.estimate * scale, "n": e.n}
        for e in rows
        if e.estimate is not None and not e.suppressed
    ]
    version = evidence.province_boundaries(item.definition, {e.dimensions["AREA"] for e in rows})
    url = reverse("publishing:provinces-geojson", kwargs={"version": version})
    legend = _("Percent") if item.percent else _("Value")
    if version == "63":
        title = _("By province (the 63 provinces until 30 June 2025)")
    else:
        title = _("By province (the 34 provinces from 1 July 2025)")
    return {
        "spec": estimate_map_spec(url, values, title, legend),
        "version": version,
        "chart_id": f"map-{item.run.pk}",
        "spec_id": f"map-{item.run.pk}-spec",
        "shown": len(values),
        "total": len(rows),
    }


def _breakdown_context(run, dims, available, language: str) -> dict:
    definition = run.definition
    percent = definition.kind == "proportion" and definition.unit == "PT"
    rows = []
    for e in evidence.breakdown(run, dims):
        rows.append(
            {
                "label": evidence.estimate_label(e.dimensions, dims, language),
                "estimate": e.estimate,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "n": e.n,
                "flag": e.flag,
                "reason": e.get_flag_display() if e.flag else "",
                "suppressed": e.suppressed,
            }
        )
    dim_names = [evidence.dimension_name(d, language) for d in dims]
    title = " × ".join(dim_names)
    # xgettext:no-python-format
    percent_axis = _("Percent (95% confidence interval)")
    # xgettext:no-python-format
    value_axis = _("Value (95% confidence interval)")
    axis = percent_axis if percent else value_axis
    return {
        "run": run,
        "dims": ",".join(dims),
        "title": title,
        "rows": rows,
        "percent": percent,
        "options": [
            (",".join(c), " × ".join(evidence.dimension_name(d, language) for d in c)) for c in available
        ],
        "spec": estimate_chart_spec(rows, title, axis, percent),
        "chart_id": f"chart-{run.pk}",
        "spec_id": f"chart-{run.pk}-spec",
    }


DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "sdmx-csv": ("text/csv; charset=utf-8", "sdmx.csv"),
    "sdmx-csv-1.0": ("text/csv; charset=utf-8", "sdmx-1.0.csv"),
    "sdmx-ml": ("application/xml", "sdmx.xml"),
    "open-sdg": ("text/csv; charset=utf-8", "open-sdg.csv"),
}


def _public_run(code: str, run_id: int):
    indicator = framework.indicator_by_code(code)
    run = selectors.public_run_by_id(run_id, definition__indicator=indicator)
    if indicator is None or run is None:
        raise Http404(_("No published estimates with this number for indicator %(code)s.") % {"code": code})
    return run


@require_safe
def download(request, code: str, run_id: int, fmt: str):
    """Open data for one run: CSV (with flags and CI), SDMX-CSV, SDMX-ML or the Open SDG format."""
    from voicescount.publishing import exports

    if fmt not in DOWNLOADS:
        raise Http404(_("Downloads are available as csv, sdmx-csv, sdmx-ml and open-sdg."))
    run = _public_run(code, run_id)
    makers = {
        "csv": lambda: exports.estimates_csv(run, language=_language()),
        "sdmx-csv": lambda: exports.estimates_sdmx_csv(run),
        "sdmx-csv-1.0": lambda: exports.estimates_sdmx_csv(run, version="1.0"),
        "sdmx-ml": lambda: exports.estimates_sdmx_ml(run),
        "open-sdg": lambda: exports.open_sdg_csv(run, language=_language()),
    }
    content_type, extension = DOWNLOADS[fmt]
    response = HttpResponse(makers[fmt](), content_type=content_type)
    name = f"voicescount-{code}-{run.definition.code}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_safe
@cache_control(public=True, max_age=3600)
def sdmx_structure(request):
    """The structure our SDMX messages are on (the SDG DSD extended) with its code lists, to validate them."""
    from voicescount.publishing import sdmx_sdg

    return HttpResponse(sdmx_sdg.structure_xml(), content_type="application/xml")


@require_safe
@cache_control(public=True, max_age=86400)
def sdg_dsd(request):
    """The SDG DSD (IAEG-SDGs:SDG 1.14) our structure extends, as the SDMX Global Registry published it."""
    from voicescount.publishing import sdmx_sdg

    return HttpResponse(sdmx_sdg.SDG_DSD_FILE.read_bytes(), content_type="application/xml")


@require_safe
def data_package(request):
    """Every published indicator in one zip (CSV, SDMX, Open SDG, README and licence)."""
    import io

    from voicescount.publishing import exports

    buffer = io.BytesIO()
    exports.site_data_package(buffer)
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="voicescount-open-data.zip"'
    return response


@require_safe
@public_page
def indicator_breakdown(request, code: str, run_id: int):
    """The disaggregation table and chart of one run (the htmx target of the picker)."""
    indicator = framework.indicator_by_code(code)
    run = selectors.public_run_by_id(run_id, definition__indicator=indicator)  # the title names it
    if indicator is None or run is None:
        raise Http404(_("No published estimates with this number for indicator %(code)s.") % {"code": code})
    available = sorted(
        {tuple(sorted(e.dimensions)) for e in evidence.run_estimates(run) if e.dimensions},
        key=lambda c: (len(c), c),
    )
    if "by" not in request.GET:
        language = _language()
        options = [
            (",".join(c), " × ".join(evidence.dimension_name(d, language) for d in c)) for c in available
        ]
        return render(
            request, "publishing/breakdown_index.html", {"run": run, "code": code, "options": options}
        )
    dims = evidence.parse_breakdown(request.GET.get("by", ""), available)
    if dims is None:
        return _bad_request(request, _("This breakdown is not available; choose one from the list."))
    context = {"table": _breakdown_context(run, dims, available, _language()), "code": code}
    template = (
        "publishing/_breakdown.html" if request.headers.get("HX-Request") else "publishing/breakdown.html"
    )
    return render(request, template, context)


def _boundary_choice(request) -> tuple[str, dt.date]:
    """Which set of provinces to show: ``?date=YYYY-MM-DD`` or ``?boundaries=63|34`` (default: today)."""
    if "date" in request.GET:
        try:
            on = dt.date.fromisoformat(request.GET["date"])
        except ValueError:
            raise BadRequest(_("The date must be written as YYYY-MM-DD, for example 2024-12-31.")) from None
        return ("63" if on < MERGER_DATE else "34"), on
    version = request.GET.get("boundaries", "34")
    if version not in BOUNDARY_DATES:
        raise BadRequest(_("Boundaries must be 63 (provinces until 30 June 2025) or 34 (from 1 July 2025)."))
    return version, BOUNDARY_DATES[version]


@require_safe
@public_page
def province_map(request):
    try:
        version, on = _boundary_choice(request)
    except BadRequest as exc:
        return _bad_request(request, str(exc))
    provinces = geography.provinces_on("VN", on).order_by("name")
    data_url = reverse("publishing:provinces-geojson", kwargs={"version": version})
    title = _("Provinces of Viet Nam on %(date)s") % {"date": on.isoformat()}
    spec = province_map_spec(data_url, title)
    context = {"version": version, "on": on, "provinces": provinces, "spec": spec, "merger_date": MERGER_DATE}
    return render(request, "publishing/map.html", context)


@require_safe
@cache_control(public=True, max_age=3600)
def provinces_geojson(request, version: str):
    """The provinces as GeoJSON for the map (archipelagos carry a label position)."""
    if version not in BOUNDARY_DATES:
        raise Http404(_("Boundaries must be 63 or 34."))
    collection = geography.province_feature_collection("VN", BOUNDARY_DATES[version], language=_language())
    return JsonResponse(_with_label_points(collection), json_dumps_params={"ensure_ascii": False})


def _with_label_points(collection: dict) -> dict:
    from shapely.geometry import shape

    features = []
    for feature in collection["features"]:
        props = feature.get("properties", {})
        if props.get("kind") == "archipelago" and "label_lon" not in props:
            point = shape(feature["geometry"]).representative_point()
            feature = {**feature, "properties": {**props, "label_lon": point.x, "label_lat": point.y}}
        features.append(feature)
    return {**collection, "features": features}


@require_safe
@public_page
def study_list(request):
    """Every public study with its method, period, organisation and how many people took part."""
    from voicescount.publishing import studies

    rows = list(studies.public_studies(request.user))
    achieved = studies.achieved_counts(rows)
    for study in rows:
        study.achieved_n = achieved.get(study.pk, 0)
    return render(request, "publishing/studies.html", {"studies": rows})


@require_safe
@public_page
def study_detail(request, slug: str):
    """A public study: methodology, coverage, sample, consent procedure, partners and its indicators."""
    from voicescount.accounts.permissions import Action, has_permission
    from voicescount.publishing import studies

    study = studies.public_study(slug, request.user)
    if study is None:
        raise Http404(
            _("No public study has the address %(slug)s. It may not exist or not be published yet.")
            % {"slug": slug}
        )
    can_import = has_permission(request.user, Action.IMPORT, study.organisation)
    context = {
        "study": study,
        "profile": studies.study_profile(study, _language()),
        "can_import": can_import,
        "can_compute": has_permission(request.user, Action.COMPUTE, study.organisation),
        "batches": study.batches.all()[:20] if can_import else [],
    }
    return render(request, "publishing/study.html", context)


@require_safe
@public_page
def about(request):
    """What CGD is and how the estimates are made, with the suppression thresholds actually in force."""
    from voicescount.indicators.disclosure_rule import deployment_rule

    rule = deployment_rule()
    context = {
        "rule": rule,
        "caution_last": rule.caution_below - 1,
        "zip_url": reverse("publishing:data-package"),
    }
    return render(request, "publishing/about.html", context)


def spec_json(spec: dict) -> str:
    return json.dumps(spec, ensure_ascii=False)


def not_found(request, exception=None):
    """404 in the user's language, with the specific reason when the view gave one."""
    from django.urls import Resolver404

    message = ""
    if exception is not None and not isinstance(exception, Resolver404) and exception.args:
        message = str(exception.args[0])
    if not message:
        message = _("There is no page at this address. Try the list of goals or the map.")
    return render(request, "publishing/error.html", {"status": 404, "message": message}, status=404)
