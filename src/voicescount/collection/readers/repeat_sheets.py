"""Workbook exports that put each repeat in a sheet of its own (KoboToolbox's and Ona's XLS/XLSX exports).

The main sheet has a row per submission with its ``_index``; a repeat's sheet has a row per instance
with ``_index`` (its own), ``_parent_table_name`` (the sheet of the row it belongs to: the main sheet, or
the sheet of the repeat it is nested in) and ``_parent_index`` (that row's ``_index``); its columns are
the questions' full paths (``children/childs_info/name``). The instances are joined to their submission
here, as the wide columns the tabular reader already reads (``children[1]/childs_info/name``,
``hh[1]/member[2]/age``; ``headers.FormColumns``), so that a repeat answer in another sheet is stored
with its submission, or its record held back, as any other answer — never left unread.

A repeat sheet is held in memory while the main sheet is read (at most ``safety.MAX_SHEET_ROWS`` rows).
A sheet that has these columns but cannot be joined — its rows name a parent row or sheet that does not
exist, or its questions are in no repeat of the form — refuses the file with the sheet and row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import is_meta_key, safety
from voicescount.collection.readers.headers import FormColumns

LINK_COLUMNS = ("_index", "_parent_table_name", "_parent_index")


def is_repeat_sheet(header: Sequence[str]) -> bool:
    """Whether a sheet's header is a repeat's: it links each row to a parent row."""
    return all(column in header for column in LINK_COLUMNS)


@dataclass
class _Sheet:
    title: str
    repeat: str
    """The repeat's path in the form."""
    columns: list[str]
    """The answer columns (full question paths), in the sheet's order."""
    children: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    """Parent row's ``_index`` → this sheet's rows under it, in order: (own ``_index``, answers)."""


def key_of(value: Any) -> str:
    """An ``_index`` as text (a sheet may hold it as a number or as text)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


def _repeat_of(columns: list[str], form: FormColumns, title: str, name: str) -> str:
    """The innermost repeat of the form that holds every question of the sheet."""
    deepest = ""
    for column in columns:
        question = form.questions.get(form.column(column, file=name).path)
        if question is None or not question.repeats:
            raise ImportFileError(
                f"The sheet '{title}' links its rows to parent rows like a repeat, but its column "
                f"'{column}' is not a question inside a repeat of the form.",
                file=name,
            )
        innermost = question.repeats[-1]
        if deepest and innermost != deepest:
            raise ImportFileError(
                f"The sheet '{title}' holds questions of two repeats ('{deepest}', '{innermost}').", file=name
            )
        deepest = innermost
    if not deepest:
        raise ImportFileError(f"The sheet '{title}' has no question columns.", file=name)
    return deepest


class RepeatSheets:
    """The repeat sheets of a workbook, read whole, joined to the main sheet's rows as wide columns."""

    def __init__(self, main_title: str, titles: Iterable[str], form: FormColumns, name: str) -> None:
        """``titles``: every repeat sheet of the workbook (a row may name a sheet read after its own)."""
        self.main = main_title
        self.titles = frozenset(titles)
        self.form = form
        self.name = name
        self.sheets: dict[str, _Sheet] = {}

    def add(self, title: str, header: Sequence[str], rows: Iterable[tuple[int, Sequence[Any]]]) -> None:
        """Read a repeat sheet: ``rows`` are (row number, cells) after the header."""
        positions = {column: i for i, column in enumerate(header) if column}
        columns = [c for c in header if c and not is_meta_key(c)]
        sheet = _Sheet(title, _repeat_of(columns, self.form, title, self.name), columns)
        answer_at = [(c, positions[c]) for c in columns]
        own_at, parent_at, parent_index_at = (positions[c] for c in LINK_COLUMNS)
        count = 0
        for row_number, cells in rows:
            count += 1
            if count > safety.MAX_SHEET_ROWS:
                raise ImportFileError(
                    f"The sheet '{title}' has more than {safety.MAX_SHEET_ROWS:,} rows; refused as unsafe.",
                    file=self.name,
                )
            cells = list(cells) + [""] * (len(header) - len(cells))
            if all(c in ("", None) for c in cells):
                continue
            parent = key_of(cells[parent_at])
            if parent != self.main and parent not in self.titles:
                raise ImportFileError(
                    f"Row {row_number} of the sheet '{title}' belongs to a sheet '{parent}' the workbook "
                    "does not have.",
                    file=self.name,
                    row=row_number,
                )
            answers = {c: cells[i] for c, i in answer_at if cells[i] not in ("", None)}
            sheet.children[f"{parent}\0{key_of(cells[parent_index_at])}"].append(
                (key_of(cells[own_at]), answers)
            )
        self.sheets[title] = sheet

    def wide(self, index: Any) -> dict[str, Any]:
        """The repeat answers of the main sheet's row with ``_index`` ``index``, as wide columns."""
        out: dict[str, Any] = {}
        self._widen(self.main, key_of(index), [], out)
        return out

    def _widen(self, parent: str, index: str, levels: list[tuple[str, int]], out: dict[str, Any]) -> None:
        for sheet in self.sheets.values():
            for number, (own, answers) in enumerate(sheet.children.get(f"{parent}\0{index}", ()), start=1):
                here = [*levels, (sheet.repeat, number)]
                for column, value in answers.items():
                    out[_numbered(column, here)] = value
                self._widen(sheet.title, own, here, out)

    def check_linked(self, indices: set[str]) -> None:
        """Refuse the file if a repeat row names a parent row that no sheet has (it would be left out)."""
        known = {self.main: indices} | {
            s.title: {own for rows in s.children.values() for own, _ in rows} for s in self.sheets.values()
        }
        for sheet in self.sheets.values():
            for key in sheet.children:
                parent, index = key.split("\0", 1)
                if index not in known.get(parent, set()):
                    raise ImportFileError(
                        f"The sheet '{sheet.title}' has rows under row _index {index} of '{parent}', which "
                        "that sheet does not have: they would be left out.",
                        file=self.name,
                    )

    def header(self) -> list[str]:
        """Every wide column the main sheet's rows need, in a stable order."""
        seen: dict[str, None] = {}
        for sheet in self.sheets.values():
            for key in sheet.children:
                parent, index = key.split("\0", 1)
                if parent == self.main:
                    for column in self.wide(index):
                        seen.setdefault(column, None)
        return list(seen)


def _numbered(column: str, levels: list[tuple[str, int]]) -> str:
    """``hh/member/age`` with levels [("hh", 1), ("hh/member", 2)] → ``hh[1]/member[2]/age``."""
    out, start = "", 0
    for repeat, number in levels:
        out += column[start : len(repeat)] + f"[{number}]"
        start = len(repeat)
    return out + column[start:]
