"""Read-side queries on areas: the provinces valid on a date, their map, re-coding across versions."""

from __future__ import annotations

import datetime as dt

from shapely.geometry import shape

from voicescount.geography.models import Area, AreaGrouping, AreaSuccession

SURVEY_SCHEME = "survey3"


def area_by_code(code: str) -> Area | None:
    return Area.objects.filter(code=code).first()


def provinces_on(country_code: str, on: dt.date):
    """The provinces of ``country_code`` in force on ``on`` (63 before 1 July 2025 in Viet Nam, 34 after)."""
    return Area.objects.filter(country_code=country_code, level=Area.Level.PROVINCE).valid_on(on)


def boundary_version_for(period_end: dt.date) -> str:
    """Which Vietnamese boundaries data of a reference period ending on ``period_end`` are mapped on."""
    from voicescount.geography.loaders import MERGER_DATE

    return "63" if period_end < MERGER_DATE else "34"


def successor_on(area: Area, on: dt.date) -> Area:
    """The area that ``area``'s territory belongs to on ``on`` (itself if it is still valid)."""
    seen = set()
    while area.valid_to is not None and area.valid_to < on and area.pk not in seen:
        seen.add(area.pk)
        nxt = AreaSuccession.objects.filter(predecessor=area).select_related("successor").first()
        if nxt is None:
            break
        area = nxt.successor
    return area


def recode_to(on: dt.date, country_code: str = "VN") -> dict[str, str]:
    """Map every province code and GSO code ever used to the code of the province valid on ``on``.

    Keys are area codes (``VN-02``) and bare GSO codes of the old provinces (``02``); values are area codes.
    A respondent's province recorded with the old code is counted in its successor for later periods.
    """
    mapping: dict[str, str] = {}
    successors = {s.predecessor_id: s.successor for s in AreaSuccession.objects.select_related("successor")}
    provinces = Area.objects.filter(country_code=country_code, level=Area.Level.PROVINCE)
    current = {a.pk for a in provinces.valid_on(on)}
    for area in provinces:
        target = area
        while target.pk not in current and target.pk in successors:
            target = successors[target.pk]
        if target.pk not in current:
            continue  # a province that only exists later than ``on``
        mapping[area.code] = target.code
        if area.gso_code and (area.valid_from is None or area.valid_from <= on):
            mapping.setdefault(area.gso_code, target.code)
    return mapping


def region_names(scheme: str, language: str) -> dict[int, str]:
    """Area id → name of its group in ``scheme`` in ``language`` ("vi" or "en")."""
    rows = AreaGrouping.objects.filter(scheme=scheme).select_related("group")
    return {g.member_id: (g.group.name if language == "vi" else g.group.name_en) for g in rows}


def two_lines(name: str) -> list[str]:
    """``name`` cut at the space nearest its middle ("Quần đảo", "Hoàng Sa"); one line if it has none."""
    spaces = [i for i, c in enumerate(name) if c == " "]
    if not spaces:
        return [name]
    cut = min(spaces, key=lambda i: abs(2 * i - len(name)))
    return [name[:cut], name[cut + 1 :]]


def province_feature_collection(country_code: str, on: dt.date, language: str = "vi") -> dict:
    """GeoJSON of the provinces valid on ``on`` plus the archipelagos, for the map.

    Every feature has ``kind`` ("province" or "archipelago"), ``code`` and ``name`` (in ``language``).
    An archipelago's islands are too small to see on a national map, so it also has ``label_lon`` and
    ``label_lat``, the centre of its islands' extent, where the map puts its marker, and its name as
    ``label_lines`` (two lines, narrow enough for a phone's map)."""
    regions = region_names(SURVEY_SCHEME, language)
    features = []
    for area in provinces_on(country_code, on).order_by("gso_code", "code"):
        if area.geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": area.code,
                "geometry": area.geometry,
                "properties": {
                    "kind": "province",
                    "code": area.code,
                    "gso_code": area.gso_code,
                    "name": area.name if language == "vi" else (area.name_en or area.name),
                    "macro_region_name": regions.get(area.pk, ""),
                },
            }
        )
    archipelagos = Area.objects.filter(country_code=country_code, level=Area.Level.ARCHIPELAGO).valid_on(on)
    for area in archipelagos.order_by("code"):
        west, south, east, north = shape(area.geometry).bounds
        features.append(
            {
                "type": "Feature",
                "id": area.code,
                "geometry": area.geometry,
                "properties": {
                    "kind": "archipelago",
                    "code": area.code,
                    "name": area.name if language == "vi" else area.name_en,
                    "label_lon": round((west + east) / 2, 4),
                    "label_lat": round((south + north) / 2, 4),
                    "label_lines": two_lines(area.name if language == "vi" else area.name_en),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
