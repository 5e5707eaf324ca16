"""Versioned geography: 63 provinces until 30 June 2025, 34 from 1 July 2025, and re-coding between them."""

import datetime as dt
import json

import pytest
from shapely.geometry import shape

from voicescount.geography import loaders, selectors
from voicescount.geography.models import Area, AreaGrouping, AreaSuccession

pytestmark = pytest.mark.django_db
BEFORE, AFTER = dt.date(2025, 6, 30), dt.date(2025, 7, 1)


def test_63_then_34_provinces():
    assert selectors.provinces_on("VN", BEFORE).count() == 63
    assert selectors.provinces_on("VN", AFTER).count() == 34
    assert selectors.provinces_on("VN", dt.date(2020, 1, 1)).count() == 63


def test_gso_codes_are_unique_on_each_date():
    for on in (BEFORE, AFTER):
        codes = list(selectors.provinces_on("VN", on).values_list("gso_code", flat=True))
        assert len(codes) == len(set(codes))


def test_natural_earth_name_defects_are_fixed():
    names = {a.iso_code: a.name for a in Area.objects.filter(country_code="VN", level="province")}
    assert names["VN-39"] == "Tỉnh Đồng Nai"
    assert names["VN-53"] == "Tỉnh Bắc Kạn"
    assert names["VN-66"] == "Tỉnh Hưng Yên"
    assert not any("Bộ" in n or "Vùng" in n or "Đồng Bằng" in n for n in names.values())


def test_merged_province_is_the_union_of_its_predecessors():
    new = Area.objects.get(code="VN-2025-08")
    assert new.name == "Tỉnh Tuyên Quang" and new.valid_from == AFTER
    predecessors = {s.predecessor.name for s in AreaSuccession.objects.filter(successor=new)}
    assert predecessors == {"Tỉnh Hà Giang", "Tỉnh Tuyên Quang"}
    union = shape(new.geometry)
    for old in ("VN-02", "VN-08"):
        part = shape(Area.objects.get(code=old).geometry)
        assert union.buffer(0.01).contains(part.representative_point())
    assert Area.objects.get(code="VN-02").valid_to == BEFORE


def test_unchanged_province_is_one_area_valid_throughout():
    hanoi = Area.objects.get(code="VN-01")
    assert hanoi.valid_from is None and hanoi.valid_to is None
    assert not Area.objects.filter(code="VN-2025-01").exists()


def test_rings_are_clockwise_for_vega():
    from shapely.geometry import Polygon

    geometry = shape(Area.objects.get(code="VN-2025-79").geometry)
    for polygon in getattr(geometry, "geoms", [geometry]):
        assert isinstance(polygon, Polygon)
        assert not polygon.exterior.is_ccw


def test_recode_old_codes_to_new_provinces():
    mapping = selectors.recode_to(AFTER)
    assert mapping["VN-02"] == "VN-2025-08"  # Hà Giang → Tuyên Quang
    assert mapping["02"] == "VN-2025-08"  # a bare GSO code from a questionnaire
    assert mapping["VN-01"] == "VN-01"  # Hà Nội unchanged
    assert mapping["VN-74"] == "VN-2025-79"  # Bình Dương → Hồ Chí Minh City
    assert set(mapping.values()) == set(selectors.provinces_on("VN", AFTER).values_list("code", flat=True))
    before = selectors.recode_to(BEFORE)
    assert before["VN-02"] == "VN-02" and "VN-2025-08" not in before


def test_every_province_is_in_one_survey_region_and_one_gso_region():
    provinces = Area.objects.filter(country_code="VN", level="province")
    for scheme, groups in (("survey3", 3), ("gso6", 6)):
        rows = AreaGrouping.objects.filter(scheme=scheme, member__in=provinces)
        assert rows.count() == provinces.count()
        assert rows.values("group").distinct().count() == groups
    hcmc = AreaGrouping.objects.get(scheme="survey3", member__code="VN-79").group
    assert hcmc.name_en == "South"


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("vi", ["Quần đảo Hoàng Sa", "Quần đảo Trường Sa"]),
        ("en", ["Hoang Sa (Paracel) Islands", "Truong Sa (Spratly) Islands"]),
    ],
)
@pytest.mark.parametrize(("on", "provinces"), [(BEFORE, 63), (AFTER, 34)])
def test_feature_collection_has_archipelagos_as_vietnamese(language, names, on, provinces):
    collection = selectors.province_feature_collection("VN", on, language=language)
    kinds = [f["properties"]["kind"] for f in collection["features"]]
    assert kinds.count("province") == provinces and kinds.count("archipelago") == 2
    archipelagos = [
        f["properties"] for f in collection["features"] if f["properties"]["kind"] == "archipelago"
    ]
    assert [a["name"] for a in archipelagos] == names


# Where the archipelagos are (public record: Hoàng Sa about 16.5° N 112° E, Trường Sa about 10° N 114° E),
# as boxes around them; the islands are Natural Earth's, not drawn by us.
ARCHIPELAGO_BOXES = {"VN-HS": (110.5, 15.5, 113.0, 17.5), "VN-TS": (111.5, 7.5, 116.5, 12.0)}


@pytest.mark.parametrize(("code", "islands"), [("VN-HS", 7), ("VN-TS", 12)])
def test_archipelagos_are_natural_earths_islands_where_they_are(code, islands):
    from shapely.geometry import box

    geometry = shape(Area.objects.get(code=code).geometry)
    assert geometry.geom_type == "MultiPolygon" and len(geometry.geoms) == islands
    assert box(*ARCHIPELAGO_BOXES[code]).contains(geometry)
    assert all(not polygon.exterior.is_ccw for polygon in geometry.geoms)  # clockwise, as Vega expects
    feature = next(
        f["properties"]
        for f in selectors.province_feature_collection("VN", AFTER)["features"]
        if f["properties"]["code"] == code
    )
    marker = (feature["label_lon"], feature["label_lat"])
    assert box(*ARCHIPELAGO_BOXES[code]).contains(shape({"type": "Point", "coordinates": marker}))


def test_missing_archipelago_islands_are_a_clear_error(tmp_path, monkeypatch):
    for name in ("vn-provinces-2025-merger.csv", "natural-earth-10m-admin1-VNM.geojson"):
        (tmp_path / name).write_bytes((loaders.DATA / name).read_bytes())
    islands = json.loads((loaders.DATA / loaders.ARCHIPELAGO_FILE).read_text(encoding="utf-8"))
    islands["features"] = [f for f in islands["features"] if f["properties"]["code"] != "VN-TS"]
    (tmp_path / loaders.ARCHIPELAGO_FILE).write_text(json.dumps(islands), encoding="utf-8")
    monkeypatch.setattr(loaders, "DATA", tmp_path)
    with pytest.raises(loaders.GeographyDataError, match="no islands for VN-TS"):
        loaders.load_vietnam()


def test_other_coalition_countries_load():
    for country, count in (("KE", 8), ("BD", 7), ("NP", 14), ("IN", 36), ("MW", 27), ("DK", 5)):
        assert Area.objects.filter(country_code=country, level="province").count() == count


def test_loading_twice_changes_nothing():
    before = (Area.objects.count(), AreaSuccession.objects.count(), AreaGrouping.objects.count())
    loaders.load_all()
    assert (Area.objects.count(), AreaSuccession.objects.count(), AreaGrouping.objects.count()) == before


def test_boundary_version_by_period():
    assert selectors.boundary_version_for(dt.date(2022, 12, 31)) == "63"
    assert selectors.boundary_version_for(dt.date(2025, 12, 31)) == "34"


def test_a_province_missing_from_the_boundaries_is_a_clear_error(tmp_path, monkeypatch):
    merger = (loaders.DATA / "vn-provinces-2025-merger.csv").read_text(encoding="utf-8")
    (tmp_path / "vn-provinces-2025-merger.csv").write_text(
        merger.replace("Tỉnh Cao Bằng", "Tỉnh Không Có"), encoding="utf-8"
    )
    (tmp_path / "natural-earth-10m-admin1-VNM.geojson").write_bytes(
        (loaders.DATA / "natural-earth-10m-admin1-VNM.geojson").read_bytes()
    )
    monkeypatch.setattr(loaders, "DATA", tmp_path)
    with pytest.raises(loaders.GeographyDataError, match="VN-04 'Cao Bằng' matches no province"):
        loaders.load_vietnam()


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("Quần đảo Hoàng Sa", ["Quần đảo", "Hoàng Sa"]),
        ("Truong Sa (Spratly) Islands", ["Truong Sa", "(Spratly) Islands"]),
        ("Hoàng", ["Hoàng"]),
    ],
)
def test_archipelago_names_are_labelled_on_two_lines(name, lines):
    assert selectors.two_lines(name) == lines
