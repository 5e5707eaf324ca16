"""Load the countries, macro-regions and (versioned) provinces from the committed files in ``data/``.

Sources are listed in ``data/SOURCES.md``. The Natural Earth file has known defects that are fixed here,
in code, so the copied file stays as published:

* three Vietnamese features carry a region's name instead of the province's (VN-39 is Đồng Nai, VN-53 is
  Bắc Kạn, VN-66 is Hưng Yên) — their ISO codes are right, so we name them by code;
* the Hoàng Sa (Paracel) and Trường Sa (Spratly) archipelagos are missing; they are added as Vietnamese
  areas (Hoàng Sa with Đà Nẵng, Trường Sa with Khánh Hòa) with their islands from Natural Earth's admin-0
  file (``ARCHIPELAGO_FILE``), not simplified: the islands are smaller than the simplification tolerance;
* the 34 provinces from 1 July 2025 have no polygons: they are the union of the provinces that merged.

Loading is idempotent (``update_or_create`` by code) and runs in one transaction.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from shapely import set_precision
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import unary_union

from voicescount.geography.models import Area, AreaGrouping, AreaSuccession

DATA = Path(__file__).resolve().parent / "data"
MERGER_DATE = dt.date(2025, 7, 1)
LAST_DAY_BEFORE_MERGER = MERGER_DATE - dt.timedelta(days=1)
MERGER_BASIS = "Resolution 202/2025/QH15"
SIMPLIFY_TOLERANCE = 0.004  # degrees (~400 m): enough for a national map, keeps pages light
PRECISION = 0.0001

Progress = Callable[[str, int, int], None]


class GeographyDataError(Exception):
    """The committed geography files do not match what the loader expects (names the file and row)."""


# Natural Earth features whose name is a region's; the ISO 3166-2 code is right.
NAME_FIXES = {"VN-39": "Đồng Nai", "VN-53": "Bắc Kạn", "VN-66": "Hưng Yên"}
# Renamed since Natural Earth's edition: Thừa Thiên Huế became the centrally-run Thành phố Huế (2025).
RENAMED = {"VN-26": "Huế"}

# GSO's six socio-economic regions, by the GSO code of the 63 provinces (until 30 June 2025).
GSO_REGIONS = {
    "RRD": (
        "Đồng bằng sông Hồng",
        "Red River Delta",
        "01 22 26 27 30 31 33 34 35 36 37",
    ),
    "NMM": (
        "Trung du và miền núi phía Bắc",
        "Northern Midlands and Mountains",
        "02 04 06 08 10 11 12 14 15 17 19 20 24 25",
    ),
    "NCC": (
        "Bắc Trung Bộ và duyên hải miền Trung",
        "North Central and Central Coast",
        "38 40 42 44 45 46 48 49 51 52 54 56 58 60",
    ),
    "CH": ("Tây Nguyên", "Central Highlands", "62 64 66 67 68"),
    "SE": ("Đông Nam Bộ", "South East", "70 72 74 75 77 79"),
    "MRD": ("Đồng bằng sông Cửu Long", "Mekong River Delta", "80 82 83 84 86 87 89 91 92 93 94 95 96"),
}
# The coalition survey's three macro-regions, as unions of GSO regions.
SURVEY_REGIONS = {
    "N": ("Miền Bắc", "North", ("RRD", "NMM")),
    "C": ("Miền Trung và Tây Nguyên", "Central & Central Highlands", ("NCC", "CH")),
    "S": ("Miền Nam", "South", ("SE", "MRD")),
}

# The archipelagos Vietnam's official maps always show, with the province each belongs to (GSO code of
# the 63). Their island outlines are Natural Earth's admin-0 polygons (data/SOURCES.md).
ARCHIPELAGOS = {
    "VN-HS": ("Quần đảo Hoàng Sa", "Hoang Sa (Paracel) Islands", "48"),
    "VN-TS": ("Quần đảo Trường Sa", "Truong Sa (Spratly) Islands", "56"),
}
ARCHIPELAGO_FILE = "natural-earth-10m-admin0-archipelagos-VNM.geojson"

OTHER_COUNTRIES = {
    "KE": (
        "KEN",
        "Kenya",
        "Natural Earth has Kenya's 8 former provinces; the 47 counties (2013) are not loaded.",
    ),
    "BD": ("BGD", "Bangladesh", "Natural Earth has 7 divisions; Mymensingh (2015) is missing."),
    "NP": ("NPL", "Nepal", "Natural Earth has the 14 former zones; the 7 provinces (2015) are not loaded."),
    "IN": ("IND", "India", ""),
    "MW": ("MWI", "Malawi", ""),
    "DK": ("DNK", "Denmark", ""),
}


def _key(name: str) -> str:
    """A name reduced for matching: no 'Tỉnh'/'Thành phố', no accents, spaces or hyphens."""
    name = unicodedata.normalize("NFC", name).strip()
    for prefix in ("Thành phố ", "Tỉnh "):
        name = name.removeprefix(prefix)
    decomposed = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).lower()


def _display_geometry(geom) -> dict:
    """Simplified, rounded, clockwise-oriented GeoJSON (what d3/Vega expect for spherical polygons)."""
    geom = set_precision(geom.simplify(SIMPLIFY_TOLERANCE, preserve_topology=True), PRECISION)
    polygons = [g for g in getattr(geom, "geoms", [geom]) if isinstance(g, Polygon) and not g.is_empty]
    oriented = [orient(p, sign=-1.0) for p in polygons]
    return mapping(oriented[0] if len(oriented) == 1 else MultiPolygon(oriented))


def _read_features(iso3: str) -> list[dict]:
    path = DATA / f"natural-earth-10m-admin1-{iso3}.geojson"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["features"]
    except (OSError, ValueError, KeyError) as exc:
        raise GeographyDataError(f"{path.name}: cannot read features ({exc})") from None


def _read_merger() -> list[dict[str, str]]:
    path = DATA / "vn-provinces-2025-merger.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != 63:
        raise GeographyDataError(f"{path.name}: expected 63 provinces, found {len(rows)}")
    return rows


def _save(code: str, **fields) -> Area:
    area, _ = Area.objects.update_or_create(code=code, defaults=fields)
    return area


def _group(scheme: str, member: Area, group: Area) -> None:
    AreaGrouping.objects.update_or_create(scheme=scheme, member=member, defaults={"group": group})


@transaction.atomic
def load_vietnam(progress: Progress | None = None) -> None:
    report = progress or (lambda *_: None)
    merger = _read_merger()
    features = _read_features("VNM")
    by_key = {_key(row["old_name"]): row for row in merger}
    old_geometry: dict[str, object] = {}
    iso_by_gso: dict[str, str] = {}
    for feature in features:
        props = feature["properties"]
        iso = props["iso_3166_2"]
        name = RENAMED.get(iso) or NAME_FIXES.get(iso) or props.get("name_vi") or props["name"]
        row = by_key.get(_key(name))
        if row is None:
            raise GeographyDataError(
                f"natural-earth-10m-admin1-VNM.geojson: {iso} '{name}' matches no province"
            )
        old_geometry[row["old_gso_code"]] = shape(feature["geometry"]).buffer(0)
        iso_by_gso[row["old_gso_code"]] = iso
    missing = sorted(set(by_key[k]["old_gso_code"] for k in by_key) - set(old_geometry))
    if missing:
        raise GeographyDataError(f"no boundary for provinces with GSO codes {', '.join(missing)}")

    country = _save("VN", level=Area.Level.COUNTRY, country_code="VN", name="Việt Nam", name_en="Viet Nam")
    regions: dict[str, Area] = {}
    for code, (name, name_en, _members) in GSO_REGIONS.items():
        regions[code] = _save(
            f"VN-GSO6-{code}",
            level=Area.Level.MACRO_REGION,
            country_code="VN",
            name=name,
            name_en=name_en,
            parent=country,
            note="One of GSO's six socio-economic regions.",
        )
    survey: dict[str, Area] = {}
    for code, (name, name_en, _parts) in SURVEY_REGIONS.items():
        survey[code] = _save(
            f"VN-R3-{code}",
            level=Area.Level.MACRO_REGION,
            country_code="VN",
            name=name,
            name_en=name_en,
            parent=country,
            note="One of the coalition survey's three macro-regions (union of GSO regions).",
        )
    gso_region_of = {g: code for code, (_, _, members) in GSO_REGIONS.items() for g in members.split()}
    survey_of = {gso: s for s, (_, _, parts) in SURVEY_REGIONS.items() for gso in parts}

    members_of: dict[str, list[str]] = defaultdict(list)
    for row in merger:
        members_of[row["new_gso_code"]].append(row["old_gso_code"])
    new_names = {row["new_gso_code"]: row["new_name"] for row in merger}
    unchanged = {new for new, olds in members_of.items() if olds == [new]}

    total = len(merger) + len(members_of)
    done = 0
    old_areas: dict[str, Area] = {}
    for row in merger:
        gso = row["old_gso_code"]
        is_unchanged = gso in unchanged
        area = _save(
            f"VN-{gso}",
            level=Area.Level.PROVINCE,
            country_code="VN",
            gso_code=gso,
            iso_code=iso_by_gso[gso],
            name=row["old_name"],
            name_en=_english(row["old_name"]),
            parent=country,
            valid_from=None,
            valid_to=None if is_unchanged else LAST_DAY_BEFORE_MERGER,
            geometry=_display_geometry(old_geometry[gso]),
        )
        _group("gso6", area, regions[gso_region_of[gso]])
        _group("survey3", area, survey[survey_of[gso_region_of[gso]]])
        old_areas[gso] = area
        done += 1
        report("Provinces of Viet Nam", done, total)

    for new, olds in sorted(members_of.items()):
        if new in unchanged:
            done += 1
            continue
        union = unary_union([old_geometry[o] for o in olds])
        area = _save(
            f"VN-2025-{new}",
            level=Area.Level.PROVINCE,
            country_code="VN",
            gso_code=new,
            iso_code="",
            name=new_names[new],
            name_en=_english(new_names[new]),
            parent=country,
            valid_from=MERGER_DATE,
            valid_to=None,
            geometry=_display_geometry(union),
            note="Merged on 1 July 2025 from: " + ", ".join(old_areas[o].name for o in olds),
        )
        # The new province keeps the GSO code of one of its predecessors; it takes that one's regions.
        _group("gso6", area, regions[gso_region_of[new]])
        _group("survey3", area, survey[survey_of[gso_region_of[new]]])
        for old in olds:
            AreaSuccession.objects.update_or_create(
                predecessor=old_areas[old],
                successor=area,
                defaults={"date": MERGER_DATE, "legal_basis": MERGER_BASIS},
            )
        done += 1
        report("Provinces of Viet Nam", done, total)

    islands = _read_archipelagos()
    for code, (name, name_en, province_gso) in ARCHIPELAGOS.items():
        _save(
            code,
            level=Area.Level.ARCHIPELAGO,
            country_code="VN",
            name=name,
            name_en=name_en,
            parent=country,
            gso_code="",
            geometry=_island_geometry(islands[code]),
            note=f"Part of the province with GSO code {province_gso}; islands as drawn by Natural Earth 10m.",
        )


def _read_archipelagos() -> dict[str, dict]:
    """Area code → GeoJSON geometry of the archipelago's islands, for every code of ``ARCHIPELAGOS``."""
    path = DATA / ARCHIPELAGO_FILE
    try:
        features = json.loads(path.read_text(encoding="utf-8"))["features"]
        by_code = {f["properties"]["code"]: f["geometry"] for f in features}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GeographyDataError(f"{path.name}: cannot read features ({exc})") from None
    missing = sorted(set(ARCHIPELAGOS) - set(by_code))
    if missing:
        raise GeographyDataError(f"{path.name}: no islands for {', '.join(missing)}")
    return by_code


def _island_geometry(geometry: dict) -> dict:
    """Islands as published (a few hundred metres across: simplifying would erase them), clockwise."""
    islands = [orient(p, sign=-1.0) for p in shape(geometry).geoms]
    return mapping(MultiPolygon(islands))


def _english(name: str) -> str:
    """English name: the Vietnamese name without its 'Tỉnh'/'Thành phố' prefix (accents kept), + 'City'."""
    if name.startswith("Thành phố "):
        return name.removeprefix("Thành phố ") + " City"
    return name.removeprefix("Tỉnh ")


@transaction.atomic
def load_country(country_code: str, progress: Progress | None = None) -> None:
    iso3, name_en, note = OTHER_COUNTRIES[country_code]
    report = progress or (lambda *_: None)
    features = _read_features(iso3)
    country = _save(
        country_code,
        level=Area.Level.COUNTRY,
        country_code=country_code,
        name=name_en,
        name_en=name_en,
        note=note,
    )
    # Natural Earth splits some units in several features with one ISO code (Malawi's Chitipa): one area each.
    by_code: dict[str, list[dict]] = defaultdict(list)
    for feature in features:
        by_code[feature["properties"]["iso_3166_2"]].append(feature)
    for i, (code, parts) in enumerate(by_code.items(), 1):
        props = parts[0]["properties"]
        geometry = unary_union([shape(f["geometry"]).buffer(0) for f in parts])
        _save(
            code,
            level=Area.Level.PROVINCE,
            country_code=country_code,
            iso_code=code,
            name=props.get("name") or props["name_en"],
            name_en=props.get("name_en") or props["name"],
            parent=country,
            geometry=_display_geometry(geometry),
            note=note,
        )
        report(f"Areas of {name_en}", i, len(by_code))


def load_all(progress: Progress | None = None) -> None:
    """Load Viet Nam and every other coalition country (idempotent)."""
    load_vietnam(progress)
    for code in OTHER_COUNTRIES:
        load_country(code, progress)
