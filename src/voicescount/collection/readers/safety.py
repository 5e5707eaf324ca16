"""Checks an untrusted container passes before any reader opens it.

An XLSX file or an ODK Central export is a zip of XML or CSV parts. A crafted one can expand to
gigabytes (a "zip bomb"), claim a sheet of ten million rows, or carry XML entity declarations
("billion laughs", external entities). These checks read the zip's directory and the first bytes
of each XML part; the sheets and the shared-strings table are also read once, a 64 KB chunk at a
time, to find a row too large or too many texts before openpyxl builds them (30 ms for a 2.5 MB
sheet).

CSV text (a file, or a member of an ODK zip) is read through ``csv_rows``, which bounds what one row
can hold: without it ``csv`` reads a 100 MB line without a newline whole, or a row of millions of
cells, before any check sees it.
"""

from __future__ import annotations

import csv
import itertools
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from voicescount.collection.errors import ImportFileError

OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
"""First bytes of an OLE2 compound file: an encrypted (password-protected) workbook, or an old .xls."""

MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
"""Largest total uncompressed size of a zip's members (a 1 GB export stays well below)."""

MAX_COMPRESSION_RATIO = 200
"""Largest uncompressed/compressed ratio of a member bigger than ``RATIO_CHECK_ABOVE`` bytes.

Spreadsheet XML and CSV compress 5–30×; deflate cannot exceed ~1030×, and bombs sit near that.
"""

RATIO_CHECK_ABOVE = 1024 * 1024

MAX_MEMBERS = 10_000

MAX_SHEET_ROWS = 1_048_576
"""Excel's own limits: a sheet claiming more rows or columns is not a genuine export."""

MAX_SHEET_COLUMNS = 16_384

MAX_SHARED_STRINGS_BYTES = 32 * 1024**2
"""Largest ``xl/sharedStrings.xml``: openpyxl holds that table in memory even in read-only mode.

It takes about 2.5 times the XML (a 32 MB table of one long text peaks near 100 MB).
"""

MAX_SHARED_STRINGS = 200_000
"""Texts in the shared-strings table, counted before openpyxl reads it: each costs it ~160 bytes and
35 µs (2 million tiny ones took 330 MB and 70 s). A sheet of 10,000 submissions has ~50,000."""

MAX_SHEET_ROW_BYTES = 8 * 1024**2
"""XML bytes of one sheet row (openpyxl builds a row whole): one enormous cell, or millions of cells.

Excel's largest cell is 32,767 characters (under 200 KB of XML); a 2,000-column row is ~150 KB.
"""

XML_SCAN_CHUNK = 64 * 1024

MAX_ROW_CHARS = 4 * 1024 * 1024
"""Characters of one CSV row, its quoted line breaks included (a 2,000-column export row is ~50 KB)."""

MAX_CSV_COLUMNS = MAX_SHEET_COLUMNS
"""Cells of one CSV row, counted as its separators (one inside a quoted answer counts too)."""

XML_PROLOGUE_BYTES = 64 * 1024
"""How far into an XML part to look for the root element (and any DOCTYPE before it)."""

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_ROOT_START = re.compile(rb"<[A-Za-z_]")
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si[\s>/]")
_ROW_START = re.compile(rb"<(?:\w+:)?row[\s>/]")
_TAG_BYTES = 32  # longer than any start tag searched for: carried from one chunk to the next


def refuse_ole2(path: Path, name: str) -> None:
    """Refuse an OLE2 compound file given where an XLSX was expected."""
    with open(path, "rb") as handle:
        head = handle.read(len(OLE2_SIGNATURE))
    if head == OLE2_SIGNATURE:
        raise ImportFileError(
            "This workbook is password-protected (encrypted) or in the old .xls format, which cannot be "
            "read. Remove the password in Excel/LibreOffice and save it as .xlsx, then import it again.",
            file=name,
        )


def open_zip(path: Path, name: str, *, what: str) -> zipfile.ZipFile:
    """Open ``path`` as a zip after checking its directory against the size and ratio limits."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportFileError(
            f"This is not a readable {what}: the zip container is corrupt ({exc}).", file=name
        ) from None
    try:
        check_zip_members(archive, name)
    except BaseException:
        archive.close()
        raise
    return archive


def check_zip_members(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse a zip whose members would expand too far, or too suspiciously."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise ImportFileError(f"The archive holds {len(members)} files (limit {MAX_MEMBERS}).", file=name)
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise ImportFileError(
                f"The archive member '{member.filename}' is encrypted; export it again without a password.",
                file=name,
            )
        total += member.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise ImportFileError(
                f"The archive would expand to more than {MAX_UNCOMPRESSED_BYTES // 1024**3} GB; refused as "
                "unsafe (a 'zip bomb') or too large to import.",
                file=name,
            )
        if member.file_size > RATIO_CHECK_ABOVE:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise ImportFileError(
                    f"The archive member '{member.filename}' is compressed {ratio:.0f}× (limit "
                    f"{MAX_COMPRESSION_RATIO}×); refused as unsafe (a 'zip bomb').",
                    file=name,
                )


def check_xml_part(archive: zipfile.ZipFile, member: str, name: str) -> bytes:
    """Refuse an XML part with a DOCTYPE or ENTITY declaration; returns the bytes read (its prologue).

    A declaration can only precede the root element, so reading up to the root's start suffices.
    """
    with archive.open(member) as stream:
        head = stream.read(XML_PROLOGUE_BYTES)
    text = head
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore").encode("utf-8")
    upper = text.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise ImportFileError(
            f"The part '{member}' declares a DOCTYPE or XML entities, which spreadsheets never need; "
            "refused as unsafe.",
            file=name,
        )
    body = re.sub(rb"<\?.*?\?>|<!--.*?-->", b"", text, flags=re.DOTALL)
    if text and not _ROOT_START.search(body) and len(head) == XML_PROLOGUE_BYTES:
        raise ImportFileError(
            f"The part '{member}' has no XML element in its first {XML_PROLOGUE_BYTES // 1024} KB; "
            "refused as unsafe.",
            file=name,
        )
    return head


def check_xlsx(archive: zipfile.ZipFile, name: str) -> None:
    """Check every XML part of a workbook, every sheet's claimed dimension and row sizes, and the
    shared-strings table's size and count."""
    for info in archive.infolist():
        if info.filename == "xl/sharedStrings.xml" and info.file_size > MAX_SHARED_STRINGS_BYTES:
            raise ImportFileError(
                f"The workbook's text table is {info.file_size // 1024**2} MB (limit "
                f"{MAX_SHARED_STRINGS_BYTES // 1024**2} MB), too large to read safely; save the sheet as "
                "'CSV UTF-8' and import the CSV instead.",
                file=name,
            )
    for member in archive.namelist():
        if not member.lower().endswith((".xml", ".rels", ".vml")):
            continue
        head = check_xml_part(archive, member, name)
        if member.startswith("xl/worksheets/") and member.endswith(".xml"):
            check_dimension(head, member, name)
            check_row_sizes(archive, member, name)
        if member == "xl/sharedStrings.xml":
            count = len(list(_tag_offsets(archive, member, _SHARED_STRING)))
            if count > MAX_SHARED_STRINGS:
                raise ImportFileError(
                    f"The workbook's text table holds {count:,} texts (limit {MAX_SHARED_STRINGS:,}), too "
                    "many to read safely; save the sheet as 'CSV UTF-8' and import the CSV instead.",
                    file=name,
                )


def _tag_offsets(archive: zipfile.ZipFile, member: str, tag: re.Pattern[bytes]) -> Iterator[int]:
    """Offsets of each ``tag`` in a zip member, read a chunk at a time (memory: one chunk)."""
    seen = -1
    consumed = 0  # offset of the end of what was read
    tail = b""
    with archive.open(member) as stream:
        while chunk := stream.read(XML_SCAN_CHUNK):
            data = tail + chunk
            base = consumed - len(tail)
            for found in tag.finditer(data):
                offset = base + found.start()
                if offset > seen:  # a tag in the carried tail was found the time before
                    seen = offset
                    yield offset
            consumed += len(chunk)
            tail = data[-_TAG_BYTES:]


def check_row_sizes(archive: zipfile.ZipFile, member: str, name: str) -> None:
    """Refuse a sheet with a row of more than ``MAX_SHEET_ROW_BYTES`` of XML (reads it once, in chunks)."""
    last = 0
    end = archive.getinfo(member).file_size
    for offset in itertools.chain(_tag_offsets(archive, member, _ROW_START), [end]):
        if offset - last > MAX_SHEET_ROW_BYTES:
            raise ImportFileError(
                f"The sheet '{member}' has a row of more than {MAX_SHEET_ROW_BYTES // 1024**2} MB (one "
                "enormous cell, or millions of cells); refused as unsafe.",
                file=name,
            )
        last = offset


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - ord("A") + 1)
    return number


def check_dimension(head: bytes, member: str, name: str) -> None:
    """Refuse a sheet whose ``<dimension ref="A1:XFD9999999">`` exceeds Excel's row/column limits."""
    found = _DIMENSION.search(head)
    if not found:
        return
    first_col, first_row, last_col, last_row = found.groups()
    columns = _column_number(last_col or first_col or b"A")
    rows = int(last_row or first_row or b"1")
    if rows > MAX_SHEET_ROWS or columns > MAX_SHEET_COLUMNS:
        raise ImportFileError(
            f"The sheet '{member}' claims {rows:,} rows × {columns:,} columns, beyond what a spreadsheet "
            f"can hold ({MAX_SHEET_ROWS:,} × {MAX_SHEET_COLUMNS:,}); refused as unsafe.",
            file=name,
        )


class RowTooLarge(csv.Error):
    """A CSV row over ``MAX_ROW_CHARS`` characters or ``MAX_CSV_COLUMNS`` cells (a ``csv.Error``)."""


class _BoundedLines:
    """Lines of ``handle`` for ``csv.reader``, read at most ``MAX_ROW_CHARS`` at a time; counts a row."""

    def __init__(self, handle: TextIO, delimiter: str) -> None:
        self.readline = handle.readline
        self.delimiter = delimiter
        self.chars = 0  # of the row being read, reset by ``csv_rows``
        self.cells = 1

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> str:
        line = self.readline(MAX_ROW_CHARS + 1 - self.chars)
        if not line:
            raise StopIteration
        self.chars += len(line)
        self.cells += line.count(self.delimiter)
        if self.chars > MAX_ROW_CHARS:
            raise RowTooLarge(
                f"a row is longer than {MAX_ROW_CHARS:,} characters (an unclosed quote, or not a CSV file?)"
            )
        if self.cells > MAX_CSV_COLUMNS:
            raise RowTooLarge(f"a row has more than {MAX_CSV_COLUMNS:,} cells")
        return line


def csv_rows(handle: TextIO, delimiter: str = ",") -> Iterator[list[str]]:
    """``csv.reader(handle, delimiter=delimiter)`` in bounded memory: raises ``RowTooLarge`` (a
    ``csv.Error``) for a row over ``MAX_ROW_CHARS`` characters or ``MAX_CSV_COLUMNS`` cells."""
    lines = _BoundedLines(handle, delimiter)
    for row in csv.reader(lines, delimiter=delimiter):
        lines.chars, lines.cells = 0, 1
        yield row
