"""Open-data exports of an estimate run: CSV, SDMX-CSV, SDMX-ML, Open SDG; read back with sdmx1."""

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
import sdmx
from django.utils import timezone

from voicescount.accounts.models import Coalition, Organisation
from voicescount.collection.models import Study
from voicescount.demo import definitions
from voicescount.framework.models import Indicator
from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition, OfficialObservation
from voicescount.indicators.official import import_official
from voicescount.publishing import exports

pytestmark = pytest.mark.django_db

SUPPRESSED_VALUE = 0.4321  # stored for the suppressed cell; must never be published


@pytest.fixture
def study():
    coalition = Coalition.objects.create(slug="vn", name="VN coalition", country_code="VN")
    org = Organisation.objects.create(slug="org", name="Tổ chức", name_en="Org", coalition=coalition)
    return Study.objects.create(
        organisation=org,
        slug="youth",
        title_en='=HYPERLINK("http://example.org","click")',
        title_vi="Khảo sát thanh niên",
        method=Study.Method.HOUSEHOLD_SURVEY,
        period_start=dt.date(2022, 1, 1),
        period_end=dt.date(2022, 3, 31),
        consent_procedure=Study.Consent.ORAL,
        is_public=True,
    )


def make_run(definition, rows, *, published=True):
    """A run with ``rows``; published (as a coordinator would) unless ``published`` is False: a draft."""
    run = EstimateRun.objects.create(
        definition=definition,
        definition_version=1,
        input_fingerprint="f" * 64,
        submissions=120,
        code_version="test",
        published=timezone.now() if published else None,
    )
    for key, dims, estimate, n, flag in rows:
        Estimate.objects.create(
            run=run,
            key=key,
            dimensions=dims,
            estimate=estimate,
            se=None if estimate is None else 0.02,
            ci_low=None if estimate is None else estimate - 0.04,
            ci_high=None if estimate is None else estimate + 0.04,
            deff=1.3,
            n=n,
            weighted_n=n * 1.1,
            flag=flag,
        )
    return run


@pytest.fixture
def run(study):
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code="social-protection",
        title_en="Covered by social protection",
        unit="PT",
        dimensions=["SEX", "AGE"],
        reference_period="2022",
        is_public=True,
    )
    return make_run(
        definition,
        [
            ("_T", {}, 0.388, 120, ""),
            ("SEX=F", {"SEX": "F"}, 0.41, 70, ""),
            ("SEX=M", {"SEX": "M"}, 0.36, 30, Estimate.Flag.IMPRECISE),
            ("AGE=Y15T24|SEX=F", {"SEX": "F", "AGE": "Y15T24"}, SUPPRESSED_VALUE, 6, "suppressed_small"),
        ],
    )


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_safe_cell_neutralises_formulas_but_not_negative_numbers():
    assert exports.safe_cell("=1+2") == "'=1+2"
    assert exports.safe_cell("+SUM(A1)") == "'+SUM(A1)"
    assert exports.safe_cell("@cmd") == "'@cmd"
    assert exports.safe_cell("\tx") == "'\tx"
    assert exports.safe_cell("\rx") == "'\rx"
    assert exports.safe_cell("-1+2") == "'-1+2"
    assert exports.safe_cell("-1") == "-1"
    assert exports.safe_cell("-0.25") == "-0.25"
    assert exports.safe_cell("-1.5e-3") == "-1.5e-3"
    assert exports.safe_cell("Y15T24") == "Y15T24"
    assert exports.safe_cell(None) == ""


def test_estimates_csv(run):
    data = exports.estimates_csv(run)
    assert data.startswith("\ufeff".encode())
    rows = read_csv(data)
    assert list(rows[0]) == [
        "indicator", "definition", "study", "area", "period", "sex", "age",
        "estimate", "se", "ci_low", "ci_high", "n", "weighted_n", "deff", "flag", "flag_reason",
    ]  # fmt: skip
    by_key = {(r["sex"], r["age"]): r for r in rows}
    total = by_key[("_T", "_T")]
    assert total["indicator"] == "1.3.1"
    assert total["definition"] == "social-protection"
    assert total["study"] == '\'=HYPERLINK("http://example.org","click")'
    assert (total["area"], total["period"]) == ("VN", "2022")
    assert (total["estimate"], total["se"], total["ci_low"], total["ci_high"]) == (
        "38.8",
        "2",
        "34.8",
        "42.8",
    )
    assert (total["n"], total["weighted_n"], total["deff"], total["flag"]) == ("120", "132", "1.3", "")
    assert by_key[("M", "_T")]["flag"] == "imprecise"
    assert by_key[("M", "_T")]["flag_reason"].startswith("Based on 25–49 unweighted cases")
    suppressed = by_key[("F", "Y15T24")]
    assert [suppressed[c] for c in ("estimate", "se", "ci_low", "ci_high", "n", "weighted_n", "deff")] == [
        ""
    ] * 7
    assert suppressed["flag"] == "suppressed_small"
    assert suppressed["flag_reason"] == "Suppressed: too few respondents to publish safely"
    assert b"43.21" not in data


def test_estimates_csv_in_vietnamese_uses_vietnamese_title(run):
    rows = read_csv(exports.estimates_csv(run, language="vi"))
    assert rows[0]["study"] == "Khảo sát thanh niên"


def test_negative_mean_is_not_prefixed(study):
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code="change",
        title_en="Change",
        kind=IndicatorDefinition.Kind.MEAN,
        unit="NUMBER",
    )
    run = make_run(definition, [("_T", {}, -0.5, 50, "")])
    row = read_csv(exports.estimates_csv(run))[0]
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == ("-0.5", "-0.54", "-0.46")


def test_sdmx_csv_is_2_0_on_the_sdg_dsd_and_1_0_on_request(run):
    data = exports.estimates_sdmx_csv(run)
    rows = read_csv(data)
    assert list(rows[0])[:6] == ["STRUCTURE", "STRUCTURE_ID", "ACTION", "FREQ", "REPORTING_TYPE", "SERIES"]
    assert list(rows[0])[6:19] == [
        "REF_AREA", "SEX", "AGE", "URBANISATION", "INCOME_WEALTH_QUANTILE", "EDUCATION_LEV", "OCCUPATION",
        "CUST_BREAKDOWN", "COMPOSITE_BREAKDOWN", "DISABILITY_STATUS", "ACTIVITY", "PRODUCT", "ETHNICITY",
    ]  # fmt: skip
    by_key = {(r["SEX"], r["AGE"]): r for r in rows}
    total = by_key[("_T", "_T")]
    assert (total["STRUCTURE_ID"], total["REF_AREA"]) == ("VOICESCOUNT:DF_SDG_CGD(1.0)", "704")
    assert (total["SERIES"], total["OBS_VALUE"], total["LOWER_BOUND"], total["UPPER_BOUND"]) == (
        "CGD_SOCIAL_PROTECTION", "38.8", "34.8", "42.8",
    )  # fmt: skip
    assert (total["OBS_STATUS"], total["UNIT_MEASURE"], total["UNIT_MULT"], total["INDICATOR"]) == (
        "A", "PT", "0", "1.3.1",
    )  # fmt: skip
    assert by_key[("M", "_T")]["OBS_STATUS"] == "U"
    suppressed = by_key[("F", "Y15T24")]
    assert (suppressed["OBS_VALUE"], suppressed["OBS_STATUS"], suppressed["CONF_STATUS"]) == ("", "Q", "C")
    assert suppressed["LOWER_BOUND"] == suppressed["UPPER_BOUND"] == ""
    assert b"43.21" not in data
    old = read_csv(exports.estimates_sdmx_csv(run, version="1.0"))
    assert list(old[0])[:3] == ["DATAFLOW", "FREQ", "REPORTING_TYPE"]
    assert [r["OBS_VALUE"] for r in old] == [r["OBS_VALUE"] for r in rows]


def test_sdmx_csv_imports_back_as_official_series(run):
    summary = import_official(exports.estimates_sdmx_csv(run), "sdmx-csv", source="round trip")
    assert summary.skipped == ["row 5: no value"]
    got = {o.key: o.value for o in OfficialObservation.objects.filter(source="round trip")}
    assert got == {"_T": 38.8, "SEX=F": 41.0, "SEX=M": 36.0}


def test_sdmx_csv_2_0_read_back_with_sdmx1(run):
    dsd, flow = exports.sdmx_structure(run)
    data = exports.estimates_sdmx_csv(run, version="2.0")
    message = sdmx.read_sdmx(io.BytesIO(data), format="CSV", structure=flow)
    values = {
        (o.dimension["SEX"].value, o.dimension["AGE"].value): o.value for ds in message.data for o in ds.obs
    }
    assert float(values[("_T", "_T")]) == 38.8
    assert float(values[("F", "_T")]) == 41.0
    assert values[("F", "Y15T24")] in ("", None)


@pytest.mark.parametrize("structure_specific", [True, False])
def test_sdmx_ml_read_back_with_sdmx1(run, structure_specific):
    data = exports.estimates_sdmx_ml(run, structure_specific=structure_specific)
    assert b"43.21" not in data
    dsd, _ = exports.sdmx_structure(run)
    message = sdmx.read_sdmx(io.BytesIO(data), structure=dsd)
    obs = {(o.key["SEX"].value, o.key["AGE"].value): o for o in message.data[0].obs}
    assert len(obs) == 4
    assert float(obs[("_T", "_T")].value) == 38.8
    assert obs[("_T", "_T")].attrib["LOWER_BOUND"].value == "34.8"
    assert obs[("M", "_T")].attrib["OBS_STATUS"].value == "U"
    suppressed = obs[("F", "Y15T24")]
    assert suppressed.value in (None, "NaN")
    assert suppressed.attrib["OBS_STATUS"].value == "Q"
    assert suppressed.attrib["CONF_STATUS"].value == "C"


def test_sdmx_ml_imports_back_without_the_dsd(run):
    summary = import_official(exports.estimates_sdmx_ml(run), "sdmx-ml", source="ml round trip")
    assert summary.created == 3
    assert len(summary.skipped) == 1 and summary.skipped[0].endswith("no value")
    got = {o.key: o.value for o in OfficialObservation.objects.filter(source="ml round trip")}
    assert got == {"_T": 38.8, "SEX=F": 41.0, "SEX=M": 36.0}


def test_open_sdg_csv(run):
    data = exports.open_sdg_csv(run)
    rows = read_csv(data)
    # the only age group is suppressed: no column for it
    assert list(rows[0]) == ["Year", "Series", "Units", "Sex", "GeoCode", "Observation status", "Value"]
    assert [(r["Sex"], r["Observation status"], r["Value"]) for r in rows] == [
        ("", "Normal value", "38.8"),
        ("Female", "Normal value", "41"),
        ("Male", "Low reliability", "36"),
    ]
    assert {(r["Year"], r["Series"], r["Units"], r["GeoCode"]) for r in rows} == {
        ("2022", "Covered by social protection", "Percentage (%)", "")
    }
    assert b"43.21" not in data
    summary = import_official(data, "open-sdg", source="osdg", mapping={"indicator": "1.3.1"})
    assert (summary.created, summary.skipped) == (3, [])
    assert set(OfficialObservation.objects.filter(source="osdg").values_list("key", flat=True)) == {
        "_T",
        "SEX=F",
        "SEX=M",
    }


def test_open_sdg_csv_puts_provinces_and_regions_in_columns_with_their_geocode(study):
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code="by-place",
        title_en="Covered, by place",
        unit="PT",
        reference_period="2022",
        is_public=True,
    )
    run = make_run(
        definition,
        [
            ("_T", {}, 0.388, 120, ""),
            ("AREA=VN-01", {"AREA": "VN-01"}, 0.5, 60, ""),
            ("REGION=VN-R3-N", {"REGION": "VN-R3-N"}, 0.45, 80, ""),
            ("AREA=VN-01|SEX=F", {"AREA": "VN-01", "SEX": "F"}, 0.52, 40, ""),
        ],
    )
    rows = read_csv(exports.open_sdg_csv(run))
    assert list(rows[0]) == [
        "Year", "Series", "Units", "Region", "Province", "Sex", "GeoCode", "Observation status", "Value",
    ]  # fmt: skip
    assert sorted((r["Region"], r["Province"], r["Sex"], r["GeoCode"], r["Value"]) for r in rows) == [
        ("", "", "", "", "38.8"),
        ("", "Hà Nội City", "", "VN-HN", "50"),
        ("", "Hà Nội City", "Female", "VN-HN", "52"),
        ("North", "", "", "VN-R3-N", "45"),
    ]
    vi = read_csv(exports.open_sdg_csv(run, language="vi"))
    assert "Thành phố Hà Nội" in [r["Tỉnh/thành phố"] for r in vi]


def demo_age_codes() -> set[str]:
    """Every age code a bin of the demo's indicator definitions can give a respondent."""
    return {
        code
        for spec in definitions.DEFINITIONS
        for dimension in spec.get("dimensions", [])
        if dimension["code_list"] == "AGE"
        for _, _, code in dimension.get("bins", [])
    }


@pytest.mark.parametrize("language", ["en", "vi"])
def test_open_sdg_csv_labels_every_age_code_of_the_demo(study, language):
    codes = sorted(demo_age_codes())
    assert "Y25T59" in codes  # the bin that used to be exported as a bare code
    definition = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.3.1"),
        code="by-age",
        title_en="Covered, by age",
        unit="PT",
        reference_period="2022",
        is_public=True,
    )
    run = make_run(
        definition,
        [("_T", {}, 0.4, 400, "")] + [(f"AGE={code}", {"AGE": code}, 0.4, 100, "") for code in codes],
    )
    rows = read_csv(exports.open_sdg_csv(run, language=language))
    column = "Nhóm tuổi" if language == "vi" else "Age group"
    assert list(rows[0]) == ["Year", "Series", "Units", column, "GeoCode", "Observation status", "Value"]
    labels = [r[column] for r in rows[1:]]
    assert len(labels) == len(codes)
    assert all(label and label not in codes for label in labels)
    word = "tuổi" if language == "vi" else "years"
    assert all(word in label for label in labels), labels
    expected = {"en": "25 to 59 years old", "vi": "25–59 tuổi"}[language]
    assert labels[codes.index("Y25T59")] == expected


def test_open_sdg_csv_keeps_official_age_labels_and_refuses_other_languages(run):
    young = make_run(run.definition, [("AGE=Y15T24", {"AGE": "Y15T24"}, 0.3, 90, "")])
    assert [r["Age group"] for r in read_csv(exports.open_sdg_csv(young))] == ["15 to 24 years old"]
    assert [r["Nhóm tuổi"] for r in read_csv(exports.open_sdg_csv(young, language="vi"))] == ["15–24 tuổi"]
    with pytest.raises(ValueError, match="language"):
        exports.open_sdg_csv(young, language="fr")


def test_open_sdg_meta(run):
    meta = exports.open_sdg_meta(run.definition)
    assert meta["indicator_number"] == "1.3.1"
    assert meta["graph_title"] == run.definition.indicator.title_en
    assert meta["graph_titles"] == [
        {"series": "Covered by social protection", "title": "Covered by social protection"}
    ]
    assert meta["source_organisation_1"] == "Org"
    assert meta["community_data"] is True and meta["official_statistics"] is False
    json.dumps(meta)


def test_data_package(run, tmp_path):
    path = tmp_path / "open-data.zip"
    names = exports.data_package([run], path)
    folder = "1.3.1_social-protection"
    assert names == [
        "README.md",
        "LICENSE",
        "sdmx-structure.xml",
        f"{folder}/estimates.csv",
        f"{folder}/sdmx.csv",
        f"{folder}/sdmx.xml",
        "open-sdg/data/indicator_1-3-1.csv",
        "open-sdg/meta/1-3-1.md",
        "open-sdg/meta/vi/1-3-1.md",
        *(
            f"open-sdg/translations/{language}/{group}.yml"
            for group in ("Observation status", "Series", "Sex", "Units", "data")
            for language in ("en", "vi")
        ),
    ]
    with zipfile.ZipFile(path) as zf:
        assert "creativecommons.org/licenses/by/4.0" in zf.read("LICENSE").decode()
        assert "suppressed_small" in zf.read("README.md").decode()
        assert zf.read(f"{folder}/estimates.csv") == exports.estimates_csv(run)
        assert "indicator_number: 1.3.1\n" in zf.read("open-sdg/meta/1-3-1.md").decode()
        assert zf.read("open-sdg/data/indicator_1-3-1.csv") == exports.open_sdg_csv(run, language="en")
        assert "Sex: Giới tính\n" in zf.read("open-sdg/translations/vi/data.yml").decode()
        assert "data/indicator_<x-y-z>.csv" in zf.read("README.md").decode()
        everything = b"".join(zf.read(n) for n in zf.namelist())
    assert run.definition.study.pseudonym_key.encode() not in everything
    assert b"43.21" not in everything


def test_site_package_uses_the_published_run_of_public_definitions(run, study):
    later = make_run(run.definition, [("_T", {}, 0.5, 100, "")])
    EstimateRun.objects.filter(pk=later.pk).update(started=run.started + dt.timedelta(days=1))
    hidden = IndicatorDefinition.objects.create(
        study=study, indicator=run.definition.indicator, code="draft", title_en="Draft", is_public=False
    )
    make_run(hidden, [("_T", {}, 0.2, 100, "")])
    make_run(run.definition, [("_T", {}, 0.9, 100, "")], published=False)  # a newer draft: not public
    assert [r.pk for r in exports.public_runs()] == [later.pk]
    buffer = io.BytesIO()
    exports.site_data_package(buffer)
    with zipfile.ZipFile(buffer) as zf:
        rows = read_csv(zf.read("1.3.1_social-protection/estimates.csv"))
    assert [r["estimate"] for r in rows] == ["50"]
