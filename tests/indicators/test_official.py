"""Importing official series: SDMX-ML, SDMX-CSV, Open SDG CSV and UN SDG API JSON, from real samples."""

import datetime as dt
from pathlib import Path

import pytest

from voicescount.indicators.models import OfficialObservation
from voicescount.indicators.official import OfficialDataError, canonical_key, import_official

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def observations(**filters):
    return {
        (o.indicator.code, o.area_code, o.period, o.key): o.value
        for o in OfficialObservation.objects.filter(**filters).select_related("indicator")
    }


def test_canonical_key_drops_totals_and_sorts_by_code_list():
    assert canonical_key({"SEX": "F", "AGE": "Y15T24", "URBANISATION": "_T"}) == "AGE=Y15T24|SEX=F"
    assert canonical_key({"SEX": "_T"}) == "_T"
    assert canonical_key({}) == "_T"


def test_sdmx_ml_structure_specific_from_sdg_build():
    summary = import_official(
        DATA / "sdg-build_1-1-1_structure-specific.xml",
        "sdmx-ml",
        source="sdg-build test data",
        mapping={"series": {"SI_POV_DAY1": "1.1.1"}},
        retrieved=dt.date(2026, 11, 25),
    )
    assert (summary.created, summary.updated, summary.skipped) == (6, 0, [])
    assert observations(source="sdg-build test data") == {
        ("1.1.1", "GB", "2020", "_T"): 100.0,
        ("1.1.1", "GB", "2021", "_T"): 120.0,
        ("1.1.1", "GB", "2020", "SEX=M"): 50.0,
        ("1.1.1", "GB", "2021", "SEX=M"): 60.0,
        ("1.1.1", "GB", "2020", "SEX=F"): 70.0,
        ("1.1.1", "GB", "2021", "SEX=F"): 80.0,
    }
    female = OfficialObservation.objects.get(key="SEX=F", period="2020")
    assert female.series == "SI_POV_DAY1"
    assert female.dimensions == {"SEX": "F"}
    assert female.unit == "PT"
    assert female.retrieved == dt.date(2026, 11, 25)


def test_sdmx_ml_without_series_mapping_skips_with_reason():
    summary = import_official(DATA / "sdg-build_1-1-1_structure-specific.xml", "sdmx-ml", source="x")
    assert summary.created == 0
    assert len(summary.skipped) == 6
    assert (
        summary.skipped[0] == "row 1: series 'SI_POV_DAY1' has no indicator (map it with mapping['series'])"
    )


def test_import_is_idempotent():
    args = (DATA / "sdg-build_1-1-1_structure-specific.xml", "sdmx-ml")
    kwargs = {"source": "sdg-build", "mapping": {"series": {"SI_POV_DAY1": "1.1.1"}}}
    first = import_official(*args, **kwargs)
    second = import_official(*args, **kwargs)
    assert (first.created, first.updated) == (6, 0)
    assert (second.created, second.updated) == (0, 6)
    assert OfficialObservation.objects.filter(source="sdg-build").count() == 6


def test_sdmx_csv_from_un_data_skips_breakdown_we_do_not_have():
    summary = import_official(
        DATA / "undata_DF_SDG_GLH_1.24_sample.csv",
        "sdmx-csv",
        source="UN Data",
        mapping={"series": {"ER_BDY_KMGBFT14": "15.9.1"}},
    )
    assert summary.created == 1
    assert summary.skipped == [
        "row 3: COMPOSITE_BREAKDOWN=KMGBFT14_ACHIEVED: COMPOSITE_BREAKDOWN is not one of our code lists"
    ]
    obs = OfficialObservation.objects.get(source="UN Data")
    assert (obs.indicator.code, obs.area_code, obs.period, obs.key, obs.value, obs.unit) == (
        "15.9.1",
        "1",
        "2026",
        "_T",
        158.0,
        "NUMBER",
    )


def test_sdmx_csv_2_0_with_indicator_column_bounds_and_unit_multiplier():
    text = (
        "STRUCTURE,STRUCTURE_ID,ACTION,SERIES,REF_AREA,SEX,AGE,URBANISATION,TIME_PERIOD,OBS_VALUE,"
        "UNIT_MEASURE,UNIT_MULT,LOWER_BOUND,UPPER_BOUND,INDICATOR\n"
        "dataflow,IAEG-SDGs:DF_SDG_GLH(1.24),I,SI_COV_BENFTS,704,F,Y15T24,R,2022,0.388,PT,2,0.35,0.42,1_3_1\n"
        "dataflow,IAEG-SDGs:DF_SDG_GLH(1.24),I,SI_COV_BENFTS,704,X,_T,_T,2022,40,PT,0,,,1_3_1\n"
    )
    summary = import_official(text.encode(), "sdmx-csv", source="test")
    assert summary.skipped == ["row 3: SEX=X is not a code of SEX (map it with mapping['codes'])"]
    obs = OfficialObservation.objects.get(source="test")
    assert obs.indicator.code == "1.3.1"
    assert obs.area_code == "VN"
    assert obs.key == "AGE=Y15T24|SEX=F|URBANISATION=R"
    assert obs.value == pytest.approx(38.8)
    assert (obs.ci_low, obs.ci_high) == (pytest.approx(35.0), pytest.approx(42.0))


def test_open_sdg_csv_from_ons_maps_sex_labels_and_skips_unknown_ages():
    summary = import_official(DATA / "indicator_1-2-1.csv", "open-sdg", source="ONS", mapping={"area": "GB"})
    assert summary.created == 3
    assert len(summary.skipped) == 18
    assert summary.skipped[0] == "row 3: AGE=15 and under is not a code of AGE (map it with mapping['codes'])"
    assert observations(source="ONS") == {
        ("1.2.1", "GB", "2017", "_T"): 17.0,
        ("1.2.1", "GB", "2017", "SEX=M"): 16.1,
        ("1.2.1", "GB", "2017", "SEX=F"): 17.9,
    }
    # published as "Percentage (%)", stored as our unit code
    assert OfficialObservation.objects.filter(source="ONS", key="_T").get().unit == "PT"


@pytest.mark.parametrize("fmt", ["sdmx-csv", "open-sdg"])
def test_an_unknown_unit_stops_the_import_naming_file_row_and_field(fmt):
    if fmt == "sdmx-csv":
        data = (
            b"DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE\n"
            b"X,SI_COV_BENFTS,VN,2020,38.1,PT\nX,SI_COV_BENFTS,VN,2021,39.0,BANANAS\n"
        )
        mapping = {"series": {"SI_COV_BENFTS": "1.3.1"}}
    else:
        data = b"Year,Units,Value\n2020,Percentage (%),38.1\n2021,Bananas,39.0\n"
        mapping = {"indicator": "1.3.1"}
    with pytest.raises(OfficialDataError) as error:
        import_official(data, fmt, source="unit-test", mapping=mapping)
    unit = "BANANAS" if fmt == "sdmx-csv" else "Bananas"
    assert str(error.value).startswith(f"<bytes>, row 3: unit '{unit}'")
    assert "UNIT_MEASURE / Units" in str(error.value) and "nothing was imported" in str(error.value)
    assert not OfficialObservation.objects.filter(source="unit-test").exists()
    # mapped, the same file imports
    summary = import_official(
        data, fmt, source="unit-test", mapping={**mapping, "units": {"BANANAS": "PT", "Bananas": "PT"}}
    )
    assert summary.created == 2


def test_open_sdg_values_mapping_and_unknown_column():
    text = "Year,Sex,Age,Region,Value\n2020,Female,age 15-24,,12.5\n2020,,,North,9\n2020,,,,10\n"
    summary = import_official(
        text.encode(),
        "open-sdg",
        source="t",
        mapping={"indicator": "5.5.1", "values": {"AGE": {"age 15-24": "Y15T24"}}},
    )
    assert summary.created == 2
    assert summary.skipped == [
        "row 3: no code list of ours for Region=North (map the column with mapping['columns'])"
    ]
    assert observations(source="t") == {
        ("5.5.1", "VN", "2020", "AGE=Y15T24|SEX=F"): 12.5,
        ("5.5.1", "VN", "2020", "_T"): 10.0,
    }


def test_unsd_json_maps_un_codes_and_m49():
    summary = import_official(
        DATA / "unsd_series_data_SI_COV_BENFTS_VN.json", "unsd-json", source="UNSD", illustrative=True
    )
    assert summary.created == 3
    assert summary.skipped == [
        "row 4: AGE=Y_LT15 is not a code of AGE (map it with mapping['codes'])",
        "row 5: no value",
    ]
    assert observations(source="UNSD") == {
        ("1.3.1", "VN", "2022", "_T"): 38.8,
        ("1.3.1", "VN", "2022", "SEX=F"): 40.1,
        ("1.3.1", "VN", "2022", "AGE=Y15T24|SEX=M"): 37.4,
    }
    female = OfficialObservation.objects.get(source="UNSD", key="SEX=F")
    assert (female.ci_low, female.ci_high, female.unit, female.illustrative) == (38.2, 42.0, "PT", True)


def test_unknown_indicator_is_skipped():
    text = "DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE,INDICATOR\nX,S,VN,2020,1,99.9.9\n"
    summary = import_official(text.encode(), "sdmx-csv", source="t")
    assert summary.skipped == ["row 2: indicator 99.9.9 is not in the global framework"]


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"<not-xml", "sdmx-ml", "<bytes>: is not an SDMX-ML data message"),
        (b"{", "unsd-json", "<bytes>: is not valid JSON"),
        (b'{"data": 3}', "unsd-json", '<bytes>: expected {"data": [...]}'),
        (b'{"data": [1]}', "unsd-json", "<bytes>, row 1: record is a int"),
        (b"A,B\n1,2\n", "sdmx-csv", "<bytes>, row 1: missing column(s) REF_AREA, TIME_PERIOD, OBS_VALUE"),
        (
            b"REF_AREA,SERIES,TIME_PERIOD,OBS_VALUE\n",
            "sdmx-csv",
            "<bytes>, row 1: first column is 'REF_AREA'",
        ),
        (
            b"DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE\nX,S,VN\n",
            "sdmx-csv",
            "<bytes>, row 2: has 3 cells",
        ),
        (b"Year,Value\n2020,1\n", "open-sdg", "<bytes>: the indicator is not in the file name"),
        (b"", "open-sdg", "<bytes>, row 1: is empty"),
        (b"\xff\xfe", "open-sdg", "<bytes>: is not UTF-8 text"),
        (b"x", "excel", "excel: unknown format"),
    ],
)
def test_malformed_files_raise_official_data_error(data, fmt, message):
    with pytest.raises(OfficialDataError) as error:
        import_official(data, fmt, source="t")
    assert str(error.value).startswith(message)
    assert isinstance(error.value, ValueError)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(OfficialDataError, match="nope.csv: cannot be read"):
        import_official(tmp_path / "nope.csv", "open-sdg", source="t")


def test_a_crash_free_import_leaves_earlier_rows_untouched_on_error():
    import_official(
        DATA / "sdg-build_1-1-1_structure-specific.xml",
        "sdmx-ml",
        source="s",
        mapping={"series": {"SI_POV_DAY1": "1.1.1"}},
    )
    with pytest.raises(OfficialDataError):
        import_official(b"DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE\nX,S\n", "sdmx-csv", source="s")
    assert OfficialObservation.objects.filter(source="s").count() == 6
