"""Readers of KoboToolbox JSON and ODK Central exports, and format detection (no database needed).

Fixtures in ``data/`` are real exports from other projects where possible (see data/SOURCES.md).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import unicodedata
import zipfile
from pathlib import Path

import pytest

from voicescount.collection import importing
from voicescount.collection.errors import ImportFileError

DATA = Path(__file__).parent / "data"


def read(path: Path, fmt: str, **kwargs):
    return list(importing.read_records(path, fmt, **kwargs))


def zip_dir(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)
    return target


# --- KoboToolbox ---------------------------------------------------------------------------------------


def test_kobo_directory_of_pages_is_read_in_name_order_with_locators():
    records = read(DATA / "kobo_trees", "kobo-json")
    assert [r.locator for r in records] == [
        "results[0] in page1.json",
        "results[1] in page1.json",
        "results[0] in page2.json",
    ]
    assert [r.instance_id for r in records] == [
        "uuid:e58da38d-3eee-4bd7-8512-4a97ea8fbb01",
        "uuid:5c408d9d-6a76-4fbb-bf4e-9ed8f8e3e382",
        "uuid:6a0e819b-9d89-4b59-bd1e-38355dd2e05f",
    ]
    assert {r.source for r in records} == {"kobo-json"}


def test_kobo_metadata_is_kept_apart_from_answers():
    first = read(DATA / "kobo_trees" / "page1.json", "kobo-json")[0]
    assert first.values["I_like_this_tree_because"] == "shade food wildlife_habitat beauty"  # select_multiple
    assert first.values["Estimate_height_of_your_tree_in_meters"] == "18"  # a string, as Kobo gives it
    assert first.values["start"] == "2021-11-16T15:44:56.464-08:00"  # a form question, not metadata
    for key in (
        "_id",
        "_uuid",
        "_status",
        "_validation_status",
        "_attachments",
        "_geolocation",
        "_tags",
        "_notes",
        "formhub/uuid",
        "__version__",
        "_xform_id_string",
        "meta/instanceID",
        "_submission_time",
    ):
        assert key in first.meta and key not in first.values
    assert first.meta["_id"] == 124961136
    assert first.submitted_at == dt.datetime(2021, 11, 16, 23, 46, 27, tzinfo=dt.UTC)


def test_kobo_raw_is_the_original_object():
    page = json.loads((DATA / "kobo_trees" / "page2.json").read_text())
    [record] = read(DATA / "kobo_trees" / "page2.json", "kobo-json")
    assert record.raw == page["results"][0]
    assert record.meta["meta/deprecatedID"] == "uuid:bf66ca42-160c-4207-8d01-af7df2852945"


def test_kobo_groups_repeats_and_nested_repeats_get_relative_keys():
    first, second = read(DATA / "kobo_household_vn.json", "kobo-json")
    assert first.values["hh/size"] == "4"
    assert first.values["hh/water"] == "piped well"
    assert first.values["hh/members"] == [
        {"m_name": "Lan", "m_age": "34", "m_sex": "f", "illness": [{"kind": "fever"}, {"kind": "cough"}]},
        {"m_name": "Minh", "m_age": "9", "m_sex": "m"},
    ]
    assert "hh/members" not in second.values  # Kobo leaves unanswered questions out
    # offset-aware submission times are converted to UTC
    assert second.submitted_at == dt.datetime(2025, 3, 2, 2, 40, 0, 123000, tzinfo=dt.UTC)


def test_kobo_text_is_passed_through_without_normalisation():
    first, second = read(DATA / "kobo_household_vn.json", "kobo-json")
    name = first.values["respondent_name"]
    assert name == unicodedata.normalize("NFD", "Nguyễn Thị Hoà") and name != unicodedata.normalize(
        "NFC", name
    )
    assert second.values["respondent_name"] == "Trần Văn Đức"


def test_kobo_bare_list_and_group_objects(tmp_path):
    source = tmp_path / "export.json"
    source.write_text(
        json.dumps(
            [
                {"village": "Alpha", "dwelling": {"dwelling/adults": "2", "children": "1"}, "_uuid": "abc"},
            ]
        )
    )
    [record] = read(source, "kobo-json")
    assert record.locator == "[0] in export.json"
    assert record.values == {"village": "Alpha", "dwelling/adults": "2", "dwelling/children": "1"}
    assert record.instance_id == "uuid:abc"  # _uuid is the instanceID without its prefix


def test_kobo_file_with_bom_and_empty_results(tmp_path):
    source = tmp_path / "empty.json"
    source.write_bytes(b"\xef\xbb\xbf" + json.dumps({"count": 0, "next": None, "results": []}).encode())
    assert read(source, "kobo-json") == []


def test_kobo_object_without_results_is_refused(tmp_path):
    source = tmp_path / "asset.json"
    source.write_text(json.dumps({"uid": "aX", "name": "Household", "content": {"survey": []}}))
    with pytest.raises(
        ImportFileError, match=r"asset.json: The JSON object has no 'results' list \(its keys: uid"
    ):
        read(source, "kobo-json")


def test_truncated_json_names_file_and_last_good_record_but_no_value(tmp_path):
    text = json.dumps({"results": [{"name": "Nguyễn Secret"}, {"name": "Trần Hidden"}]}, ensure_ascii=False)
    source = tmp_path / "cut.json"
    source.write_text(text[: text.index("Trần") + 3])
    records = importing.read_records(source, "kobo-json")
    assert next(records).values == {"name": "Nguyễn Secret"}
    with pytest.raises(ImportFileError) as caught:
        next(records)
    assert str(caught.value) == "cut.json: The JSON is invalid or truncated after results[0]."
    assert "Trần" not in str(caught.value)


def test_directory_without_json_pages_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ImportFileError, match="holds no .json page files"):
        read(tmp_path, "kobo-json", display_name="pages")


# --- ODK Central CSV zip ---------------------------------------------------------------------------------


def test_odk_csv_zip_joins_repeats_and_nested_repeats_by_key(tmp_path):
    source = zip_dir(DATA / "odk_multirepeat", tmp_path / "multirepeat.zip")
    alice, bob, chelsea = read(source, "odk-csv")
    assert alice.values == {"name": "Alice", "age": "30"}
    assert alice.locator == "row 2 in multirepeat.csv"
    assert bob.values["children/child"] == [
        {"name": "Billy", "age": "4", "toy": [{"name": "R2-D2"}]},
        {"name": "Blaine", "age": "6", "toy": [{"name": "BB-8"}, {"name": "Porg plushie"}]},
        {"name": "Baker", "age": "7"},
    ]
    assert chelsea.values["children/child"] == [
        {
            "name": "Candace",
            "age": "2",
            "toy": [{"name": "Millennium Falcon"}, {"name": "X-Wing"}, {"name": "Pod racer"}],
        }
    ]
    assert bob.raw["multirepeat.csv"]["KEY"] == "two"
    assert [row["KEY"] for row in bob.raw["multirepeat-toy.csv"]] == [
        "two/children/child[1]/toy[1]",
        "two/children/child[2]/toy[1]",
        "two/children/child[2]/toy[2]",
    ]


def test_odk_csv_system_columns_go_to_meta_under_odata_names(tmp_path):
    source = zip_dir(DATA / "odk_multirepeat", tmp_path / "multirepeat.zip")
    alice = read(source, "odk-csv")[0]
    assert alice.instance_id == "one"
    assert alice.submitted_at == dt.datetime(2018, 1, 1, tzinfo=dt.UTC)
    assert alice.meta["__system/formVersion"] == "version"
    assert alice.meta["__id"] == "one" and alice.meta["meta/instanceID"] == "one"
    assert alice.meta["__system/reviewState"] is None  # empty cell
    assert not any(k in alice.values for k in ("KEY", "SubmissionDate", "FormVersion", "meta/instanceID"))


def test_odk_group_columns_become_paths():
    records = read(DATA / "odk_structuredform.csv", "odk-csv")
    assert records[0].values == {
        "name": "Alice",
        "home/type": "Apartment",
        "home/address/street": "101 Pike St",
        "home/address/city": "Seattle, WA",
    }


def test_odk_question_names_with_a_dash_are_kept_when_the_form_says_so(tmp_path):
    source = zip_dir(DATA / "odk_pathprefix", tmp_path / "pathprefix.zip")
    [guessed] = read(source, "odk-csv")
    assert guessed.values["children/status"] == "Living at home"  # no form: '-' read as a group separator
    [exact] = read(source, "odk-csv", questions=["name", "children/name", "children-status"])
    assert exact.values == {
        "name": "Alice",
        "children-status": "Living at home",
        "children": [{"name": "Bob"}, {"name": "Chelsea"}],
    }


def test_odk_geopoint_parts_are_joined_and_choice_columns_left_out():
    [record] = read(DATA / "odk_all-data-types.csv", "odk-csv")
    assert record.values["some_geopoint"] == "43.3149254 -1.9869671 71.80000305175781 15.478"
    assert record.values["some_geotrace"].startswith("43.314926 -1.9869713 71.80000305175781 10.0;")
    assert record.instance_id == "uuid:39f3dd36-161e-45cb-a1a4-395831d253a7"
    one, two = read(DATA / "odk_selectMultiple.csv", "odk-csv")
    assert one.values == {"q1": "a b", "g1/q2": "x y z"}
    assert two.raw["g1-q2/m"] == "1"  # still in the raw row


def test_odk_ambiguous_group_mapping_is_refused(tmp_path):
    source = tmp_path / "form.csv"
    source.write_text("SubmissionDate,a-b-c,KEY\n2018-01-01T00:00:00.000Z,x,one\n")
    with pytest.raises(ImportFileError, match=r"form.csv, field 'a-b-c': The column name matches several"):
        read(source, "odk-csv", questions=["a/b-c", "a-b/c"])


def test_odk_zip_with_two_main_tables_or_a_ragged_row_is_refused(tmp_path):
    folder = tmp_path / "two"
    shutil.copytree(DATA / "odk_multirepeat", folder)
    (folder / "other.csv").write_text("SubmissionDate,KEY\n")
    with pytest.raises(ImportFileError, match=r"exactly one main table .*found: multirepeat.csv, other.csv"):
        read(zip_dir(folder, tmp_path / "two.zip"), "odk-csv")
    ragged = tmp_path / "ragged"
    shutil.copytree(DATA / "odk_multirepeat", ragged)
    with open(ragged / "multirepeat-child.csv", "a") as handle:
        handle.write("Zed,1,two\n")
    with pytest.raises(
        ImportFileError, match=r"ragged.zip \(multirepeat-child.csv\), row 6: The row has 3 cells"
    ):
        read(zip_dir(ragged, tmp_path / "ragged.zip"), "odk-csv")


def test_corrupt_zip_is_refused(tmp_path):
    good = zip_dir(DATA / "odk_multirepeat", tmp_path / "good.zip").read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good[: len(good) // 2])
    with pytest.raises(ImportFileError, match="broken.zip: This is not a readable ODK Central CSV export"):
        read(broken, "odk-csv")


# --- ODK Central OData -----------------------------------------------------------------------------------


def test_odata_toplevel_rows():
    records = read(DATA / "odata_withrepeat.json", "odk-odata")
    assert [r.values for r in records] == [
        {"name": "Alice", "age": 30},
        {"name": "Bob", "age": 34},
        {"name": "Chelsea", "age": 38},
    ]
    assert [r.instance_id for r in records] == ["one", "two", "three"]
    assert records[1].locator == "value[1] in odata_withrepeat.json"


def test_odata_system_groups_geopoints_and_expanded_repeats():
    [record] = read(DATA / "odata_household_vn.json", "odk-odata")
    assert record.values == {
        "consent": "yes",
        "hh/province": "VN-HN",
        "hh/size": 2,
        "hh/water": "piped",
        "hh/loc": "21.0285 105.8542 12.5 4.2",
        "hh/members": [{"m_name": "Lan", "m_age": 34}, {"m_name": "Minh", "m_age": 9}],
    }
    assert record.meta["__system/reviewState"] == "approved"
    assert record.meta["__system/formVersion"] == "2025040101"
    assert "photos@odata.navigationLink" in record.meta
    assert record.instance_id == "uuid:5b0c0000-0000-4000-8000-000000000001"
    assert record.submitted_at == dt.datetime(2025, 4, 1, 3, 4, 5, 678000, tzinfo=dt.UTC)
    assert record.raw["hh"]["members"][0]["__id"] == "a1"


# --- detection, size, digest --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kobo_trees", "kobo-json"),
        ("kobo_household_vn.json", "kobo-json"),
        ("odata_withrepeat.json", "odk-odata"),
        ("odk_structuredform.csv", "odk-csv"),
    ],
)
def test_detect_format_of_fixtures(name, expected):
    assert importing.detect_format(DATA / name, name) == expected


def test_detect_format_of_zips_and_plain_csv(tmp_path):
    assert (
        importing.detect_format(zip_dir(DATA / "odk_multirepeat", tmp_path / "x.zip"), "export.zip")
        == "odk-csv"
    )
    plain = tmp_path / "upload.tmp"
    plain.write_text("consent;hh/size\nyes;3\n")
    assert importing.detect_format(plain, "households.csv") == "csv"
    bare = tmp_path / "list.json"
    bare.write_text("[]")
    assert importing.detect_format(bare, "list.json") == "kobo-json"


def test_detect_format_refuses_unknown_files_listing_the_formats(tmp_path):
    odd = tmp_path / "scan.pdf"
    odd.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(ImportFileError) as caught:
        importing.detect_format(odd, "scan.pdf")
    for fmt in importing.FORMATS:
        assert f"({fmt})" in str(caught.value)
    other = tmp_path / "x.json"
    other.write_text('{"foo": 1}')
    with pytest.raises(ImportFileError, match="neither a 'results' list"):
        importing.detect_format(other, "x.json")


def test_unknown_format_is_refused():
    with pytest.raises(ImportFileError, match="Unknown format 'sav'"):
        importing.read_records(DATA / "odata_withrepeat.json", "sav")


def test_source_size_and_digest_of_a_directory(tmp_path):
    pages = DATA / "kobo_trees"
    sizes = sum(p.stat().st_size for p in pages.iterdir())
    assert importing.source_size(pages) == sizes
    copy = tmp_path / "copy"
    shutil.copytree(pages, copy)
    assert importing.sha256_of(copy) == importing.sha256_of(pages)
    (copy / "page2.json").write_text("{}")
    assert importing.sha256_of(copy) != importing.sha256_of(pages)
    import hashlib

    single = DATA / "odata_withrepeat.json"
    assert importing.sha256_of(single) == hashlib.sha256(single.read_bytes()).hexdigest()


def test_format_choices_cover_every_format():
    assert [value for value, _label in importing.FORMAT_CHOICES] == list(importing.FORMATS)


def test_detect_format_refuses_json_that_is_not_utf8(tmp_path):
    path = tmp_path / "export.json"
    path.write_bytes('{"results": [{"name": "Nguyễn"}]}'.encode("utf-16"))  # BOM, 2 bytes a character
    with pytest.raises(ImportFileError):
        importing.detect_format(path)
    for bad in (b"\xe9", b"\xc0\x80", b"\xed\xa0\x80"):  # Latin-1, overlong, an encoded surrogate
        latin = tmp_path / "latin.json"
        latin.write_bytes(b'{"title": "caf' + bad + b'", "results": [{"q": "1"}]}')
        with pytest.raises(ImportFileError, match="latin.json: The file is not valid UTF-8"):
            importing.detect_format(latin)
