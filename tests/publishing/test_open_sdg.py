"""The Open SDG data repository of the data package, checked against the rules of the format on the demo
(300 respondents, its public runs): one file per indicator, a Series per definition, the headline (every
breakdown blank) once per series and year, places as columns with their GeoCode, translations for every
column and label, metadata as YAML front matter. docs/open-data.md records sdg-build's build of it."""

import csv
import io
from collections import Counter

import pytest
import yaml

from tests.publishing.test_exports import make_run, study  # noqa: F401
from tests.workspace.conftest import (  # noqa: F401
    demo_accounts,
    demo_data_for_module,
    demo_study_with_data,
)
from voicescount.framework.models import Indicator
from voicescount.indicators.models import IndicatorDefinition
from voicescount.publishing import exports, open_sdg

pytestmark = pytest.mark.django_db

RESERVED = {"Year", "Series", "Units", "GeoCode", "Observation status", "Unit multiplier", "Value"}
NOT_TRANSLATED = {"Year", "GeoCode", "Value"}  # numbers and codes
PLACE_CODES = {"Region": "REGION", "Province": "AREA"}
META_KEYS = {
    "indicator_number", "indicator_name", "sdg_goal", "target_id", "target_name", "reporting_status",
    "data_non_statistical", "graph_type", "graph_title", "computation_units",
    "national_geographical_coverage", "source_active_1", "source_organisation_1", "source_title_1",
}  # fmt: skip


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def front_matter(data: bytes) -> dict:
    text = data.decode("utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.fixture
def demo(demo_study_with_data):  # noqa: F811
    runs = exports.public_runs()
    assert len(runs) > 20
    return runs, open_sdg.repository_files(runs)


def test_one_file_per_indicator_with_a_series_per_definition(demo):
    runs, files = demo
    data = {p for p in files if p.startswith("data/")}
    assert data <= {
        f"data/indicator_{open_sdg.indicator_slug(r.definition.indicator.code)}.csv" for r in runs
    }
    assert len(data) >= 20
    assert not [p for p in files if p.endswith((".json",)) or p.startswith("vi/")]
    series = {r["Series"] for r in rows_of(files["data/indicator_1-3-1.csv"])}
    assert series == {r.definition.title_en for r in runs if r.definition.indicator.code == "1.3.1"}
    assert len(series) == 2  # the demo's two definitions of 1.3.1 no longer overwrite each other


def test_headline_is_one_row_per_series_and_year_and_places_are_breakdowns(demo):
    runs, files = demo
    for path, data in files.items():
        if not path.startswith("data/"):
            continue
        rows = rows_of(data)
        breakdowns = [c for c in rows[0] if c not in RESERVED]
        headline = Counter((r["Series"], r["Year"]) for r in rows if not any(r[c] for c in breakdowns))
        assert set(headline.values()) == {1}, path
        assert set(headline) == {(r["Series"], r["Year"]) for r in rows}, path
        for r in rows:
            places = [c for c in PLACE_CODES if r.get(c)]
            assert bool(r["GeoCode"]) == bool(places), (path, r)
        assert len(rows) == len(set(tuple(r.values()) for r in rows)), path
    by_province = [r for r in rows_of(files["data/indicator_1-3-1.csv"]) if r["Province"]]
    assert by_province and all(r["GeoCode"].startswith("VN-") for r in by_province)
    assert {r["Region"] for r in by_province} == {""}


def test_every_published_cell_once_and_no_suppressed_cell(demo):
    runs, files = demo
    run = next(r for r in runs if r.definition.code == "sp-coverage")
    cells = list(run.estimates.all())
    published = [e for e in cells if not e.suppressed]
    assert len(published) < len(cells)  # the demo has suppressed cells
    series = {r["Series"]: r for r in rows_of(files["data/indicator_1-3-1.csv"])}
    rows = [r for r in rows_of(files["data/indicator_1-3-1.csv"]) if r["Series"] == run.definition.title_en]
    assert series and len(rows) == len(published)
    values = sorted(float(r["Value"]) for r in rows)
    assert values == pytest.approx(sorted(100 * e.estimate for e in published))
    assert {r["Units"] for r in rows} == {"Percentage (%)"}


def test_translations_name_every_column_and_label_used(demo):
    _, files = demo
    words = {
        language: {
            path.split("/")[-1].removesuffix(".yml"): yaml.safe_load(data)
            for path, data in files.items()
            if path.startswith(f"translations/{language}/")
        }
        for language in ("en", "vi")
    }
    for path, data in files.items():
        if not path.startswith("data/"):
            continue
        rows = rows_of(data)
        for column in rows[0]:
            if column not in RESERVED:
                assert column in words["vi"]["data"] and column in words["en"]["data"], column
            if column in NOT_TRANSLATED:
                continue
            for value in {r[column] for r in rows if r[column]}:
                assert value in words["vi"][column] and words["en"][column][value] == value, (column, value)
    assert words["vi"]["Sex"]["Female"] == "Nữ"
    assert words["vi"]["data"]["Sex"] == "Giới tính"
    assert words["vi"]["Province"]["Hà Nội City"] == "Thành phố Hà Nội"
    assert words["vi"]["Units"]["Percentage (%)"] == "Phần trăm (%)"


def test_metadata_is_yaml_front_matter_in_both_languages(demo):
    runs, files = demo
    codes = {r.definition.indicator.code for r in runs}
    assert {p for p in files if p.startswith("meta/") and p.count("/") == 1} == {
        f"meta/{open_sdg.indicator_slug(c)}.md" for c in codes
    }
    for code in codes:
        slug = open_sdg.indicator_slug(code)
        en, vi = front_matter(files[f"meta/{slug}.md"]), front_matter(files[f"meta/vi/{slug}.md"])
        assert META_KEYS <= set(en) and META_KEYS <= set(vi)
        assert en["indicator_number"] == vi["indicator_number"] == code
        status = "complete" if f"data/indicator_{slug}.csv" in files else "notstarted"
        assert en["reporting_status"] == status
    en, vi = front_matter(files["meta/1-3-1.md"]), front_matter(files["meta/vi/1-3-1.md"])
    indicator = Indicator.objects.get(framework__code="global", code="1.3.1")
    assert (en["indicator_name"], vi["indicator_name"]) == (indicator.title_en, indicator.title_vi)
    assert (en["national_geographical_coverage"], vi["national_geographical_coverage"]) == (
        "Viet Nam",
        "Việt Nam",
    )
    assert en["sdg_goal"] == "1" and en["target_id"] == "1.3"
    assert len(en["graph_titles"]) == 2 and en["community_data"] is True


def test_two_definitions_with_one_title_are_two_series(study):  # noqa: F811
    indicator = Indicator.objects.get(framework__code="global", code="1.3.1")
    runs = []
    for code, value in (("a", 0.3), ("b", 0.6)):
        definition = IndicatorDefinition.objects.create(
            study=study, indicator=indicator, code=code, title_en="Covered", unit="PT", is_public=True
        )
        runs.append(make_run(definition, [("_T", {}, value, 100, "")]))
    rows = rows_of(open_sdg.indicator_csv(runs))
    assert [(r["Series"], r["Value"]) for r in rows] == [
        ("Covered [youth/a]", "30"),
        ("Covered [youth/b]", "60"),
    ]
    other = IndicatorDefinition.objects.create(
        study=study,
        indicator=Indicator.objects.get(framework__code="global", code="1.2.2"),
        code="c",
        title_en="x",
    )
    with pytest.raises(ValueError, match="one indicator"):
        open_sdg.indicator_table([*runs, make_run(other, [("_T", {}, 0.1, 100, "")])])
    with pytest.raises(ValueError, match="language"):
        open_sdg.indicator_csv(runs, language="fr")
