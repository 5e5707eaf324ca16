"""Checks an untrusted container passes before any reader opens it.

An XLSX file or an ODK Central export is a zip of XML or CSV parts. A crafted one can expand to
gigabytes (a "zip bomb"), claim a sheet of ten million rows, or carry XML entity declarations
("billion laughs", external entities). These checks read only the zip's directory and the first
bytes of each XML part, so they cost nothing on a genuine file.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

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

MAX_SHARED_STRINGS_BYTES = 256 * 1024**2
"""Largest ``xl/sharedStrings.xml``: openpyxl holds that table in memory even in read-only mode."""

XML_PROLOGUE_BYTES = 64 * 1024
"""How far into an XML part to look for the root element (and any DOCTYPE before it)."""

_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_ROOT_START = re.compile(rb"<[A-Za-z_]")


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
    """Check every XML part of a workbook, every sheet's claimed dimension, the shared-strings size."""
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
