"""Mappings of official files: what a real file holds (inspect_file), the mapping file (YAML or CSV) and its
checks, and the import with a mapping (import_mapped) that the page and the CLI share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from voicescount.collection.models import AuditEntry
from voicescount.indicators.models import OfficialObservation
from voicescount.indicators.official_inspect import AreaIndex, detect_format
from voicescount.indicators.official_mapping import (
    MappingError,
    check_mapping,
    import_mapped,
    inspect_file,
    load_mapping_file,
    mapping_as_csv,
)
from voicescount.indicators.official_readers import OfficialDataError

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
SDMX = DATA / "sdg-build_1-1-1_structure-specific.xml"
UNDATA = DATA / "undata_DF_SDG_GLH_1.24_sample.csv"
UNSD = DATA / "unsd_series_data_SI_COV_BENFTS_VN.json"
ONS = DATA / "indicator_1-2-1.csv"


@pytest.mark.parametrize(
    ("path", "fmt"), [(SDMX, "sdmx-ml"), (UNDATA, "sdmx-csv"), (UNSD, "unsd-json"), (ONS, "open-sdg")]
)
def test_the_format_is_recognised_from_the_file(path, fmt):
    assert detect_format(path.name, path.read_bytes()) == fmt


def test_an_unknown_format_is_named():
    with pytest.raises(OfficialDataError, match="x.txt: cannot tell the format"):
        detect_format("x.txt", b"a,b\n1,2\n")


def test_inspect_a_real_sdmx_file_suggests_the_indicator_from_the_un_series_list():
    contents = inspect_file(SDMX.name, SDMX.read_bytes())
    assert (contents.fmt, contents.rows, contents.periods) == ("sdmx-ml", 6, ("2020", "2021"))
    assert [(s.published, s.rows, s.suggestion, s.why, s.given) for s in contents.series] == [
        ("SI_POV_DAY1", 6, "1.1.1", "un", "")
    ]
    # M49 826 is the United Kingdom: not one of our areas, so no suggestion (kept as published)
    assert [(a.published, a.suggestion) for a in contents.areas] == [("826", "")]
    assert contents.codes == [] and contents.units == []


def test_a_series_newer_than_the_un_list_has_no_suggestion_and_a_shared_one_names_the_others():
    undata = inspect_file(UNDATA.name, UNDATA.read_bytes())
    assert [(s.published, s.suggestion, s.why) for s in undata.series] == [("ER_BDY_KMGBFT14", "", "")]
    text = b"DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE\nX,DC_ODA_BDVL,704,2020,1\n"
    shared = inspect_file("x.csv", text)
    assert [(s.suggestion, s.also) for s in shared.series] == [("15.a.1", "15.b.1")]


def test_the_un_series_list_names_only_indicators_of_our_framework():
    from voicescount.framework.models import Indicator
    from voicescount.indicators.official_inspect import un_series

    table = un_series()
    assert len(table) == 472 and table["SI_COV_BENFTS"] == ["1.3.1"]
    codes = {code for indicators in table.values() for code in indicators}
    assert codes <= set(Indicator.objects.filter(framework__code="global").values_list("code", flat=True))


def test_inspect_names_breakdowns_and_codes_we_do_not_have():
    undata = inspect_file(UNDATA.name, UNDATA.read_bytes())
    assert [(b.code_list, b.published, b.rows) for b in undata.other_breakdowns] == [
        ("COMPOSITE_BREAKDOWN", "KMGBFT14_ACHIEVED", 1)
    ]
    ons = inspect_file(ONS.name, ONS.read_bytes())
    assert [s.given for s in ons.series] == ["1.2.1"]  # from the file name
    assert [(a.published, a.also) for a in ons.areas] == [("VN", "default")]  # no GeoCode column
    assert [(c.code_list, c.published) for c in ons.codes][:2] == [
        ("AGE", "15 and under"),
        ("AGE", "16 to 24"),
    ]
    unsd = inspect_file(UNSD.name, UNSD.read_bytes())
    assert [(a.published, a.suggestion, a.why) for a in unsd.areas] == [("704", "VN", "country")]


def test_inspect_shows_the_mapping_entries_as_suggestions():
    contents = inspect_file(SDMX.name, SDMX.read_bytes(), mapping={"series": {"SI_POV_DAY1": "1.1.1"}})
    assert [(s.suggestion, s.why) for s in contents.series] == [("1.1.1", "mapping")]


@pytest.mark.parametrize(
    ("published", "code", "why", "also"),
    [
        ("704", "VN", "country", ""),
        ("VN", "VN", "country", ""),
        # ISO 3166-2 VN-01 is Lai Châu (GSO 12); our own code VN-01 is Hà Nội (GSO 01)
        ("VN-01", "VN-12", "iso", "VN-01"),
        ("01", "VN-01", "gso", ""),
        ("Hà Nội", "VN-01", "name", ""),
        ("Tỉnh Lai Châu", "VN-12", "name", ""),
        ("826", "", "", ""),
    ],
)
def test_area_suggestions(published, code, why, also):
    area, reason, other = AreaIndex(dt.date(2022, 12, 31)).suggest(published)
    assert ((area.code if area else ""), reason, other) == (code, why, also)


def test_yaml_and_csv_mapping_files_say_the_same(tmp_path):
    (tmp_path / "m.yaml").write_text(
        "series:\n  ER_BDY_KMGBFT14: '15.9.1'\nareas:\n  '704': VN\ncodes:\n  SEX:\n    FEMALE: F\n"
        "units:\n  Tỷ lệ (%): PT\n",
        encoding="utf-8",
    )
    (tmp_path / "m.csv").write_text(
        "kind,list,published,ours\nseries,,ER_BDY_KMGBFT14,15.9.1\narea,,704,VN\ncode,SEX,FEMALE,F\n"
        "unit,,Tỷ lệ (%),PT\n",
        encoding="utf-8",
    )
    from_yaml = load_mapping_file(tmp_path / "m.yaml")
    assert load_mapping_file(tmp_path / "m.csv") == from_yaml
    assert check_mapping(from_yaml) == from_yaml
    assert load_mapping_file_roundtrip(tmp_path, from_yaml) == from_yaml


def load_mapping_file_roundtrip(tmp_path, mapping):
    path = tmp_path / "again.csv"
    path.write_text(mapping_as_csv(mapping), encoding="utf-8")
    return load_mapping_file(path)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "kind,from,to\n", "a.csv: line 1: the header is kind,list,published,ours"),
        ("a.csv", "kind,list,published,ours\nregion,,X,Y\n", "a.csv: line 2: kind 'region' is not one of"),
        ("a.csv", "kind,list,published,ours\ncode,,F,F\n", "a.csv: line 2: a code entry names its code list"),
        ("a.yaml", "series: [1, 2\n", "a.yaml: is not valid YAML (line 2)"),
        ("a.yaml", "- 1\n", "a.yaml: a mapping is a dictionary"),
        ("a.json", "{}", "a.json: a mapping file is .yaml, .yml or .csv"),
    ],
)
def test_a_mapping_file_that_cannot_be_read_is_named(tmp_path, name, text, message):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as error:
        load_mapping_file(tmp_path / name)
    assert str(error.value).startswith(message)


def test_check_mapping_names_every_bad_entry():
    with pytest.raises(MappingError) as error:
        check_mapping(
            {
                "series": {"SI_POV_DAY1": "99.9.9"},
                "areas": {"826": "GB"},
                "codes": {"AGE": {"15 and under": "Y_LE15"}, "RELIGION": {"x": "y"}},
                "units": {"Bananas": "BANANA"},
                "regions": {},
            }
        )
    assert error.value.problems == [
        "regions: not a part of a mapping (series, areas, codes, units, columns, indicator, area, framework)",
        "series SI_POV_DAY1 → 99.9.9: not an indicator of the global framework",
        "area 826 → GB: not one of our areas",
        "code AGE 15 and under → Y_LE15: not a code of AGE",
        error.value.problems[4],
        error.value.problems[5],
    ]
    assert error.value.problems[4].startswith("codes RELIGION: not one of our code lists")
    assert error.value.problems[5].startswith("unit Bananas → BANANA: not a unit we compare")


def test_import_mapped_with_a_csv_mapping_file_imports_the_real_un_data_rows(tmp_path):
    path = tmp_path / "undata.csv"
    path.write_text("kind,list,published,ours\nseries,,ER_BDY_KMGBFT14,15.9.1\n", encoding="utf-8")
    summary = import_mapped(UNDATA, "auto", mapping=load_mapping_file(path), source="UN Data")
    assert (summary.created, len(summary.skipped)) == (1, 1)
    assert OfficialObservation.objects.get(source="UN Data").indicator.code == "15.9.1"
    entry = AuditEntry.objects.get(action="official_imported")
    assert entry.details["rows"] == 1 and entry.details["entries"] == {
        "series": {"ER_BDY_KMGBFT14": "15.9.1"}
    }


def test_a_refused_mapping_imports_nothing():
    with pytest.raises(MappingError):
        import_mapped(SDMX, "auto", mapping={"series": {"SI_POV_DAY1": "99.9.9"}}, source="x")
    assert not OfficialObservation.objects.filter(source="x").exists()
    assert not AuditEntry.objects.filter(action="official_imported").exists()
