"""Readers of official series files: SDMX-ML, SDMX-CSV, Open SDG CSV and UN SDG API JSON → plain rows.

Every reader turns its file into :class:`ObservationRow` objects (indicator, series, area, period, raw
dimension values, value, bounds, unit) without judging them; ``indicators.official`` then maps the values
to our code lists and stores them, and ``indicators.official_mapping`` lists what a file holds so that a
person can map it. A file that cannot be read raises :class:`OfficialDataError` naming the file and, where
there is one, the row.

SDMX-ML is read with ``sdmx1`` (``sdmx.read_sdmx``): generic and structure-specific data messages,
with or without the DSD. SDMX-CSV is read with the ``csv`` module because ``sdmx1`` reads only
SDMX-CSV 2.x and only with the DSD at hand, while the SDG data flows are usually published as
SDMX-CSV 1.0 (first column ``DATAFLOW``); both versions are accepted.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicescount.framework.models import Code

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
#: SDG DSD codes that our code lists spell otherwise: IAEG-SDGs:CL_DISABILITY's ``PWD`` is "Persons
#: without disability", our ``NPD`` (``publishing.sdmx_sdg.TO_SDG_CODES`` writes them so).
SDG_CODES = {"DISABILITY_STATUS": {"PWD": "NPD"}}

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
class ObservationRow:
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


def read_rows(data: bytes, name: str, fmt: str, mapping: dict[str, Any]) -> list[ObservationRow]:
    """The observations of ``data`` (a file called ``name``) in format ``fmt``, as published."""
    if fmt not in FORMATS:
        raise OfficialDataError(str(fmt), f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    readers = {
        "sdmx-ml": _read_sdmx_ml,
        "sdmx-csv": _read_sdmx_csv,
        "open-sdg": _read_open_sdg,
        "unsd-json": _read_unsd_json,
    }
    return list(readers[fmt](data, name, mapping))


def file_name(path_or_bytes: str | Path | bytes) -> str:
    return "<bytes>" if isinstance(path_or_bytes, bytes | bytearray) else Path(path_or_bytes).name


def read_bytes(path_or_bytes: str | Path | bytes, name: str) -> bytes:
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
    return set(SDG_BREAKDOWNS) | set(code_lists())


def _sdmx_row(number: int, values: dict[str, str], breakdowns: set[str]) -> ObservationRow:
    """A row from the flat SDMX names of one observation (dimensions and attributes alike)."""
    series = values.get("SERIES") or values.get("SERIES_CODE") or ""
    indicator = values.get("INDICATOR", "")
    # "_T" / "_Z" say "not broken down" whether or not the code list has them (WG_DIFFICULTY has not).
    dims = {
        d: SDG_CODES.get(d, {}).get(values[d], values[d])
        for d in values
        if d in breakdowns and values[d] not in NOT_BROKEN_DOWN
    }
    return ObservationRow(
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


def _read_sdmx_ml(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[ObservationRow]:
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


def _read_sdmx_csv(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[ObservationRow]:
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


def _read_open_sdg(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[ObservationRow]:
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
    columns = open_sdg_columns(header, mapping)
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
        row = ObservationRow(
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


def open_sdg_columns(header: list[str], mapping: dict[str, Any]) -> dict[str, str | None]:
    """Open SDG disaggregation column → our code list (None when we have no list for it)."""
    given = mapping.get("columns", {})
    by_name = {}
    for code_list, info in code_lists().items():
        by_name[code_list.lower()] = code_list
        by_name[info["name_en"].lower()] = code_list
    by_name.update(OPEN_SDG_COLUMN_ALIASES)
    columns: dict[str, str | None] = {}
    for column in header:
        if column.lower() in OPEN_SDG_RESERVED:
            continue
        columns[column] = given.get(column) or by_name.get(column.lower())
    return columns


def _read_unsd_json(data: bytes, name: str, mapping: dict[str, Any]) -> Iterator[ObservationRow]:
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
        yield ObservationRow(
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


def code_lists() -> dict[str, dict[str, Any]]:
    """Our code lists: ``{list: {"name_en": …, "codes": {code}, "names": {lowercase name: code}}}``."""
    lists: dict[str, dict[str, Any]] = {}
    for code in Code.objects.select_related("code_list"):
        entry = lists.setdefault(
            code.code_list.code, {"name_en": code.code_list.name_en, "codes": set(), "names": {}}
        )
        entry["codes"].add(code.code)
        entry["names"][code.name_en.lower()] = code.code
    if "AGE" in lists:
        # Age bins are chosen per definition (``Y25T59``): a bin our estimates use is one of our codes,
        # though the AGE list lacks it, so that our own exports import back.
        from voicescount.indicators.models import Estimate

        used = Estimate.objects.filter(dimensions__has_key="AGE").values_list("dimensions__AGE", flat=True)
        lists["AGE"]["codes"] |= set(used.distinct())
    return lists
