"""CSV files, and the rows of every spreadsheet (``Table``): Kobo, Ona and ODK exports, hand-kept sheets.

Headers are read against the form by ``headers`` (XML names or labels, any group separator, split
select_multiple choices, wide repeats); workbooks (.xlsx, .xls) are opened by ``workbooks``. CSV text
must be UTF-8 or UTF-16: Vietnamese files saved in the legacy Windows-1258 or TCVN3 (ABC) encodings
are refused with a message saying how to re-save them, never guessed at (a wrong guess silently
corrupts every name in the file).
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import charset_normalizer

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import (
    Progress,
    Ticker,
    file_size,
    instance_id_from,
    parse_timestamp,
    safety,
)
from voicescount.collection.readers.headers import FormColumns, Row, is_hxl_row, looks_like_ona_or_kobo
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
            "one column (an export 'without group names' of a repeat repeats names: export with them).",
            file=name,
            row=1,
        )
    if not counts:
        raise ImportFileError(
            "The header row is empty: the first row must name the columns.", file=name, row=1
        )


class Table:
    """A sheet's header read against the form (``headers.FormColumns``): turns each row into a record.

    Kobo's row of HXL hashtags under the header is recognised and passed over (``skips``).
    """

    def __init__(self, source: str, header: Sequence[str], form: FormColumns, name: str) -> None:
        header = form.numbered(header)  # raw rows keep a repeated name under its numbered one
        check_header(header, name)
        self.source = source
        self.header = list(header)
        self.name = name
        self.row = Row(
            form, form.plan(self.header, file=name), self.header, ona=looks_like_ona_or_kobo(header)
        )
        self.rows_seen = 0

    def skips(self, cells: Sequence[Any]) -> bool:
        """Whether the row is not a submission: Kobo's hashtag row right under the header."""
        self.rows_seen += 1
        return self.rows_seen == 1 and is_hxl_row(cells)

    def record(self, cells: Sequence[Any], *, locator: str) -> RawRecord:
        """One row as a ``RawRecord``: metadata columns apart, empty cells as ``None``."""
        raw: dict[str, Any] = {}
        for column, (title, cell) in enumerate(zip(self.header, cells, strict=True), start=1):
            if title == "":
                if cell not in ("", None):
                    raise ImportFileError(
                        f"Column {column} has no name in the header row but holds values.",
                        file=self.name,
                        row=locator,
                    )
                continue
            raw[title] = cell
        values, meta, problems = self.row.values(cells)
        return RawRecord(
            source=self.source,
            locator=locator,
            values=values,
            instance_id=instance_id_from(meta),
            submitted_at=parse_timestamp(meta.get("_submission_time")),
            meta=meta,
            raw=raw,
            problems=tuple(problems),
        )


def form_columns(form: dict[str, Any] | None, questions: Iterable[str] | None) -> FormColumns:
    """The ``FormColumns`` of an instrument's definition, or of bare question paths."""
    return FormColumns(form, questions=questions)


# --- CSV ------------------------------------------------------------------------------------------------


def read_csv(
    path: Path,
    *,
    name: str,
    questions: Iterable[str] | None = None,
    progress: Progress | None = None,
    form: dict[str, Any] | None = None,
) -> Iterator[RawRecord]:
    """Records of a CSV file whose header row names the questions (see ``headers``): ``form`` is the
    instrument's definition (labels, choices, repeats), or ``questions`` its question paths."""
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
            table = Table("csv", header, form_columns(form, questions), name)
            for row_number, cells in enumerate(reader, start=2):
                if not cells or table.skips(cells):
                    continue
                if len(cells) != len(header):
                    raise ImportFileError(
                        f"The row has {len(cells)} cells but the header has {len(header)} columns "
                        "(a missing or extra separator, or an unclosed quote).",
                        file=name,
                        row=row_number,
                    )
                yield table.record(cells, locator=f"row {row_number}")
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
