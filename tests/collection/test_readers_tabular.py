"""CSV and XLSX readers: encodings, separators, malformed tables, unsafe workbooks (no database needed)."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest

from voicescount.collection import importing
from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import safety

VIETNAMESE = "Nguyễn Thị Hoà; Trần Văn Đức; phường Hàng Bồ"


def read(path: Path, fmt: str = "csv", **kwargs):
    return list(importing.read_records(path, fmt, **kwargs))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


KOBO_CSV = (
    "start;consent;hh/size;respondent_name;_id;_uuid;_submission_time;_validation_status;__version__\n"
    "2025-03-02T08:10:00.000+07:00;yes;4;Nguyễn Thị Hoà;501;7f1c-501;2025-03-02T01:25:14;;vA1\n"
    '2025-03-02T09:00:00.000+07:00;yes;;"Trần; Văn Đức";502;7f1c-502;2025-03-02T02:40:00;;vA1\n'
)


# --- CSV ----------------------------------------------------------------------------------------------


def test_csv_in_kobo_naming_with_semicolons(tmp_path):
    first, second = read(write(tmp_path, "households.csv", KOBO_CSV.encode("utf-8")))
    assert first.values == {
        "start": "2025-03-02T08:10:00.000+07:00",
        "consent": "yes",
        "hh/size": "4",
        "respondent_name": "Nguyễn Thị Hoà",
    }
    assert first.meta["_id"] == "501" and first.meta["_validation_status"] is None
    assert first.instance_id == "uuid:7f1c-501"
    assert first.submitted_at == dt.datetime(2025, 3, 2, 1, 25, 14, tzinfo=dt.UTC)
    assert first.locator == "row 2" and first.source == "csv"
    assert second.values["hh/size"] is None  # an empty cell is kept as None…
    assert second.raw["hh/size"] == ""  # …and the raw row is verbatim
    assert second.values["respondent_name"] == "Trần; Văn Đức"  # a quoted separator


def test_csv_with_utf8_bom_and_tabs(tmp_path):
    text = "consent\thh/size\tname\nyes\t3\t" + VIETNAMESE + "\n"
    [record] = read(write(tmp_path, "x.csv", b"\xef\xbb\xbf" + text.encode("utf-8")))
    assert record.values == {"consent": "yes", "hh/size": "3", "name": VIETNAMESE}


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_csv_in_utf16_with_or_without_bom(tmp_path, codec):
    text = "consent\tname\r\nyes\t" + VIETNAMESE + "\r\n"  # Excel's "Unicode text"
    [record] = read(write(tmp_path, "x.txt", text.encode(codec)))
    assert record.values == {"consent": "yes", "name": VIETNAMESE}


def test_csv_text_in_nfd_is_passed_through_unchanged(tmp_path):
    nfd = unicodedata.normalize("NFD", VIETNAMESE)
    [record] = read(write(tmp_path, "x.csv", f'name,q\n"{nfd}",1\n'.encode()))
    assert record.values["name"] == nfd != unicodedata.normalize("NFC", nfd)


def test_windows_1258_is_refused_naming_the_legacy_encodings(tmp_path):
    # Windows-1258 has no precomposed "ầ": it writes "â" followed by a combining grave accent.
    line = "Tr\u00e2\u0300n V\u0103n \u0110\u01b0\u0301c,H\u00e0ng B\u00f4\u0300\n"
    data = ("name,village\n" + line * 20).encode("cp1258")
    with pytest.raises(ImportFileError) as caught:
        read(write(tmp_path, "legacy.csv", data))
    message = str(caught.value)
    assert message.startswith("legacy.csv: The file is not UTF-8 or UTF-16 text")
    assert "Windows-1258" in message and "TCVN3" in message
    assert "V\u0103n" not in message and "H\u00e0ng" not in message


TONES = "\u0300\u0301\u0303\u0309\u0323"


def windows_1258(text: str) -> bytes:
    """``text`` as Windows-1258 writes it: ``â ê ô ơ ư ă`` precomposed, the five tones as combining marks."""
    out = []
    for char in text:
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out.append(base + "".join(c for c in parts if c in TONES))
    return "".join(out).encode("cp1258")


@pytest.mark.parametrize(
    "text",
    [
        "q1,q2\nCó,Không\n",  # charset-normalizer said Windows-1250 for these three
        "name\nPhạm Thị Hương\n",
        "province\nĐiện Biên\nLào Cai\nSơn La\n",
        "ho_ten,tinh\nNguyễn Văn An,Hà Nội\nTrần Thị Bình,Đà Nẵng\n" * 50,
    ],
)
def test_windows_1258_vietnamese_is_named_windows_1258(tmp_path, text):
    for fmt in ("csv", "odk-csv"):
        with pytest.raises(ImportFileError) as caught:
            read(write(tmp_path, "legacy.csv", windows_1258(text)), fmt)
        assert "(its bytes look like Windows-1258 (Vietnamese))." in str(caught.value)
    assert importing.detect_format(tmp_path / "legacy.csv") == "csv"


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("jméno\nDěkuji, že jste přišli včas\nPetr Dvořák\n", "cp1250"),
        ("nom\nCafé, naïve, señor\n", "cp1252"),
    ],
)
def test_other_code_pages_are_not_taken_for_windows_1258(tmp_path, text, codec):
    with pytest.raises(ImportFileError) as caught:
        read(write(tmp_path, "other.csv", text.encode(codec)))
    assert "(its bytes look like" in str(caught.value) and "(Vietnamese)" not in str(caught.value)


def test_tcvn3_bytes_that_decode_as_windows_1252_are_not_accepted(tmp_path):
    # TCVN3 (ABC) puts Vietnamese letters in 0xA0-0xFF: "Văn" is V\xa8n, "ư" is \xad, "đ" is \xae.
    # The bytes are valid Windows-1252 (they would show as "V¨n", "®"), so a guess would "succeed".
    data = b"name,village\n" + b"Tr\xa7n V\xa8n \xae\xf7c,H\xb5ng B\xe5\n" * 20
    with pytest.raises(ImportFileError, match=r"TCVN3 \(ABC\)"):
        read(write(tmp_path, "abc.csv", data))


def test_utf8_mojibake_of_vietnamese_is_refused(tmp_path):
    garbled = VIETNAMESE.encode("utf-8").decode("cp1252", errors="replace")  # opened as Windows-1252…
    data = f"name,q\n{garbled},1\n".encode()  # …and saved again as UTF-8
    with pytest.raises(ImportFileError, match="looks garbled"):
        read(write(tmp_path, "twice.csv", data))


def test_french_and_plain_vietnamese_are_not_taken_for_mojibake(tmp_path):
    text = "name,note\nJosé Müller,«très bien» à 5 € — ça va\nĐặng Thùy Trâm,Ông bà\n"
    records = read(write(tmp_path, "ok.csv", text.encode()))
    assert records[0].values["note"] == "«très bien» à 5 € — ça va"


def test_a_separator_other_than_comma_semicolon_or_tab_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match=r"pipes.csv, row 1: Cannot find the column separator"):
        read(write(tmp_path, "pipes.csv", b"consent|hh/size|name\nyes|3|Lan\n"))


def test_a_single_column_file_is_read(tmp_path):
    [record] = read(write(tmp_path, "one.csv", b"consent\nyes\n"))
    assert record.values == {"consent": "yes"}


def test_duplicated_columns_are_refused_naming_them(tmp_path):
    data = b"consent,age,name,age,name,q\nyes,1,a,2,b,c\n"
    with pytest.raises(ImportFileError, match=r"dup.csv, row 1: Duplicated column names: 'age', 'name'"):
        read(write(tmp_path, "dup.csv", data))


def test_a_ragged_row_is_refused_naming_the_row(tmp_path):
    data = "consent,age,name\nyes,30,Lan\nyes,Nguyễn Secret\n".encode()
    with pytest.raises(ImportFileError) as caught:
        read(write(tmp_path, "ragged.csv", data))
    assert str(caught.value).startswith("ragged.csv, row 3: The row has 2 cells but the header has 3 columns")
    assert "Secret" not in str(caught.value)


def test_unnamed_columns_must_be_empty(tmp_path):
    [record] = read(write(tmp_path, "trail.csv", b"consent,age,\nyes,30,\n"))
    assert record.values == {"consent": "yes", "age": "30"}
    with pytest.raises(ImportFileError, match=r"row 2: Column 3 has no name"):
        read(write(tmp_path, "bad.csv", b"consent,age,\nyes,30,x\n"))


def test_bare_question_names_are_mapped_to_group_paths_with_the_form(tmp_path):
    path = write(tmp_path, "x.csv", b"consent,size,name\nyes,3,Lan\n")
    [record] = read(path, questions=["consent", "hh/size", "hh/name", "roster/name"])
    assert record.values == {"consent": "yes", "hh/size": "3", "name": "Lan"}  # 'name' is ambiguous: kept


def test_progress_is_reported_in_bytes(tmp_path):
    rows = "".join(f"yes,{i},Lan\n" for i in range(2500))
    path = write(tmp_path, "p.csv", ("consent,age,name\n" + rows).encode())
    calls: list[tuple[int, int]] = []
    assert len(read(path, progress=lambda done, total: calls.append((done, total)))) == 2500
    total = path.stat().st_size
    assert len(calls) == 3 and calls[-1] == (total, total)
    assert all(t == total for _d, t in calls)
    assert calls[0][0] <= calls[1][0] <= total


def test_empty_csv_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="empty"):
        read(write(tmp_path, "e.csv", b""))


# --- XLSX ---------------------------------------------------------------------------------------------


def workbook_bytes(rows, *, title="Sheet1", extra_sheets=()) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name, other_rows in extra_sheets:
        other = workbook.create_sheet(name)
        for row in other_rows:
            other.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rezip(data: bytes, replace: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            target.writestr(member.filename, replace.get(member.filename, source.read(member.filename)))
        for member, content in (add or {}).items():
            target.writestr(member, content)
    return buffer.getvalue()


def test_xlsx_rows_become_records(tmp_path):
    data = workbook_bytes(
        [
            ["today", "consent", "hh/size", "name", "_uuid", "_submission_time"],
            [dt.date(2025, 3, 2), "yes", 4, "Nguyễn Thị Hoà", "u-1", dt.datetime(2025, 3, 2, 1, 25, 14)],
            [None, None, None, None, None, None],  # a blank row Excel kept
            [dt.date(2025, 3, 3), "no", None, "Lan", "u-2", "2025-03-03T00:00:00"],
        ]
    )
    first, second = read(write(tmp_path, "households.xlsx", data), "xlsx")
    assert first.values == {"today": "2025-03-02", "consent": "yes", "hh/size": 4, "name": "Nguyễn Thị Hoà"}
    assert first.meta["_submission_time"] == "2025-03-02T01:25:14"
    assert first.submitted_at == dt.datetime(2025, 3, 2, 1, 25, 14, tzinfo=dt.UTC)
    assert first.instance_id == "uuid:u-1"
    assert (first.locator, second.locator) == ("row 2", "row 4")
    assert second.values["hh/size"] is None
    assert first.source == "xlsx"


def test_xlsx_sheet_named_like_the_file_is_preferred(tmp_path):
    data = workbook_bytes(
        [["note"], ["cover sheet"]], title="About", extra_sheets=[("households", [["consent"], ["yes"]])]
    )
    path = write(tmp_path, "upload.xlsx", data)
    assert read(path, "xlsx")[0].values == {"note": "cover sheet"}
    assert read(path, "xlsx", display_name="households.xlsx")[0].values == {"consent": "yes"}
    assert read(path, "xlsx", sheet="households")[0].values == {"consent": "yes"}
    with pytest.raises(ImportFileError, match="no sheet 'x'"):
        read(path, "xlsx", sheet="x")


def test_xlsx_duplicated_columns_are_refused(tmp_path):
    data = workbook_bytes([["consent", "age", "age"], ["yes", 1, 2]])
    with pytest.raises(ImportFileError, match="Duplicated column names: 'age'"):
        read(write(tmp_path, "d.xlsx", data), "xlsx")


def test_encrypted_workbook_is_refused_saying_so(tmp_path):
    # Excel saves a password-protected .xlsx as an OLE2 compound file (EncryptedPackage inside).
    data = safety.OLE2_SIGNATURE + b"\x00" * 504 + b"EncryptedPackage"
    path = write(tmp_path, "secret.xlsx", data)
    assert importing.detect_format(path, "secret.xlsx") == "xlsx"
    with pytest.raises(ImportFileError, match="secret.xlsx: This workbook is password-protected"):
        read(path, "xlsx")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_corrupt_workbook_is_refused(tmp_path, cut):
    data = workbook_bytes([["consent"], ["yes"]])
    path = write(tmp_path, "broken.xlsx", data[: int(len(data) * cut)])
    with pytest.raises(ImportFileError, match=r"broken.xlsx: This is not a readable XLSX workbook"):
        read(path, "xlsx")


def test_workbook_part_that_is_not_xml_is_refused(tmp_path):
    data = rezip(
        workbook_bytes([["consent"], ["yes"]]), {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData>"}
    )
    with pytest.raises(ImportFileError, match=r"cannot be read"):
        read(write(tmp_path, "bad.xlsx", data), "xlsx")


def test_sheet_claiming_ten_million_rows_is_refused(tmp_path):
    data = workbook_bytes([["consent"], ["yes"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    bomb = sheet.replace(b'<dimension ref="A1:A2"/>', b'<dimension ref="A1:XFD10000000"/>')
    assert bomb != sheet
    with pytest.raises(ImportFileError, match=r"claims 10,000,000 rows × 16,384 columns"):
        read(write(tmp_path, "bomb.xlsx", rezip(data, {"xl/worksheets/sheet1.xml": bomb})), "xlsx")


def test_highly_compressed_part_is_refused(tmp_path):
    data = rezip(workbook_bytes([["consent"], ["yes"]]), {}, add={"xl/media/padding.bin": b"\0" * 20_000_000})
    assert len(data) < 100_000
    with pytest.raises(ImportFileError, match=r"'xl/media/padding.bin' is compressed \d+× \(limit 200×\)"):
        read(write(tmp_path, "zipbomb.xlsx", data), "xlsx")


def test_a_huge_shared_strings_table_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_SHARED_STRINGS_BYTES", 100)
    strings = b"<sst>" + b"<si><t>x</t></si>" * 20 + b"</sst>"
    data = rezip(workbook_bytes([["consent"], ["yes"]]), {}, add={"xl/sharedStrings.xml": strings})
    with pytest.raises(ImportFileError, match=r"text table is 0 MB \(limit 0 MB\).*'CSV UTF-8'"):
        read(write(tmp_path, "strings.xlsx", data), "xlsx")


def test_xml_with_an_entity_declaration_is_refused(tmp_path):
    data = workbook_bytes([["consent"], ["yes"]])
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    declaration = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    evil = sheet.replace(b"<worksheet", declaration + b"<worksheet", 1)
    assert evil != sheet
    with pytest.raises(
        ImportFileError, match=r"'xl/worksheets/sheet1.xml' declares a DOCTYPE or XML entities"
    ):
        read(write(tmp_path, "entity.xlsx", rezip(data, {"xl/worksheets/sheet1.xml": evil})), "xlsx")


def test_detect_format_of_a_workbook(tmp_path):
    path = write(tmp_path, "upload.bin", workbook_bytes([["consent"], ["yes"]]))
    assert importing.detect_format(path, "anything.zip") == "xlsx"
