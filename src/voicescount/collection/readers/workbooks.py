"""Workbooks: .xlsx (openpyxl, streamed) and old binary .xls (xlrd), rows read by ``tabular.Table``.

Kobo's XLS export and many sheets kept in older Excel are .xls; xlrd 2 reads exactly that format
(and refuses .xlsx, which openpyxl reads). Both kinds pass their ``safety`` checks first. An .xls is
read whole by xlrd (it has no streaming mode), so it is refused above ``MAX_XLS_BYTES``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import Progress, Ticker, file_size, safety
from voicescount.collection.readers.headers import FormColumns
from voicescount.collection.readers.repeat_sheets import RepeatSheets, is_repeat_sheet, key_of
from voicescount.collection.readers.tabular import Table, form_columns
from voicescount.collection.records import RawRecord

MAX_XLS_BYTES = 64 * 1024**2
"""Largest .xls read (xlrd holds the workbook in memory: about four times the file)."""


def is_ole2(path: Path) -> bool:
    """Whether the file is an OLE2 compound file: an old .xls, or a password-protected workbook."""
    with open(path, "rb") as handle:
        return handle.read(len(safety.OLE2_SIGNATURE)) == safety.OLE2_SIGNATURE


# --- XLSX -----------------------------------------------------------------------------------------------


def read_xlsx(
    path: Path,
    *,
    name: str,
    questions: Iterable[str] | None = None,
    progress: Progress | None = None,
    sheet: str | None = None,
    form: dict[str, Any] | None = None,
) -> Iterator[RawRecord]:
    """Records of the first sheet of a workbook (or ``sheet``, or the sheet named like the file).

    The workbook passes ``safety`` checks first (encrypted, corrupt, zip bomb, huge dimension, XML
    entities); it is then read with openpyxl in read-only (streaming) mode.
    """
    import openpyxl

    if is_ole2(path):
        yield from read_xls(path, name=name, questions=questions, progress=progress, sheet=sheet, form=form)
        return
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
        yield from _sheet_records(workbook, path, name, form_columns(form, questions), progress, sheet)
    finally:
        workbook.close()


def _choose_sheet(titles: list[str], name: str, sheet: str | None) -> str:
    """The sheet to read: ``sheet``, else the one named like the file, else the first."""
    if sheet is not None:
        if sheet not in titles:
            raise ImportFileError(
                f"The workbook has no sheet '{sheet}' (it has: {', '.join(titles)}).", file=name
            )
        return sheet
    stem = Path(name).stem.casefold()
    for title in titles:
        if title.casefold() == stem:
            return title
    return titles[0]


def _sheet_records(
    workbook: Any,
    path: Path,
    name: str,
    form: FormColumns,
    progress: Progress | None,
    sheet: str | None,
) -> Iterator[RawRecord]:
    worksheet = _choose_sheet(workbook.sheetnames, name, sheet)
    worksheet = workbook[worksheet]
    first = next(worksheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
    if first is None:
        raise ImportFileError(f"The sheet '{worksheet.title}' is empty.", file=name)
    header = ["" if v is None else str(v) for v in first]
    while header and header[-1] == "":
        header.pop()
    others = {
        title: _xlsx_header(workbook[title]) for title in workbook.sheetnames if title != worksheet.title
    }
    repeats = _repeats(worksheet.title, header, others, form, name)
    if repeats is not None:
        for title, other in others.items():
            if is_repeat_sheet(other):
                rows = workbook[title].iter_rows(min_row=2, max_col=len(other))
                repeats.add(title, other, ((n, [_cell_value(c) for c in r]) for n, r in enumerate(rows, 2)))
        wide = repeats.header()
        index_at = header.index("_index")
    table = Table("xlsx", header + wide if repeats is not None else header, form, name)
    indices: set[str] = set()
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
            if all(c == "" for c in cells) or table.skips(cells):
                continue  # blank rows (Excel keeps formatted empty rows)
            cells += [""] * (len(header) - len(cells))
            if repeats is not None:
                cells += _joined(repeats, cells[index_at], wide, indices)
            yield table.record(cells, locator=f"row {row_number}")
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
    if repeats is not None:
        repeats.check_linked(indices)
    ticker.finish()


def _xlsx_header(worksheet: Any) -> list[str]:
    first = next(worksheet.iter_rows(min_row=1, max_row=1, values_only=True), None) or ()
    return ["" if v is None else str(v) for v in first]


def _repeats(
    main: str, header: list[str], others: dict[str, list[str]], form: FormColumns, name: str
) -> RepeatSheets | None:
    """The workbook's repeat sheets (``repeat_sheets``), or None when it has none."""
    titles = [title for title, other in others.items() if is_repeat_sheet(other)]
    if not titles:
        return None
    if "_index" not in header:
        raise ImportFileError(
            f"The sheets {', '.join(repr(t) for t in titles)} hold repeats linked to their submissions by "
            f"_index, but the sheet '{main}' has no _index column to link them to.",
            file=name,
        )
    return RepeatSheets(main, titles, form, name)


def _joined(repeats: RepeatSheets, index: Any, wide: list[str], seen: set[str]) -> list[Any]:
    """The wide cells of the main row with ``_index`` ``index`` (its repeat instances)."""
    seen.add(key_of(index))
    answers = repeats.wide(index)
    return [answers.get(column, "") for column in wide]


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


# --- XLS ------------------------------------------------------------------------------------------------


def read_xls(
    path: Path,
    *,
    name: str,
    questions: Iterable[str] | None = None,
    progress: Progress | None = None,
    sheet: str | None = None,
    form: dict[str, Any] | None = None,
) -> Iterator[RawRecord]:
    """Records of one sheet of an old binary .xls workbook (chosen as ``read_xlsx`` does)."""
    import xlrd

    size = file_size(path)
    if size > MAX_XLS_BYTES:
        raise ImportFileError(
            f"This .xls workbook is larger than {MAX_XLS_BYTES // 1024**2} MB: save it as .xlsx (which is "
            "read as a stream) and import that.",
            file=name,
        )
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd fails in many ways on an encrypted workbook (.xls, or .xlsx in OLE2)
        raise ImportFileError(
            "This workbook is password-protected (encrypted) or not a readable .xls workbook: remove the "
            "password in Excel/LibreOffice and save it as .xlsx, then import it again "
            f"({type(exc).__name__}).",
            file=name,
        ) from None
    try:
        worksheet = book.sheet_by_name(_choose_sheet(book.sheet_names(), name, sheet))
        if worksheet.nrows == 0:
            raise ImportFileError(f"The sheet '{worksheet.name}' is empty.", file=name)
        header = _xls_row(book, worksheet, 0)
        while header and header[-1] == "":
            header.pop()
        columns = form_columns(form, questions)
        others = {
            title: [str(c) for c in _xls_row(book, book.sheet_by_name(title), 0)]
            for title in book.sheet_names()
            if title != worksheet.name
        }
        repeats = _repeats(worksheet.name, header, others, columns, name)
        wide: list[str] = []
        if repeats is not None:
            for title, other in others.items():
                if is_repeat_sheet(other):
                    sheet_ = book.sheet_by_name(title)
                    rows = ((n, _xls_row(book, sheet_, n - 1)) for n in range(2, sheet_.nrows + 1))
                    repeats.add(title, other, rows)
            wide = repeats.header()
            index_at = header.index("_index")
        table = Table("xls", header + wide, columns, name)
        indices: set[str] = set()
        ticker = Ticker(progress, size)
        for row_number in range(2, worksheet.nrows + 1):
            row = worksheet.row(row_number - 1)[: len(header)]
            cells = [_xls_value(cell, book.datemode) for cell in row]
            if all(c == "" for c in cells) or table.skips(cells):
                continue
            cells += [""] * (len(header) - len(cells))
            if repeats is not None:
                cells += _joined(repeats, cells[index_at], wide, indices)
            yield table.record(cells, locator=f"row {row_number}")
            ticker.tick(lambda done=row_number: size * done // max(worksheet.nrows, 1))
        if repeats is not None:
            repeats.check_linked(indices)
        ticker.finish()
    finally:
        book.release_resources()


def _xls_value(cell: Any, datemode: int) -> Any:
    """A cell's value as ``_cell_value`` gives it for .xlsx: dates as ISO text, whole numbers as int."""
    import xlrd

    kind = cell.ctype
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if kind == xlrd.XL_CELL_DATE:
        value = xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERROR")
    if kind == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
        return int(cell.value)
    return cell.value


def _xls_row(book: Any, sheet: Any, index: int) -> list[Any]:
    """Row ``index`` (0-based) of an .xls sheet: the header as text, other rows as values."""
    if index == 0:
        return [_xls_text(sheet.cell(0, c), book.datemode) for c in range(sheet.ncols)]
    return [_xls_value(cell, book.datemode) for cell in sheet.row(index)]


def _xls_text(cell: Any, datemode: int) -> str:
    value = _xls_value(cell, datemode)
    return value if isinstance(value, str) else str(value)
