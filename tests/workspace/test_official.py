"""Official series in the workspace: upload a real SDMX file, map it on the page, save the mapping, use it
again, and the same import from the command line with the mapping as a YAML or CSV file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from typer.testing import CliRunner

from voicescount.accounts.models import Organisation
from voicescount.collection.models import AuditEntry
from voicescount.demo.load import ORGANISATION
from voicescount.indicators.models import OfficialMapping, OfficialObservation
from voicescount.indicators.official_mapping import mapping_as_csv

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parents[1] / "indicators" / "data"
SDMX = DATA / "sdg-build_1-1-1_structure-specific.xml"  # real: series SI_POV_DAY1, REF_AREA 826
UNDATA = DATA / "undata_DF_SDG_GLH_1.24_sample.csv"  # real: series ER_BDY_KMGBFT14, REF_AREA 1 (World)
URL = "/en/workspace/organisations/{org}/official/"


def official_url(org: str = "", step: str = "") -> str:
    return URL.format(org=org or ORGANISATION) + step


def upload(client, path: Path = SDMX, *, saved: str = "", then: str = "map", source: str = "sdg-build"):
    return client.post(
        official_url(),
        {
            "file": SimpleUploadedFile(path.name, path.read_bytes()),
            "fmt": "auto",
            "source": source,
            "source_url": "",
            "saved": saved,
            "then": then,
        },
    )


def observed(source: str = "sdg-build") -> dict:
    return {
        (o.indicator.code, o.series, o.area_code, o.period, o.key): o.value
        for o in OfficialObservation.objects.filter(source=source).select_related("indicator")
    }


def test_a_series_nobody_knows_imports_nothing_without_a_mapping_and_with_one_made_on_the_page(
    demo_accounts, signed_in
):
    """UN Data's real SDMX-CSV sample: series ER_BDY_KMGBFT14 (2024) is in no table, saved mapping or
    earlier import, so the page suggests nothing; left empty, nothing is imported, each row says why."""
    client = signed_in("coordinator")
    assert upload(client, UNDATA, source="UN Data").status_code == 302
    page = client.get(official_url(step="mapping/")).content.decode()
    assert 'name="series|ER_BDY_KMGBFT14" value=""' in page
    assert "COMPOSITE_BREAKDOWN=KMGBFT14_ACHIEVED" in page  # a breakdown we have no list for, named
    response = client.post(official_url(step="mapping/"), {"series|ER_BDY_KMGBFT14": "", "then": "import"})
    report = client.get(response["Location"]).content.decode()
    assert "0 rows imported" in report
    assert "row 2: series &#x27;ER_BDY_KMGBFT14&#x27; has no indicator" in report
    assert observed("UN Data") == {}

    upload(client, UNDATA, source="UN Data")
    response = client.post(
        official_url(step="mapping/"), {"series|ER_BDY_KMGBFT14": "15.9.1", "then": "import"}
    )
    report = client.get(response["Location"]).content.decode()
    assert "1 row imported (1 new, 0 updated)" in report
    assert (
        "row 3: COMPOSITE_BREAKDOWN=KMGBFT14_ACHIEVED: COMPOSITE_BREAKDOWN is not one of our code lists"
        in report
    )
    assert observed("UN Data") == {("15.9.1", "ER_BDY_KMGBFT14", "1", "2026", "_T"): 158.0}


def test_the_un_series_list_suggests_the_indicator_and_a_blank_entry_imports_nothing(
    demo_accounts, signed_in
):
    client = signed_in("coordinator")
    upload(client)
    page = client.get(official_url(step="mapping/")).content.decode()
    assert 'name="series|SI_POV_DAY1" value="1.1.1"' in page
    assert "suggested from the UN SDG series list (2020)" in page
    assert 'name="area|826" value=""' in page  # the United Kingdom is not one of our areas: kept as published
    response = client.post(official_url(step="mapping/"), {"series|SI_POV_DAY1": "", "then": "import"})
    assert "0 rows imported" in client.get(response["Location"]).content.decode()
    assert observed() == {}


def test_mapping_made_on_the_page_imports_all_rows_saves_and_is_reused(demo_accounts, signed_in):
    client = signed_in("coordinator")
    upload(client)
    response = client.post(
        official_url(step="mapping/"),
        {"series|SI_POV_DAY1": "1.1.1", "area|826": "", "save_as": "sdg-build UK", "then": "import"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "6 rows imported" in client.get(response["Location"]).content.decode()
    first = observed()
    assert len(first) == 6 and first[("1.1.1", "SI_POV_DAY1", "GB", "2020", "SEX=F")] == 70.0
    saved = OfficialMapping.objects.get(name="sdg-build UK")
    assert (saved.organisation.slug, saved.source_format, saved.mapping) == (
        saved.organisation.slug,
        "sdmx",
        {"series": {"SI_POV_DAY1": "1.1.1"}},
    )
    entry = AuditEntry.objects.get(action="official_imported")
    assert entry.details["file"] == SDMX.name and entry.details["rows"] == 6
    assert entry.details["mapping"] == "sdg-build UK" and entry.organisation == saved.organisation

    # a second upload of the same kind of file, the saved mapping chosen, imported as it is
    OfficialObservation.objects.all().delete()
    response = upload(client, saved=str(saved.pk), then="import")
    assert response.status_code == 302 and response["Location"].endswith("/official/report/")
    assert "6 rows imported" in client.get(response["Location"]).content.decode()
    assert observed() == first
    # and on the mapping step the saved entry is prefilled
    upload(client, saved=str(saved.pk))
    assert (
        'name="series|SI_POV_DAY1" value="1.1.1"'
        in client.get(official_url(step="mapping/")).content.decode()
    )
    # the upload page lists the mapping, the two imports and the series stored
    listing = client.get(official_url()).content.decode()
    assert "sdg-build UK" in listing and listing.count(SDMX.name) >= 2
    assert re.search(r"<td[^>]*>1\.1\.1</td><td[^>]*><code>SI_POV_DAY1</code>", listing)


def test_check_shows_the_errors_without_importing_and_keeps_what_was_typed(demo_accounts, signed_in):
    client = signed_in("coordinator")
    upload(client)
    page = client.post(
        official_url(step="mapping/"), {"series|SI_POV_DAY1": "1.1.1", "area|826": "VN-99", "then": "check"}
    ).content.decode()
    assert "area 826 → VN-99: not one of our areas" in page
    assert 'name="area|826" value="VN-99"' in page and "from the mapping" in page
    assert observed() == {} and not AuditEntry.objects.filter(action="official_imported").exists()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"series|SI_POV_DAY1": "99.9.9"},
            "series SI_POV_DAY1 → 99.9.9: not an indicator of the global framework",
        ),
        ({"series|SI_POV_DAY1": "1.1.1", "area|826": "GB"}, "area 826 → GB: not one of our areas"),
        ({"series|SI_POV_DAY1": "1.1.1", "code|SEX|F": "Q"}, "code SEX F → Q: not a code of SEX"),
    ],
)
def test_a_bad_mapping_entry_is_named_and_nothing_is_imported_or_saved(
    demo_accounts, signed_in, entries, message
):
    client = signed_in("coordinator")
    upload(client)
    response = client.post(official_url(step="mapping/"), {**entries, "save_as": "bad", "then": "import"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "nothing was imported" in response.content.decode()
    assert observed() == {} and not OfficialMapping.objects.exists()
    assert not AuditEntry.objects.filter(action="official_imported").exists()


def test_the_cli_with_a_mapping_file_imports_what_the_page_imports(
    demo_accounts, signed_in, tmp_path, settings
):
    from voicescount.cli import app

    client = signed_in("coordinator")
    upload(client)
    client.post(
        official_url(step="mapping/"), {"series|SI_POV_DAY1": "1.1.1", "save_as": "uk", "then": "import"}
    )
    from_page = observed()
    saved = OfficialMapping.objects.get(name="uk")
    yaml_file = tmp_path / "uk.yaml"
    yaml_file.write_text(client.get(official_url(step=f"mappings/{saved.pk}.yaml")).content.decode())
    csv_file = tmp_path / "uk.csv"
    csv_file.write_text(client.get(official_url(step=f"mappings/{saved.pk}.csv")).content.decode())
    assert yaml.safe_load(yaml_file.read_text()) == {"series": {"SI_POV_DAY1": "1.1.1"}}
    assert client.get(official_url(step=f"mappings/{saved.pk}.json")).status_code == 404
    assert (
        csv_file.read_text()
        == mapping_as_csv(saved.mapping)
        == "kind,list,published,ours\nseries,,SI_POV_DAY1,1.1.1\n"
    )
    runner = CliRunner()
    for index, mapping_file in enumerate((yaml_file, csv_file)):
        source = f"cli-{index}"
        result = runner.invoke(
            app,
            ["official", str(SDMX), "--source", source, "--mapping", str(mapping_file)],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        assert "6 created" in result.output
        assert observed(source) == from_page


def test_cli_saves_a_mapping_for_an_organisation_and_refuses_a_bad_one(demo_accounts, tmp_path):
    from voicescount.cli import app

    good = tmp_path / "m.yaml"
    good.write_text("series:\n  SI_POV_DAY1: '1.1.1'\n")
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "official",
            str(SDMX),
            "--source",
            "s",
            "--mapping",
            str(good),
            "--save-mapping",
            "uk",
            "--organisation",
            ORGANISATION,
        ],
    )
    assert result.exit_code == 0, result.output
    assert OfficialMapping.objects.get(name="uk").organisation.slug == ORGANISATION
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,list,published,ours\nseries,,SI_POV_DAY1,99.9.9\n")
    result = runner.invoke(app, ["official", str(SDMX), "--source", "t", "--mapping", str(bad)])
    assert result.exit_code != 0
    assert "bad.csv: series SI_POV_DAY1 → 99.9.9: not an indicator of the global framework" in " ".join(
        result.output.split()
    )
    assert observed("t") == {}


def test_a_file_over_5_mb_is_refused_with_the_command_to_use(demo_accounts, signed_in):
    client = signed_in("coordinator")
    big = SimpleUploadedFile("big.csv", b"Year,Value\n" + b"2020,1\n" * 800_000)
    response = client.post(official_url(), {"file": big, "fmt": "auto", "source": "x", "then": "map"})
    assert response.status_code == 200
    assert "files over 5 MB cannot be mapped in the browser" in response.content.decode()
    assert "official_upload" not in client.session


@pytest.mark.parametrize(
    ("user", "status"), [("analyst", 200), ("enumerator", 403), ("youth-coordinator", 404)]
)
def test_who_may_import_official_series(demo_accounts, signed_in, user, status):
    """EDIT on the organisation: analysts may; an enumerator there may not (403); another organisation's
    coordinator does not learn the organisation exists (404)."""
    client = signed_in(user)
    assert client.get(official_url()).status_code == status
    response = upload(client)
    if status == 200:
        assert response.status_code == 302
        client.post(official_url(step="mapping/"), {"series|SI_POV_DAY1": "1.1.1", "then": "import"})
        assert len(observed()) == 6
    else:
        assert response.status_code == status
        for step in ("mapping/", "report/"):
            assert client.get(official_url(step=step)).status_code == status
        assert observed() == {}


def test_pages_in_vietnamese(demo_accounts, signed_in):
    client = signed_in("coordinator", "vi")
    page = client.get(official_url().replace("/en/", "/vi/")).content.decode()
    assert "Số liệu chính thức" in page
    upload(client)
    mapping = client.get(official_url(step="mapping/").replace("/en/", "/vi/")).content.decode()
    assert re.search(r"<h1>[^<]*Ánh xạ", mapping)


def test_import_as_it_is_needs_a_saved_mapping_and_says_when_it_does_not_cover_the_file(
    demo_accounts, signed_in
):
    client = signed_in("coordinator")
    response = upload(client, then="import")
    assert response.status_code == 200
    assert "Choose the saved mapping to import the file with." in response.content.decode()
    organisation = Organisation.objects.get(slug=ORGANISATION)
    saved = OfficialMapping.objects.create(
        organisation=organisation, name="units missing", source_format="sdmx", mapping={"indicator": "1.3.1"}
    )
    bananas = b"DATAFLOW,SERIES,REF_AREA,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE\nX,S,704,2020,1,BANANAS\n"
    response = client.post(
        official_url(),
        {
            "file": SimpleUploadedFile("b.csv", bananas),
            "fmt": "auto",
            "source": "b",
            "saved": saved.pk,
            "then": "import",
        },
    )
    text = " ".join(response.content.decode().split())
    assert response.status_code == 200
    assert (
        "The saved mapping cannot import this file as it is (b.csv, row 2: unit &#x27;BANANAS&#x27;" in text
    )
    assert observed("b") == {}
    page = client.get(official_url(step="mapping/")).content.decode()  # the file waits for its mapping
    assert 'name="unit|BANANAS"' in page
