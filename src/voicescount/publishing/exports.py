"""Open data: one estimate run as CSV, SDMX-CSV, SDMX-ML and the Open SDG data format, and a zip of them.

Everything here reads :class:`~voicescount.indicators.models.Estimate` rows only — aggregate estimates
that have already been through disclosure control — so no personal data can reach an export. A
suppressed cell is published without its number: empty estimate, standard error, interval, design
effect and counts, with the reason; in SDMX it has no ``OBS_VALUE``, ``OBS_STATUS=Q`` ("missing value;
suppressed", SDMX CL_OBS_STATUS 2.2) and ``CONF_STATUS=C`` ("confidential", CL_CONF_STATUS).
Proportions (unit ``PT``) are stored as fractions and published as percentages.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.utils import translation

from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition
from voicescount.publishing import selectors
from voicescount.publishing.render_cache import memo, per_run, run_estimates

TOTAL = "_T"
#: Code lists of places, finest first: a row's place is its finest one (``geography.codes``' code).
PLACES_FINEST_FIRST = ("AREA", "REGION", "COUNTRY")
#: Breakdown dimensions in the order of the SDG DSD; our other code lists follow alphabetically.
SDG_ORDER = ("SEX", "AGE", "URBANISATION", "INCOME_WEALTH_QUANTILE", "DISABILITY_STATUS")
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
#: A text cell that a spreadsheet would run as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


# ---------------------------------------------------------------------------------------- helpers


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: a leading ``'`` before ``= + - @`` tab or CR (OWASP CSV
    injection advice), except for a plain negative number."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _number(value: float | None, scale: float = 1.0) -> str:
    """A published number: scaled, rounded to 8 decimals, shortest form (``38.8``, not ``38.80000001``)."""
    if value is None:
        return ""
    return f"{round(value * scale, 8):.12g}"


def _scale(definition: IndicatorDefinition) -> float:
    return definition.published_scale


def _estimates(run: EstimateRun) -> list[Estimate]:
    """The run's estimates, the total first, then by number of dimensions and key."""
    return memo(
        ("export_estimates", run.pk),
        lambda: sorted(run_estimates(run), key=lambda e: (len(e.dimensions), e.key)),
    )


def _code_lists(estimates: Iterable[Estimate]) -> list[str]:
    """The code lists the run is broken down by, SDG order first."""
    used = {name for e in estimates for name in e.dimensions}
    ordered = [name for name in SDG_ORDER if name in used]
    return ordered + sorted(used - set(ordered))


def _area(run: EstimateRun) -> str:
    return memo(("export_area", run.pk), lambda: study_area(run.definition.study))


def study_area(study) -> str:
    """Our code of the study's one area, or its coalition's country when it covers several or none."""
    areas = list(study.areas.all()[:2])
    if len(areas) == 1:
        return areas[0].code
    return study.organisation.coalition.country_code


def _period(run: EstimateRun) -> str:
    definition = run.definition
    return definition.reference_period or str(definition.study.period_start.year)


def _series(definition: IndicatorDefinition) -> str:
    return "CGD_" + re.sub(r"[^A-Z0-9]+", "_", definition.code.upper()).strip("_")


def _localized(obj: Any, field: str, language: str) -> str:
    if language == "vi":
        return getattr(obj, f"{field}_vi", "") or getattr(obj, f"{field}_en", "")
    return getattr(obj, f"{field}_en", "")


def _flag_reason(estimate: Estimate, language: str) -> str:
    if not estimate.flag:
        return ""
    with translation.override(language):
        return str(Estimate.Flag(estimate.flag).label)


def _csv(rows: Iterable[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


# ---------------------------------------------------------------------------------------- CSV


@per_run
def estimates_csv(run: EstimateRun, language: str = "en") -> bytes:
    """All estimates of a run as CSV (UTF-8 with BOM so Excel reads Vietnamese text correctly).

    Columns: indicator, definition, study, area, period, one column per code list other than places
    (codes; ``_T`` for totals), estimate, se, ci_low, ci_high, n, weighted_n, deff, flag, flag_reason.
    ``area`` is the row's place, published as ``geography.codes`` says (``VN`` for the whole country,
    ``VN-HN`` for Hà Nội): its province or region if the row is one, else the study's area.
    Percentages for unit ``PT``. Suppressed cells: every number empty, the flag and the reason given.
    """
    from voicescount.geography.codes import public_codes, published

    definition = run.definition
    estimates = _estimates(run)
    lists = [name for name in _code_lists(estimates) if name not in PLACES_FINEST_FIRST]
    scale = _scale(definition)
    known = memo("public_area_codes", public_codes)
    study_area = published(_area(run), known)

    def area_of(e: Estimate) -> str:
        place = next((e.dimensions[n] for n in PLACES_FINEST_FIRST if n in e.dimensions), None)
        return study_area if place is None else published(place, known)

    head = [definition.indicator.code, definition.code, _localized(definition.study, "title", language)]
    rows = [
        ["indicator", "definition", "study", "area", "period", *[name.lower() for name in lists]]
        + ["estimate", "se", "ci_low", "ci_high", "n", "weighted_n", "deff", "flag", "flag_reason"]
    ]
    for e in estimates:
        dims = [e.dimensions.get(name, TOTAL) for name in lists]
        if e.suppressed:
            numbers = [""] * 7
        else:
            numbers = [
                _number(e.estimate, scale),
                _number(e.se, scale),
                _number(e.ci_low, scale),
                _number(e.ci_high, scale),
                str(e.n),
                _number(e.weighted_n),
                _number(e.deff),
            ]
        row = [*head, area_of(e), _period(run), *dims, *numbers, e.flag, _flag_reason(e, language)]
        rows.append([safe_cell(cell) for cell in row])
    return ("\ufeff" + _csv(rows)).encode("utf-8")


# ---------------------------------------------------------------------------------------- SDMX


def estimates_sdmx_csv(run: EstimateRun, version: str = "2.0") -> bytes:
    """SDMX-CSV of a run on the extended SDG DSD (:func:`voicescount.publishing.sdmx_data.sdmx_csv`):
    2.0 by default (read by sdmx1 with our structure), 1.0 (``DATAFLOW`` first) on request."""
    from voicescount.publishing import sdmx_data

    return sdmx_data.sdmx_csv(run, version)


def sdmx_structure(run: EstimateRun | None = None):
    """The data structure (``VOICESCOUNT:SDG_CGD``, the SDG DSD extended) and dataflow of every message
    (:func:`voicescount.publishing.sdmx_sdg.extension_structure`); the same for every run."""
    from voicescount.publishing import sdmx_sdg

    dsd, flow, _ = sdmx_sdg.extension_structure()
    return dsd, flow


def estimates_sdmx_ml(run: EstimateRun, structure_specific: bool = True) -> bytes:
    """SDMX-ML 2.1 data message of a run (:func:`voicescount.publishing.sdmx_data.sdmx_ml`)."""
    from voicescount.publishing import sdmx_data

    return sdmx_data.sdmx_ml(run, structure_specific)


# ---------------------------------------------------------------------------------------- Open SDG


@per_run
def open_sdg_csv(run: EstimateRun, language: str = "en") -> bytes:
    """The run alone in the Open SDG data format (:func:`voicescount.publishing.open_sdg.indicator_csv`),
    with names and labels in ``language`` ("en" or "vi"): the download of a run's page."""
    from voicescount.publishing import open_sdg

    return open_sdg.indicator_csv([run], language)


def open_sdg_meta(definition: IndicatorDefinition) -> dict[str, Any]:
    """Open SDG metadata of one definition (:func:`voicescount.publishing.open_sdg.indicator_meta`)."""
    from voicescount.publishing import open_sdg

    return open_sdg.indicator_meta([definition])


# ---------------------------------------------------------------------------------------- package

README = """# VoicesCount open data

Community (citizen-generated) estimates for SDG indicators. Aggregate figures only: no answers of
any respondent are included. Licence: CC BY 4.0 (see LICENSE).

Each folder `<indicator>_<definition>` holds the latest run of one indicator definition:

- `estimates.csv` — every estimate with its uncertainty (UTF-8 with BOM for Excel). Columns:
  indicator, definition, study, area, period; one column per disaggregation (codes of the SDMX
  SDG code lists, `_T` = total); estimate, se (standard error), ci_low/ci_high (95% interval),
  n (respondents), weighted_n, deff (design effect), flag, flag_reason.
- `sdmx.csv` — SDMX-CSV 2.0 on the SDG data structure (STRUCTURE, STRUCTURE_ID, ACTION; the 15
  dimensions of the SDG DSD FREQ, REPORTING_TYPE, SERIES, REF_AREA, SEX, AGE, … PRODUCT; our own breakdowns
  ETHNICITY, POPULATION_GROUP, …; TIME_PERIOD, OBS_VALUE, UNIT_MEASURE, UNIT_MULT, OBS_STATUS, LOWER_BOUND,
  UPPER_BOUND, COMMENT_OBS, CONF_STATUS, INDICATOR). REF_AREA: 704 (UN M49) for Viet Nam, ISO 3166-2
  codes for provinces (`VN-HN` Hà Nội), `VN-GSO-<code>` for provinces ISO has no code for.
- `sdmx.xml` — the same as an SDMX-ML 2.1 structure-specific data message.
- `sdmx-structure.xml` — the structure they are on, `VOICESCOUNT:SDG_CGD(1.0)`: the SDG DSD
  (IAEG-SDGs:SDG 1.14) extended with our breakdowns, and its code lists, to validate them.

The folder `open-sdg/` is an Open SDG data repository (https://open-sdg.org; build it with sdg-build,
languages `[vi, en]` or `[en]`):

- `data/indicator_<x-y-z>.csv` — one file per indicator, each definition of it a `Series`; columns
  Year, Series, Units, the breakdowns (Region and Province with the place's code in GeoCode; Sex, Age
  group, …), GeoCode (blank for the whole country), Observation status, Value; English names and
  labels. The headline is the row of a series and year with every breakdown blank.
- `meta/<x-y-z>.md` and `meta/vi/<x-y-z>.md` — the indicator's metadata (YAML front matter; `direction`:
  whether a higher value is `higher_better`, `higher_worse` or `neutral`), in English and Vietnamese.
- `translations/en/*.yml`, `translations/vi/*.yml` — the Vietnamese (and English) words of every column
  name (`data.yml`) and of every label of a column (`<column>.yml`).

Age groups missing from the SDG age code list are labelled from their code (`Y25T59` → "25 to 59 years
old", "25–59 tuổi").

Percentages: proportions are given in percent (0–100), in every file.

Flags:
- `imprecise` — 25–49 respondents: interpret with caution (SDMX OBS_STATUS=U).
- `suppressed_small` — too few respondents to publish safely: no number is given.
- `suppressed_complementary` — hidden so that a small cell cannot be worked out from the totals.
Suppressed cells have empty numbers; in SDMX, OBS_STATUS=Q and CONF_STATUS=C; they are left out
of the Open SDG files.
"""

LICENSE = f"""Creative Commons Attribution 4.0 International (CC BY 4.0)
{LICENSE_URL}
Full legal code: {LICENSE_URL}legalcode

You are free to share (copy and redistribute) and adapt (remix, transform and build upon) this data
for any purpose, even commercially, provided you give appropriate credit (the organisations named in
each study and VoicesCount), provide a link to the licence, and indicate if changes were made.
This summary is not a substitute for the licence.
"""


def _folder(definition: IndicatorDefinition) -> str:
    return f"{definition.indicator.code}_{definition.code}"


def data_package(runs: Iterable[EstimateRun], out_path_or_file: str | Path | IO[bytes]) -> list[str]:
    """Write a zip of the runs' open data (one folder per definition, README.md, LICENSE).

    The Open SDG data repository of the runs is the folder ``open-sdg/``
    (:func:`voicescount.publishing.open_sdg.repository_files`); the other files carry codes, and
    ``estimates.csv`` English text.

    Returns the names written. Only :class:`Estimate` rows are read: no personal data can be included.
    """
    from voicescount.publishing import open_sdg

    runs = list(runs)
    names = []
    with zipfile.ZipFile(out_path_or_file, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def write(name: str, data: bytes | str) -> None:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # reproducible bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
            names.append(name)

        write("README.md", README)
        write("LICENSE", LICENSE)
        from voicescount.publishing import sdmx_sdg

        write("sdmx-structure.xml", sdmx_sdg.structure_xml())
        for run in runs:
            definition = run.definition
            folder = _folder(definition)
            write(f"{folder}/estimates.csv", estimates_csv(run))
            write(f"{folder}/sdmx.csv", estimates_sdmx_csv(run))
            write(f"{folder}/sdmx.xml", estimates_sdmx_ml(run))
        open_sdg.write_repository(runs, write, prefix="open-sdg/")
    return names


def public_runs() -> list[EstimateRun]:
    """The public run of every public definition (``publishing.selectors``): what the site publishes."""
    public = selectors.published_runs().select_related(
        "definition__indicator", "definition__study__organisation__coalition"
    )
    return list(public.order_by("definition__study_id", "definition__code"))


def site_data_package(out_path_or_file: str | Path | IO[bytes]) -> list[str]:
    """The whole site's open data: :func:`data_package` of :func:`public_runs`."""
    return data_package(public_runs(), out_path_or_file)
