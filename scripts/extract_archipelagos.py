"""Write the island outlines of the Hoàng Sa and Trường Sa archipelagos from Natural Earth's 10m admin-0
countries, as redistributed by the npm package world-atlas 2.0.2 (Natural Earth 4.1.0 as TopoJSON).

Natural Earth's admin-1 file for Viet Nam has neither archipelago. Its admin-0 file has both: the Trường Sa
(Spratly) islands are the feature "Spratly Is."; the Hoàng Sa (Paracel) islands are the polygons of the
feature "China" inside the box below (Natural Earth's default edition draws them with China). The polygons
are written as Natural Earth has them (TopoJSON arcs decoded, rounded to 1e-4°); nothing is drawn by hand.

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python scripts/extract_archipelagos.py package/countries-10m.json \
        src/voicescount/geography/data/natural-earth-10m-admin0-archipelagos-VNM.geojson
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from shapely.geometry import MultiPolygon, Polygon, box, mapping

# (area code, Natural Earth feature, the box that holds the archipelago: lon_min, lat_min, lon_max, lat_max)
ARCHIPELAGOS = [
    ("VN-HS", "China", (110.5, 15.0, 113.5, 17.5)),
    ("VN-TS", "Spratly Is.", (109.5, 4.0, 118.0, 12.5)),
]


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """The topology's quantized, delta-encoded arcs as lists of (lon, lat) (TopoJSON specification §2.1.3)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def polygons(geometry: dict, arcs: list) -> list[Polygon]:
    """The polygons of a TopoJSON Polygon or MultiPolygon (a negative arc index is that arc reversed)."""

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for i in indexes:
            arc = arcs[i] if i >= 0 else arcs[~i][::-1]
            points.extend(arc if not points else arc[1:])
        return points

    parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
    out = []
    for part in parts:
        rings = [r for r in (ring(p) for p in part) if len(r) >= 4]  # quantization can collapse a tiny ring
        if rings:
            out.append(Polygon(rings[0], rings[1:]))
    return out


def extract(topology: dict) -> dict:
    """A GeoJSON FeatureCollection with one MultiPolygon feature per archipelago."""
    arcs = decode_arcs(topology)
    by_name = {g["properties"]["name"]: g for g in topology["objects"]["countries"]["geometries"]}
    features = []
    for code, name, bounds in ARCHIPELAGOS:
        area = box(*bounds)
        islands = [p for p in polygons(by_name[name], arcs) if area.contains(p)]
        if not islands:
            raise SystemExit(f"{name}: no polygon inside {bounds}")
        geometry = json.loads(json.dumps(mapping(MultiPolygon(islands))))
        geometry["coordinates"] = [
            [[[round(x, 4), round(y, 4)] for x, y in ring] for ring in polygon]
            for polygon in geometry["coordinates"]
        ]
        properties = {"code": code, "natural_earth_feature": name, "box": list(bounds)}
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def main(source: str, target: str) -> None:
    """Read the world-atlas TopoJSON at ``source`` and write the archipelagos' GeoJSON to ``target``."""
    collection = extract(json.loads(Path(source).read_text(encoding="utf-8")))
    Path(target).write_text(json.dumps(collection, ensure_ascii=False) + "\n", encoding="utf-8")
    for feature in collection["features"]:
        props = feature["properties"]
        count = len(feature["geometry"]["coordinates"])
        print(f"{props['code']}: {count} islands from '{props['natural_earth_feature']}'")


if __name__ == "__main__":
    main(*sys.argv[1:3])
