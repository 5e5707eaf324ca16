"""Mappings of official series files onto our indicators, areas and code lists: made, checked, saved, read.

A published file speaks its publisher's codes: an SDMX series code (``SI_POV_DAY1``) where we need an
indicator (``1.1.1``), an M49 or ISO 3166-2 area code where we need one of our areas, labels such as
``15 and under`` where we need a code of our AGE list. A mapping says, once, what each of them is ours::

    {"series": {"SI_POV_DAY1": "1.1.1"},
     "areas": {"VN-01": "VN-12"},
     "codes": {"AGE": {"15 and under": "Y_LE15"}},
     "units": {"Tỷ lệ (%)": "PT"}}

:func:`inspect_file` lists what a file holds and suggests an entry for each code; :func:`check_mapping`
refuses a mapping naming an indicator, area or code we do not have (naming the entry); the mapping is saved
per organisation as an :class:`OfficialMapping` (:func:`save_mapping`), or written as a file for the
command line (:func:`load_mapping_file`, YAML or CSV, documented in docs/open-data.md). Every import with a
mapping — the workspace page and ``voicescount official --mapping`` alike — goes through
:func:`import_mapped`, which checks the mapping, calls ``official.import_official``
and records the audit entry.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from voicescount.framework.models import GLOBAL, Indicator
from voicescount.geography.models import Area
from voicescount.indicators.models import OfficialMapping
from voicescount.indicators.official import UNITS, ImportSummary, import_official
from voicescount.indicators.official_inspect import FileContents, detect_format, inspect_file
from voicescount.indicators.official_readers import FORMATS, TOTAL, OfficialDataError, code_lists

__all__ = [
    "MAPPING_KEYS",
    "FileContents",
    "MappingError",
    "check_mapping",
    "detect_format",
    "import_mapped",
    "inspect_file",
    "load_mapping_file",
    "save_mapping",
    "source_format",
]

#: What a mapping may hold (see ``import_official``): dictionaries of published code → ours, and three
#: single values (one indicator for every row, the area of Open SDG rows without GeoCode, the framework).
MAPPING_KEYS = ("series", "areas", "codes", "units", "columns", "indicator", "area", "framework")
#: The kinds of a mapping file in CSV, one entry a line: ``kind,list,published,ours``.
CSV_KINDS = {"series": "series", "area": "areas", "code": "codes", "unit": "units", "column": "columns"}
CSV_HEADER = ["kind", "list", "published", "ours"]
#: Our file formats → the saved mapping's ``source_format``.
SOURCE_FORMATS = {
    "sdmx-ml": OfficialMapping.Format.SDMX,
    "sdmx-csv": OfficialMapping.Format.SDMX,
    "open-sdg": OfficialMapping.Format.OPEN_SDG,
    "unsd-json": OfficialMapping.Format.UN_API,
}


class MappingError(ValueError):
    """A mapping names something we do not have, or cannot be read; ``problems`` lists every entry."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def source_format(fmt: str) -> str:
    """The saved mapping's format (``sdmx``, ``opensdg``, ``unsdg``) of a file format (``sdmx-ml`` …)."""
    return SOURCE_FORMATS[fmt]


# ---------------------------------------------------------------------------------------- checking


def check_mapping(mapping: Any, *, source: str = "mapping") -> dict[str, Any]:
    """The mapping cleaned (strings stripped, empty entries dropped), or :class:`MappingError`.

    Every entry must name what VoicesCount has: an indicator of the framework, an area, a code of the
    code list (``_T`` for "not broken down"), a unit we compare, a code list for a column. Nothing is
    changed by a refused mapping; the error names each bad entry (``series SI_POV_DAY1 → 99.9.9: …``)."""
    if not isinstance(mapping, dict):
        raise MappingError(source, [f"a mapping is a dictionary of {', '.join(MAPPING_KEYS)}"])
    problems = [
        f"{key}: not a part of a mapping ({', '.join(MAPPING_KEYS)})"
        for key in mapping
        if key not in MAPPING_KEYS
    ]
    clean: dict[str, Any] = {}
    for key in ("indicator", "area", "framework"):
        if mapping.get(key) not in (None, ""):
            clean[key] = str(mapping[key]).strip()
    for key in ("series", "areas", "units", "columns"):
        entries = mapping.get(key) or {}
        if not isinstance(entries, dict):
            problems.append(f"{key}: expected published code → ours, got {type(entries).__name__}")
            continue
        clean[key] = {str(k).strip(): str(v).strip() for k, v in entries.items() if str(v or "").strip()}
    codes = mapping.get("codes") or {}
    if not isinstance(codes, dict) or not all(isinstance(v, dict) for v in codes.values()):
        problems.append("codes: expected code list → {published value → our code}")
        codes = {}
    clean["codes"] = {}
    for code_list, values in codes.items():
        entries = {str(k).strip(): str(v).strip() for k, v in values.items() if str(v or "").strip()}
        if entries:
            clean["codes"][str(code_list).strip()] = entries
    problems += _problems(clean)
    if problems:
        raise MappingError(source, problems)
    return {k: v for k, v in clean.items() if v}


def _problems(mapping: dict[str, Any]) -> list[str]:
    framework = mapping.get("framework", GLOBAL)
    problems = []
    wanted = set(mapping.get("series", {}).values()) | (
        {mapping["indicator"]} if "indicator" in mapping else set()
    )
    indicators = set(
        Indicator.objects.filter(framework__code=framework, code__in=wanted).values_list("code", flat=True)
    )
    if "indicator" in mapping and mapping["indicator"] not in indicators:
        problems.append(f"indicator {mapping['indicator']}: not an indicator of the {framework} framework")
    for series, code in mapping.get("series", {}).items():
        if code not in indicators:
            problems.append(f"series {series} → {code}: not an indicator of the {framework} framework")
    wanted_areas = set(mapping.get("areas", {}).values()) | (
        {mapping["area"]} if "area" in mapping else set()
    )
    areas = set(Area.objects.filter(code__in=wanted_areas).values_list("code", flat=True))
    if "area" in mapping and mapping["area"] not in areas:
        problems.append(f"area {mapping['area']}: not one of our areas")
    for published, code in mapping.get("areas", {}).items():
        if code not in areas:
            problems.append(f"area {published} → {code}: not one of our areas")
    lists = code_lists()
    for code_list, values in mapping.get("codes", {}).items():
        if code_list not in lists:
            problems.append(f"codes {code_list}: not one of our code lists ({', '.join(sorted(lists))})")
            continue
        for published, code in values.items():
            if code != TOTAL and code not in lists[code_list]["codes"]:
                problems.append(f"code {code_list} {published} → {code}: not a code of {code_list}")
    units = set(UNITS.values())
    for published, code in mapping.get("units", {}).items():
        if code not in units:
            problems.append(f"unit {published} → {code}: not a unit we compare ({', '.join(sorted(units))})")
    for column, code_list in mapping.get("columns", {}).items():
        if code_list not in lists:
            problems.append(f"column {column} → {code_list}: not one of our code lists")
    return problems


# ---------------------------------------------------------------------------------------- files


def load_mapping_file(path: str | Path) -> dict[str, Any]:
    """A mapping from a YAML file (the mapping's dictionary) or a CSV file (``kind,list,published,ours``).

    Not yet checked against our data: pass the result to :func:`import_mapped` (or :func:`check_mapping`).
    Raises :class:`MappingError` naming the file and, for CSV, the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(path.name, [f"cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise MappingError(path.name, [f"is not UTF-8 text (byte {exc.start})"]) from None
    if path.suffix.lower() == ".csv":
        return _mapping_from_csv(text, path.name)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise MappingError(path.name, ["a mapping file is .yaml, .yml or .csv"])
    try:
        mapping = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise MappingError(path.name, [f"is not valid YAML{where}: {getattr(exc, 'problem', exc)}"]) from None
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise MappingError(path.name, [f"a mapping is a dictionary of {', '.join(MAPPING_KEYS)}"])
    return mapping


def _mapping_from_csv(text: str, name: str) -> dict[str, Any]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:4] != CSV_HEADER:
        raise MappingError(name, [f"line 1: the header is {','.join(CSV_HEADER)}, not {','.join(header)}"])
    mapping: dict[str, Any] = {}
    problems = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        kind, code_list, published, ours = ([c.strip() for c in cells] + ["", "", "", ""])[:4]
        if kind in ("indicator", "framework") or (kind == "area" and not published):
            mapping[kind] = ours  # one value for the whole file (``area``: of Open SDG rows without GeoCode)
        elif kind not in CSV_KINDS:
            problems.append(
                f"line {line}: kind {kind!r} is not one of {', '.join([*CSV_KINDS, 'indicator'])}"
            )
        elif not published:
            problems.append(f"line {line}: the published code is empty")
        elif kind == "code":
            if not code_list:
                problems.append(f"line {line}: a code entry names its code list (SEX, AGE …) in 'list'")
            mapping.setdefault("codes", {}).setdefault(code_list, {})[published] = ours
        else:
            mapping.setdefault(CSV_KINDS[kind], {})[published] = ours
    if problems:
        raise MappingError(name, problems)
    return mapping


def mapping_as_csv(mapping: dict[str, Any]) -> str:
    """The mapping as the CSV file :func:`load_mapping_file` reads (to download a saved mapping)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for key in ("indicator", "area", "framework"):
        if mapping.get(key):
            writer.writerow([key, "", "", mapping[key]])
    for kind, key in CSV_KINDS.items():
        if key == "codes":
            for code_list, values in mapping.get("codes", {}).items():
                writer.writerows([kind, code_list, k, v] for k, v in values.items())
        else:
            writer.writerows([kind, "", k, v] for k, v in mapping.get(key, {}).items())
    return out.getvalue()


# ---------------------------------------------------------------------------------------- saving, importing


def save_mapping(organisation, name: str, fmt: str, mapping: dict[str, Any], user=None) -> OfficialMapping:
    """Save (or replace) the organisation's mapping called ``name``, checked first."""
    name = name.strip()
    if not name:
        raise MappingError("mapping", ["a saved mapping needs a name"])
    mapping = check_mapping(mapping)
    saved, _ = OfficialMapping.objects.update_or_create(
        organisation=organisation,
        name=name[:200],
        defaults={"source_format": source_format(fmt), "mapping": mapping, "created_by": user},
    )
    return saved


def import_mapped(
    path_or_bytes: str | Path | bytes,
    fmt: str,
    *,
    mapping: dict[str, Any],
    source: str,
    source_url: str = "",
    name: str | None = None,
    retrieved: dt.date | None = None,
    organisation=None,
    user=None,
    save_as: str = "",
    mapping_name: str = "",
    illustrative: bool = False,
    mapping_file: str = "mapping",
) -> ImportSummary:
    """Import an official file with a mapping: checked, imported, optionally saved, audited — all or nothing.

    ``fmt`` may be ``auto`` (see :func:`detect_format`). The one import path of the workspace page and of
    ``voicescount official --mapping``. A refused mapping (:class:`MappingError`) or an unreadable file
    (:class:`OfficialDataError`) stores nothing, not even the mapping. ``mapping_name`` names the saved
    mapping used as it was (for the audit entry); ``save_as`` saves this one under that name."""
    from voicescount.collection.models import AuditEntry

    mapping = check_mapping(mapping, source=mapping_file)
    if fmt == "auto":
        data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
        fmt = detect_format(name or Path(str(path_or_bytes)).name, data)
    if fmt not in FORMATS:
        raise OfficialDataError(str(fmt), f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    file = name or (Path(path_or_bytes).name if not isinstance(path_or_bytes, bytes) else "<bytes>")
    with transaction.atomic():
        summary = import_official(
            path_or_bytes,
            fmt,
            source=source,
            source_url=source_url,
            retrieved=retrieved or dt.date.today(),
            mapping=mapping,
            name=name,
            illustrative=illustrative,
        )
        saved = save_mapping(organisation, save_as, fmt, mapping, user) if save_as and organisation else None
        AuditEntry.objects.create(
            actor=user if user is not None and user.is_authenticated else None,
            organisation=organisation,
            action="official_imported",
            details={
                "file": file,
                "format": fmt,
                "source": source,
                "rows": summary.created + summary.updated,
                "skipped": len(summary.skipped),
                "mapping": saved.name if saved else mapping_name or None,
                "entries": mapping,
            },
        )
    return summary
