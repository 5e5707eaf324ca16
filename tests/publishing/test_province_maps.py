"""The indicator page's province map uses the boundaries the data are coded to: the 63 provinces until
30 June 2025, the 34 from 1 July 2025 (re-coded ``@province`` / ``@province_2025`` data on their own map,
other codes by the reference period), and draws the whole country: every province, grey where nothing is
published, and the Hoàng Sa and Trường Sa archipelagos.

Maps are drawn here as the browser draws them: vl-convert runs the same Vega-Lite (6.4) and Vega as the
pages' vendored scripts and returns the scene graph, one item per drawn shape, point and text."""

import copy
import datetime as dt
import json
import re
from collections import defaultdict

import pytest
import vl_convert

from tests.indicators.test_compute import DIMENSIONS, definition, study  # noqa: F401  (fixtures)
from voicescount.geography.selectors import provinces_on
from voicescount.indicators import compute
from voicescount.indicators.models import Estimate
from voicescount.indicators.publication import publish
from voicescount.publishing.evidence import province_boundaries, reference_period_end

pytestmark = pytest.mark.django_db
OLD = dt.date(2025, 6, 30)
NEW = dt.date(2025, 7, 1)
# The fixture's respondents live in these five provinces (GSO codes of the 63).
RAW_CODES = {"01": "VN-01", "02": "VN-02", "08": "VN-08", "74": "VN-74", "79": "VN-79"}


def _publish(definition, area_spec, reference_period=""):  # noqa: F811
    definition.dimensions = [d for d in DIMENSIONS if d["code_list"] != "AREA"] + [area_spec]
    definition.reference_period = reference_period
    definition.is_public = True
    definition.save()
    definition.study.is_public = True
    definition.study.save()
    return publish(compute.compute_definition(definition), None, check_permission=False)


def _map_spec(client, run, language="en"):
    page = client.get(f"/{language}/indicators/1.3.1/").content.decode()
    match = re.search(rf'<script id="map-{run.pk}-spec" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the page has no province map"
    return page, json.loads(match.group(1))


def _codes(on):
    return set(provinces_on("VN", on).values_list("code", flat=True))


def _published(spec) -> dict[str, dict]:
    """Province code → the estimate the map's lookup joins to it."""
    lookup = next(t for t in spec["layer"][0]["transform"] if "lookup" in t)
    return {v["code"]: v for v in lookup["from"]["data"]["values"]}


def _drawn(client, spec, width=640) -> dict[str, list[dict]]:
    """The map drawn by Vega at ``width`` pixels, with the GeoJSON the page would load: mark type → items
    (each with its ``fill`` and ``description``, the text a screen reader and the tooltip get), and
    ``legend`` → the legends' labels."""
    spec = copy.deepcopy(spec)
    features = {}

    def inline(node):
        if isinstance(node, dict):
            if "url" in node:
                url = node.pop("url")
                node.pop("format", None)
                features.setdefault(url, json.loads(client.get(url).content)["features"])
                node["values"] = features[url]
            for value in node.values():
                inline(value)
        elif isinstance(node, list):
            for value in node:
                inline(value)

    inline(spec)
    spec["width"] = width
    drawn: dict[str, list[dict]] = defaultdict(list)

    def walk(node):
        for item in node.get("items", []):
            if node.get("role") == "mark" and node["marktype"] != "group":
                drawn[node["marktype"]].append(item)
            elif node.get("role") == "legend-label":
                drawn["legend"].append(item)
            walk(item)

    walk(vl_convert.vegalite_to_scenegraph(spec, vl_version="6.4")["scenegraph"])
    return drawn


def _fields(item: dict) -> dict[str, str]:
    """The fields a drawn item describes (``Province: Hà Nội City; Percent: 39.1`` → a dict)."""
    pairs = (part.split(": ", 1) for part in item.get("description", "").split("; ") if ": " in part)
    return dict(pairs)


def test_data_recoded_to_the_63_provinces_are_shown_on_the_old_map(client, definition):  # noqa: F811
    run = _publish(definition, {"code_list": "AREA", "source": "@province"}, reference_period="2026")
    page, spec = _map_spec(client, run)
    assert spec["data"]["url"].endswith("/map/provinces-63.geojson")
    codes = set(_published(spec))
    assert codes and codes <= _codes(OLD)
    assert "63 provinces in force until 30 June 2025" in page and "?boundaries=63" in page


def test_data_recoded_to_the_34_provinces_are_shown_on_the_new_map(client, definition):  # noqa: F811
    run = _publish(definition, {"code_list": "AREA", "source": "@province_2025"}, reference_period="2022")
    page, spec = _map_spec(client, run)
    assert spec["data"]["url"].endswith("/map/provinces-34.geojson")
    codes = set(_published(spec))
    assert codes and codes <= _codes(NEW)
    assert "34 provinces in force from 1 July 2025" in page


@pytest.mark.parametrize(("period", "version"), [("2024", "63"), ("2025-Q2", "63"), ("2025-Q3", "34")])
def test_other_province_codes_follow_the_reference_period(client, definition, period, version):  # noqa: F811
    # Hà Nội (VN-01) kept its code through the merger, so a Hà Nội-only breakdown fits both maps.
    run = _publish(definition, {"code_list": "AREA", "source": "province", "codes": {"01": "VN-01"}}, period)
    assert province_boundaries(run.definition, {"VN-01"}) == version
    _, spec = _map_spec(client, run)
    assert spec["data"]["url"].endswith(f"/map/provinces-{version}.geojson")


def test_codes_of_abolished_provinces_are_never_drawn_on_the_new_map(definition):  # noqa: F811
    run = _publish(definition, {"code_list": "AREA", "source": "province", "codes": RAW_CODES}, "2025")
    codes = {e.dimensions["AREA"] for e in run.estimates.all() if list(e.dimensions) == ["AREA"]}
    assert not codes <= _codes(NEW)  # some of them were merged away on 1 July 2025
    assert province_boundaries(run.definition, codes) == "63"


@pytest.mark.parametrize(
    ("text", "end"),
    [
        ("2022", dt.date(2022, 12, 31)),
        ("2025-Q2", dt.date(2025, 6, 30)),
        ("2025-06", dt.date(2025, 6, 30)),
        ("2025-07", dt.date(2025, 7, 31)),
        ("2025-06-15", dt.date(2025, 6, 15)),
        ("", dt.date(2022, 6, 30)),  # the study's last day of data collection
        ("spring", dt.date(2022, 6, 30)),
    ],
)
def test_reference_period_end(definition, text, end):  # noqa: F811
    definition.reference_period = text
    assert reference_period_end(definition) == end


NO_DATA = {"en": "no data / not sampled", "vi": "không có số liệu"}
ISLANDS = {
    "en": ("Hoang Sa (Paracel) Islands", "Truong Sa (Spratly) Islands"),
    "vi": ("Quần đảo Hoàng Sa", "Quần đảo Trường Sa"),
}


@pytest.mark.parametrize(
    ("source", "period", "on", "language"),
    [("@province", "2026", OLD, "en"), ("@province_2025", "2022", NEW, "vi")],
)
def test_the_map_draws_every_province_and_the_archipelagos(client, definition, source, period, on, language):  # noqa: F811
    """The fixture's respondents live in 5 provinces: the map still draws all 63 (or 34), the others grey."""
    run = _publish(definition, {"code_list": "AREA", "source": source}, reference_period=period)
    _, spec = _map_spec(client, run, language)
    published = _published(spec)
    drawn = _drawn(client, spec)
    title = "Province" if language == "en" else "Tỉnh/thành phố"
    provinces = [s for s in drawn["shape"] if title in _fields(s)]
    names = {a.name if language == "vi" else a.name_en for a in provinces_on("VN", on)}
    assert sorted(_fields(s)[title] for s in provinces) == sorted(names)
    grey = [s for s in provinces if NO_DATA[language] in _fields(s).values()]
    assert len(grey) == len(names) - len(published) > 0
    assert {s["fill"] for s in grey} == {"#d4d4d4"}
    assert all(s["fill"] != "#d4d4d4" for s in provinces if s not in grey)
    assert NO_DATA[language] in {t["text"] for t in drawn["legend"]}, "no legend entry for 'no data'"
    labels = {" ".join(t["text"]) for t in drawn["text"] if isinstance(t.get("text"), list)}
    assert set(ISLANDS[language]) <= labels
    archipelago = "Archipelago" if language == "en" else "Quần đảo"
    islands = sorted(_fields(s)[archipelago] for s in drawn["shape"] if archipelago in _fields(s))
    markers = sorted(_fields(p)[archipelago] for p in drawn["symbol"] if archipelago in _fields(p))
    assert islands == markers == sorted(ISLANDS[language])


def test_a_suppressed_province_is_grey_not_missing(client, definition):  # noqa: F811
    """A province whose estimate is suppressed is drawn, grey, with no number in its tooltip."""
    run = _publish(definition, {"code_list": "AREA", "source": "@province"}, reference_period="2026")
    # As the disclosure control stores a suppressed cell: no number, a flag saying why.
    run.estimates.filter(key="AREA=VN-01").update(
        estimate=None, se=None, ci_low=None, ci_high=None, flag=Estimate.Flag.SUPPRESSED_SMALL
    )
    _, spec = _map_spec(client, run)
    assert "VN-01" not in _published(spec)
    drawn = _drawn(client, spec, width=360)
    hanoi = [s for s in drawn["shape"] if _fields(s).get("Province") == "Hà Nội City"]
    assert len(hanoi) == 1
    assert hanoi[0]["fill"] == "#d4d4d4" and NO_DATA["en"] in _fields(hanoi[0]).values()
