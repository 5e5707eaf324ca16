"""SDMX data of one published run on the extended SDG DSD (:mod:`voicescount.publishing.sdmx_sdg`).

One observation per estimate: the 15 dimensions of the SDG DSD (``_T`` where not broken down; FREQ ``A``,
REPORTING_TYPE ``N``), the place in REF_AREA (the finest of province and region; the study's area for the
others), then our own breakdowns, TIME_PERIOD. A suppressed cell has no ``OBS_VALUE``, ``OBS_STATUS=Q``
("missing value; suppressed") and ``CONF_STATUS=C``; an imprecise one ``OBS_STATUS=U`` (low reliability).
Proportions are percentages (``UNIT_MEASURE=PT``, ``UNIT_MULT=0``), as in every file we publish.

An estimate broken down by both region and province says no more than the province's own estimate (a
province lies in one region); it would repeat that observation's key, so it is left out of SDMX.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition
from voicescount.publishing import sdmx_sdg
from voicescount.publishing.exports import safe_cell, study_area
from voicescount.publishing.render_cache import memo, per_run, run_estimates
from voicescount.publishing.sdmx_sdg import ATTRIBUTES, DATAFLOW_URN, SDG_DIMENSIONS, TOTAL

CSV_VERSIONS = ("2.0", "1.0")


def series_id(definition: IndicatorDefinition) -> str:
    """The SERIES code of a definition: ``CGD_`` and its code (``CGD_SOCIAL_PROTECTION``)."""
    return "CGD_" + re.sub(r"[^A-Z0-9]+", "_", definition.code.upper()).strip("_")


def _number(value: float | None, scale: float = 1.0) -> str:
    return "" if value is None else f"{round(value * scale, 8):.12g}"


def _period(definition: IndicatorDefinition) -> str:
    return definition.reference_period or str(definition.study.period_start.year)


@per_run
def observations(run: EstimateRun) -> list[dict[str, str]]:
    """The run's observations as flat rows: component id → value (dimensions, OBS_VALUE, attributes)."""
    definition = run.definition
    estimates = sorted(run_estimates(run), key=lambda e: (len(e.dimensions), e.key))
    places = memo(("sdmx_area_codes",), sdmx_sdg.area_codes)
    own = memo(("sdmx_own_dimensions",), sdmx_sdg.own_dimensions)
    scale = definition.published_scale
    common = {dim: TOTAL for dim in SDG_DIMENSIONS} | {dim: TOTAL for dim in own}
    common.update(
        FREQ="A",
        REPORTING_TYPE="N",
        SERIES=series_id(definition),
        REF_AREA=sdmx_sdg.ref_area(study_area(run.definition.study), places),
        TIME_PERIOD=_period(definition),
    )
    rows = []
    for e in estimates:
        dims = dict(e.dimensions)
        if all(p in dims for p in sdmx_sdg.PLACES):
            continue  # the province's own estimate says it (module docstring)
        row = dict(common)
        for place in sdmx_sdg.PLACES:
            if place in dims:
                row["REF_AREA"] = sdmx_sdg.ref_area(dims.pop(place), places)
        for name, code in dims.items():
            if name not in row:
                raise ValueError(f"{name} is not a dimension of {DATAFLOW_URN}")
            row[name] = sdmx_sdg.to_sdg_code(name, code)
        row.update(UNIT_MEASURE=definition.unit, UNIT_MULT="0", INDICATOR=definition.indicator.code)
        if e.suppressed:
            row.update(OBS_VALUE="", OBS_STATUS="Q", CONF_STATUS="C")
        else:
            row.update(
                OBS_VALUE=_number(e.estimate, scale),
                LOWER_BOUND=_number(e.ci_low, scale),
                UPPER_BOUND=_number(e.ci_high, scale),
                OBS_STATUS="U" if e.flag == Estimate.Flag.IMPRECISE else "A",
                CONF_STATUS="F",
            )
        if e.flag:
            row["COMMENT_OBS"] = str(Estimate.Flag(e.flag).label)
        rows.append(row)
    return rows


def dimension_ids() -> list[str]:
    """The dimensions of the extension in order, TIME_PERIOD last."""
    return [*SDG_DIMENSIONS, *memo(("sdmx_own_dimensions",), sdmx_sdg.own_dimensions), "TIME_PERIOD"]


@per_run
def sdmx_csv(run: EstimateRun, version: str = "2.0") -> bytes:
    """SDMX-CSV of a run: 2.0 (``STRUCTURE,STRUCTURE_ID,ACTION`` first; sdmx1 reads it) or 1.0
    (``DATAFLOW`` first, as the UN SDG data flows are published)."""
    if version not in CSV_VERSIONS:
        raise ValueError(f"SDMX-CSV version must be '2.0' or '1.0', not {version!r}")
    from django.utils import translation

    with translation.override("en"):
        rows = observations(run)
    columns = [*dimension_ids(), "OBS_VALUE", *ATTRIBUTES]
    lead, lead_values = (
        (["STRUCTURE", "STRUCTURE_ID", "ACTION"], ["dataflow", DATAFLOW_URN, "I"])
        if version == "2.0"
        else (["DATAFLOW"], [DATAFLOW_URN])
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(lead + columns)
    for row in rows:
        writer.writerow(lead_values + [safe_cell(row.get(c, "")) for c in columns])
    return out.getvalue().encode("utf-8")


def _structure():
    # The components, not the code lists, are what writing needs (sdmx_sdg.extension_structure).
    return memo(("sdmx_extension_components",), lambda: sdmx_sdg.extension_structure(complete=False))


@per_run
def sdmx_ml(run: EstimateRun, structure_specific: bool = True) -> bytes:
    """SDMX-ML 2.1 data message of a run on ``VOICESCOUNT:SDG_CGD(1.0)``, structure-specific or generic."""
    import sdmx
    from django.utils import translation
    from sdmx import message
    from sdmx.model import common, v21

    dsd, flow, _ = _structure()
    with translation.override("en"):
        rows = observations(run)
    series_dims = [d.id for d in dsd.dimensions.components if d.id != "TIME_PERIOD"]
    cls = v21.StructureSpecificDataSet if structure_specific else v21.GenericDataSet
    dataset = cls(structured_by=dsd, described_by=flow)
    measure = dsd.measures.components[0]
    series: dict[tuple, tuple[Any, list]] = {}
    for row in rows:
        values = tuple(row[d] for d in series_dims)
        if values not in series:
            key = dsd.make_key(common.SeriesKey, dict(zip(series_dims, values, strict=True)))
            series[values] = (key, [])
        attached = {
            a: common.AttributeValue(value=row[a], value_for=dsd.attributes.get(a))
            for a in ATTRIBUTES
            if row.get(a)
        }
        # A suppressed cell has no value: left out in structure-specific data, "NaN" (SDMX's missing
        # value) in generic data, whose writer cannot leave ObsValue out.
        value = row["OBS_VALUE"] or (None if structure_specific else "NaN")
        obs = v21.Observation(
            dimension=common.Key(TIME_PERIOD=row["TIME_PERIOD"]),
            value=value,
            attached_attribute=attached,
            value_for=measure,
        )
        series[values][1].append(obs)
    for series_key, obs_list in series.values():
        dataset.add_obs(obs_list, series_key)
    header = message.Header(
        id=f"VOICESCOUNT_RUN_{run.pk}", prepared=run.started, sender=common.Agency(id=sdmx_sdg.AGENCY)
    )
    msg = message.DataMessage(header=header, data=[dataset], dataflow=flow)
    msg.observation_dimension = dsd.dimensions.get("TIME_PERIOD")
    return sdmx.to_xml(msg, pretty_print=True)
