"""Every reader and sniffer keeps its memory bounded whatever the input (issue 12, defect 3).

Each case writes a hostile file to ``tmp_path`` and reads it in a fresh Python process the way an
upload is read: ``detect_format`` (when the format is "auto") then ``read_records`` to the end. The
child reports its own peak resident set size (Linux ``VmHWM``: ``ru_maxrss`` would count the forked
parent's pages, kept across ``exec``), which must stay under
``PEAK_RSS_LIMIT_MB``; the error, if any, must be an ``ImportFileError`` saying what is wrong.

Baseline: the child after importing the readers and before reading anything is about 23 MB
(Python 3.11, Linux); reading the largest genuine-looking input here (4 Mi emoji in one answer) peaks
near 80 MB. Before the fix, auto-detecting the nested upload of defect 3 took 982 MB, a 100 MB CSV
line 223 MB, a 2-million-key submission 559 MB, an XLSX text table of 2 million tiny texts 352 MB
(in 70 s), and a chain of ODK repeat keys crashed with RecursionError.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from voicescount.collection.readers import jsondepth, jsonstream, odk, safety

PEAK_RSS_LIMIT_MB = 150
"""Peak RSS of the reading process; the baseline (imports done, nothing read) is about 23 MB."""

MB = 1024 * 1024

CHILD = """
import json, re, sys
from voicescount.collection import importing
from voicescount.collection.errors import ImportFileError


def peak_mb():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) // 1024


path, fmt = sys.argv[1], sys.argv[2]
baseline = peak_mb()
error = None
count = 0
try:
    if fmt == "auto":
        fmt = importing.detect_format(path, sys.argv[3])
    for _record in importing.read_records(path, fmt, display_name=sys.argv[3]):
        count += 1
except ImportFileError as exc:
    error = str(exc)
peak = peak_mb()
print(json.dumps({"format": fmt, "error": error, "count": count, "baseline": baseline, "peak": peak}))
"""


def read_in_child(path: Path, fmt: str = "auto", name: str | None = None) -> dict:
    """Detect (``fmt="auto"``) and read ``path`` in a fresh process; its result and peak RSS in MB."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), fmt, name or path.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["peak"] < PEAK_RSS_LIMIT_MB, result
    return result


def nested_kobo(path: Path, depth: int = 20_000) -> Path:
    """The upload of defect 3: one submission whose answer is a list nested ``depth`` deep."""
    path.write_text('{"results":[{"a":' + "[" * depth + "]" * depth + "}]}")
    return path


# --- deep nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["auto", "kobo-json"])
def test_deeply_nested_json_is_refused_in_bounded_memory(tmp_path, fmt):
    # Before the fix: auto-detection peaked at 1,015 MB (ijson built a path prefix per event for a whole
    # buffer) and both said "The JSON is invalid or truncated before the first record."
    result = read_in_child(nested_kobo(tmp_path / "deep.json"), fmt)
    limit = jsondepth.MAX_DEPTH  # the "[" opening level limit + 1 is at byte 14 + limit
    assert f"nested deeper than {limit} levels at byte {14 + limit}" in result["error"]
    assert result["error"].startswith("deep.json: ")
    assert result["count"] == 0


def test_deep_nesting_before_the_list_key_is_refused_by_the_sniffer(tmp_path):
    path = tmp_path / "page.json"
    path.write_text('{"next": ' + "[" * 20_000 + "]" * 20_000 + ', "results": []}')
    result = read_in_child(path)
    assert (
        result["error"]
        == f"page.json: The JSON is nested deeper than {jsondepth.MAX_DEPTH} levels at byte 72."
    )


def test_deep_odata_groups_are_refused(tmp_path):
    path = tmp_path / "Submissions.json"
    path.write_text('{"value": [' + '{"g":' * 5000 + "1" + "}" * 5000 + "]}")
    result = read_in_child(path, "odk-odata")
    assert f"nested deeper than {jsondepth.MAX_DEPTH} levels at byte {11 + 5 * 62}" in result["error"]


# --- one enormous value, very many values or records ---------------------------------------------------


def kobo_page(path: Path, item: bytes, key: bytes = b"results") -> Path:
    path.write_bytes(b'{"count": 1, "' + key + b'": [' + item + b"]}")
    return path


TOO_LARGE = "larger than 4 Mi characters or holds more than 200,000 values"


@pytest.mark.parametrize(
    ("item", "key"),
    [
        (b'{"a": "' + b"x" * 20 * MB + b'"}', b"results"),  # one enormous string
        (b'{"a": 1.' + b"1" * 20 * MB + b"}", b"results"),  # one enormous number
        (b'{"' + b"k" * 20 * MB + b'": 1}', b"results"),  # one enormous key
        (b"{" + b",".join(b'"k%d": 1' % i for i in range(1_000_000)) + b"}", b"results"),  # a million keys
        (
            b"[" + b",".join([b"{}"] * 2_000_000) + b"]",
            b"results",
        ),  # 2 million objects: 6 MB, 130 MB as dicts
        (b'{"a": "' + b"x" * 20 * MB + b'"}', b"value"),  # OData
    ],
    ids=["string", "number", "key", "keys", "objects", "odata-string"],
)
def test_one_enormous_submission_is_refused_in_bounded_memory(tmp_path, item, key):
    assert jsonstream.MAX_ITEM_CHARS == 4 * MB and jsonstream.MAX_ITEM_VALUES == 200_000
    result = read_in_child(kobo_page(tmp_path / "page.json", item, key))
    assert TOO_LARGE in result["error"] and result["count"] == 0


def test_the_largest_answer_accepted_is_read_in_bounded_memory(tmp_path):
    text = "😀" * (jsonstream.MAX_ITEM_CHARS - 100)  # 4 bytes a character in memory: the worst case
    path = kobo_page(tmp_path / "page.json", json.dumps({"a": text}, ensure_ascii=False).encode())
    result = read_in_child(path)
    assert result["error"] is None and result["count"] == 1


def test_many_tiny_records_are_streamed(tmp_path):
    result = read_in_child(kobo_page(tmp_path / "page.json", b",".join([b'{"a": 1}'] * 100_000)))
    assert result["error"] is None and result["count"] == 100_000


# --- CSV and ODK CSV ----------------------------------------------------------------------------------


ROW_TOO_LONG = f"a row is longer than {safety.MAX_ROW_CHARS:,} characters"
TOO_MANY_CELLS = f"a row has more than {safety.MAX_CSV_COLUMNS:,} cells"


def long_line(path: Path, header: bytes = b"consent,name\n") -> Path:
    """A header, then 100 MB without a line break."""
    with open(path, "wb") as handle:
        handle.write(header)
        for _ in range(100):
            handle.write(b"x" * MB)
    return path


@pytest.mark.parametrize(
    ("fmt", "header"), [("auto", b"consent,name\n"), ("odk-csv", b"SubmissionDate,q,KEY\n")]
)
def test_a_100_mb_line_without_newline_is_refused(tmp_path, fmt, header):
    result = read_in_child(long_line(tmp_path / "data.csv", header), fmt)
    assert result["error"] == (
        f"data.csv, row 2: The CSV cannot be parsed: {ROW_TOO_LONG} (an unclosed quote, or not a CSV file?)."
    )


@pytest.mark.parametrize("fmt", ["auto", "odk-csv"])
def test_very_many_columns_are_refused(tmp_path, fmt):
    header = tmp_path / "header.csv"
    header.write_text(",".join(f"q{i}" for i in range(20_000)) + "\n")
    result = read_in_child(header, fmt)
    assert result["error"] == f"header.csv, row 1: The CSV cannot be parsed: {TOO_MANY_CELLS}."
    cells = tmp_path / "cells.csv"
    cells.write_text("consent,name\n" + "1," * 20_000 + "\n")
    result = read_in_child(cells, fmt)
    assert result["error"] == f"cells.csv, row 2: The CSV cannot be parsed: {TOO_MANY_CELLS}."


def test_separator_sniffing_does_bounded_work(tmp_path):
    # csv.Sniffer's quote patterns are quadratic: on the 256 KB sample of this file it took minutes
    path = tmp_path / "quotes.csv"
    path.write_text("a,b\n" + '"x" ,' * 48_000 + "\n")
    started = time.monotonic()
    result = read_in_child(path)
    assert time.monotonic() - started < 20
    assert result["error"] == f"quotes.csv, row 2: The CSV cannot be parsed: {TOO_MANY_CELLS}."


def test_many_tiny_rows_are_streamed(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a\n" + "1\n" * 100_000)
    result = read_in_child(path)
    assert result["error"] is None and result["count"] == 100_000


def odk_zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def test_odk_zip_bomb_long_line_and_repeat_cycle_are_refused(tmp_path):
    main = b"SubmissionDate,q,KEY\n2025-01-01,1,uuid:1\n"
    bomb = odk_zip(tmp_path / "bomb.zip", {"f.csv": main, "f-r.csv": b"a,PARENT_KEY,KEY\n" + b"0" * 100 * MB})
    assert "refused as unsafe (a 'zip bomb')" in read_in_child(bomb)["error"]
    stored = odk_zip(tmp_path / "line.zip", {"f.csv": main + b"x" * 20 * MB}, compression=zipfile.ZIP_STORED)
    assert read_in_child(stored)["error"] == (
        f"line.zip (f.csv), row 3: The CSV cannot be parsed: {ROW_TOO_LONG} (an unclosed quote, or not a CSV "
        "file?)."
    )
    cycle = b"a,PARENT_KEY,KEY\n1,uuid:1,uuid:1/r[1]\n2,uuid:1/r[1],uuid:1/r[1]\n"  # a row its own parent
    result = read_in_child(odk_zip(tmp_path / "cycle.zip", {"f.csv": main, "f-r.csv": cycle}))
    assert result["error"] == (
        f"cycle.zip (f-r.csv): Repeats are nested deeper than {odk.MAX_REPEAT_DEPTH} levels (does a "
        "PARENT_KEY lead back to its own row?)."
    )


# --- XLSX ---------------------------------------------------------------------------------------------

MAIN_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def workbook(path: Path, *, shared: bytes | None = None, row: bytes | None = None) -> Path:
    """A one-sheet workbook whose text table is ``shared`` and whose second row is ``row`` (stored, so
    that no zip-bomb check stops it first)."""
    plain = path.with_suffix(".plain.xlsx")
    book = openpyxl.Workbook()
    book.active.append(["consent", "name"])
    book.active.append(["yes", "a"])
    book.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:
        for member in source.namelist():
            data = source.read(member)
            if member == "[Content_Types].xml" and shared is not None:
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            if member == "xl/worksheets/sheet1.xml" and row is not None:
                start = data.index(b'<row r="2"')
                data = data[:start] + b'<row r="2">' + row + b"</row>" + data[data.index(b"</sheetData>") :]
            target.writestr(member, data)
        if shared is not None:
            target.writestr("xl/sharedStrings.xml", b"<sst " + MAIN_NS + b">" + shared + b"</sst>")
    return path


def test_xlsx_text_table_of_many_texts_or_one_enormous_text_stays_bounded(tmp_path):
    many = workbook(
        tmp_path / "many.xlsx", shared=b"".join(b"<si><t>%d</t></si>" % i for i in range(300_000))
    )
    assert read_in_child(many)["error"] == (
        "many.xlsx: The workbook's text table holds 300,000 texts (limit 200,000), too many to read safely; "
        "save the sheet as 'CSV UTF-8' and import the CSV instead."
    )
    assert safety.MAX_SHARED_STRINGS_BYTES == 32 * MB
    text = b"<si><t>" + b"y" * (safety.MAX_SHARED_STRINGS_BYTES - 1000) + b"</t></si>"
    result = read_in_child(workbook(tmp_path / "huge.xlsx", shared=text))  # just under the limit: read
    assert result["error"] is None and result["count"] == 1
    over = workbook(tmp_path / "over.xlsx", shared=text + text)
    assert "The workbook's text table is 63 MB (limit 32 MB)" in read_in_child(over)["error"]


def test_xlsx_row_of_one_enormous_cell_or_millions_of_cells_is_refused(tmp_path):
    expected = (
        "The sheet 'xl/worksheets/sheet1.xml' has a row of more than 8 MB (one enormous cell, or millions of "
        "cells); refused as unsafe."
    )
    cell = b'<c r="A2" t="inlineStr"><is><t>' + b"z" * 20 * MB + b"</t></is></c>"
    assert read_in_child(workbook(tmp_path / "cell.xlsx", row=cell))["error"] == f"cell.xlsx: {expected}"
    cells = b"<c><v>1</v></c>" * 1_000_000
    assert read_in_child(workbook(tmp_path / "cells.xlsx", row=cells))["error"] == f"cells.xlsx: {expected}"


# --- through the upload page --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_upload_page_shows_the_nesting_error_and_stores_nothing(
    client, coordinator, make_instrument, tmp_path, settings
):
    # The page queues a background job; here it runs at once, and the job page shows why it failed.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from django.core.files.uploadedfile import SimpleUploadedFile

    from voicescount.collection.models import ImportBatch, QuarantinedRecord, Submission

    instrument = make_instrument(study_slug="survey")
    client.force_login(coordinator)
    upload = SimpleUploadedFile("deep.json", nested_kobo(tmp_path / "deep.json").read_bytes())
    response = client.post(
        "/en/studies/survey/import/",
        {"instrument": instrument.pk, "format": "auto", "file": upload},
        follow=True,
    )
    assert response.context["job"].status == "failed"
    limit = jsondepth.MAX_DEPTH
    assert response.context["job"].error == (
        f"deep.json: The JSON is nested deeper than {limit} levels at byte {14 + limit} before the first "
        "record."
    )
    assert not Submission.objects.exists() and not QuarantinedRecord.objects.exists()
    assert not ImportBatch.objects.exists()
