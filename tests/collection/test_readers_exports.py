"""Real Kobo/Ona/ODK export variants read whole: every answer in the file stored, or its record held back.

Exports (sources in data/SOURCES.md): KPI's CSV exports of one form with labels in English and in
Spanish, with the group labels in front ("hierarchy in labels"), each with Kobo's HXL hashtag row, and
the same three submissions as Kobo JSON; Ona's CSV export with wide repeat columns, split
select_multiple columns and ``n/a``; ODK Central's CSV with ``q/choice`` columns.
"""

import csv
import io
import json
from pathlib import Path

import pytest

from voicescount.collection import import_service, importing, services
from voicescount.collection.crypto import decrypt_json
from voicescount.collection.errors import ImportFileError
from voicescount.collection.models import QuarantinedRecord, Submission
from voicescount.collection.readers.headers import Column, FormColumns
from voicescount.collection.xlsform import parse_xlsform

DATA = Path(__file__).parent / "data"
FORMS = Path(__file__).parent / "forms"
KOBO_ANIMALS_UID = "aX6CUrtnHfZE64CnNdjzuz"  # a deployed Kobo form's id is its asset uid (_xform_id_string)


def form(path: Path) -> dict:
    parsed = parse_xlsform(path.name, path.read_bytes())
    return {k: v for k, v in parsed.items() if k != "xform"}


@pytest.fixture(scope="module")
def animals():
    return form(DATA / "kobo_animals" / "form.md")


@pytest.fixture(scope="module")
def tutorial():
    return form(DATA / "ona_tutorial" / "form.md")


def read(path: Path, definition: dict, fmt: str | None = None):
    fmt = fmt or importing.detect_format(path)
    questions = [q["path"] for q in definition["questions"]]
    return list(importing.read_records(path, fmt, form=definition, questions=questions))


SYMMETRY = "external_characteristics/What_kind_of_symmetry_do_you_have"
SEGMENTS = "external_characteristics/How_many_segments_does_your_body_have"
FLUIDS = "Do_you_have_body_flu_intracellular_space"
DESCEND = "Do_you_descend_from_unicellular_organism"


# --- headers -------------------------------------------------------------------------------------------


def test_headers_as_xml_names_with_any_separator_labels_in_either_language_and_split_choices(animals):
    columns = FormColumns(animals)
    for separator in "/-.":
        assert columns.column(SEGMENTS.replace("/", separator)) == Column("value", SEGMENTS)
        assert columns.column(f"{SYMMETRY.replace('/', separator)}{separator}radial") == Column(
            "choice", SYMMETRY, "radial"
        )
    assert columns.column("How many segments does your body have?") == Column("value", SEGMENTS)
    assert columns.column("¿Cuántos segmentos tiene tu cuerpo?") == Column("value", SEGMENTS)
    assert columns.column("¿qué tipo de simetría tiene?/esférico") == Column("choice", SYMMETRY, "spherical")
    assert columns.column("External Characteristics/What kind of symmetry do you have?") == Column(
        "value", SYMMETRY
    )
    assert columns.column("What_kind_of_symmetry_do_you_have/bilateral") == Column(
        "choice", SYMMETRY, "bilateral"
    )
    assert columns.column("instanceID") == Column("meta", "meta/instanceID")
    assert columns.column("meta-instanceID") == Column("meta", "meta/instanceID")
    assert columns.column("_uuid") == Column("meta", "_uuid")
    assert columns.column("tablet_battery") == Column("value", "tablet_battery")  # unknown: kept as is


def test_wide_repeat_columns_need_one_index_per_repeat_level(tutorial):
    columns = FormColumns(tutorial)
    assert columns.column("children[2]/childs_age") == Column("value", "children/childs_age", indices=(2,))
    assert columns.column("children[1]-childs_name") == Column("value", "children/childs_name", indices=(1,))
    assert columns.column("children[1][2]/childs_age").path == "children[1][2]/childs_age"  # unknown
    assert columns.column("name[1]").path == "name[1]"  # not in a repeat: unknown


# --- real exports read whole ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["labels_en.csv", "labels_es.csv", "hierarchy_in_labels.csv"])
def test_kobo_label_exports_read_like_the_json_of_the_same_submissions(animals, name):
    from voicescount.collection.validation import compile_validator

    validator = compile_validator(animals)
    from_json = [
        validator.check(r.values).typed_values for r in read(DATA / "kobo_animals/submissions.json", animals)
    ]
    records = read(DATA / "kobo_animals" / name, animals)
    assert len(records) == 3  # the HXL hashtag row under the header is not a submission
    assert [r.instance_id for r in records] == [
        "uuid:48583952-1892-4931-8d9c-869e7b49bafb",
        "uuid:317ba7b7-bea4-4a8c-8620-a483c3079c4b",
        "uuid:3f15cdfe-3eab-4678-8352-7806febf158d",
    ]
    assert records[0].values[SYMMETRY] == "spherical radial bilateral"  # from the 1/0 choice columns
    checked = [validator.check(r.values) for r in records]
    assert [c.issues for c in checked] == [[], [], []]
    assert [c.typed_values for c in checked] == from_json  # labels mapped back to the codes


def test_ona_export_with_wide_repeats_split_choices_and_na(tutorial):
    (record,) = read(DATA / "ona_tutorial" / "tutorial_w_repeats.csv", tutorial)
    assert record.values == {
        "name": "Bob",
        "age": "25",
        "picture": None,  # n/a
        "has_children": "1",
        "gps": "-1.2625621 36.7921711 0.0 20.0",
        "web_browsers": None,  # every choice column n/a
        "children": [{"childs_name": "Tom", "childs_age": "12"}, {"childs_name": "Dick", "childs_age": "5"}],
    }
    assert record.instance_id == "uuid:b31c6ac2-b8ca-4180-914f-c844fa10ed3b"
    assert record.meta["_gps_latitude"] == "-1.2625621" and record.problems == ()


def test_ona_export_without_group_names_numbers_the_repeats_names_in_order(tutorial):
    (whole,) = read(DATA / "ona_tutorial" / "tutorial_w_repeats.csv", tutorial)
    (bare,) = read(DATA / "ona_tutorial" / "tutorial_w_repeats_truncate_titles.csv", tutorial)
    assert bare.values == whole.values and bare.instance_id == whole.instance_id
    assert bare.raw["children[2]/childs_name"] == "Dick"  # every cell kept


def test_a_repeated_name_that_is_not_a_repeats_question_is_refused(tmp_path, tutorial):
    path = tmp_path / "twice.csv"
    path.write_text("name,age,age\nBob,3,4\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="Duplicated column names: 'age'"):
        read(path, tutorial)


def test_n_a_is_an_answer_in_a_file_that_is_not_from_kobo_or_ona(tmp_path, tutorial):
    path = tmp_path / "sheet.csv"
    path.write_text("name,age\nn/a,3\n", encoding="utf-8")
    assert read(path, tutorial)[0].values == {"name": "n/a", "age": "3"}


def test_odk_choice_columns_that_disagree_with_the_answer_hold_the_record_back(tmp_path):
    text = (DATA / "odk_selectMultiple.csv").read_text(encoding="utf-8")
    header, *rows = list(csv.reader(io.StringIO(text)))
    (first,) = read(DATA / "odk_selectMultiple.csv", {"questions": []}, "odk-csv")[:1]
    assert first.problems == ()
    at = next(i for i, h in enumerate(header) if "/" in h)
    rows[0][at] = "0" if rows[0][at] == "1" else "1"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    changed = tmp_path / "changed.csv"
    changed.write_text(out.getvalue(), encoding="utf-8")
    problems = read(changed, {"questions": []}, "odk-csv")[0].problems
    assert [(p[0], p[1]) for p in problems] == [(header[at].rsplit("/", 1)[0], "choices_disagree")]


# KPI's XLS export of the same form with "multiple select: details" (one column per choice, no summary),
# as the rows test_xls_export_multiple_select_details expects (kpi test_mock_data_exports.py @4890303).
KPI_XLS_DETAILS = [
    [
        "start",
        "end",
        "What kind of symmetry do you have?/Spherical",
        "What kind of symmetry do you have?/Radial",
        "What kind of symmetry do you have?/Bilateral",
        "How many segments does your body have?",
        "Do you have body fluids that occupy intracellular space?",
        "Do you descend from an ancestral unicellular organism?",
        "_id",
        "_uuid",
        "_submission_time",
        "_validation_status",
        "_notes",
        "_status",
        "_submitted_by",
        "_tags",
        "_index",
    ],
    ["", "", "#symmetry", "", "", "#segments", "#fluids", "", "", "", "", "", "", "", "", "", ""],
    [
        "2017-10-23T05:40:39.000-04:00",
        "2017-10-23T05:41:13.000-04:00",
        "1",
        "1",
        "1",
        "6",
        "Yes, and some extracellular space",
        "No",
        61.0,
        "48583952-1892-4931-8d9c-869e7b49bafb",
        "2017-10-23T09:41:19",
        "",
        "",
        "submitted_via_web",
        "",
        "",
        1.0,
    ],
    [
        "2017-10-23T05:41:14.000-04:00",
        "2017-10-23T05:41:32.000-04:00",
        "0",
        "1",
        "0",
        "3",
        "Yes",
        "No",
        62.0,
        "317ba7b7-bea4-4a8c-8620-a483c3079c4b",
        "2017-10-23T09:41:38",
        "",
        "",
        "submitted_via_web",
        "",
        "",
        2.0,
    ],
    [
        "2017-10-23T05:41:32.000-04:00",
        "2017-10-23T05:42:05.000-04:00",
        "0",
        "0",
        "1",
        "2",
        "No / Unsure",
        "Yes",
        63.0,
        "3f15cdfe-3eab-4678-8352-7806febf158d",
        "2017-10-23T09:42:11",
        "",
        "",
        "submitted_via_web",
        "anotheruser",
        "",
        3.0,
    ],
]


def test_kobo_workbook_with_choice_columns_only_gives_the_answers_of_the_json(animals, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    for row in KPI_XLS_DETAILS:
        book.active.append(row)
    path = tmp_path / "Identificación de animales.xlsx"
    book.save(path)
    records = read(path, animals)
    from_json = read(DATA / "kobo_animals/submissions.json", animals)
    assert [r.values[SYMMETRY] for r in records] == ["spherical radial bilateral", "radial", "bilateral"]
    assert [r.instance_id for r in records] == [r.instance_id for r in from_json]
    assert [r.values[SEGMENTS] for r in records] == ["6", "3", "2"]


def test_xls_workbooks_are_read_with_xlrd():
    # a real .xls (pyxform's tutorial form): its survey sheet read as rows
    records = read(FORMS / "tutorial.xls", {"questions": []}, "xlsx")
    assert records and records[0].source == "xls"
    assert {"type", "name"} <= set(records[0].raw)


# --- imported: stored, or held back; never dropped -----------------------------------------------------


pytestmark = pytest.mark.django_db


def _leaves(values, prefix=""):
    """(path, instance) keys of every answer of a stored or read record."""
    found = set()
    for key, value in (values or {}).items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for i, item in enumerate(value, start=1):
                found |= _leaves(item, f"{prefix}{key}[{i}]/")
        elif value not in (None, "", []):
            found.add(prefix + key)
    return found


def _file_answers(path: Path, definition: dict) -> int:
    """Answers in an export, counted from its cells without the readers: a CSV's non-empty cells outside
    metadata columns (Kobo's hashtag row, Ona's ``n/a`` and unchosen 0/False choice cells are no
    answers; a select_multiple's summary and choice columns are one answer); a JSON's answered keys."""
    if path.suffix == ".json":
        return sum(
            len(_leaves({k: v for k, v in s.items() if not k.startswith(("_", "meta/", "formhub/"))}))
            for s in json.loads(path.read_text(encoding="utf-8"))
        )
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if text.count(";") > text.count(",") else ","))
    header, body = rows[0], [r for r in rows[1:] if not all(c == "" or c.startswith("#") for c in r)]
    columns = FormColumns(definition)
    header = columns.numbered(header)  # a repeat's bare names, once per instance
    count = 0
    for row in body:
        answered = set()
        for title, cell in zip(header, row, strict=True):
            column = columns.column(title)
            if column.kind in ("meta", "skip") or cell in ("", "n/a") or cell in ("0", "False"):
                continue
            answered.add((column.path, column.indices))
        count += len(answered)
    return count


EXPORTS = [
    ("kobo_animals/form.md", "kobo_animals/submissions.json", 18),
    ("kobo_animals/form.md", "kobo_animals/labels_en.csv", 18),
    ("kobo_animals/form.md", "kobo_animals/labels_es.csv", 18),
    ("kobo_animals/form.md", "kobo_animals/hierarchy_in_labels.csv", 18),
    ("ona_tutorial/form.md", "ona_tutorial/tutorial_w_repeats.csv", 8),
    ("ona_tutorial/form.md", "ona_tutorial/tutorial_w_repeats_truncate_titles.csv", 8),
]


@pytest.fixture
def instrument_of(make_instrument, coordinator):
    def make(form_file: str):
        definition = form(DATA / form_file)
        form_id = KOBO_ANIMALS_UID if "animals" in form_file else definition["form_id"]
        instrument = make_instrument(form_id=form_id, version="", definition=definition)
        services.record_study_consent(instrument.study, user=coordinator)
        return instrument

    return make


@pytest.mark.parametrize(("form_file", "export", "answers"), EXPORTS)
def test_every_answer_of_a_real_export_is_stored_or_its_record_held_back(
    instrument_of, coordinator, form_file, export, answers
):
    instrument = instrument_of(form_file)
    path = DATA / export
    assert _file_answers(path, instrument.definition) == answers
    report = import_service.import_file(instrument, path, user=coordinator, workers=0)
    stored = sum(len(_leaves(s.values)) for s in Submission.objects.filter(study=instrument.study))
    held = sum(
        len(_leaves(decrypt_json(q.payload)["values"]))
        for q in QuarantinedRecord.objects.filter(study=instrument.study)
    )
    assert (report.accepted, report.quarantined) == (report.received, 0)
    assert stored + held == answers


def test_an_answer_in_a_column_the_form_lacks_holds_the_record_back_naming_the_column(
    instrument_of, coordinator, tmp_path
):
    instrument = instrument_of("ona_tutorial/form.md")
    text = (DATA / "ona_tutorial/tutorial_w_repeats.csv").read_text(encoding="utf-8")
    header, row = text.splitlines()
    path = tmp_path / "extra.csv"
    path.write_text(f"{header},tablet_battery\n{row},80%\n", encoding="utf-8")
    report = import_service.import_file(instrument, path, user=coordinator, workers=0)
    assert (report.accepted, report.quarantined) == (0, 1)
    (issue,) = report.reasons[0]["issues"]
    assert (issue["field"], issue["code"]) == ("tablet_battery", "unknown_field")
    assert "80%" not in issue["message"]
    held = decrypt_json(QuarantinedRecord.objects.get().payload)
    assert held["raw"]["tablet_battery"] == "80%"  # kept whole, to be fixed or discarded


def test_the_same_submissions_in_another_format_are_all_duplicates(instrument_of, coordinator):
    instrument = instrument_of("kobo_animals/form.md")
    first = import_service.import_file(instrument, DATA / "kobo_animals/submissions.json", user=coordinator)
    assert first.accepted == 3
    for export in ("labels_en.csv", "labels_es.csv", "hierarchy_in_labels.csv"):
        again = import_service.import_file(instrument, DATA / "kobo_animals" / export, user=coordinator)
        assert (again.received, again.duplicates, again.accepted) == (3, 3, 0), export
    assert Submission.objects.filter(study=instrument.study).count() == 3


def test_without_instance_ids_labels_and_codes_of_one_submission_are_duplicates(
    instrument_of, coordinator, tmp_path
):
    instrument = instrument_of("kobo_animals/form.md")
    submissions = json.loads((DATA / "kobo_animals/submissions.json").read_text(encoding="utf-8"))
    for submission in submissions:
        del submission["_uuid"], submission["meta/instanceID"]
    as_json = tmp_path / "no_ids.json"
    as_json.write_text(json.dumps(submissions), encoding="utf-8")
    lines = (DATA / "kobo_animals/labels_es.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    keep = [i for i, h in enumerate(header) if h != '"_uuid"']
    as_csv = tmp_path / "no_ids.csv"
    as_csv.write_text(
        "\n".join(";".join(line.split(";")[i] for i in keep) for line in lines), encoding="utf-8"
    )
    assert import_service.import_file(instrument, as_json, user=coordinator).accepted == 3
    again = import_service.import_file(instrument, as_csv, user=coordinator)
    assert (again.received, again.duplicates) == (3, 3)


def test_dedup_key_is_the_same_for_every_readers_copy_of_an_id():
    from voicescount.collection.records import RawRecord

    def key(instance_id):
        return services.dedup_key(
            RawRecord(source="csv", locator="row 2", values={}, instance_id=instance_id)
        )

    bare = "48583952-1892-4931-8D9C-869E7B49BAFB"
    assert key(bare) == key(f"uuid:{bare.lower()}") == key(f" uuid:{bare.lower()} ")
    assert key("uuid:a") != key("uuid:b")


# --- a workbook with a sheet per repeat (KoboToolbox's and Ona's XLS/XLSX exports) -----------------------


def kobocat_workbook(path: Path, sheets: dict[str, list[dict]]) -> Path:
    """The export's sheets (``data/kobocat_groups_in_repeats/export.json``) written as an XLSX workbook."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        header = list(dict.fromkeys(k for row in rows for k in row))
        sheet.append(header)
        for row in rows:
            sheet.append([row.get(column) for column in header])
    book.save(path)
    return path


@pytest.fixture
def kobocat_sheets():
    return json.loads((DATA / "kobocat_groups_in_repeats" / "export.json").read_text(encoding="utf-8"))


def test_repeat_sheets_are_joined_to_their_submission(kobocat_sheets, tmp_path):
    definition = form(DATA / "kobocat_groups_in_repeats" / "form.md")
    path = kobocat_workbook(tmp_path / "groups_in_repeats.xlsx", kobocat_sheets)
    (record,) = read(path, definition)
    assert (
        record.values["name"] == "Abe" and record.instance_id == "uuid:ba6bc9d7-b46a-4d25-955e-99ec94e7b2f6"
    )
    children = record.values["children"]
    assert [c["childs_info/name"] for c in children] == ["Cain", "Able"]
    assert [c["childs_info/age"] for c in children] == ["56", "48"]
    assert [c["immunization/immunization_received"] for c in children] == ["polio_1", "polio_1 polio_2"]


def test_every_answer_of_the_repeat_sheets_is_stored(instrument_of, coordinator, kobocat_sheets, tmp_path):
    instrument = instrument_of("kobocat_groups_in_repeats/form.md")
    path = kobocat_workbook(tmp_path / "groups_in_repeats.xlsx", kobocat_sheets)
    report = import_service.import_file(instrument, path, user=coordinator, workers=0)
    assert (report.received, report.accepted, report.quarantined) == (1, 1, 0)
    (submission,) = Submission.objects.filter(study=instrument.study)
    # name, age, has_children, web_browsers, gps; per child: name, age, immunization_received
    assert len(_leaves(submission.values)) == 5 + 2 * 3


def test_a_repeat_row_without_its_submission_refuses_the_file(kobocat_sheets, tmp_path):
    definition = form(DATA / "kobocat_groups_in_repeats" / "form.md")
    kobocat_sheets["children"][1]["_parent_index"] = 7
    path = kobocat_workbook(tmp_path / "orphan.xlsx", kobocat_sheets)
    with pytest.raises(ImportFileError, match="under row _index 7 of 'groups_in_repeats'"):
        read(path, definition)


def test_a_linked_sheet_of_questions_outside_any_repeat_refuses_the_file(kobocat_sheets, tmp_path):
    definition = form(DATA / "kobocat_groups_in_repeats" / "form.md")
    kobocat_sheets["extra"] = [
        {"age": "3", "_index": 1, "_parent_table_name": "groups_in_repeats", "_parent_index": 1}
    ]
    path = kobocat_workbook(tmp_path / "with-extra.xlsx", kobocat_sheets)
    with pytest.raises(
        ImportFileError, match="sheet 'extra' .* column 'age' is not a question inside a repeat"
    ):
        read(path, definition)


def test_answers_of_a_loop_over_choices_are_stored(make_instrument, coordinator, tmp_path):
    definition = form(FORMS / "loop.md")
    instrument = make_instrument(form_id=definition["form_id"], version="", definition=definition)
    services.record_study_consent(instrument.study, user=coordinator)
    answers = {
        "available_toilet_types": "pit_latrine_with_slab bucket_system",
        "loop_toilet_types/pit_latrine_with_slab/number": "2",
        "loop_toilet_types/bucket_system/number": "1",
    }
    path = tmp_path / "loop.json"
    path.write_text(json.dumps([{**answers, "meta/instanceID": "uuid:loop-1"}]), encoding="utf-8")
    report = import_service.import_file(instrument, path, user=coordinator, workers=0)
    assert (report.accepted, report.quarantined) == (1, 0), report.reasons
    (submission,) = Submission.objects.filter(study=instrument.study)
    assert len(_leaves(submission.values)) == 3
