"""SDMX on the SDG DSD: the demo's published runs validate against IAEG-SDGs:SDG(1.14) and our extension,
SDMX-CSV 2.0 and 1.0 are read by sdmx1, places are M49 / ISO 3166-2 / GSO-namespaced, and every published
observation comes back through our official-data importer."""

import io
import logging

import pytest
import sdmx

from tests.workspace.conftest import (  # noqa: F401
    demo_accounts,
    demo_data_for_module,
    demo_study_with_data,
)
from voicescount.indicators.models import OfficialObservation
from voicescount.indicators.official import import_official
from voicescount.publishing import sdmx_data, sdmx_sdg, selectors
from voicescount.publishing.render_cache import active

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(demo_study_with_data):  # noqa: F811
    runs = list(selectors.published_runs().select_related("definition__indicator", "definition__study"))
    assert len(runs) >= 3
    return runs


@pytest.fixture
def extension(published):
    """Our structure message as the site serves it, read back by sdmx1 (not the objects we built)."""
    return sdmx.read_sdmx(io.BytesIO(sdmx_sdg.structure_xml()))


def codelist_of(component, extension_message):
    """The code list enumerating ``component``: ours from the structure message, else the SDG DSD's."""
    ref = component.local_representation.enumerated
    for message in (extension_message, sdmx_sdg.sdg_structures()):
        for codelist in message.codelist.values():
            if codelist.id == ref.id and str(codelist.maintainer.id) == str(ref.maintainer.id):
                if len(codelist):
                    return codelist
    raise AssertionError(f"no code list {ref} for {component.id}")


def test_extension_keeps_the_sdg_dsd_dimensions_in_order_and_adds_ours(extension):
    dsd = extension.structure[sdmx_sdg.EXTENSION_ID]
    sdg = sdmx_sdg.sdg_dsd()
    ids = [d.id for d in dsd.dimensions.components]
    sdg_ids = [d.id for d in sdg.dimensions.components]
    assert sdg_ids[:-1] == list(sdmx_sdg.SDG_DIMENSIONS) and sdg_ids[-1] == "TIME_PERIOD"
    assert ids[:15] == sdg_ids[:15] and ids[-1] == "TIME_PERIOD"
    assert {"ETHNICITY", "POPULATION_GROUP"} <= set(ids[15:-1])
    assert "AREA" not in ids and "REGION" not in ids
    assert {"UNIT_MEASURE", "UNIT_MULT", "OBS_STATUS", "LOWER_BOUND", "UPPER_BOUND"} <= {
        a.id for a in dsd.attributes.components
    }
    # Our lists hold every SDG code too: a message on the SDG codes validates against the extension.
    sdg_area = {c.id for c in sdmx_sdg.sdg_codelist("REF_AREA")}
    our_area = {c.id for c in codelist_of(dsd.dimensions.get("REF_AREA"), extension)}
    assert sdg_area <= our_area and {"704", "VN-HN", "VN-GSO-08"} <= our_area
    assert "VN-01" in our_area  # ISO's Lai Châu, not Hà Nội
    flow = extension.dataflow[sdmx_sdg.DATAFLOW_ID]
    assert flow.structure.id == sdmx_sdg.EXTENSION_ID


def assert_valid(message, dsd, extension_message, sdg_only=False):
    """Every observation's dimension and coded attribute values are codes of their code lists."""
    count = 0
    lists = {c.id: {code.id for code in codelist_of(c, extension_message)} for c in dsd.dimensions.components
             if c.id != "TIME_PERIOD"}  # fmt: skip
    for attribute in dsd.attributes.components:
        if attribute.local_representation and attribute.local_representation.enumerated is not None:
            lists[attribute.id] = {code.id for code in codelist_of(attribute, extension_message)}
    for dataset in message.data:
        for obs in dataset.obs:
            count += 1
            for dim, kv in obs.key.values.items():
                if dim != "TIME_PERIOD":
                    assert kv.value in lists[dim], (dim, kv.value)
            for attr, value in obs.attrib.items():
                if attr in lists:
                    assert value.value in lists[attr], (attr, value.value)
    return count


def test_every_published_message_validates_against_the_published_structures(published, extension):
    dsd = extension.structure[sdmx_sdg.EXTENSION_ID]
    flow = extension.dataflow[sdmx_sdg.DATAFLOW_ID]
    total = 0
    for run in published:
        observations = sdmx_data.observations(run)
        for structure_specific in (True, False):
            data = sdmx_data.sdmx_ml(run, structure_specific=structure_specific)
            assert b'<Ref id="SDG_CGD" version="1.0" agencyID="VOICESCOUNT"' in data
            message = sdmx.read_sdmx(io.BytesIO(data), structure=dsd)
            assert assert_valid(message, dsd, extension) == len(observations)
        csv2 = sdmx.read_sdmx(io.BytesIO(sdmx_data.sdmx_csv(run, "2.0")), format="CSV", structure=flow)
        assert assert_valid(csv2, dsd, extension) == len(observations)
        total += len(observations)
    assert total > 100


def test_sdg_dimensions_carry_sdg_codes_where_the_sdg_lists_have_them(published):
    """Codes of the SDG dimensions other than SERIES, REF_AREA and AGE are all in the IAEG-SDGs lists."""
    for run in published:
        for row in sdmx_data.observations(run):
            for dim in sdmx_sdg.SDG_DIMENSIONS:
                if dim in ("SERIES", "REF_AREA", "AGE"):
                    continue
                assert row[dim] in {c.id for c in sdmx_sdg.sdg_codelist(dim)}, (dim, row[dim])
            assert row["OBS_STATUS"] in {c.id for c in sdmx_sdg.sdg_codelist("OBS_STATUS")}
            assert row["UNIT_MULT"] in {c.id for c in sdmx_sdg.sdg_codelist("UNIT_MULT")}


def test_ref_area_is_m49_for_the_country_and_iso_or_gso_codes_below(published):
    areas = {row["REF_AREA"] for run in published for row in sdmx_data.observations(run)}
    assert "704" in areas and "VN" not in areas
    provinces = {a for a in areas if a.startswith("VN-") and not a.startswith(("VN-GSO6", "VN-R3"))}
    assert provinces, areas
    assert sdmx_sdg.ref_area("VN-01") == "VN-HN"  # our VN-01 is GSO 01, Hà Nội; ISO VN-HN
    assert sdmx_sdg.ref_area("VN") == "704"
    with pytest.raises(ValueError, match="not an area"):
        sdmx_sdg.ref_area("VN-99")


def test_sdmx_csv_1_0_on_request_is_what_sdmx1_writes_for_the_2_0_file(published, extension):
    flow = extension.dataflow[sdmx_sdg.DATAFLOW_ID]
    run = published[0]
    csv1 = sdmx_data.sdmx_csv(run, "1.0").decode().splitlines()
    csv2 = sdmx_data.sdmx_csv(run, "2.0").decode().splitlines()
    assert csv1[0].startswith("DATAFLOW,FREQ,REPORTING_TYPE,SERIES,REF_AREA,")
    assert csv2[0].startswith("STRUCTURE,STRUCTURE_ID,ACTION,FREQ,")
    assert [line.split(",", 1)[1] for line in csv1] == [line.split(",", 3)[3] for line in csv2]
    message = sdmx.read_sdmx(io.BytesIO("\n".join(csv2).encode()), format="CSV", structure=flow)
    assert len(message.data[0].obs) == len(csv1) - 1
    with pytest.raises(ValueError, match="2.0' or '1.0"):
        sdmx_data.sdmx_csv(run, "3.0")


def test_suppressed_cells_have_no_value_in_sdmx(published):
    rows = [row for run in published for row in sdmx_data.observations(run)]
    suppressed = [r for r in rows if r["OBS_STATUS"] == "Q"]
    assert suppressed and all(r["OBS_VALUE"] == "" and r["CONF_STATUS"] == "C" for r in suppressed)
    assert "LOWER_BOUND" not in suppressed[0]


@pytest.mark.parametrize("fmt", ["sdmx-ml", "sdmx-csv", "sdmx-csv-1.0"])
def test_published_observations_round_trip_through_the_importer(published, fmt):
    logging.getLogger("sdmx").setLevel(logging.ERROR)
    expected = imported = 0
    for run in published:
        rows = [r for r in sdmx_data.observations(run) if r["OBS_VALUE"]]
        expected += len(rows)
        data = (
            sdmx_data.sdmx_ml(run)
            if fmt == "sdmx-ml"
            else sdmx_data.sdmx_csv(run, "1.0" if fmt.endswith("1.0") else "2.0")
        )
        source = f"round trip {fmt} {run.pk}"
        # The demo's definition in local currency (CUR_LCU, a unit of the SDG DSD) is not among the
        # importer's comparable units (indicators.official.UNITS): mapped here as a person would.
        summary = import_official(data, fmt[:8], source=source, mapping={"units": {"CUR_LCU": "CUR_LCU"}})
        assert not [s for s in summary.skipped if "no value" not in s], summary.skipped[:5]
        imported += summary.created
        back = {(o.area_code, o.key): o.value for o in OfficialObservation.objects.filter(source=source)}
        assert len(back) == summary.created
    print(f"{fmt}: {imported} of {expected} published observations with a value imported back")
    assert expected > 100
    assert imported / expected >= 0.99, (imported, expected)


def test_exports_in_one_publish_block_match_live_ones(published):
    run = published[0]
    live = sdmx_data.sdmx_csv(run)
    with active():
        assert sdmx_data.sdmx_csv(run) == live


def test_the_site_serves_the_structures_and_both_sdmx_csv_versions(published, client):
    response = client.get("/en/open-data/sdmx/structure.xml")
    assert response.status_code == 200 and response["Content-Type"] == "application/xml"
    structure = sdmx.read_sdmx(io.BytesIO(response.content))
    assert sdmx_sdg.EXTENSION_ID in structure.structure
    dsd = client.get("/en/open-data/sdmx/sdg-dsd-1.14.xml")
    assert dsd.status_code == 200 and b'id="SDG" isFinal="true" version="1.14"' in dsd.content
    run = published[0]
    base = f"/en/indicators/{run.definition.indicator.code}/runs/{run.pk}/download"
    assert client.get(f"{base}/sdmx-csv/").content.startswith(b"STRUCTURE,STRUCTURE_ID,ACTION,")
    assert client.get(f"{base}/sdmx-csv-1.0/").content.startswith(b"DATAFLOW,FREQ,")
