"""What an official series file holds, and what each of its codes probably is in VoicesCount.

:func:`inspect_file` reads a file as the import would and lists its distinct series (with the indicator
the file gives, or one suggested), area codes (with a suggested area of ours), dimension values that are
not in our code lists, units we do not know, and Open SDG columns we cannot place; the mapping step of
the workspace shows them as a form. Suggestions are only suggestions — a person confirms them:

* series → indicator: the organisation's saved mappings, then the series' earlier imports, then the UN
  SDG Global Database's series list of 2020 (``indicators/data/un_sdg_series.csv``, source in its
  SOURCES.md; a series newer than the list has no suggestion);
* areas: M49 or ISO 3166-1 country codes (``704``, ``VN``) → the country; ISO 3166-2 codes (``VN-01``, Lai
  Châu) → the province with that ISO code (a note says when the same text is our code for another
  province: our ``VN-01`` is Hà Nội, GSO 01); two-digit GSO codes → the province valid at the file's
  latest period; then our own area codes; then names, with or without ``Tỉnh``/``Thành phố``;
* codes: ages written out (``15 to 24``, ``15-24``, ``15 and over``, ``under 5``) → the CL_AGE code when
  our list has it.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicescount.geography.models import Area
from voicescount.indicators.models import OfficialMapping, OfficialObservation
from voicescount.indicators.official import UnusableRow, known_unit, mapping_codes, resolve_code
from voicescount.indicators.official_readers import (
    M49_TO_ISO2,
    OfficialDataError,
    code_lists,
    open_sdg_columns,
    read_rows,
)

UN_SERIES_FILE = Path(__file__).parent / "data" / "un_sdg_series.csv"


@dataclass(frozen=True)
class Found:
    """One published code of a file: how many rows carry it, and what it is ours (given or suggested)."""

    published: str
    rows: int
    suggestion: str = ""
    why: str = ""
    code_list: str = ""
    given: str = ""  # the indicator the file itself names for a series (the mapping cannot change it)
    # for an area: our code that the same text means when it was suggested by its ISO code, or "default"
    # (an Open SDG file without GeoCode); for a series: the other indicators the UN list names for it
    also: str = ""


@dataclass
class FileContents:
    """What :func:`inspect_file` found in a file."""

    name: str
    fmt: str
    rows: int
    periods: tuple[str, str]
    series: list[Found] = field(default_factory=list)
    areas: list[Found] = field(default_factory=list)
    codes: list[Found] = field(default_factory=list)  # values of our code lists that need a code
    other_breakdowns: list[Found] = field(default_factory=list)  # breakdowns we have no list for
    units: list[Found] = field(default_factory=list)
    columns: list[Found] = field(default_factory=list)


def detect_format(name: str, data: bytes) -> str:
    """``sdmx-ml``, ``sdmx-csv``, ``open-sdg`` or ``unsd-json``, from the file's first characters."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "sdmx-ml"
    if head.startswith((b"{", b"[")):
        return "unsd-json"
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace")
    cells = [c.strip().strip('"') for c in first.split(",")]
    if cells and cells[0] in ("DATAFLOW", "STRUCTURE"):
        return "sdmx-csv"
    if "Year" in cells and "Value" in cells:
        return "open-sdg"
    raise OfficialDataError(
        name,
        "cannot tell the format: not SDMX-ML (XML), SDMX-CSV (DATAFLOW or STRUCTURE first), "
        "Open SDG CSV (Year and Value columns) or UN SDG API JSON",
    )


def inspect_file(
    name: str, data: bytes, fmt: str = "auto", *, mapping: dict[str, Any] | None = None, organisation=None
) -> FileContents:
    """What the file holds, read as ``import_official`` would read it with ``mapping`` (default none).

    Entries of ``mapping`` are shown as the suggestion of their code (``why`` = ``"mapping"``)."""
    mapping = mapping or {}
    if fmt == "auto":
        fmt = detect_format(name, data)
    rows = read_rows(data, name, fmt, mapping)
    periods = sorted({str(r.period) for r in rows if str(r.period).strip()})
    contents = FileContents(
        name=name, fmt=fmt, rows=len(rows), periods=(periods[0], periods[-1]) if periods else ("", "")
    )
    on = _last_day(periods)

    known = _known_series(organisation)
    given_series = mapping.get("series", {})
    by_series = Counter(r.series for r in rows)
    in_file = {r.series: r.indicator for r in rows if r.indicator}
    for code, count in sorted(by_series.items()):
        fixed = mapping.get("indicator") or in_file.get(code, "")
        if code in given_series:
            contents.series.append(Found(code, count, given_series[code], "mapping", given=fixed))
        else:
            suggestion, why = known.get(code, ("", ""))
            others = un_series().get(code, [])[1:] if why == "un" else []
            contents.series.append(Found(code, count, suggestion, why, given=fixed, also=" ".join(others)))

    index = AreaIndex(on)
    given_areas = mapping.get("areas", {})
    # an Open SDG file without GeoCode has no area: its rows take the mapping's ``area`` (default VN)
    no_geocode = fmt == "open-sdg" and b"GeoCode" not in data.split(b"\n", 1)[0]
    for code, count in sorted(Counter(r.area for r in rows if r.area).items()):
        if code in given_areas:
            contents.areas.append(
                Found(code, count, given_areas[code], "mapping", also="default" if no_geocode else "")
            )
        else:
            area, why, also = index.suggest(code)
            also = "default" if no_geocode else also
            contents.areas.append(Found(code, count, area.code if area else "", why, also=also))

    lists = code_lists()
    given_codes = mapping_codes(mapping)
    values: Counter = Counter()
    for row in rows:
        for code_list, raw in row.dimensions.items():
            if code_list != "?":
                values[(code_list, raw)] += 1
    for (code_list, raw), count in sorted(values.items()):
        try:
            resolve_code(code_list, raw, lists, {})
        except UnusableRow:
            if code_list not in lists:
                contents.other_breakdowns.append(Found(raw, count, code_list=code_list))
            elif raw in given_codes.get(code_list, {}):
                contents.codes.append(Found(raw, count, given_codes[code_list][raw], "mapping", code_list))
            else:
                contents.codes.append(Found(raw, count, suggest_code(code_list, raw, lists), "", code_list))

    given_units = mapping.get("units", {})
    units = Counter(str(r.unit).strip() for r in rows if str(r.unit or "").strip())
    for unit, count in sorted(units.items()):
        if known_unit(unit, {}) is None:
            contents.units.append(
                Found(unit, count, given_units.get(unit, ""), "mapping" if unit in given_units else "")
            )

    if fmt == "open-sdg":
        header = next(csv.reader(io.StringIO(data.decode("utf-8-sig", "replace"))), [])
        given_columns = mapping.get("columns", {})
        for column, code_list in open_sdg_columns([h.strip() for h in header], {}).items():
            if code_list is None:
                contents.columns.append(
                    Found(
                        column, 0, given_columns.get(column, ""), "mapping" if column in given_columns else ""
                    )
                )
    return contents


def _last_day(periods: list[str]) -> dt.date:
    years = [int(p[:4]) for p in periods if re.match(r"\d{4}", p)]
    return dt.date(max(years), 12, 31) if years else dt.date.today()


def _known_series(organisation) -> dict[str, tuple[str, str]]:
    """Series → (indicator, why): the UN list (``un``), overridden by earlier imports and then by the
    organisation's saved mappings (``known``)."""
    known = {series: (indicators[0], "un") for series, indicators in un_series().items()}
    imported = OfficialObservation.objects.exclude(series="").values_list("series", "indicator__code")
    known.update((series, (code, "known")) for series, code in imported.distinct())
    if organisation is not None:
        for saved in OfficialMapping.objects.filter(organisation=organisation).order_by("updated"):
            known.update((k, (v, "known")) for k, v in (saved.mapping or {}).get("series", {}).items())
    return known


@functools.cache
def un_series() -> dict[str, list[str]]:
    """The UN SDG Global Database's series → their indicator codes (2020 list; see data/SOURCES.md)."""
    with UN_SERIES_FILE.open(encoding="utf-8", newline="") as handle:
        return {row["series"]: row["indicators"].split() for row in csv.DictReader(handle)}


AGE_PATTERNS = (
    (re.compile(r"(\d+)\s*(?:to|-|–|—)\s*(\d+)(?: years?(?: old)?)?"), "Y{0}T{1}"),
    (re.compile(r"(\d+)\s*(?:\+|and over|and above|or over|years and over)"), "Y_GE{0}"),
    (re.compile(r"(\d+)\s*(?:and under|or under|and below)"), "Y_LE{0}"),
    (re.compile(r"(?:under|below|less than|<)\s*(\d+)(?: years?)?"), "Y_LT{0}"),
)


def suggest_code(code_list: str, value: str, lists: dict[str, dict[str, Any]]) -> str:
    """Our code for a published value that our names do not match, when it can be read (ages)."""
    if code_list != "AGE":
        return ""
    text = value.strip().lower()
    for pattern, template in AGE_PATTERNS:
        if match := pattern.fullmatch(text):
            code = template.format(*match.groups())
            return code if code in lists.get("AGE", {}).get("codes", ()) else ""
    return ""


class AreaIndex:
    """Our areas, read once, to suggest which one a published area code means (on the date ``on``)."""

    PREFIXES = ("tỉnh ", "thành phố ", "tp. ", "tp ")
    SUFFIXES = (" province", " city")

    def __init__(self, on: dt.date):
        self.on = on
        self.areas = list(Area.objects.all())
        valid = set(Area.objects.valid_on(on).values_list("pk", flat=True))
        # areas valid on the date first, so that a code shared across the 2025 merger means the right one
        self.areas.sort(key=lambda a: a.pk not in valid)
        self.by_code = {a.code: a for a in self.areas}

    def _first(self, test) -> Area | None:
        return next((a for a in self.areas if test(a)), None)

    def suggest(self, published: str) -> tuple[Area | None, str, str]:
        """The area ``published`` most probably means, why (``country``, ``iso``, ``gso``, ``code``,
        ``name``), and the code of ours the same text means when it is ambiguous (``VN-01``)."""
        code = published.strip()
        upper = code.upper()
        country = M49_TO_ISO2.get(code.lstrip("0") or code) or (
            upper if re.fullmatch(r"[A-Z]{2}", upper) else ""
        )
        if country and (area := self._first(lambda a: a.code == country and a.level == Area.Level.COUNTRY)):
            return area, "country", ""
        if re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", upper) and (
            area := self._first(lambda a: a.iso_code == upper)
        ):
            same = self.by_code.get(upper)
            return area, "iso", same.code if same and same.pk != area.pk else ""
        if re.fullmatch(r"\d{2}", code) and (
            area := self._first(lambda a: a.gso_code == code and a.country_code == "VN")
        ):
            return area, "gso", ""
        if code in self.by_code:
            return self.by_code[code], "code", ""
        name = self._plain(code)
        if name and (area := self._first(lambda a: name in (self._plain(a.name), self._plain(a.name_en)))):
            return area, "name", ""
        return None, "", ""

    def _plain(self, name: str) -> str:
        text = name.strip().casefold()
        for prefix in self.PREFIXES:
            text = text.removeprefix(prefix)
        for suffix in self.SUFFIXES:
            text = text.removesuffix(suffix)
        return text.strip()
