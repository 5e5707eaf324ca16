"""Places are published under one unambiguous code everywhere (``geography.codes``): the API, the CSV, Open
SDG's GeoCode and SDMX's REF_AREA agree; a province by its ISO 3166-2 code (Hà Nội: ``VN-HN``, though our
own key for it is ``VN-01``, which ISO gives Lai Châu), the whole country by ``VN`` (M49 ``704`` in SDMX
only, as the SDG DSD requires); and what we publish reads back as our areas."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.workspace.conftest import (  # noqa: F401
    demo_accounts,
    demo_data_for_module,
    demo_study_with_data,
)
from voicescount.geography.codes import our_codes, public_codes, published
from voicescount.geography.models import Area
from voicescount.publishing import exports, open_sdg, sdmx_data, selectors

pytestmark = pytest.mark.django_db
PUBLISHED_PROVINCE = re.compile(r"VN-([A-Z]{2}|\d{2}|GSO-\d{2})")


@pytest.fixture
def area_run(demo_study_with_data):  # noqa: F811
    """A published run broken down by province (AREA)."""
    runs = selectors.published_runs().select_related("definition__indicator", "definition__study")
    run = next(r for r in runs if any("AREA" in e.dimensions for e in r.estimates.all()))
    return run


def test_the_rule():
    hanoi = Area.objects.get(code="VN-01")
    assert (hanoi.gso_code, hanoi.iso_code) == ("01", "VN-HN")
    assert published("VN-01") == "VN-HN" and published("VN") == "VN"
    lai_chau = Area.objects.get(iso_code="VN-01")
    assert lai_chau.code != "VN-01"  # ISO's VN-01 is another province: it is never published as ours
    assert our_codes()["VN-01"] == lai_chau.code and our_codes()["VN-HN"] == "VN-01"
    merged = Area.objects.filter(level=Area.Level.PROVINCE, iso_code="").exclude(gso_code="").first()
    assert published(merged.code) == f"VN-GSO-{merged.gso_code}"
    codes = [public for public, area in public_codes().values() if area.level == Area.Level.PROVINCE]
    assert len(codes) == len(set(codes))  # unambiguous


def test_api_csv_open_sdg_and_sdmx_agree_on_every_place(area_run, client):
    known = public_codes()
    provinces = {
        published(e.dimensions["AREA"], known)
        for e in area_run.estimates.all()
        if "AREA" in e.dimensions and e.estimate is not None
    }
    assert provinces and all(PUBLISHED_PROVINCE.fullmatch(code) for code in provinces)
    indicator = area_run.definition.indicator.code
    items = client.get(
        f"/api/v1/indicators/{indicator}/estimates",
        {"definition": area_run.definition.code, "by": "AREA", "limit": 1000},
    ).json()["items"]
    api = {i["dimensions"]["AREA"] for i in items if i["estimate"] is not None}
    assert api == provinces
    assert all(i["area"] == i["dimensions"]["AREA"] and i["key"] == f"AREA={i['area']}" for i in items)
    total = client.get(
        f"/api/v1/indicators/{indicator}/estimates", {"definition": area_run.definition.code, "key": "_T"}
    ).json()["items"]
    assert [i["area"] for i in total] == ["VN"]
    one = sorted(provinces)[0]
    assert (
        client.get(
            f"/api/v1/indicators/{indicator}/estimates",
            {"definition": area_run.definition.code, "key": f"AREA={one}"},
        ).json()["count"]
        == 1
    )

    rows = list(csv.DictReader(io.StringIO(exports.estimates_csv(area_run).decode("utf-8-sig"))))
    header = next(csv.reader(io.StringIO(exports.estimates_csv(area_run).decode("utf-8-sig"))))
    assert header.count("area") == 1 and "region" not in header  # places are the area column
    assert {r["area"] for r in rows if r["estimate"]} >= provinces | {"VN"}

    table = open_sdg.indicator_table([area_run])
    geocodes = {row["GeoCode"] for row in table.rows}
    assert provinces <= geocodes and "" in geocodes  # the national row: blank, as Open SDG has it

    ref_areas = {o["REF_AREA"] for o in sdmx_data.observations(area_run)}
    assert provinces <= ref_areas and "704" in ref_areas
