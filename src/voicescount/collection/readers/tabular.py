"""CSV and XLSX files in the XLSForm's own column naming (``grp/q`` or ``q``, Kobo's ``_uuid``…).

These are what a coalition keeps in Excel, or a Kobo/ODK "XML values and headers" export. CSV text
must be UTF-8 or UTF-16: Vietnamese files saved in the legacy Windows-1258 or TCVN3 (ABC) encodings
are refused with a message saying how to re-save them, never guessed at (a wrong guess silently
corrupts every name in the file).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import charset_normalizer

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import (
    ColumnMap,
    Progress,
    Ticker,
    file_size,
    instance_id_from,
    is_meta_key,
    parse_timestamp,
    safety,
)
from voicescount.collection.records import RawRecord
from voicescount.collection.textnorm import looks_windows1258

ENCODING_SAMPLE_BYTES = 256 * 1024
"""How much of a CSV file is examined to decide its encoding and separator."""

DELIMITERS = ",;\t"

SNIFF_CHARS = 8 * 1024
"""Characters given to ``csv.Sniffer``: its quote patterns are quadratic (180 KB of '"x" ,' took 40 s)."""

LEGACY_ENCODING_ADVICE = (
    "Files saved by older Vietnamese software are often in Windows-1258 or TCVN3 (ABC) instead: open "
    "the file in Excel or LibreOffice and save it as 'CSV UTF-8 (comma delimited)', or convert it with "
    "UniKey's converter (TCVN3 → Unicode), then import it again."
)

# Runs of characters that a UTF-8 text shows when it was once decoded as Windows-1252/Latin-1.
_MOJIBAKE_RUN = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]+"
)


# --- encodings ----------------------------------------------------------------------------------------


def detect_encoding(sample: bytes, name: str, *, complete: bool) -> str:
    """The codec to read a CSV file with, from its first bytes; refuses anything but UTF-8/UTF-16.

    ``complete`` says that ``sample`` is the whole file (so a truncated character at its end is an
    error, not an artefact of sampling).
    """
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(sample) or "utf-8"
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(sample, final=complete)
    except UnicodeDecodeError:
        raise ImportFileError(
            f"The file is not UTF-8 or UTF-16 text (its bytes look like {guess_encoding(sample)}). "
            + LEGACY_ENCODING_ADVICE,
            file=name,
        ) from None
    if _looks_double_encoded(text):
        raise ImportFileError(
            "The text looks garbled: letters appear as sequences like 'Ã¡' or 'á»‡', which happens when a "
            "UTF-8 file was opened as Windows-1252 and saved again. Export it again from the source, or "
            "re-open it as UTF-8 before saving. " + LEGACY_ENCODING_ADVICE,
            file=name,
        )
    return encoding


def guess_encoding(sample: bytes) -> str:
    """A name for the encoding of bytes that are not UTF-8, for a message ("Windows-1258 (Vietnamese)").

    Vietnamese Windows-1258 is recognised by its tone marks (``textnorm.looks_windows1258``) before
    charset-normalizer is asked, which on a short sample often says Windows-1250.
    """
    head = sample[:65536]
    if looks_windows1258(head):
        return "Windows-1258 (Vietnamese)"
    guess = charset_normalizer.from_bytes(head).best()
    if guess is None:
        return "an unknown encoding"
    codec = guess.encoding
    return f"Windows-{codec[2:]}" if re.fullmatch(r"cp125\d", codec) else f"'{codec}'"


def _utf16_without_bom(sample: bytes) -> str | None:
    head = sample[:4096]
    if len(head) < 4:
        return None
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    half = len(head) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _looks_double_encoded(text: str) -> bool:
    found = 0
    for run in _MOJIBAKE_RUN.finditer(text):
        try:
            repaired = run.group().encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            try:
                repaired = run.group().encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
        if repaired != run.group():
            found += 1
            if found >= 2:
                return True
    return False


def detect_delimiter(text: str, name: str) -> str:
    """The column separator (',', ';' or tab), sniffed on the first lines and checked on the header."""
    lines = text.splitlines()[:50]
    header = lines[0] if lines else ""
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines)[:SNIFF_CHARS], delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if (
        len(delimiter) != 1
        or delimiter not in DELIMITERS
        or (delimiter not in header and any(d in header for d in DELIMITERS))
    ):
        counts = {d: header.count(d) for d in DELIMITERS}
        delimiter = max(counts, key=lambda d: counts[d])
        if counts[delimiter] == 0:
            if any(other in header for other in "|:^"):
                raise ImportFileError(
                    "Cannot find the column separator: the header has no ',', ';' or tab (is the file "
                    "separated by '|' or another character?). Save it as CSV with commas.",
                    file=name,
                    row=1,
                )
            delimiter = ","
    return delimiter


def open_text(path: Path, name: str) -> tuple[TextIO, str]:
    """Open a CSV file as text after checking its encoding; returns the handle and the delimiter."""
    size = file_size(path)
    with open(path, "rb") as handle:
        sample = handle.read(ENCODING_SAMPLE_BYTES)
    encoding = detect_encoding(sample, name, complete=len(sample) >= size)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    delimiter = detect_delimiter(text, name)
    return open(path, encoding=encoding, newline="", errors="strict"), delimiter  # noqa: SIM115


# --- shared row handling --------------------------------------------------------------------------------


def check_header(header: Sequence[str], name: str) -> None:
    """Refuse duplicated column names (which one would be the answer?)."""
    counts = Counter(h for h in header if h != "")
    duplicated = sorted(h for h, n in counts.items() if n > 1)
    if duplicated:
        raise ImportFileError(
            f"Duplicated column names: {', '.join(repr(h) for h in duplicated)}; each question must have "
            "one column.",
            file=name,
            row=1,
        )
    if not counts:
        raise ImportFileError(
            "The header row is empty: the first row must name the columns.", file=name, row=1
        )


def tabular_record(
    source: str,
    header: Sequence[str],
    paths: Sequence[str],
    cells: Sequence[Any],
    *,
    locator: str,
    name: str,
) -> RawRecord:
    """One row as a ``RawRecord``: metadata columns apart, empty cells as ``None``."""
    values: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for column, (title, path, cell) in enumerate(zip(header, paths, cells, strict=True), start=1):
        value = None if cell == "" else cell
        if title == "":
            if value is not None:
                raise ImportFileError(
                    f"Column {column} has no name in the header row but holds values.", file=name, row=locator
                )
            continue
        raw[title] = cell
        if is_meta_key(title):
            meta[title] = value
        else:
            values[path] = value
    return RawRecord(
        source=source,
        locator=locator,
        values=values,
        instance_id=instance_id_from(meta),
        submitted_at=parse_timestamp(meta.get("_submission_time")),
        meta=meta,
        raw=raw,
    )


# --- CSV ------------------------------------------------------------------------------------------------


def read_csv(
    path: Path, *, name: str, questions: Iterable[str] | None = None, progress: Progress | None = None
) -> Iterator[RawRecord]:
    """Records of a CSV file whose header row names the questions (``grp/q`` or ``q``)."""
    handle, delimiter = open_text(path, name)
    ticker = Ticker(progress, file_size(path))
    raw_handle = handle.buffer
    with handle:
        reader = safety.csv_rows(handle, delimiter)
        row_number = 0  # errors name ``row_number + 1``
        try:
            header = next(reader, None)
            if header is None:
                raise ImportFileError("The file is empty.", file=name)
            row_number = 1
            check_header(header, name)
            columns = ColumnMap(questions)
            paths = [columns.path(h, file=name) if h else "" for h in header]
            for row_number, cells in enumerate(reader, start=2):
                if not cells:
                    continue
                if len(cells) != len(header):
                    raise ImportFileError(
                        f"The row has {len(cells)} cells but the header has {len(header)} columns "
                        "(a missing or extra separator, or an unclosed quote).",
                        file=name,
                        row=row_number,
                    )
                yield tabular_record("csv", header, paths, cells, locator=f"row {row_number}", name=name)
                ticker.tick(raw_handle.tell)
        except UnicodeDecodeError:
            raise ImportFileError(
                "The file stops being valid text here (mixed encodings?). " + LEGACY_ENCODING_ADVICE,
                file=name,
                row=row_number + 1,
            ) from None
        except csv.Error as exc:
            raise ImportFileError(
                f"The CSV cannot be parsed: {exc}.", file=name, row=row_number + 1
            ) from None
    ticker.finish()


# --- XLSX -----------------------------------------------------------------------------------------------


def read_xlsx(
    path: Path,
    *,
    name: str,
    questions: Iterable[str] | None = None,
    progress: Progress | None = None,
    sheet: str | None = None,
) -> Iterator[RawRecord]:
    """Records of the first sheet of a workbook (or ``sheet``, or the sheet named like the file).

    The workbook passes ``safety`` checks first (encrypted, corrupt, zip bomb, huge dimension, XML
    entities); it is then read with openpyxl in read-only (streaming) mode.
    """
    import openpyxl

    safety.refuse_ole2(path, name)
    with safety.open_zip(path, name, what="XLSX workbook") as archive:
        if "xl/workbook.xml" not in archive.namelist():
            raise ImportFileError(
                "This zip file is not an XLSX workbook (it has no xl/workbook.xml).", file=name
            )
        safety.check_xlsx(archive, name)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (KeyError, ValueError, zip errors…) on bad parts
        raise ImportFileError(
            f"This XLSX workbook cannot be read (is it corrupt?): {type(exc).__name__}.", file=name
        ) from None
    try:
        yield from _sheet_records(workbook, path, name, questions, progress, sheet)
    finally:
        workbook.close()


def _choose_sheet(workbook: Any, name: str, sheet: str | None) -> Any:
    titles = workbook.sheetnames
    if sheet is not None:
        if sheet not in titles:
            raise ImportFileError(
                f"The workbook has no sheet '{sheet}' (it has: {', '.join(titles)}).", file=name
            )
        return workbook[sheet]
    stem = Path(name).stem.casefold()
    for title in titles:
        if title.casefold() == stem:
            return workbook[title]
    return workbook[titles[0]]


def _sheet_records(
    workbook: Any,
    path: Path,
    name: str,
    questions: Iterable[str] | None,
    progress: Progress | None,
    sheet: str | None,
) -> Iterator[RawRecord]:
    worksheet = _choose_sheet(workbook, name, sheet)
    first = next(worksheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
    if first is None:
        raise ImportFileError(f"The sheet '{worksheet.title}' is empty.", file=name)
    header = ["" if v is None else str(v) for v in first]
    while header and header[-1] == "":
        header.pop()
    check_header(header, name)
    columns = ColumnMap(questions)
    paths = [columns.path(h, file=name) if h else "" for h in header]
    total = file_size(path)
    ticker = Ticker(progress, total)
    claimed_rows = max(worksheet.max_row or 1, 1)
    row_number = 1
    try:
        for row_number, row in enumerate(worksheet.iter_rows(min_row=2, max_col=len(header)), start=2):
            if row_number > safety.MAX_SHEET_ROWS:
                raise ImportFileError(
                    f"The sheet has more than {safety.MAX_SHEET_ROWS:,} rows; refused as unsafe.", file=name
                )
            cells = [_cell_value(cell) for cell in row]
            if all(c == "" for c in cells):
                continue  # blank rows (Excel keeps formatted empty rows)
            cells += [""] * (len(header) - len(cells))
            yield tabular_record("xlsx", header, paths, cells, locator=f"row {row_number}", name=name)
            ticker.tick(lambda done=row_number: total * min(done, claimed_rows) // claimed_rows)
    except ImportFileError:
        raise
    except Exception as exc:  # malformed sheet XML discovered while streaming
        raise ImportFileError(
            f"The sheet '{worksheet.title}' cannot be read past this row (is the file corrupt?): "
            f"{type(exc).__name__}.",
            file=name,
            row=row_number + 1,
        ) from None
    ticker.finish()


_TIME_TOKENS = re.compile(r"[hs]|AM/PM", re.IGNORECASE)


def _cell_value(cell: Any) -> Any:
    """A JSON-serialisable cell value: dates as ISO 8601 text, empty cells as ""."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        number_format = getattr(cell, "number_format", "") or ""
        if value.time() == dt.time(0) and not _TIME_TOKENS.search(number_format.split(";")[0]):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value


def sniff_text_header(path: Path) -> list[str]:
    """The header row of a CSV file, for format detection; [] when it cannot be read."""
    try:
        handle, delimiter = open_text(path, path.name)
    except ImportFileError:
        return []
    with handle:
        try:
            return next(safety.csv_rows(handle, delimiter), [])
        except (csv.Error, UnicodeDecodeError):
            return []
