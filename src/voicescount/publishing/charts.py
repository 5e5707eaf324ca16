"""Vega-Lite specifications for the public pages (drawn in the browser by the local vega-embed)."""

from __future__ import annotations

import json

from django.utils.translation import gettext as _

# Colour-blind-safe categorical palette (Okabe–Ito) for the three macro-regions.
REGION_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


# Provinces without a published estimate (not sampled, or suppressed) are grey; the estimate's scale starts
# at a light blue rather than near-white, so that no estimate looks like the grey.
NO_DATA_GREY = "#d4d4d4"
ESTIMATE_SCHEME = {"name": "blues", "extent": [0.2, 1]}
ISLANDS_INK = "#333333"
PROVINCE = {"field": "properties.kind", "equal": "province"}
ARCHIPELAGO = {"field": "properties.kind", "equal": "archipelago"}


def archipelago_layers() -> list[dict]:
    """The Hoàng Sa and Trường Sa archipelagos, drawn on every national map: their islands (Natural
    Earth's outlines, smaller than a pixel on a national map), a circle around each archipelago so that
    it can be seen, and its name below it. The features carry ``label_lon``/``label_lat`` and
    ``label_lines`` (``geography.selectors.province_feature_collection``)."""
    where = {"longitude": {"field": "properties.label_lon", "type": "quantitative"}}
    where["latitude"] = {"field": "properties.label_lat", "type": "quantitative"}
    tooltip = [{"field": "properties.name", "title": _("Archipelago")}]
    only = [{"filter": ARCHIPELAGO}]
    return [
        {
            "name": "archipelago_islands",
            "transform": only,
            "mark": {"type": "geoshape", "fill": ISLANDS_INK, "stroke": ISLANDS_INK, "strokeWidth": 0.8},
            "encoding": {"tooltip": tooltip},
        },
        {
            "name": "archipelago_markers",
            "transform": only,
            "mark": {
                "type": "point",
                "shape": "circle",
                "size": 1500,
                "filled": False,
                "stroke": ISLANDS_INK,
                "strokeWidth": 1,
                "strokeDash": [3, 2],
            },
            "encoding": {**where, "tooltip": tooltip},
        },
        {
            "name": "archipelago_labels",
            "transform": only,
            "mark": {
                "type": "text",
                "baseline": "top",
                "dy": 25,
                "fontSize": 11,
                "fontWeight": "bold",
                "color": ISLANDS_INK,
            },
            "encoding": {**where, "text": {"field": "properties.label_lines"}},
        },
    ]


def province_map_spec(data_url: str, title: str) -> dict:
    """A choropleth of provinces coloured by macro-region, with the archipelagos drawn and labelled."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": title,
        "width": "container",
        "height": 560,
        "projection": {"type": "mercator"},
        "data": {"url": data_url, "format": {"type": "json", "property": "features"}},
        "layer": [
            {
                "name": "provinces",
                "transform": [{"filter": PROVINCE}],
                "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.6},
                "encoding": {
                    "color": {
                        "field": "properties.macro_region_name",
                        "type": "nominal",
                        "title": _("Region"),
                        "scale": {"range": REGION_COLOURS},
                    },
                    "tooltip": [
                        {"field": "properties.name", "title": _("Province")},
                        {"field": "properties.gso_code", "title": _("GSO code")},
                        {"field": "properties.macro_region_name", "title": _("Region")},
                    ],
                },
            },
            *archipelago_layers(),
        ],
    }


def estimate_chart_spec(rows: list[dict], title: str, axis_title: str, percent: bool) -> dict:
    """Point estimates with 95% confidence intervals as error bars, one row per group (suppressed omitted)."""
    scale = 100 if percent else 1
    values = [
        {
            "group": r["label"],
            "estimate": r["estimate"] * scale,
            "low": None if r["ci_low"] is None else r["ci_low"] * scale,
            "high": None if r["ci_high"] is None else r["ci_high"] * scale,
            "n": r["n"],
        }
        for r in rows
        if r["estimate"] is not None
    ]
    y = {"field": "group", "type": "nominal", "title": None, "sort": None}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": title,
        "width": "container",
        "data": {"values": values},
        "encoding": {"y": y},
        "layer": [
            {
                "mark": {"type": "rule", "color": "#555555"},
                "encoding": {
                    "x": {"field": "low", "type": "quantitative", "title": axis_title},
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 80, "color": "#0072B2"},
                "encoding": {
                    "x": {"field": "estimate", "type": "quantitative"},
                    "tooltip": [
                        {"field": "group", "title": _("Group")},
                        {"field": "estimate", "title": _("Estimate"), "format": ".1f"},
                        {"field": "low", "title": _("95% CI from"), "format": ".1f"},
                        {"field": "high", "title": _("95% CI to"), "format": ".1f"},
                        {"field": "n", "title": _("Respondents")},
                    ],
                },
            },
        ],
    }


def title_lines(title: str) -> list[str]:
    """A title on two lines before its parenthesis ("By province", "(the 63 provinces …)"), so that it
    fits a phone's width; a title without one is one line."""
    head, bracket, rest = title.partition(" (")
    return [head, f"({rest}"] if bracket else [title]


def estimate_map_spec(data_url: str, values: list[dict], title: str, legend: str) -> dict:
    """The whole country, every province filled by its published estimate (``values``: ``code``,
    ``value``, ``n``), the others grey with the legend entry and tooltip "no data / not sampled", and the
    archipelagos.

    Two province layers, each province in exactly one: Vega-Lite leaves out of a mark every datum whose
    quantitative colour field is null (its default ``invalid: "filter"``), so one layer coloured by the
    estimate would drop every province without one; and a grey of its own scale gets a legend entry.
    """
    no_data = _("no data / not sampled")
    lookup = {
        "lookup": "properties.code",
        "from": {"data": {"values": values}, "key": "code", "fields": ["value", "n"]},
    }
    provinces = [{"filter": PROVINCE}, lookup]
    province_name = {"field": "properties.name", "title": _("Province")}
    outline = {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.5}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": {"text": title_lines(title)},
        "width": "container",
        "height": 520,
        "projection": {"type": "mercator"},
        "data": {"url": data_url, "format": {"type": "json", "property": "features"}},
        "layer": [
            {
                "name": "provinces_published",
                "transform": [*provinces, {"filter": "isValid(datum.value)"}],
                "mark": outline,
                "encoding": {
                    "color": {
                        "field": "value",
                        "type": "quantitative",
                        "title": legend,
                        "scale": {"scheme": ESTIMATE_SCHEME},
                        "legend": {"orient": "bottom", "gradientLength": 160},
                    },
                    "tooltip": [
                        province_name,
                        {"field": "value", "title": legend, "format": ".1f"},
                        {"field": "n", "title": _("Respondents")},
                    ],
                },
            },
            {
                "name": "provinces_without_data",
                "transform": [
                    *provinces,
                    {"filter": "!isValid(datum.value)"},
                    {"calculate": json.dumps(no_data, ensure_ascii=False), "as": "no_data"},
                ],
                "mark": outline,
                "encoding": {
                    "color": {
                        "field": "no_data",
                        "type": "nominal",
                        "title": None,
                        "scale": {"range": [NO_DATA_GREY]},
                        "legend": {"orient": "bottom", "symbolType": "square"},
                    },
                    "tooltip": [province_name, {"field": "no_data", "title": legend}],
                },
            },
            *archipelago_layers(),
        ],
        "resolve": {"scale": {"color": "independent"}, "legend": {"color": "independent"}},
    }
