"""SDMX on the SDG data structure: the SDG DSD, our published extension of it, and the codes we publish.

Our data messages use the global SDG data structure (``IAEG-SDGs:SDG(1.14)``, the copy in
``publishing/data/SDG_DSD_1.14.xml``, see ``data/SOURCES.md``) extended by what it cannot say:

- the structure ``VOICESCOUNT:SDG_CGD(1.0)`` (dataflow ``VOICESCOUNT:DF_SDG_CGD(1.0)``) has the 15
  dimensions of the SDG DSD with their ids, concepts and order (FREQ, REPORTING_TYPE, SERIES, REF_AREA,
  SEX, AGE, URBANISATION, INCOME_WEALTH_QUANTILE, EDUCATION_LEV, OCCUPATION, CUST_BREAKDOWN,
  COMPOSITE_BREAKDOWN, DISABILITY_STATUS, ACTIVITY, PRODUCT), then one dimension per code list of ours
  the SDG DSD lacks (ETHNICITY, POPULATION_GROUP, WG_DIFFICULTY …), then TIME_PERIOD; its attributes are
  the SDG DSD's (UNIT_MEASURE, UNIT_MULT, OBS_STATUS, LOWER_BOUND, UPPER_BOUND, COMMENT_OBS …) and two of
  ours (CONF_STATUS, INDICATOR);
- a dimension whose codes all belong to the SDG code list is enumerated by the IAEG-SDGs list itself
  (referenced, not copied: it is in the SDG DSD); a dimension where we publish more codes than the SDG
  list has — sub-national areas, our series, age bins, units — is enumerated by a VOICESCOUNT list
  holding every code of the SDG list and ours, so a message on the SDG codes also validates.

Places are ``REF_AREA`` codes (:func:`ref_area`): the country by its UN M49 number (``704``), a province
by its ISO 3166-2 code where ISO gives one (``VN-HN`` for Hà Nội, whose GSO code is 01; ISO's
``VN-01`` is Lai Châu), a province ISO has no code for (the provinces formed on 1 July 2025) by its GSO
code in its own namespace (``VN-GSO-08``), a region by our grouping's code (``VN-GSO6-1``, ``VN-R3-N``).

Our ``DISABILITY_STATUS`` code ``NPD`` (no disability) is the SDG list's ``PWD`` ("Persons without
disability"); it is published as ``PWD`` (:data:`TO_SDG_CODES`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

SDG_DSD_FILE = Path(__file__).parent / "data" / "SDG_DSD_1.14.xml"
AGENCY = "VOICESCOUNT"
EXTENSION_ID = "SDG_CGD"
DATAFLOW_ID = "DF_SDG_CGD"
VERSION = "1.0"
DATAFLOW_URN = f"{AGENCY}:{DATAFLOW_ID}({VERSION})"
TOTAL = "_T"

#: The series dimensions of the SDG DSD 1.x, in its order (TIME_PERIOD is the observation dimension).
SDG_DIMENSIONS = (
    "FREQ",
    "REPORTING_TYPE",
    "SERIES",
    "REF_AREA",
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
#: Attributes of the SDG DSD we fill in, then ours.
SDG_ATTRIBUTES = ("UNIT_MEASURE", "UNIT_MULT", "OBS_STATUS", "LOWER_BOUND", "UPPER_BOUND", "COMMENT_OBS")
OWN_ATTRIBUTES = ("CONF_STATUS", "INDICATOR")
ATTRIBUTES = SDG_ATTRIBUTES + OWN_ATTRIBUTES
#: Our code lists of places: they are REF_AREA, not dimensions (coarsest first).
PLACES = ("REGION", "AREA")
#: Our codes that the SDG code list spells otherwise (code list → our code → SDG code).
TO_SDG_CODES = {"DISABILITY_STATUS": {"NPD": "PWD"}}
#: SDMX CL_CONF_STATUS codes we use.
CONF_STATUS = {"F": "Free", "C": "Confidential statistical information"}


@functools.cache
def sdg_structures():
    """The SDG DSD structure message (sdmx1), read once per process from the committed copy."""
    import sdmx

    return sdmx.read_sdmx(SDG_DSD_FILE)


def sdg_dsd():
    """The data structure definition ``IAEG-SDGs:SDG(1.14)``."""
    return sdg_structures().structure["SDG"]


def sdg_codelist(dimension_or_attribute: str):
    """The IAEG-SDGs code list enumerating a dimension or attribute of the SDG DSD."""
    dsd = sdg_dsd()
    for components in (dsd.dimensions, dsd.attributes):
        try:
            return components.get(dimension_or_attribute).local_representation.enumerated
        except KeyError:
            continue
    raise KeyError(f"{dimension_or_attribute} is not a coded component of the SDG DSD")


def to_sdg_code(code_list: str, code: str) -> str:
    """The SDMX code of our ``code`` of ``code_list`` (our own code where the SDG list has the same)."""
    return TO_SDG_CODES.get(code_list, {}).get(code, code)


# ---------------------------------------------------------------------------------------- places


def m49(country_code: str) -> str:
    """UN M49 number of an ISO 3166-1 alpha-2 country code (the SDG DSD's REF_AREA), e.g. ``VN`` → ``704``."""
    from voicescount.indicators.official_readers import M49_TO_ISO2

    numbers = {iso: number for number, iso in M49_TO_ISO2.items()}
    if country_code not in numbers:
        raise ValueError(f"no UN M49 number known for the country {country_code!r}")
    return numbers[country_code]


def area_codes() -> dict[str, tuple[str, str]]:
    """Our area code → (REF_AREA code, English name) for every country, region and province we know: the
    published code (``geography.codes``), a country by its M49 number."""
    from voicescount.geography.codes import public_codes
    from voicescount.geography.models import Area

    return {
        code: (m49(area.country_code) if area.level == Area.Level.COUNTRY else public, area.name_en or code)
        for code, (public, area) in public_codes().items()
    }


def ref_area(code: str, known: dict[str, tuple[str, str]] | None = None) -> str:
    """The REF_AREA code of our area ``code`` (a country's ISO alpha-2 code gives its M49 number)."""
    known = area_codes() if known is None else known
    if code in known:
        return known[code][0]
    if len(code) == 2 and code.isalpha():
        return m49(code)
    raise ValueError(f"area {code!r} is not an area of the geography tables")


# ---------------------------------------------------------------------------------------- structure


def own_dimensions() -> list[str]:
    """Our code lists the SDG DSD has no dimension for, in the order of the extension (alphabetical)."""
    from voicescount.framework.models import CodeList

    names = set(CodeList.objects.values_list("code", flat=True))
    return sorted(names - set(SDG_DIMENSIONS) - set(PLACES))


def _codelist(cl_id: str, name: str, codes: dict[str, str]):
    from sdmx.model import common

    agency = common.Agency(id=AGENCY)
    codelist = common.Codelist(id=cl_id, name={"en": name}, maintainer=agency, version=VERSION, is_final=True)
    for code, label in codes.items():
        codelist.append(common.Code(id=code, name={"en": label or code}))
    return codelist


def _sdg_codes(component: str) -> dict[str, str]:
    return {code.id: str(code.name) for code in sdg_codelist(component)}


def _our_codes(code_list: str) -> dict[str, str]:
    from voicescount.framework.models import Code

    rows = Code.objects.filter(code_list__code=code_list).order_by("order", "code")
    return {to_sdg_code(code_list, c.code): c.name_en for c in rows}


def published_codes() -> dict[str, dict[str, str]]:
    """Codes the published runs use beyond our code lists: series, units and every dimension's codes."""
    from voicescount.framework.labels import code_labels
    from voicescount.publishing.sdmx_data import series_id
    from voicescount.publishing.selectors import published_runs

    runs = published_runs().select_related("definition")
    used: dict[str, dict[str, str]] = {"SERIES": {}, "UNIT_MEASURE": {}}
    dimension_codes: dict[str, set[str]] = {}
    for run in runs:
        definition = run.definition
        used["SERIES"][series_id(definition)] = definition.title_en or definition.code
        used["UNIT_MEASURE"][definition.unit] = definition.unit
        for dims in run.estimates.values_list("dimensions", flat=True):
            for name, code in dims.items():
                dimension_codes.setdefault(name, set()).add(code)
    labels = code_labels(sorted(dimension_codes))
    for name, codes in dimension_codes.items():
        used.setdefault(name, {}).update(
            {to_sdg_code(name, c): labels.label(name, c, "en") for c in sorted(codes)}
        )
    return used


def extension_structure(complete: bool = True):
    """The structures a receiver needs to validate our messages: ``(dsd, dataflow, code lists)``.

    Built from the SDG DSD, our code lists, the geography tables and the published runs (so that every
    series, area and code a published message carries is in a code list). ``complete=False`` leaves the
    published runs' codes out of the code lists: the same components, enough to write a data message
    without reading every published estimate.
    """
    from sdmx.model import common, v21

    sdg = sdg_dsd()
    used = published_codes() if complete else {"SERIES": {}, "UNIT_MEASURE": {}}
    agency = common.Agency(id=AGENCY)
    dsd = v21.DataStructureDefinition(
        id=EXTENSION_ID,
        name={"en": "SDG data structure (IAEG-SDGs:SDG 1.14) extended for citizen-generated data"},
        maintainer=agency,
        version=VERSION,
        is_final=True,
    )
    codelists: dict[str, Any] = {}

    def enumeration(component: str, ours: dict[str, str]):
        sdg_codes = _sdg_codes(component)
        if set(ours) <= set(sdg_codes):
            return sdg_codelist(component)
        codes = {**sdg_codes, **{c: n for c, n in ours.items() if c not in sdg_codes}}
        name = f"{component}: codes of the SDG DSD and of VoicesCount"
        codelist = _codelist(f"CL_{component}", name, codes)
        codelists[codelist.id] = codelist
        return codelist

    places = {code: name for code, name in area_codes().values()}
    for dim in SDG_DIMENSIONS:
        if dim == "REF_AREA":
            ours = places
        elif dim in ("FREQ", "REPORTING_TYPE"):
            ours = {"A": ""} if dim == "FREQ" else {"N": ""}
        else:
            ours = {**(_our_codes(dim) if dim != "SERIES" else {}), **used.get(dim, {}), TOTAL: "Total"}
        sdg_dim = sdg.dimensions.get(dim)
        dsd.dimensions.getdefault(
            dim,
            concept_identity=sdg_dim.concept_identity,
            local_representation=common.Representation(enumerated=enumeration(dim, ours)),
        )
    for name in own_dimensions():
        codes = {TOTAL: "No breakdown", **_our_codes(name), **used.get(name, {})}
        codelist = _codelist(f"CL_{name}", name.replace("_", " ").capitalize(), codes)
        codelists[codelist.id] = codelist
        dsd.dimensions.getdefault(name, local_representation=common.Representation(enumerated=codelist))
    dsd.dimensions.getdefault("TIME_PERIOD", cls=v21.TimeDimension)
    for attribute in SDG_ATTRIBUTES:
        sdg_attribute = sdg.attributes.get(attribute)
        representation = sdg_attribute.local_representation
        if attribute == "UNIT_MEASURE":
            representation = common.Representation(enumerated=enumeration(attribute, used["UNIT_MEASURE"]))
        dsd.attributes.getdefault(
            attribute,
            concept_identity=sdg_attribute.concept_identity,
            local_representation=representation,
            usage_status=sdg_attribute.usage_status,
            related_to=v21.PrimaryMeasureRelationship(),
        )
    conf = _codelist("CL_CONF_STATUS", "Confidentiality status (SDMX CL_CONF_STATUS)", CONF_STATUS)
    codelists[conf.id] = conf
    dsd.attributes.getdefault(
        "CONF_STATUS",
        local_representation=common.Representation(enumerated=conf),
        related_to=v21.PrimaryMeasureRelationship(),
    )
    dsd.attributes.getdefault("INDICATOR", related_to=v21.PrimaryMeasureRelationship())
    dsd.measures.getdefault("OBS_VALUE", concept_identity=sdg.measures.get("OBS_VALUE").concept_identity)
    flow = v21.DataflowDefinition(
        id=DATAFLOW_ID,
        name={"en": "VoicesCount citizen-generated SDG data"},
        maintainer=agency,
        version=VERSION,
        structure=dsd,
        is_final=True,
    )
    return dsd, flow, codelists


def structure_xml() -> bytes:
    """The extension as an SDMX-ML 2.1 structure message: DSD, dataflow and our code lists."""
    import datetime as dt

    import sdmx
    from django.db.models import Max
    from sdmx import message
    from sdmx.model import common

    from voicescount.publishing.selectors import published_runs

    dsd, flow, codelists = extension_structure()
    # Prepared when the newest of its published runs was published: the same bytes until one changes.
    prepared = published_runs().aggregate(latest=Max("published"))["latest"] or dt.datetime(2020, 1, 1)
    msg = message.StructureMessage(
        header=message.Header(id="VOICESCOUNT_SDG_CGD", prepared=prepared, sender=common.Agency(id=AGENCY))
    )
    msg.add(dsd)
    msg.add(flow)
    for codelist in codelists.values():
        msg.add(codelist)
    return sdmx.to_xml(msg, pretty_print=True)
