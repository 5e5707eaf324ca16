"""Vega-Lite specifications for the public pages (drawn in the browser by the local vega-embed)."""

from __future__ import annotations

from django.utils.translation import gettext as _

# Colour-blind-safe categorical palette (Okabe–Ito) for the three macro-regions.
REGION_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]


def province_map_spec(data_url: str, title: str) -> dict:
    """A choropleth of provinces coloured by macro-region, with the archipelagos labelled."""
    province = {"field": "properties.kind", "equal": "province"}
    archipelago = {"field": "properties.kind", "equal": "archipelago"}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": title,
        "width": "container",
        "height": 560,
        "projection": {"type": "mercator"},
        "data": {"url": data_url, "format": {"type": "json", "property": "features"}},
        "layer": [
            {
                "transform": [{"filter": province}],
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
            {
                "transform": [{"filter": archipelago}],
                "mark": {"type": "geoshape", "fill": "#555555", "stroke": "#555555", "strokeWidth": 1},
                "encoding": {"tooltip": [{"field": "properties.name", "title": _("Archipelago")}]},
            },
            {
                "transform": [{"filter": archipelago}],
                "mark": {"type": "text", "dy": -12, "fontSize": 11, "fontWeight": "bold", "color": "#333333"},
                "encoding": {
                    "longitude": {"field": "properties.label_lon", "type": "quantitative"},
                    "latitude": {"field": "properties.label_lat", "type": "quantitative"},
                    "text": {"field": "properties.name"},
                },
            },
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


def estimate_map_spec(data_url: str, values: list[dict], title: str, legend: str) -> dict:
    """Provinces coloured by the estimate (suppressed or missing provinces grey), archipelagos drawn."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "title": title,
        "width": "container",
        "height": 520,
        "projection": {"type": "mercator"},
        "layer": [
            {
                "data": {"url": data_url, "format": {"type": "json", "property": "features"}},
                "transform": [
                    {
                        "lookup": "properties.code",
                        "from": {"data": {"values": values}, "key": "code", "fields": ["value", "n"]},
                    }
                ],
                "mark": {"type": "geoshape", "stroke": "#ffffff", "strokeWidth": 0.5},
                "encoding": {
                    "color": {
                        "condition": {"test": "datum.value == null", "value": "#cccccc"},
                        "field": "value",
                        "type": "quantitative",
                        "title": legend,
                        "scale": {"scheme": "blues"},
                    },
                    "tooltip": [
                        {"field": "properties.name", "title": _("Province")},
                        {"field": "value", "title": legend, "format": ".1f"},
                        {"field": "n", "title": _("Respondents")},
                    ],
                },
            }
        ],
    }
