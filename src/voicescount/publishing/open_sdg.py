"""Open data as an Open SDG data repository (``data/``, ``meta/``, ``translations/``) as sdg-build reads it.

An Open SDG site (https://open-sdg.org) is built by sdg-build from a data repository:

* ``data/indicator_<x-y-z>.csv`` — one file per indicator. Columns reserved by Open SDG (sdg-build's
  ``non_disaggregation_columns``): ``Year``, ``Series``, ``Units``, ``GeoCode``, ``Observation status``,
  ``Value``; every other column is a breakdown. The **headline** is the rows whose breakdowns are all
  blank, so each definition of the indicator is one ``Series`` (its title) and its national total is
  the one row of that series and year with every breakdown blank. Places are breakdowns, as in Open
  SDG's own data: ``Region`` (the survey's macro-regions) and ``Province``, with the place's code in
  ``GeoCode``; a row for the whole country has no place and a blank ``GeoCode``.
* ``meta/<x-y-z>.md`` — the indicator's metadata as YAML front matter (``meta/vi/<x-y-z>.md`` in
  Vietnamese, which sdg-build takes for the ``vi`` build).
* ``translations/<language>/<group>.yml`` — sdg-build translates a column name through the group
  ``data`` and a cell through the group named after its column (``Sex.yml``: ``Female: Nữ``), so the
  CSVs carry English names and labels only and a site with languages ``[vi, en]`` shows either.

Only :class:`~voicescount.indicators.models.Estimate` rows of the runs given are read (the callers pass
the public runs of ``publishing.selectors``). Suppressed cells are left out. Proportions (unit ``PT``)
are published in percent (0–100, Units "Percentage (%)"), as in the other files of the data package.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from voicescount.framework.labels import code_labels
from voicescount.geography.codes import public_codes, published
from voicescount.indicators.direction import direction_of
from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition
from voicescount.publishing.exports import LICENSE_URL, SDG_ORDER, TOTAL, safe_cell
from voicescount.publishing.render_cache import memo, run_estimates

LANGUAGES = ("en", "vi")

#: Place code lists as Open SDG columns (coarsest first), with their names in English and Vietnamese.
PLACES: dict[str, tuple[str, str]] = {"REGION": ("Region", "Vùng"), "AREA": ("Province", "Tỉnh/thành phố")}

#: Our units → (Open SDG ``Units`` in English, in Vietnamese, factor applied to the stored value).
UNITS: dict[str, tuple[str, str, float]] = {
    "PT": ("Percentage (%)", "Phần trăm (%)", 100.0),
    "NUMBER": ("Number", "Số lượng", 1.0),
    "CUR_LCU": ("Local currency", "Nội tệ", 1.0),
    "PER_1000": ("Per 1,000", "Trên 1.000", 1.0),
    "PER_100000_POP": ("Per 100,000 population", "Trên 100.000 dân", 1.0),
    "INDEX": ("Index", "Chỉ số", 1.0),
    "RATIO": ("Ratio", "Tỷ số", 1.0),
}

#: ``Observation status`` (SDMX CL_OBS_STATUS: A normal value, U low reliability) in both languages.
OBSERVATION_STATUS = {
    "": ("Normal value", "Giá trị bình thường"),
    "U": ("Low reliability", "Độ tin cậy thấp"),
}

#: Open SDG's reserved columns, in the order written (the breakdowns come between Units and GeoCode).
LEADING = ("Year", "Series", "Units")
TRAILING = ("GeoCode", "Observation status", "Value")


def indicator_slug(code: str) -> str:
    """Open SDG's id of an indicator: ``1.3.1`` → ``1-3-1``."""
    return code.replace(".", "-")


def _year(definition: IndicatorDefinition) -> str:
    """Open SDG's ``Year`` is a year: the reference period's first four-digit year, else the first year
    of data collection."""
    found = re.search(r"\d{4}", definition.reference_period or "")
    return found.group(0) if found else str(definition.study.period_start.year)


def _value(value: float, factor: float) -> str:
    """A number as the other exports write it: scaled, rounded to 8 decimals, shortest form."""
    return f"{round(value * factor, 8):.12g}"


def _unit(definition: IndicatorDefinition) -> tuple[str, str, float]:
    return UNITS.get(definition.unit, (definition.unit, definition.unit, 1.0))


def _published_estimates(run: EstimateRun) -> list[Estimate]:
    """The run's cells with a number (suppressed ones left out), the total first, then by key."""
    return memo(
        ("open_sdg_estimates", run.pk),
        lambda: sorted(
            (e for e in run_estimates(run) if not e.suppressed and e.estimate is not None),
            key=lambda e: (len(e.dimensions), e.key),
        ),
    )


def _study_place(run: EstimateRun) -> str:
    """The code of the study's one area below the country (a one-province study), else ''."""
    study = run.definition.study
    areas = list(study.areas.all()[:2])
    if len(areas) == 1 and areas[0].code != study.organisation.coalition.country_code:
        return areas[0].code
    return ""


@dataclass
class Translations:
    """The words of an Open SDG data repository in both languages: ``groups[group][english] = vietnamese``
    (group ``data`` for column names and words of the metadata, a column's name for its cells)."""

    groups: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, group: str, en: str, vi: str) -> str:
        self.groups.setdefault(group, {})[en] = vi or en
        return en

    def word(self, group: str, en: str, language: str) -> str:
        return self.groups.get(group, {}).get(en, en) if language == "vi" else en

    def files(self) -> dict[str, str]:
        """``translations/<language>/<group>.yml`` → YAML text; English maps each word to itself."""
        out = {}
        for group, words in sorted(self.groups.items()):
            for language in LANGUAGES:
                entries = {en: (vi if language == "vi" else en) for en, vi in sorted(words.items())}
                out[f"translations/{language}/{group}.yml"] = yaml.safe_dump(
                    entries, allow_unicode=True, sort_keys=False, width=1000
                )
        return out


@dataclass(frozen=True)
class IndicatorTable:
    """One indicator's Open SDG data: English column names, rows of English cells."""

    code: str
    columns: list[str]
    rows: list[dict[str, str]]


def series_labels(definitions: list[IndicatorDefinition]) -> dict[int, tuple[str, str]]:
    """Definition id → its (English, Vietnamese) ``Series``: the definition's title, followed by its study
    and code where two definitions of the indicator share a title."""
    titles = [definition.title_en for definition in definitions]
    out = {}
    for definition in definitions:
        en, vi = definition.title_en, definition.title_vi or definition.title_en
        if titles.count(en) > 1:
            suffix = f" [{definition.study.slug}/{definition.code}]"
            en, vi = en + suffix, vi + suffix
        out[definition.pk] = (en, vi)
    return out


def indicator_table(runs: Iterable[EstimateRun], words: Translations | None = None) -> IndicatorTable:
    """The Open SDG data of one indicator from the runs of its definitions (one ``Series`` each), with
    every word used added to ``words``. Suppressed cells and cells without an estimate are left out."""
    runs = list(runs)
    codes = {run.definition.indicator.code for run in runs}
    if len(codes) != 1:
        raise ValueError(f"an Open SDG file holds one indicator; these runs are of {sorted(codes)}")
    words = Translations() if words is None else words
    used = {name for run in runs for e in _published_estimates(run) for name in e.dimensions}
    places = [name for name in PLACES if name in used]
    others = [name for name in SDG_ORDER if name in used]
    others += sorted(used - set(others) - set(places))
    lists = places + others
    labels = code_labels(lists)
    columns: dict[str, str] = {}
    for name in lists:
        en, vi = PLACES[name] if name in PLACES else (labels.name(name, "en"), labels.name(name, "vi"))
        columns[name] = words.add("data", en, vi)
    series = series_labels([run.definition for run in runs])
    known = memo("public_area_codes", public_codes)
    rows = []
    for run in runs:
        definition = run.definition
        unit_en, unit_vi, factor = _unit(definition)
        common = {
            "Year": _year(definition),
            "Series": words.add("Series", *series[definition.pk]),
            "Units": words.add("Units", unit_en, unit_vi),
        }
        study_place = _study_place(run)
        study_place = published(study_place, known) if study_place else ""
        for e in _published_estimates(run):
            row = dict(common)
            geocode = study_place
            for name in lists:
                code = e.dimensions.get(name, TOTAL)
                if code == TOTAL:
                    row[columns[name]] = ""
                    continue
                column = columns[name]
                en, vi = labels.label(name, code, "en"), labels.label(name, code, "vi")
                row[column] = words.add(column, en, vi)
                if name in PLACES:
                    geocode = published(code, known)  # the finest place of the row: PLACES is coarsest first
            status = "U" if e.flag == Estimate.Flag.IMPRECISE else ""
            row["GeoCode"] = geocode
            row["Observation status"] = words.add("Observation status", *OBSERVATION_STATUS[status])
            row["Value"] = _value(e.estimate, factor)
            rows.append(row)
    header = [*LEADING, *(columns[name] for name in lists), *TRAILING]
    return IndicatorTable(code=codes.pop(), columns=header, rows=rows)


def table_csv(table: IndicatorTable, words: Translations | None = None, language: str = "en") -> bytes:
    """The table as CSV (UTF-8, no BOM: sdg-build reads it with pandas). In ``"vi"`` the names and
    cells are translated with ``words``, as the Vietnamese build of an Open SDG site shows them."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be 'en' or 'vi', not {language!r}")
    words = Translations() if words is None else words
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(words.word("data", c, language)) for c in table.columns])
    for row in table.rows:
        cells = []
        for column in table.columns:
            cell = row.get(column, "")
            if column not in ("Year", "GeoCode", "Value"):
                cell = words.word(column, cell, language) if cell else ""
            cells.append(safe_cell(cell))
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def indicator_csv(runs: Iterable[EstimateRun], language: str = "en") -> bytes:
    """``data/indicator_<x-y-z>.csv`` of one indicator from the runs of its definitions; in ``"vi"``
    with Vietnamese names and labels (a download for readers; the repository itself is English with
    :class:`Translations`)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be 'en' or 'vi', not {language!r}")
    words = Translations()
    return table_csv(indicator_table(runs, words), words, language)


# ---------------------------------------------------------------------------------------- metadata


def _localized(obj: Any, name: str, language: str) -> str:
    en = getattr(obj, f"{name}_en", "") or ""
    return (getattr(obj, f"{name}_vi", "") or en) if language == "vi" else en


def indicator_meta(
    definitions: list[IndicatorDefinition], language: str = "en", *, has_data: bool = True
) -> dict[str, Any]:
    """The front matter of ``meta/<x-y-z>.md`` (``language="vi"``: ``meta/vi/<x-y-z>.md``) for the
    definitions of one indicator: Open SDG's keys (indicator, goal and target, status, graph, units,
    coverage, one source per study) and VoicesCount's own (``community_data``, ``direction``…).
    ``has_data=False`` (every cell suppressed): reporting status ``notstarted``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be 'en' or 'vi', not {language!r}")
    if not definitions:
        raise ValueError("an indicator's metadata needs at least one definition")
    indicator = definitions[0].indicator
    target = indicator.target
    countries = sorted({d.study.organisation.coalition.country_code for d in definitions})
    country_names = code_labels(["COUNTRY"])
    units = sorted({_unit(d)[1 if language == "vi" else 0] for d in definitions})
    directions = sorted({direction_of(d) for d in definitions})
    meta: dict[str, Any] = {
        "indicator_number": indicator.code,
        "indicator_name": _localized(indicator, "title", language),
        "sdg_goal": str(target.goal.number) if target else indicator.code.split(".")[0],
        "target_id": target.code if target else ".".join(indicator.code.split(".")[:2]),
        "target_name": _localized(target, "title", language) if target else "",
        "reporting_status": "complete" if has_data else "notstarted",
        "published": True,
        "data_non_statistical": False,
        "graph_type": "bar",
        "graph_title": _localized(indicator, "title", language),
        "graph_titles": [
            {"series": both[1 if language == "vi" else 0], "title": _localized(d, "title", language)}
            for d, both in zip(definitions, series_labels(definitions).values(), strict=True)
        ],
        "data_show_map": False,
        "computation_units": ", ".join(units),
        "national_geographical_coverage": ", ".join(
            country_names.label("COUNTRY", c, language) for c in countries
        ),
        "data_type": "community",
        "community_data": True,
        "official_statistics": False,
        "copyright": f"CC BY 4.0 ({LICENSE_URL})",
    }
    if len(directions) == 1:
        # VoicesCount's key: whether a higher value is better, worse or neither (who is furthest behind)
        meta["direction"] = directions[0]
    studies = list({d.study_id: d.study for d in definitions}.values())
    for number, study in enumerate(studies, start=1):
        organisation = study.organisation
        meta[f"source_active_{number}"] = True
        meta[f"source_organisation_{number}"] = (
            organisation.name if language == "vi" else organisation.name_en or organisation.name
        )
        meta[f"source_title_{number}"] = _localized(study, "title", language)
        meta[f"source_geographical_coverage_{number}"] = country_names.label(
            "COUNTRY", organisation.coalition.country_code, language
        )
        meta[f"source_earliest_available_{number}"] = str(study.period_start.year)
        meta[f"source_other_info_{number}"] = _localized(study, "sampling_description", language)
    return meta


def meta_markdown(
    definitions: list[IndicatorDefinition], language: str = "en", *, has_data: bool = True
) -> str:
    """``meta/<x-y-z>.md``: :func:`indicator_meta` as YAML front matter, then each definition's title and
    notes as the page's text."""
    meta = indicator_meta(definitions, language, has_data=has_data)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    body = []
    for d in definitions:
        notes = _localized(d, "notes", language)
        body.append(f"**{_localized(d, 'title', language)}**" + (f"\n\n{notes}" if notes else ""))
    return f"---\n{front}---\n" + "\n\n".join(body) + "\n"


# ---------------------------------------------------------------------------------------- repository


def repository_files(runs: Iterable[EstimateRun]) -> dict[str, bytes]:
    """The Open SDG data repository of ``runs`` (public runs, one per definition), path → bytes:
    ``data/indicator_<x-y-z>.csv`` and ``meta/<x-y-z>.md`` (``meta/vi/…``) per indicator, in the
    framework's order, and ``translations/{en,vi}/<group>.yml`` for every column and label used. An
    indicator whose cells are all suppressed has no data file and its metadata says ``notstarted``."""
    by_indicator: dict[str, list[EstimateRun]] = {}
    for run in runs:
        by_indicator.setdefault(run.definition.indicator.code, []).append(run)
    words = Translations()
    files: dict[str, bytes] = {}
    order = sorted(by_indicator.values(), key=lambda rs: rs[0].definition.indicator.sort_key)
    for indicator_runs in order:
        slug = indicator_slug(indicator_runs[0].definition.indicator.code)
        table = indicator_table(indicator_runs, words)
        if table.rows:
            files[f"data/indicator_{slug}.csv"] = table_csv(table)
        definitions = [run.definition for run in indicator_runs]
        for language, folder in (("en", "meta"), ("vi", "meta/vi")):
            text = meta_markdown(definitions, language, has_data=bool(table.rows))
            files[f"{folder}/{slug}.md"] = text.encode("utf-8")
        for definition in definitions:
            words.add("data", _localized(definition.indicator, "title", "en"), definition.indicator.title_vi)
    for path, text in words.files().items():
        files[path] = text.encode("utf-8")
    return files


def write_repository(
    runs: Iterable[EstimateRun], write: Callable[[str, bytes], None], prefix: str = ""
) -> None:
    """Write :func:`repository_files` with ``write(prefix + path, data)`` (the data package's writer)."""
    for path, data in repository_files(runs).items():
        write(prefix + path, data)
