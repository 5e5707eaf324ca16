"""ODK Central exports: the CSV zip (``Form.csv`` + one ``Form-repeat.csv`` per repeat) and OData JSON.

CSV zip. Central writes group columns as ``grp-q``, splits a geopoint into ``q-Latitude``,
``q-Longitude``, ``q-Altitude``, ``q-Accuracy`` columns, may add one ``q/choice`` column per choice
of a select_multiple, and puts its own columns (``SubmissionDate``, ``KEY``, ``ReviewState``…) beside
the answers. Repeat tables link to their parent by ``PARENT_KEY`` = the parent's ``KEY``, and a
repeat row's ``KEY`` is ``<PARENT_KEY>/<repeat path>[n]``, which gives the repeat's path. Repeat
rows are indexed in a temporary SQLite file so that the export is never held in memory.

OData JSON. ``{"value": [...], "@odata.nextLink": …}``; groups are nested objects (flattened to
``grp/q``), ``__id`` and ``__system`` are metadata, repeats expanded with ``$expand=*`` are arrays.

Both give ``meta`` the OData names (``__id``, ``__system/submissionDate``, ``__system/reviewState``,
``__system/formVersion``…) so that the two exports of one form carry the same metadata.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import (
    ColumnMap,
    Progress,
    Ticker,
    file_size,
    headers,
    instance_id_from,
    is_repeat,
    parse_timestamp,
    safety,
)
from voicescount.collection.readers.jsondepth import MAX_DEPTH
from voicescount.collection.readers.kobo import json_items, json_pages
from voicescount.collection.records import RawRecord, RecordStream

CSV_SYSTEM_COLUMNS = {
    "SubmissionDate": "__system/submissionDate",
    "KEY": "__id",
    "SubmitterID": "__system/submitterId",
    "SubmitterName": "__system/submitterName",
    "AttachmentsPresent": "__system/attachmentsPresent",
    "AttachmentsExpected": "__system/attachmentsExpected",
    "Status": "__system/status",
    "ReviewState": "__system/reviewState",
    "DeviceID": "__system/deviceId",
    "Edits": "__system/edits",
    "FormVersion": "__system/formVersion",
    "UpdatedAt": "__system/updatedAt",
}
"""Central's own CSV columns and the OData name each is kept under in ``meta``."""

INSERT_BATCH = 500
"""Repeat rows written to the SQLite index at a time (memory stays at one batch)."""

GEOPOINT_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")

MAX_REPEAT_DEPTH = MAX_DEPTH // 2
"""Repeat levels within one submission: each is two JSON levels (the list and an instance)."""

_REPEAT_INDEX = re.compile(r"\[\d+\]$")


# --- CSV zip --------------------------------------------------------------------------------------------


class _Table:
    """One CSV member: its header and how each column maps to a value, meta key or nothing."""

    def __init__(self, member: str, header: list[str]) -> None:
        self.member = member
        self.header = header
        self.geopoints = {
            h[: -len("-Latitude")]
            for h in header
            if h.endswith("-Latitude")
            and all(f"{h[: -len('-Latitude')]}-{part}" in header for part in GEOPOINT_PARTS)
        }
        names = set(header)
        self.choice_columns = {h for h in header if "/" in h and h.rsplit("/", 1)[0] in names}
        self._maps: dict[str, list[tuple[str, str]]] = {}

    def plan(self, questions: Iterable[str] | None, base: str, name: str) -> list[tuple[str, str]]:
        """Per column: ("value", path) | ("meta", key) | ("geo", path) | ("choice", header) | ("skip", "")."""
        if base not in self._maps:
            columns = ColumnMap(questions, base=base, dash_groups=True)
            plan: list[tuple[str, str]] = []
            for title in self.header:
                geo_base = next((g for g in self.geopoints if title.startswith(g + "-")), None)
                if title in self.choice_columns:
                    plan.append(("choice", title))
                elif title == "PARENT_KEY":
                    plan.append(("skip", ""))
                elif title in CSV_SYSTEM_COLUMNS:
                    plan.append(("meta", CSV_SYSTEM_COLUMNS[title]))
                elif title.startswith("meta-") or title == "instanceID":
                    plan.append(("meta", "meta/" + title.removeprefix("meta-")))
                elif geo_base is not None and title[len(geo_base) + 1 :] in GEOPOINT_PARTS:
                    plan.append(("geo", columns.path(geo_base, file=name)))
                elif title == "":
                    plan.append(("skip", ""))
                else:
                    where = name if self.member == name else f"{name} ({self.member})"
                    plan.append(("value", columns.path(title, file=where)))
            self._maps[base] = plan
        return self._maps[base]

    def split(
        self,
        cells: list[str],
        questions: Iterable[str] | None,
        base: str,
        name: str,
        problems: list[tuple[str, str, str]] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(values, meta)`` of one row; geopoint parts joined back into ``"lat lon alt acc"``.

        A select_multiple's one-column-per-choice columns (``q/choice``, 1 or 0) are checked against
        its own column: a disagreement, or a cell that is neither, is added to ``problems``.
        """
        values: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        geo: dict[str, list[str]] = {}
        chosen: dict[str, list[tuple[str, str]]] = {}
        plan = self.plan(questions, base, name)
        for (kind, key), cell in zip(plan, cells, strict=True):
            if kind == "value":
                values[key] = None if cell == "" else cell
            elif kind == "meta":
                meta[key] = None if cell == "" else cell
            elif kind == "geo":
                geo.setdefault(key, []).append(cell)
            elif kind == "choice":
                chosen.setdefault(key.rsplit("/", 1)[0], []).append((key, cell))
        for key, parts in geo.items():
            while parts and parts[-1] == "":
                parts.pop()
            values[key] = " ".join(parts) if parts else None
        if chosen and problems is not None:
            summaries = dict(zip(self.header, plan, strict=True))
            for title, columns in chosen.items():
                path = summaries[title][1]
                problems.extend(_choice_problems(title, values.get(path), columns))
        return values, meta


def _choice_problems(
    title: str, summary: Any, columns: list[tuple[str, str]]
) -> Iterator[tuple[str, str, str]]:
    """Problems of one select_multiple's choice columns against its own column ``title``."""
    codes = set(str(summary or "").split())
    for header, cell in columns:
        verdict = headers.flag(cell)
        if verdict is None:
            yield (
                header,
                "unreadable_choice",
                f"'{header}' holds neither 1 nor 0: the choice cannot be read.",
            )
        elif verdict != (header.rsplit("/", 1)[1] in codes):
            yield (
                title,
                "choices_disagree",
                f"'{title}' and its one-column-per-choice columns do not say the same: which is right?",
            )
            return


def _csv_rows(archive: zipfile.ZipFile, member: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of one member, header excluded; ragged rows refused."""
    with archive.open(member) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors="strict")
        reader = safety.csv_rows(text)
        row_number = 1
        try:
            header = next(reader, [])
            for row_number, cells in enumerate(reader, start=2):
                if not cells:
                    continue
                if len(cells) != len(header):
                    raise ImportFileError(
                        f"The row has {len(cells)} cells but the header has {len(header)} columns.",
                        file=f"{name} ({member})",
                        row=row_number,
                    )
                yield row_number, cells
        except UnicodeDecodeError:
            raise ImportFileError(
                "The CSV is not UTF-8 text from here on; export it again from ODK Central.",
                file=f"{name} ({member})",
                row=row_number + 1,
            ) from None
        except csv.Error as exc:
            raise ImportFileError(
                f"The CSV cannot be parsed: {exc}.", file=f"{name} ({member})", row=row_number + 1
            ) from None


def _header(archive: zipfile.ZipFile, member: str, name: str) -> list[str]:
    with archive.open(member) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors="strict")
        try:
            header = next(safety.csv_rows(text), [])
        except safety.RowTooLarge as exc:
            raise ImportFileError(
                f"The header row cannot be read: {exc}.", file=f"{name} ({member})", row=1
            ) from None
        except (UnicodeDecodeError, csv.Error):
            raise ImportFileError(
                "The header row cannot be read as UTF-8 CSV.", file=f"{name} ({member})", row=1
            ) from None
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise ImportFileError(
            f"Duplicated column names: {', '.join(repr(h) for h in duplicated)}.",
            file=f"{name} ({member})",
            row=1,
        )
    return header


def read_odk_csv(
    path: Path, *, name: str, questions: Iterable[str] | None = None, progress: Progress | None = None
) -> Iterator[RawRecord]:
    """Records of an ODK Central CSV export: the ``.csv.zip`` with repeats, or its main ``.csv`` alone."""
    questions = list(questions) if questions is not None else None
    with open(path, "rb") as handle:
        is_zip = handle.read(2) == b"PK"
    if not is_zip:
        yield from _read_main_csv_file(path, name=name, questions=questions, progress=progress)
        return
    with safety.open_zip(path, name, what="ODK Central CSV export (.zip)") as archive:
        members = [
            m.filename
            for m in archive.infolist()
            if m.filename.lower().endswith(".csv") and not m.is_dir() and not m.filename.startswith("media/")
        ]
        tables = {m: _Table(m, _header(archive, m, name)) for m in members}
        mains = [m for m, t in tables.items() if "PARENT_KEY" not in t.header]
        if len(mains) != 1:
            found = ", ".join(mains) or "none"
            raise ImportFileError(
                "An ODK Central export holds exactly one main table (a CSV without PARENT_KEY); "
                f"found: {found}.",
                file=name,
            )
        main = tables[mains[0]]
        if "KEY" not in main.header:
            raise ImportFileError(f"The main table {main.member} has no KEY column.", file=name, row=1)
        repeats = [t for t in tables.values() if t is not main]
        with tempfile.TemporaryDirectory(prefix="voicescount-odk-") as scratch:
            index = _index_repeats(archive, repeats, name, os.path.join(scratch, "repeats.sqlite"))
            try:
                yield from _main_records(archive, main, tables, index, questions, name, path, progress)
            finally:
                index.close()


def _index_repeats(
    archive: zipfile.ZipFile, repeats: list[_Table], name: str, db_path: str
) -> sqlite3.Connection:
    """Store every repeat row by its PARENT_KEY in a SQLite file (disk, not memory)."""
    index = sqlite3.connect(db_path)
    index.execute("create table child (parent text, key text, member text, row_number integer, cells text)")
    for table in repeats:
        parent_at = table.header.index("PARENT_KEY")
        key_at = table.header.index("KEY") if "KEY" in table.header else None
        batch = []
        for row_number, cells in _csv_rows(archive, table.member, name):
            key = cells[key_at] if key_at is not None else ""
            stored = json.dumps(cells, ensure_ascii=False)
            batch.append((cells[parent_at], key, table.member, row_number, stored))
            if len(batch) >= INSERT_BATCH:
                index.executemany("insert into child values (?, ?, ?, ?, ?)", batch)
                batch.clear()
        index.executemany("insert into child values (?, ?, ?, ?, ?)", batch)
    index.execute("create index child_parent on child (parent, member, row_number)")
    # a repeat KEY ends with "[n]": when no PARENT_KEY does, there are no nested repeats to look up
    nested = index.execute("select 1 from child where parent like '%]' limit 1").fetchone() is not None
    index.execute("create table info (nested integer)")
    index.execute("insert into info values (?)", (int(nested),))
    index.commit()
    return index


def _children(
    index: sqlite3.Connection,
    tables: dict[str, _Table],
    parent_key: str,
    parent_path: str,
    questions: list[str] | None,
    name: str,
    nested: bool,
    depth: int = 1,
    problems: list[tuple[str, str, str]] | None = None,
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[dict[str, str]]]]:
    """Repeat instances under ``parent_key``: values by repeat path (relative), raw rows by member.

    ``depth`` counts the repeat levels; past ``MAX_REPEAT_DEPTH`` (a chain of PARENT_KEYs, or one
    leading back to itself) the export is refused.
    """
    values: dict[str, list[dict[str, Any]]] = {}
    raw: dict[str, list[dict[str, str]]] = {}
    query = "select key, member, cells from child where parent = ? order by member, row_number"
    for key, member, cells_json in index.execute(query, (parent_key,)).fetchall():
        table = tables[member]
        cells = json.loads(cells_json)
        relative = _repeat_path(key, parent_key, member)
        full = f"{parent_path}/{relative}" if parent_path else relative
        item, _meta = table.split(cells, questions, full, name, problems)
        if key and nested:
            if depth >= MAX_REPEAT_DEPTH:
                raise ImportFileError(
                    f"Repeats are nested deeper than {MAX_REPEAT_DEPTH} levels (does a PARENT_KEY lead back "
                    "to its own row?).",
                    file=f"{name} ({member})",
                )
            inner, nested_raw = _children(
                index, tables, key, full, questions, name, nested, depth + 1, problems
            )
            item.update(inner)
            for nested_member, rows in nested_raw.items():
                raw.setdefault(nested_member, []).extend(rows)
        values.setdefault(relative, []).append(item)
        raw.setdefault(member, []).append(dict(zip(table.header, cells, strict=True)))
    return values, raw


def _repeat_path(key: str, parent_key: str, member: str) -> str:
    """``children/child`` from KEY ``uuid:1/children/child[2]`` under PARENT_KEY ``uuid:1``."""
    if key.startswith(parent_key + "/"):
        return _REPEAT_INDEX.sub("", key[len(parent_key) + 1 :])
    return Path(member).stem.rsplit("-", 1)[-1]  # no usable KEY: Central names the file Form-repeat.csv


def _main_records(
    archive: zipfile.ZipFile,
    main: _Table,
    tables: dict[str, _Table],
    index: sqlite3.Connection,
    questions: list[str] | None,
    name: str,
    path: Path,
    progress: Progress | None,
) -> Iterator[RawRecord]:
    total = file_size(path)
    ticker = Ticker(progress, total)
    member_size = max(archive.getinfo(main.member).file_size, 1)
    key_at = main.header.index("KEY")
    has_repeats = index.execute("select 1 from child limit 1").fetchone() is not None
    nested = bool(index.execute("select nested from info").fetchone()[0])
    consumed = 0
    for row_number, cells in _csv_rows(archive, main.member, name):
        consumed += sum(len(c) for c in cells) + len(cells)
        problems: list[tuple[str, str, str]] = []
        values, meta = main.split(cells, questions, "", name, problems)
        raw: dict[str, Any] = {main.member: dict(zip(main.header, cells, strict=True))}
        if has_repeats:
            children, children_raw = _children(
                index, tables, cells[key_at], "", questions, name, nested, problems=problems
            )
            values.update(children)
            raw.update(children_raw)
        yield RawRecord(
            source="odk-csv",
            locator=f"row {row_number} in {main.member}",
            values=values,
            instance_id=instance_id_from(meta),
            submitted_at=parse_timestamp(meta.get("__system/submissionDate")),
            meta=meta,
            raw=raw,
            problems=tuple(problems),
        )
        ticker.tick(lambda c=consumed: total * min(c, member_size) // member_size)
    ticker.finish()


def _read_main_csv_file(
    path: Path, *, name: str, questions: list[str] | None, progress: Progress | None
) -> Iterator[RawRecord]:
    """A main ``Form.csv`` given on its own (no repeats available)."""
    from voicescount.collection.readers.tabular import check_header, open_text

    handle, delimiter = open_text(path, name)
    ticker = Ticker(progress, file_size(path))
    with handle:
        reader = safety.csv_rows(handle, delimiter)
        row_number = 0  # errors name ``row_number + 1``
        try:
            header = next(reader, None)
            if header is None:
                raise ImportFileError("The file is empty.", file=name)
            row_number = 1
            check_header(header, name)
            table = _Table(name, header)
            for row_number, cells in enumerate(reader, start=2):
                if not cells:
                    continue
                if len(cells) != len(header):
                    raise ImportFileError(
                        f"The row has {len(cells)} cells but the header has {len(header)} columns.",
                        file=name,
                        row=row_number,
                    )
                problems: list[tuple[str, str, str]] = []
                values, meta = table.split(cells, questions, "", name, problems)
                yield RawRecord(
                    source="odk-csv",
                    locator=f"row {row_number}",
                    values=values,
                    instance_id=instance_id_from(meta),
                    submitted_at=parse_timestamp(meta.get("__system/submissionDate")),
                    meta=meta,
                    raw=dict(zip(header, cells, strict=True)),
                    problems=tuple(problems),
                )
                ticker.tick(handle.buffer.tell)
        except UnicodeDecodeError:
            raise ImportFileError(
                "The file stops being valid text here.", file=name, row=row_number + 1
            ) from None
        except csv.Error as exc:
            raise ImportFileError(
                f"The CSV cannot be parsed: {exc}.", file=name, row=row_number + 1
            ) from None
    ticker.finish()


# --- OData JSON -----------------------------------------------------------------------------------------


def _geojson_to_odk(value: dict[str, Any]) -> str | None:
    """Central renders geo answers as GeoJSON; the form's value is ``"lat lon alt acc"`` (``;``-joined)."""

    def point(coordinates: list[Any], accuracy: Any = None) -> str:
        lon, lat, *rest = coordinates
        parts = [lat, lon, *rest]
        if accuracy is not None:
            parts += [0] * (3 - len(parts)) + [accuracy]
        return " ".join(str(p) for p in parts)

    kind = value.get("type")
    coordinates = value.get("coordinates")
    if kind == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
        return point(coordinates, (value.get("properties") or {}).get("accuracy"))
    if kind == "LineString" and isinstance(coordinates, list):
        return ";".join(point(c) for c in coordinates)
    if kind == "Polygon" and isinstance(coordinates, list) and coordinates:
        return ";".join(point(c) for c in coordinates[0])
    return None


def _flatten(path: str, value: Any, values: dict[str, Any], meta: dict[str, Any]) -> None:
    if isinstance(value, dict):
        geo = _geojson_to_odk(value) if "coordinates" in value and "type" in value else None
        if geo is not None:
            values[path] = geo
            return
        for key, inner in value.items():
            if key.endswith("@odata.navigationLink"):
                meta[f"{path}/{key}"] = inner  # a repeat not expanded: its rows are in another table
            else:
                _flatten(f"{path}/{key}", inner, values, meta)
    elif is_repeat(value):
        values[path] = [_repeat_item(item) for item in value]
    else:
        values[path] = value


def _repeat_item(item: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    ignored: dict[str, Any] = {}
    for key, inner in item.items():
        if not key.startswith("__"):  # the instance's own __id: in raw only
            _flatten(key, inner, values, ignored)
    return values


def odata_record(item: Any, locator: str, *, name: str) -> RawRecord:
    """One OData submission entity as a ``RawRecord``."""
    if not isinstance(item, dict):
        raise ImportFileError("A submission is not a JSON object.", file=name, row=locator)
    values: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for key, value in item.items():
        if key == "__system" and isinstance(value, dict):
            meta.update({f"__system/{k}": v for k, v in value.items()})
        elif key.startswith("__") or key.endswith("@odata.navigationLink"):
            meta[key] = value
        elif key == "meta" and isinstance(value, dict):
            meta.update({f"meta/{k}": v for k, v in value.items()})
        else:
            _flatten(key, value, values, meta)
    return RawRecord(
        source="odk-odata",
        locator=locator,
        values=values,
        instance_id=instance_id_from(meta),
        submitted_at=parse_timestamp(meta.get("__system/submissionDate")),
        meta=meta,
        raw=item,
    )


def read_odata(path: Path, *, name: str, progress: Progress | None = None) -> RecordStream[tuple[Any, str]]:
    """Records of an ODK Central OData ``Submissions`` response (a file or a directory of pages)."""

    def items() -> Iterator[tuple[Any, str]]:
        yield from json_items(json_pages(path, name), "value", name=name, progress=progress)

    return RecordStream(items(), lambda pair: odata_record(pair[0], pair[1], name=name))
