"""Import published official series (SDMX-ML, SDMX-CSV, Open SDG CSV, UN SDG API JSON) for comparison.

Every reader turns its file into plain rows (indicator, series, area, period, raw dimension values,
value, bounds, unit); one function then maps the dimension values to our code lists, builds the
canonical key and stores the rows with ``update_or_create`` on the unique constraint, so importing
the same file twice changes nothing. A row we cannot use (unknown indicator, a dimension value that is
not in our code lists, no value) is skipped with a reason naming its row; a file we cannot read at all
raises :class:`OfficialDataError` naming the file and, where there is one, the row.

SDMX-ML is read with ``sdmx1`` (``sdmx.read_sdmx``): generic and structure-specific data messages,
with or without the DSD. SDMX-CSV is read with the ``csv`` module because ``sdmx1`` reads only
SDMX-CSV 2.x and only with the DSD at hand, while the SDG data flows are usually published as
SDMX-CSV 1.0 (first column ``DATAFLOW``); both versions are accepted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from voicescount.framework.models import GLOBAL, Code, Indicator
from voicescount.indicators.models import OfficialObservation

FORMATS = ("sdmx-ml", "sdmx-csv", "open-sdg", "unsd-json")
TOTAL = "_T"

#: Dimensions of the SDG DSD (IAEG-SDGs:SDG) that break a series down; REF_AREA, SERIES, FREQ,
#: REPORTING_TYPE and TIME_PERIOD are read separately.
SDG_BREAKDOWNS = (
    "SEX",
    "AGE",
    "URBANISATION",
    "INCOME_WEALTH_QUANTILE",
    "EDUCATION_LEV",
    "OCCUPATION",
    "CUST_BREAKDOWN",
    "COMPOSITE_BREAKDOWN",
    "DISABILITY_STATUS",
    "ACTIVITY",
    "PRODUCT",
)
#: Codes that mean "not broken down" in SDMX: total and not applicable.
NOT_BROKEN_DOWN = {"_T", "_Z", ""}

#: UN M49 numeric codes of the countries VoicesCount coalitions work in (and the UK, whose ONS and
#: sdg-build samples are test fixtures) → ISO 3166-1 alpha-2. Other codes are kept as given; pass
#: ``mapping={"areas": {...}}`` to translate them.
M49_TO_ISO2 = {
    "704": "VN",
    "50": "BD",
    "356": "IN",
    "404": "KE",
    "454": "MW",
    "524": "NP",
    "208": "DK",
    "826": "GB",
    "418": "LA",
    "116": "KH",
}

#: UN SDG API dimension names → our code lists.
UNSD_DIMENSIONS = {
    "Sex": "SEX",
    "Age": "AGE",
    "Location": "URBANISATION",
    "Disability status": "DISABILITY_STATUS",
    "Quantile": "INCOME_WEALTH_QUANTILE",
}
#: UN SDG API dimensions that carry no breakdown of the population.
UNSD_IGNORED_DIMENSIONS = {"Reporting Type", "Nature", "Units", "Freq"}
#: UN SDG API values → our codes, per code list (ages are also parsed, see ``_unsd_age``).
UNSD_VALUES = {
    "SEX": {"BOTHSEX": TOTAL, "FEMALE": "F", "MALE": "M"},
    "AGE": {"ALLAGE": TOTAL},
    "URBANISATION": {"ALLAREA": TOTAL, "URBAN": "U", "RURAL": "R"},
    "DISABILITY_STATUS": {"PD": "PD", "NPD": "NPD", "ALL": TOTAL},
    "INCOME_WEALTH_QUANTILE": {"_T": TOTAL, "ALL": TOTAL},
}
UNSD_UNITS = {"PERCENT": "PT"}
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

#: Open SDG columns that are not disaggregations.
OPEN_SDG_RESERVED = {"year", "value", "series", "units", "geocode", "unit multiplier", "observation status"}
#: Open SDG column headings that name one of our code lists without being its English name.
OPEN_SDG_COLUMN_ALIASES = {
    "sex": "SEX",
    "age": "AGE",
    "age group": "AGE",
    "disability status": "DISABILITY_STATUS",
    "disability": "DISABILITY_STATUS",
    "urban/rural": "URBANISATION",
    "location": "URBANISATION",
    "wealth quintile": "INCOME_WEALTH_QUANTILE",
    "quintile": "INCOME_WEALTH_QUANTILE",
    "ethnicity": "ETHNICITY",
}
INDICATOR_IN_NAME = re.compile(r"(?:indicator_)?(\d{1,2})-([0-9a-z]{1,2})-(\d{1,2})$", re.IGNORECASE)


class OfficialDataError(ValueError):
    """The file cannot be read as the format said; names the file and, if known, the row."""

    def __init__(self, file: str, message: str, row: int | None = None):
        self.file = file
        self.row = row
        where = f"{file}, row {row}" if row is not None else file
        super().__init__(f"{where}: {message}")


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass
class _Row:
    """One observation as read from a file, before its dimension values are checked."""

    number: int
    indicator: str
    series: str
    area: str
    period: str
    dimensions: dict[str, str]
    value: Any
    lower: Any = None
    upper: Any = None
    unit: str = ""
    unit_mult: Any = None


class _Skip(Exception):
    """A row cannot be used; the message says why."""


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
) -> ImportSummary:
    """Import an official series file into :class:`OfficialObservation` rows (idempotent).

    ``mapping`` (all keys optional):

    * ``indicator``: indicator code for every row (e.g. ``"1.3.1"``), overriding the file;
    * ``series``: ``{"SI_COV_BENFTS": "1.3.1"}`` — SDMX/UN series code → indicator code;
    * ``areas``: ``{"826": "GB"}`` — area codes as published → our area codes;
    * ``area``: the area of Open SDG rows without ``GeoCode`` (default ``"VN"``);
    * ``columns``: ``{"Sex": "SEX"}`` — Open SDG column → code list;
    * ``values``: ``{"AGE": {"16 to 24": "Y16T24"}}`` — published labels/codes → our codes;
    * ``units``: ``{"Tỷ lệ (%)": "PT"}`` — units as published → our unit codes (see ``UNITS``);
    * ``framework``: framework of the indicators (default ``"global"``).

    A row in a unit VoicesCount does not know raises :class:`OfficialDataError` naming the file, row and
    field, and nothing of the file is stored; rows with codes we do not have are skipped with a reason.
    """
    if fmt not in FORMATS:
        raise OfficialDataError(str(fmt), f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not source:
        raise OfficialDataError(_name(path_or_bytes), "source is required (who published these figures)")
    mapping = mapping or {}
    name = _name(path_or_bytes)
    data = _read_bytes(path_or_bytes, name)
    readers = {"sdmx-ml": _read_sdmx_ml, "sdmx-csv": _read_sdmx_csv, "open-sdg": _read_open_sdg}
    readers["unsd-json"] = _read_unsd_json
    rows = list(readers[fmt](data, name, mapping))
    for row in rows:
        row.unit = _unit(row, name, mapping.get("units", {}))
    return _store(
        rows, mapping, source=source, source_url=source_url, retrieved=retrieved, illustrative=illustrative
    )


def _unit(row: _Row, name: str, mapped: dict[str, str]) -> str:
    raw = str(row.unit or "").strip()
    if not raw:
        return ""
    if raw in mapped:
        return mapped[raw]
    unit = UNITS.get(raw.upper())
    if unit is None:
        raise OfficialDataError(
            name,
            f"unit {raw!r} (UNIT_MEASURE / Units) is not a unit VoicesCount can compare; known: "
            f"{', '.join(sorted(set(UNITS.values())))}. Map it with mapping['units'] or correct the file; "
            "nothing was imported",
            row=row.number,
        )
    return unit


# ---------------------------------------------------------------------------------------- input


def _name(path_or_bytes: str | Path | bytes) -> str:
    return "<bytes>" if isinstance(path_or_bytes, bytes | bytearray) else Path(path_or_bytes).name


def _read_bytes(path_or_bytes: str | Path | bytes, name: str) -> bytes:
    if isinstance(path_or_bytes, bytes | bytearray):
        return bytes(path_or_bytes)
    try:
        return Path(path_or_bytes).read_bytes()
    except OSError as exc:
        raise OfficialDataError(name, f"cannot be read: {exc.strerror or exc}") from exc


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OfficialDataError(name, f"is not UTF-8 text (byte {exc.start})") from exc


def _csv_rows(
    data: bytes, name: str, required: Iterable[str]
) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    text = _text(data, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise OfficialDataError(name, "is empty", row=1) from None
    except csv.Error as exc:
        raise OfficialDataError(name, f"is not valid CSV: {exc}", row=1) from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise OfficialDataError(name, f"missing column(s) {', '.join(missing)}; header is {header}", row=1)

    def rows() -> Iterator[tuple[int, dict]]:
        try:
            for number, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    raise OfficialDataError(
                        name, f"has {len(cells)} cells but the header has {len(header)}", row=number
                    )
                yield number, {h: c.strip() for h, c in zip(header, cells, strict=True)}
        except csv.Error as exc:
            raise OfficialDataError(name, f"is not valid CSV: {exc}", row=reader.line_num) from exc

    return header, rows()


def _indicator_code(value: str) -> str:
    """``1.3.1`` from ``1.3.1``, ``1-3-1`` or ``1_3_1``."""
    return re.sub(r"[-_]", ".", value.strip())


def _sdmx_breakdowns() -> set[str]:
    return set(SDG_BREAKDOWNS) | set(_code_lists())


def _sdmx_row(number: int, values: dict[str, str], breakdowns: set[str]) -> _Row:
    """A row from the flat SDMX names of one observation (dimensions and attributes alike)."""
    series = values.get("SERIES") or values.get("SERIES_CODE") or ""
    indicator = values.get("INDICATOR", "")
    dims = {d: values[d] for d in values if d in breakdowns}
    return _Row(
        number=number,
        indicator=_indicator_code(indicator) if indicator else "",
        series=series,
        area=values.get("REF_AREA", ""),
        period=values.get("TIME_PERIOD", ""),
        dimensions=dims,
        value=values.get("OBS_VALUE"),
        lower=values.get("LOWER_BOUND"),
        upper=values.get("UPPER_BOUND"),
        unit=values.get("UNIT_MEASURE", ""),
        unit_mult=values.get("UNIT_MULT"),
    )


def _read_sdmx_ml(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[_Row]:
    import logging

    import sdmx

    # Without the DSD sdmx1 logs a warning for every structure-specific message; that is expected here.
    log = logging.getLogger("sdmx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        message = sdmx.read_sdmx(io.BytesIO(data), format="XML")
    except Exception as exc:  # sdmx1 raises several types (XMLParseError, ValueError, NotImplementedError…)
        raise OfficialDataError(name, f"is not an SDMX-ML data message: {exc}") from exc
    finally:
        log.setLevel(level)
    datasets = getattr(message, "data", None)
    if datasets is None:
        raise OfficialDataError(name, f"is an SDMX-ML {type(message).__name__}, not a data message")
    number = 0
    breakdowns = _sdmx_breakdowns()
    for dataset in datasets:
        for obs in dataset.obs:
            number += 1
            values = {str(k): str(v.value) for k, v in obs.key.values.items()}
            values.update({str(k): str(v.value) for k, v in obs.attrib.items()})
            values["OBS_VALUE"] = "" if obs.value is None else str(obs.value)
            yield _sdmx_row(number, values, breakdowns)


def _read_sdmx_csv(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[_Row]:
    header, rows = _csv_rows(data, name, required=("REF_AREA", "TIME_PERIOD", "OBS_VALUE"))
    if header[0] not in ("DATAFLOW", "STRUCTURE"):
        raise OfficialDataError(
            name,
            f"first column is {header[0]!r}; SDMX-CSV starts with DATAFLOW (1.0) or STRUCTURE (2.0)",
            row=1,
        )
    if "SERIES" not in header and "SERIES_CODE" not in header and "INDICATOR" not in header:
        if "indicator" not in mapping:
            raise OfficialDataError(name, "has no SERIES, SERIES_CODE or INDICATOR column", row=1)
    breakdowns = _sdmx_breakdowns()
    for number, values in rows:
        yield _sdmx_row(number, values, breakdowns)


def _read_open_sdg(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[_Row]:
    header, rows = _csv_rows(data, name, required=("Year", "Value"))
    indicator = mapping.get("indicator", "")
    if not indicator:
        match = INDICATOR_IN_NAME.search(Path(name).stem)
        if not match:
            raise OfficialDataError(
                name,
                "the indicator is not in the file name (indicator_1-3-1.csv); pass mapping={'indicator': …}",
            )
        indicator = ".".join(match.groups()).lower()
    columns = _open_sdg_columns(header, mapping)
    area = mapping.get("area", "VN")
    for number, values in rows:
        dims: dict[str, str] = {}
        unknown = []
        for column, code_list in columns.items():
            label = values[column]
            if not label:
                continue
            if code_list is None:
                unknown.append(f"{column}={label}")
            else:
                dims[code_list] = label
        row = _Row(
            number=number,
            indicator=indicator,
            series=values.get("Series", ""),
            area=values.get("GeoCode", "") or area,
            period=values["Year"],
            dimensions=dims,
            value=values["Value"],
            unit=values.get("Units", ""),
            unit_mult=values.get("Unit multiplier") or None,
        )
        if unknown:
            row.dimensions["?"] = "; ".join(unknown)
        yield row


def _open_sdg_columns(header: list[str], mapping: dict[str, Any]) -> dict[str, str | None]:
    """Disaggregation column → our code list (None when we have no list for it)."""
    given = mapping.get("columns", {})
    by_name = {}
    for code_list, info in _code_lists().items():
        by_name[code_list.lower()] = code_list
        by_name[info["name_en"].lower()] = code_list
    by_name.update(OPEN_SDG_COLUMN_ALIASES)
    columns: dict[str, str | None] = {}
    for column in header:
        if column.lower() in OPEN_SDG_RESERVED:
            continue
        columns[column] = given.get(column) or by_name.get(column.lower())
    return columns


def _read_unsd_json(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[_Row]:
    try:
        payload = json.loads(_text(data, name))
    except json.JSONDecodeError as exc:
        raise OfficialDataError(name, f"is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    records = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(records, list):
        raise OfficialDataError(name, 'expected {"data": [...]} as returned by /v1/sdg/Series/Data')
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise OfficialDataError(name, f"record is a {type(record).__name__}, not an object", row=number)
        indicators = record.get("indicator") or []
        if isinstance(indicators, str):
            indicators = [indicators]
        dims: dict[str, str] = {}
        for dim_name, dim_value in (record.get("dimensions") or {}).items():
            if dim_name in UNSD_IGNORED_DIMENSIONS:
                continue
            code_list = UNSD_DIMENSIONS.get(dim_name, dim_name)
            dims[code_list] = _unsd_value(code_list, str(dim_value))
        attributes = record.get("attributes") or {}
        unit = str(attributes.get("Units", ""))
        period = record.get("timePeriodStart", "")
        if isinstance(period, float) and period.is_integer():
            period = int(period)
        yield _Row(
            number=number,
            indicator=str(indicators[0]) if indicators else "",
            series=str(record.get("series", "")),
            area=str(record.get("geoAreaCode", "")),
            period=str(period),
            dimensions=dims,
            value=record.get("value"),
            lower=record.get("lowerBound"),
            upper=record.get("upperBound"),
            unit=UNSD_UNITS.get(unit, unit),
        )


def _unsd_value(code_list: str, value: str) -> str:
    known = UNSD_VALUES.get(code_list, {})
    if value in known:
        return known[value]
    if code_list == "AGE":
        return _unsd_age(value)
    return value


def _unsd_age(value: str) -> str:
    """UN SDG API ages (``15-24``, ``15+``, ``<5``) → CL_AGE codes (``Y15T24``, ``Y_GE15``, ``Y_LT5``)."""
    if m := re.fullmatch(r"(\d+)-(\d+)", value):
        return f"Y{m[1]}T{m[2]}"
    if m := re.fullmatch(r"(\d+)\+", value):
        return f"Y_GE{m[1]}"
    if m := re.fullmatch(r"<(\d+)", value):
        return f"Y_LT{m[1]}"
    return value


# ---------------------------------------------------------------------------------------- storing


def _code_lists() -> dict[str, dict[str, Any]]:
    """Our code lists: ``{list: {"name_en": …, "codes": {code}, "names": {lowercase name: code}}}``."""
    lists: dict[str, dict[str, Any]] = {}
    for code in Code.objects.select_related("code_list"):
        entry = lists.setdefault(
            code.code_list.code, {"name_en": code.code_list.name_en, "codes": set(), "names": {}}
        )
        entry["codes"].add(code.code)
        entry["names"][code.name_en.lower()] = code.code
    return lists


def _number(value: Any, what: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "NaN", "nan", "NA", "..")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Skip(f"{what} {value!r} is not a number") from None
    if math.isnan(number) or math.isinf(number):
        return None
    return number


def _dimensions(
    row: _Row, lists: dict[str, dict[str, Any]], given: dict[str, dict[str, str]]
) -> dict[str, str]:
    if "?" in row.dimensions:
        raise _Skip(
            f"no code list of ours for {row.dimensions['?']} (map the column with mapping['columns'])"
        )
    codes: dict[str, str] = {}
    for code_list, raw in row.dimensions.items():
        value = given.get(code_list, {}).get(raw, raw)
        if code_list not in lists:
            if value in NOT_BROKEN_DOWN or value.upper().startswith("ALL"):
                continue
            raise _Skip(f"{code_list}={raw}: {code_list} is not one of our code lists")
        entry = lists[code_list]
        if value not in entry["codes"]:
            value = entry["names"].get(value.lower(), value)
        if value == "_Z":
            value = TOTAL
        if value not in entry["codes"]:
            raise _Skip(f"{code_list}={raw} is not a code of {code_list} (map it with mapping['values'])")
        codes[code_list] = value
    return {k: v for k, v in codes.items() if v != TOTAL}


def _store(
    rows: list[_Row],
    mapping: dict[str, Any],
    *,
    source: str,
    source_url: str,
    retrieved: dt.date | None,
    illustrative: bool,
) -> ImportSummary:
    summary = ImportSummary()
    lists = _code_lists()
    framework = mapping.get("framework", GLOBAL)
    series_map = mapping.get("series", {})
    areas = {**M49_TO_ISO2, **mapping.get("areas", {})}
    indicators: dict[str, Indicator | None] = {}
    seen: dict[tuple, int] = {}
    with transaction.atomic():
        for row in rows:
            try:
                code = mapping.get("indicator") or row.indicator or series_map.get(row.series, "")
                if not code:
                    raise _Skip(f"series {row.series!r} has no indicator (map it with mapping['series'])")
                if code not in indicators:
                    indicators[code] = Indicator.objects.filter(framework__code=framework, code=code).first()
                indicator = indicators[code]
                if indicator is None:
                    raise _Skip(f"indicator {code} is not in the {framework} framework")
                if not row.area:
                    raise _Skip("no area (REF_AREA/GeoCode/geoAreaCode)")
                if not str(row.period).strip():
                    raise _Skip("no period (TIME_PERIOD/Year/timePeriodStart)")
                dims = _dimensions(row, lists, mapping.get("values", {}))
                value = _number(row.value, "value")
                if value is None:
                    raise _Skip("no value")
                scale = 10 ** int(_number(row.unit_mult, "unit multiplier") or 0)
                lower, upper = _number(row.lower, "lower bound"), _number(row.upper, "upper bound")
            except _Skip as reason:
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
