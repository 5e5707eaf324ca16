"""The indicator page's province map uses the boundaries the data are coded to: the 63 provinces until
30 June 2025, the 34 from 1 July 2025 (re-coded ``@province`` / ``@province_2025`` data on their own map,
other codes by the reference period)."""

import datetime as dt
import json
import re

import pytest

from tests.indicators.test_compute import DIMENSIONS, definition, study  # noqa: F401  (fixtures)
from voicescount.geography.selectors import provinces_on
from voicescount.indicators import compute
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
    return compute.compute_definition(definition)


def _map_spec(client, run):
    page = client.get("/en/indicators/1.3.1/").content.decode()
    match = re.search(rf'<script id="map-{run.pk}-spec" type="application/json">(.*?)</script>', page, re.S)
    assert match, "the page has no province map"
    return page, json.loads(match.group(1))


def _codes(on):
    return set(provinces_on("VN", on).values_list("code", flat=True))


def test_data_recoded_to_the_63_provinces_are_shown_on_the_old_map(client, definition):  # noqa: F811
    run = _publish(definition, {"code_list": "AREA", "source": "@province"}, reference_period="2026")
    page, spec = _map_spec(client, run)
    layer = spec["layer"][0]
    assert layer["data"]["url"].endswith("/map/provinces-63.geojson")
    codes = {v["code"] for v in layer["transform"][0]["from"]["data"]["values"]}
    assert codes and codes <= _codes(OLD)
    assert "63 provinces in force until 30 June 2025" in page and "?boundaries=63" in page


def test_data_recoded_to_the_34_provinces_are_shown_on_the_new_map(client, definition):  # noqa: F811
    run = _publish(definition, {"code_list": "AREA", "source": "@province_2025"}, reference_period="2022")
    page, spec = _map_spec(client, run)
    layer = spec["layer"][0]
    assert layer["data"]["url"].endswith("/map/provinces-34.geojson")
    codes = {v["code"] for v in layer["transform"][0]["from"]["data"]["values"]}
    assert codes and codes <= _codes(NEW)
    assert "34 provinces in force from 1 July 2025" in page


@pytest.mark.parametrize(("period", "version"), [("2024", "63"), ("2025-Q2", "63"), ("2025-Q3", "34")])
def test_other_province_codes_follow_the_reference_period(client, definition, period, version):  # noqa: F811
    # Hà Nội (VN-01) kept its code through the merger, so a Hà Nội-only breakdown fits both maps.
    run = _publish(definition, {"code_list": "AREA", "source": "province", "codes": {"01": "VN-01"}}, period)
    assert province_boundaries(run.definition, {"VN-01"}) == version
    _, spec = _map_spec(client, run)
    assert spec["layer"][0]["data"]["url"].endswith(f"/map/provinces-{version}.geojson")


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
