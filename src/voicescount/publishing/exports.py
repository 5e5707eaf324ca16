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
DATAFLOW = "VOICESCOUNT:DF_CGD(1.0)"
AGENCY = "VOICESCOUNT"
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
    return 100.0 if definition.unit == "PT" else 1.0


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
    return memo(("export_area", run.pk), lambda: _study_area(run))


def _study_area(run: EstimateRun) -> str:
    study = run.definition.study
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

    Columns: indicator, definition, study, area, period, one column per code list (codes; ``_T`` for
    totals), estimate, se, ci_low, ci_high, n, weighted_n, deff, flag, flag_reason. Percentages for
    unit ``PT``. Suppressed cells: every number empty, the flag and the reason given.
    """
    definition = run.definition
    estimates = _estimates(run)
    lists = _code_lists(estimates)
    scale = _scale(definition)
    head = [
        definition.indicator.code,
        definition.code,
        _localized(definition.study, "title", language),
        _area(run),
        _period(run),
    ]
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
        row = head + dims + numbers + [e.flag, _flag_reason(e, language)]
        rows.append([safe_cell(cell) for cell in row])
    return ("\ufeff" + _csv(rows)).encode("utf-8")


# ---------------------------------------------------------------------------------------- SDMX


@per_run
def _sdmx_observations(run: EstimateRun) -> tuple[list[str], list[dict[str, str]]]:
    """Flat SDMX rows (dimension and attribute id → value) and the breakdown dimensions used."""
    definition = run.definition
    estimates = _estimates(run)
    lists = _code_lists(estimates)
    scale = _scale(definition)
    common = {"SERIES": _series(definition), "REF_AREA": _area(run), "TIME_PERIOD": _period(run)}
    rows = []
    for e in estimates:
        row = {**common, **{name: e.dimensions.get(name, TOTAL) for name in lists}}
        row.update(UNIT_MEASURE=definition.unit, INDICATOR=definition.indicator.code)
        if e.suppressed:
            row.update(OBS_VALUE="", OBS_STATUS="Q", CONF_STATUS="C", COMMENT_OBS=_flag_reason(e, "en"))
        else:
            row.update(
                OBS_VALUE=_number(e.estimate, scale),
                LOWER_BOUND=_number(e.ci_low, scale),
                UPPER_BOUND=_number(e.ci_high, scale),
                OBS_STATUS="U" if e.flag == Estimate.Flag.IMPRECISE else "A",
                CONF_STATUS="F",
                COMMENT_OBS=_flag_reason(e, "en"),
            )
        rows.append(row)
    return lists, rows


SDMX_ATTRIBUTES = (
    "UNIT_MEASURE",
    "LOWER_BOUND",
    "UPPER_BOUND",
    "OBS_STATUS",
    "CONF_STATUS",
    "COMMENT_OBS",
    "INDICATOR",
)


@per_run
def estimates_sdmx_csv(run: EstimateRun, version: str = "1.0") -> bytes:
    """SDMX-CSV of a run with SDG DSD column names (1.0: ``DATAFLOW`` first; 2.0: ``STRUCTURE``…)."""
    if version not in ("1.0", "2.0"):
        raise ValueError(f"version must be '1.0' or '2.0', not {version!r}")
    lists, observations = _sdmx_observations(run)
    columns = ["SERIES", "REF_AREA", *lists, "TIME_PERIOD", "OBS_VALUE", *SDMX_ATTRIBUTES]
    lead = ["DATAFLOW"] if version == "1.0" else ["STRUCTURE", "STRUCTURE_ID", "ACTION"]
    lead_values = [DATAFLOW] if version == "1.0" else ["dataflow", DATAFLOW, "I"]
    rows = [lead + columns]
    rows += [lead_values + [safe_cell(o.get(c, "")) for c in columns] for o in observations]
    return _csv(rows).encode("utf-8")


def sdmx_structure(run: EstimateRun):
    """The SDMX data structure (DSD) and dataflow of a run's export, built with sdmx1's model."""
    from sdmx.model import common, v21

    lists, _ = _sdmx_observations(run)
    agency = common.Agency(id=AGENCY)
    dsd = v21.DataStructureDefinition(id="CGD", maintainer=agency, version="1.0")
    for dim in ["SERIES", "REF_AREA", *lists, "TIME_PERIOD"]:
        dsd.dimensions.getdefault(dim)
    for attribute in SDMX_ATTRIBUTES:
        dsd.attributes.getdefault(attribute, related_to=v21.PrimaryMeasureRelationship())
    dsd.measures.getdefault("OBS_VALUE")
    flow = v21.DataflowDefinition(id="DF_CGD", maintainer=agency, version="1.0", structure=dsd)
    return dsd, flow


@per_run
def estimates_sdmx_ml(run: EstimateRun, structure_specific: bool = True) -> bytes:
    """SDMX-ML 2.1 data message of a run (structure-specific by default, or generic), via ``sdmx.to_xml``."""
    import sdmx
    from sdmx import message
    from sdmx.model import common, v21

    dsd, flow = sdmx_structure(run)
    _, observations = _sdmx_observations(run)
    series_dims = [d.id for d in dsd.dimensions.components if d.id != "TIME_PERIOD"]
    cls = v21.StructureSpecificDataSet if structure_specific else v21.GenericDataSet
    dataset = cls(structured_by=dsd, described_by=flow)
    measure = dsd.measures.components[0]
    series: dict[tuple, tuple[Any, list]] = {}
    for row in observations:
        values = tuple(row[d] for d in series_dims)
        if values not in series:
            series[values] = (dsd.make_key(common.SeriesKey, dict(zip(series_dims, values, strict=True))), [])
        attached = {
            a: common.AttributeValue(value=row[a], value_for=dsd.attributes.get(a))
            for a in SDMX_ATTRIBUTES
            if row.get(a)
        }
        # A suppressed cell has no value: omitted in structure-specific data, "NaN" (SDMX's missing
        # value) in generic data, whose writer cannot leave ObsValue out.
        value = row["OBS_VALUE"] or (None if structure_specific else "NaN")
        key = common.Key(TIME_PERIOD=row["TIME_PERIOD"])
        series[values][1].append(
            v21.Observation(dimension=key, value=value, attached_attribute=attached, value_for=measure)
        )
    for series_key, obs in series.values():
        dataset.add_obs(obs, series_key)
    header = message.Header(
        id=f"VOICESCOUNT_RUN_{run.pk}", prepared=run.started, sender=common.Agency(id=AGENCY)
    )
    msg = message.DataMessage(header=header, data=[dataset], dataflow=flow)
    msg.observation_dimension = dsd.dimensions.get("TIME_PERIOD")
    return sdmx.to_xml(msg, pretty_print=True)


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
- `sdmx.csv` — SDMX-CSV 1.0 with SDG DSD column names (DATAFLOW, SERIES, REF_AREA, SEX, AGE, …,
  TIME_PERIOD, OBS_VALUE, UNIT_MEASURE, LOWER_BOUND, UPPER_BOUND, OBS_STATUS, CONF_STATUS, COMMENT_OBS).
- `sdmx.xml` — the same as an SDMX-ML 2.1 structure-specific data message.

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
