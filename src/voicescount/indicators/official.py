"""Import published official series (SDMX-ML, SDMX-CSV, Open SDG CSV, UN SDG API JSON) for comparison.

The readers (``indicators.official_readers``) turn a file into plain rows; this module maps their dimension
values to our code lists, builds the canonical key and stores the rows with ``update_or_create`` on the
unique constraint, so importing the same file twice changes nothing. A row we cannot use (unknown
indicator, a dimension value that is not in our code lists, no value) is skipped with a reason naming its
row; a file we cannot read at all raises :class:`OfficialDataError` naming the file and, where there is
one, the row. Mappings made by a person (saved, or as a file) are checked and applied by
``indicators.official_mapping``, which calls :func:`import_official`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from voicescount.framework.models import GLOBAL, Indicator
from voicescount.geography.codes import our_codes
from voicescount.indicators.models import OfficialObservation
from voicescount.indicators.official_readers import (
    FORMATS,
    M49_TO_ISO2,
    NOT_BROKEN_DOWN,
    TOTAL,
    ObservationRow,
    OfficialDataError,
    code_lists,
    file_name,
    read_bytes,
    read_rows,
)

__all__ = ["FORMATS", "ImportSummary", "OfficialDataError", "UnusableRow", "canonical_key", "import_official"]

#: Units an official figure may be in, as published (SDG ``UNIT_MEASURE`` codes, UN SDG API names and the
#: labels Open SDG sites use; compared case-insensitively) → our unit code. A unit not listed here (and
#: not mapped with ``mapping["units"]``) stops the import: comparing figures in an unknown unit would be
#: silently wrong. An empty unit means "as the indicator's definition".
UNITS = {
    **{u: "PT" for u in ("PT", "PERCENT", "PC", "%", "PERCENTAGE", "PERCENTAGE (%)", "PERCENT (%)")},
    **{u: "NUMBER" for u in ("NUMBER", "NUM", "PERSONS", "NUMBER OF PEOPLE")},
    **{
        u: u
        for u in (
            "RATIO",
            "INDEX",
            "PER_1000_POP",
            "PER_100000_POP",
            "PER_1000_LIVE_BIRTHS",
            "PER_100000_LIVE_BIRTHS",
            "PER_1000_UNINFECTED_POP",
            "USD",
            "CU_USD",
            "CON_USD",
            "VND",
            "YEARS",
            "HOURS",
            "DAYS",
            "HA",
            "KM2",
            "T",
            "KG",
        )
    },
}


class UnusableRow(Exception):
    """A row cannot be used; the message says why (it is skipped, the rest of the file imported)."""


@dataclass
class ImportSummary:
    """What an import did: rows created, rows updated, and every skipped row with its reason."""

    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)


def canonical_key(dimensions: dict[str, str]) -> str:
    """``AGE=Y15T24|SEX=F`` from ``{"SEX": "F", "AGE": "Y15T24", "URBANISATION": "_T"}``.

    Totals (``_T``) are dropped, the rest sorted by code list; nothing left is ``_T``.
    """
    parts = [f"{name}={code}" for name, code in sorted(dimensions.items()) if code != TOTAL]
    return "|".join(parts) or TOTAL


def import_official(
    path_or_bytes: str | Path | bytes,
    fmt: str,
    *,
    source: str,
    source_url: str = "",
    retrieved: dt.date | None = None,
    illustrative: bool = False,
    mapping: dict[str, Any] | None = None,
    name: str | None = None,
) -> ImportSummary:
    """Import an official series file into :class:`OfficialObservation` rows (idempotent).

    ``mapping`` (all keys optional):

    * ``indicator``: indicator code for every row (e.g. ``"1.3.1"``), overriding the file;
    * ``series``: ``{"SI_COV_BENFTS": "1.3.1"}`` — SDMX/UN series code → indicator code;
    * ``areas``: ``{"826": "GB"}`` — area codes as published → our area codes;
    * ``area``: the area of Open SDG rows without ``GeoCode`` (default ``"VN"``);
    * ``columns``: ``{"Sex": "SEX"}`` — Open SDG column → code list;
    * ``codes`` (or ``values``, its earlier name): ``{"AGE": {"16 to 24": "Y16T24"}}`` — published
      labels/codes → our codes, per code list;
    * ``units``: ``{"Tỷ lệ (%)": "PT"}`` — units as published → our unit codes (see ``UNITS``);
    * ``framework``: framework of the indicators (default ``"global"``).

    ``name`` is the file's name when ``path_or_bytes`` are bytes (an upload): errors name it, and an Open
    SDG file's indicator is read from it.

    A row in a unit VoicesCount does not know raises :class:`OfficialDataError` naming the file, row and
    field, and nothing of the file is stored; rows with codes we do not have are skipped with a reason.
    """
    if fmt not in FORMATS:
        raise OfficialDataError(str(fmt), f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    name = name or file_name(path_or_bytes)
    if not source:
        raise OfficialDataError(name, "source is required (who published these figures)")
    mapping = mapping or {}
    data = read_bytes(path_or_bytes, name)
    rows = read_rows(data, name, fmt, mapping)
    for row in rows:
        row.unit = _unit(row, name, mapping.get("units", {}))
    return _store(
        rows, mapping, source=source, source_url=source_url, retrieved=retrieved, illustrative=illustrative
    )


def known_unit(raw: str, mapped: dict[str, str]) -> str | None:
    """Our unit code for a unit as published (``Percentage (%)`` → ``PT``), or None if we do not know it."""
    raw = raw.strip()
    if raw in mapped:
        return mapped[raw]
    return UNITS.get(raw.upper())


def _unit(row: ObservationRow, name: str, mapped: dict[str, str]) -> str:
    raw = str(row.unit or "").strip()
    if not raw:
        return ""
    unit = known_unit(raw, mapped)
    if unit is None:
        raise OfficialDataError(
            name,
            f"unit {raw!r} (UNIT_MEASURE / Units) is not a unit VoicesCount can compare; known: "
            f"{', '.join(sorted(set(UNITS.values())))}. Map it with mapping['units'] or correct the file; "
            "nothing was imported",
            row=row.number,
        )
    return unit


# ---------------------------------------------------------------------------------------- storing


def mapping_codes(mapping: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The mapping's code lists: ``codes``, and ``values`` (its earlier name) for older callers."""
    return {**mapping.get("values", {}), **mapping.get("codes", {})}


def _number(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "NaN", "nan", "NA", "..")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UnusableRow(f"{what} {value!r} is not a number") from None
    if math.isnan(number) or math.isinf(number):
        return None
    return number


def resolve_code(code_list: str, raw: str, lists: dict[str, dict[str, Any]], given: dict[str, dict]) -> str:
    """Our code for the value ``raw`` of ``code_list`` as published (``_T`` when not broken down).

    ``given`` is the mapping's ``codes`` (``{"AGE": {"16 to 24": "Y16T24"}}``); then our codes, then the
    English names of our codes (case-insensitive). Raises :class:`UnusableRow` saying what to map."""
    value = given.get(code_list, {}).get(raw, raw)
    if code_list not in lists:
        if value in NOT_BROKEN_DOWN or value.upper().startswith("ALL"):
            return TOTAL
        raise UnusableRow(f"{code_list}={raw}: {code_list} is not one of our code lists")
    entry = lists[code_list]
    if value not in entry["codes"]:
        value = entry["names"].get(value.lower(), value)
    if value == "_Z":
        value = TOTAL
    if value not in entry["codes"]:
        raise UnusableRow(f"{code_list}={raw} is not a code of {code_list} (map it with mapping['codes'])")
    return value


def _dimensions(
    row: ObservationRow, lists: dict[str, dict[str, Any]], given: dict[str, dict[str, str]]
) -> dict[str, str]:
    if "?" in row.dimensions:
        raise UnusableRow(
            f"no code list of ours for {row.dimensions['?']} (map the column with mapping['columns'])"
        )
    codes = {
        code_list: resolve_code(code_list, raw, lists, given) for code_list, raw in row.dimensions.items()
    }
    return {k: v for k, v in codes.items() if v != TOTAL}


def _store(
    rows: list[ObservationRow],
    mapping: dict[str, Any],
    *,
    source: str,
    source_url: str,
    retrieved: dt.date | None,
    illustrative: bool,
) -> ImportSummary:
    summary = ImportSummary()
    lists = code_lists()
    framework = mapping.get("framework", GLOBAL)
    series_map = mapping.get("series", {})
    # Codes as we publish them (ISO 3166-2, <country>-GSO-<code>: geography.codes) read back as our areas
    # unless the mapping says otherwise.
    areas = {**M49_TO_ISO2, **our_codes(), **mapping.get("areas", {})}
    indicators: dict[str, Indicator | None] = {}
    seen: dict[tuple, int] = {}
    with transaction.atomic():
        for row in rows:
            try:
                code = mapping.get("indicator") or row.indicator or series_map.get(row.series, "")
                if not code:
                    raise UnusableRow(
                        f"series {row.series!r} has no indicator (map it with mapping['series'])"
                    )
                if code not in indicators:
                    indicators[code] = Indicator.objects.filter(framework__code=framework, code=code).first()
                indicator = indicators[code]
                if indicator is None:
                    raise UnusableRow(f"indicator {code} is not in the {framework} framework")
                if not row.area:
                    raise UnusableRow("no area (REF_AREA/GeoCode/geoAreaCode)")
                if not str(row.period).strip():
                    raise UnusableRow("no period (TIME_PERIOD/Year/timePeriodStart)")
                dims = _dimensions(row, lists, mapping_codes(mapping))
                value = _number(row.value, "value")
                if value is None:
                    raise UnusableRow("no value")
                scale = 10 ** int(_number(row.unit_mult, "unit multiplier") or 0)
                lower, upper = _number(row.lower, "lower bound"), _number(row.upper, "upper bound")
            except UnusableRow as reason:
                summary.skipped.append(f"row {row.number}: {reason}")
                continue
            area = areas.get(row.area, row.area)
            key = canonical_key(dims)
            unique = (indicator.pk, row.series, area, str(row.period), key)
            if unique in seen:
                summary.skipped.append(
                    f"row {row.number}: same indicator, series, area, period and key as row {seen[unique]}"
                )
                continue
            seen[unique] = row.number
            _, created = OfficialObservation.objects.update_or_create(
                indicator=indicator,
                series=row.series,
                area_code=area,
                period=str(row.period),
                key=key,
                source=source,
                defaults={
                    "dimensions": dims,
                    "value": value * scale,
                    "ci_low": None if lower is None else lower * scale,
                    "ci_high": None if upper is None else upper * scale,
                    "unit": row.unit,
                    "source_url": source_url,
                    "retrieved": retrieved,
                    "illustrative": illustrative,
                },
            )
            if created:
                summary.created += 1
            else:
                summary.updated += 1
    return summary
