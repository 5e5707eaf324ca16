"""The entry point the CLI and the upload page use to read an export: formats, detection, reading.

``read_records`` streams ``RawRecord``s from a KoboToolbox JSON export, an ODK Central CSV zip or
OData JSON, or a CSV/XLSX file in the XLSForm's column naming (see ``collection/readers/``); memory
stays bounded whatever the size of the source. ``detect_format`` guesses the format from the file
name and the first bytes; ``source_size`` and ``sha256_of`` describe the source for progress bars
and the batch record.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import Progress, kobo, odk, safety, tabular, workbooks
from voicescount.collection.records import RawRecord

FORMATS = ("kobo-json", "odk-csv", "odk-odata", "csv", "xlsx")

FORMAT_CHOICES = [
    ("kobo-json", "KoboToolbox JSON (API v2 export: a page, a folder of pages or a list)"),
    ("odk-csv", "ODK Central CSV export (.csv.zip with repeats, or the main .csv)"),
    ("odk-odata", "ODK Central OData JSON"),
    ("csv", "CSV: a Kobo, Ona or ODK export (names or labels) or the form's column names"),
    ("xlsx", "Excel workbook (.xlsx, or the old .xls): an export or the form's column names"),
]
"""(value, label) for a format field; the upload page adds its own "auto" choice in front."""

_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def read_records(
    path: str | Path,
    fmt: str,
    *,
    display_name: str | None = None,
    questions: Iterable[str] | None = None,
    progress: Progress | None = None,
    sheet: str | None = None,
    form: dict[str, Any] | None = None,
) -> Iterator[RawRecord]:
    """Stream the records of ``path`` read as ``fmt`` (one of ``FORMATS``).

    ``display_name`` names the source in messages (default: the file name). ``questions`` are the
    form's full question paths, used to map ODK ``grp-q`` and bare ``q`` column names to ``grp/q``;
    ``form`` (the instrument's definition) also lets CSV and workbook headers be labels, split
    select_multiple choices and wide repeats (``readers/headers.py``).
    ``progress(done_bytes, total_bytes)`` is called every thousand records or so and at the end.
    ``sheet`` picks a worksheet of an XLSX file (default: one named like the file, else the first).

    Raises ``ImportFileError`` (naming file, row and column, never a value) when the source cannot be
    read; the error may come while iterating, so consume the stream inside the import transaction.
    """
    path = Path(path)
    name = display_name or path.name
    if fmt not in FORMATS:
        raise ImportFileError(f"Unknown format '{fmt}'; use one of: {', '.join(FORMATS)}.", file=name)
    if not path.exists():
        raise ImportFileError("The file does not exist.", file=name)
    if fmt == "kobo-json":
        return kobo.read_kobo(path, name=name, progress=progress)
    if fmt == "odk-odata":
        return odk.read_odata(path, name=name, progress=progress)
    if path.is_dir():
        raise ImportFileError(
            f"A folder can only be read as kobo-json or odk-odata pages, not as {fmt}.", file=name
        )
    if fmt == "odk-csv":
        return odk.read_odk_csv(path, name=name, questions=questions, progress=progress)
    if fmt == "csv":
        return tabular.read_csv(path, name=name, questions=questions, progress=progress, form=form)
    return workbooks.read_xlsx(
        path, name=name, questions=questions, progress=progress, sheet=sheet, form=form
    )


def detect_format(path: str | Path, name: str | None = None) -> str:
    """The format of ``path`` from its name (``name``, e.g. the uploaded file's) and first bytes."""
    path = Path(path)
    name = name or path.name
    suffix = Path(name).suffix.lower()
    if path.is_dir():
        pages = kobo.json_pages(path, name)
        return kobo.sniff_json_format(pages[0], name) or "kobo-json"
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(safety.OLE2_SIGNATURE):
        return "xlsx"  # an old .xls (read by xlrd), or an encrypted workbook (refused saying so)
    if head.startswith(b"PK"):
        return _zip_format(path, name)
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"  # not a zip: the xlsx reader reports it as corrupt
    fmt = kobo.sniff_json_format(path, name)
    if fmt:
        return fmt
    if suffix in _TEXT_SUFFIXES:
        header = tabular.sniff_text_header(path)
        return "odk-csv" if {"SubmissionDate", "KEY"} <= set(header) else "csv"
    raise _unknown(name)


def _unknown(name: str) -> ImportFileError:
    return ImportFileError(
        "The format of this file cannot be recognised. Accepted: KoboToolbox JSON (kobo-json), ODK "
        "Central CSV zip (odk-csv), ODK Central OData JSON (odk-odata), CSV (csv) and Excel .xlsx or .xls "
        "(xlsx).",
        file=name,
    )


def _zip_format(path: Path, name: str) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError):
        if Path(name).suffix.lower() in (".xlsx", ".xlsm"):
            return "xlsx"  # the xlsx reader reports the corruption
        raise ImportFileError("The zip file is corrupt.", file=name) from None
    if "xl/workbook.xml" in names or "[Content_Types].xml" in names:
        return "xlsx"
    if any(n.lower().endswith(".csv") for n in names):
        return "odk-csv"
    raise _unknown(name)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path]


def source_size(path: str | Path) -> int:
    """Total bytes of the source (a directory: the sum of its files)."""
    return sum(p.stat().st_size for p in _files(Path(path)))


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of the source; for a directory, of each file's relative name and bytes in name order."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in _files(path):
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode("utf-8") + b"\0")
        with open(file, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    return digest.hexdigest()
