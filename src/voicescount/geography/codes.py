"""The codes under which places are published: one rule for the API, CSV, Open SDG and SDMX files.

Our own area codes (``Area.code``) are keys, not for publication: ``VN-01`` is Hà Nội by its GSO code,
but ISO 3166-2's ``VN-01`` is Lai Châu. What we publish is unambiguous:

- a country: its ISO 3166-1 alpha-2 code (``VN``); SDMX on the SDG DSD writes its UN M49 number
  instead (``704``, ``publishing.sdmx_sdg.ref_area``), as that structure requires;
- a province with an ISO 3166-2 code: that code (``VN-HN`` for Hà Nội);
- a province ISO has no code for (those formed on 1 July 2025): its GSO code in a namespace of its own,
  ``<country>-GSO-<code>`` (``VN-GSO-08``);
- a region: our grouping's code, already in its own namespace (``VN-GSO6-1``, ``VN-R3-N``).

The whole country is always the country's code, never a total (``_T``) and never blank — except in Open
SDG's ``GeoCode``, which that format leaves blank for the national row.
"""

from __future__ import annotations

from voicescount.geography.models import Area


def public_code(area: Area) -> str:
    """The code ``area`` is published under (see the module docstring)."""
    if area.level == Area.Level.COUNTRY:
        return area.country_code
    if area.level == Area.Level.PROVINCE and area.iso_code:
        return area.iso_code
    if area.level == Area.Level.PROVINCE and area.gso_code:
        return f"{area.country_code}-GSO-{area.gso_code}"
    return area.code


def public_codes() -> dict[str, tuple[str, Area]]:
    """Our area code → (its published code, the area) for every area we know: one query."""
    fields = ("code", "level", "country_code", "gso_code", "iso_code", "name", "name_en")
    return {a.code: (public_code(a), a) for a in Area.objects.only(*fields)}


def published(code: str, known: dict[str, tuple[str, Area]] | None = None) -> str:
    """The published code of our area ``code``; a code the geography tables do not hold is returned as it
    is (a country's ISO code, e.g., before the tables are loaded)."""
    known = public_codes() if known is None else known
    return known[code][0] if code in known else code


def our_codes() -> dict[str, str]:
    """Published code → our area code, for reading files back (``VN-HN`` → ``VN-01``, ``VN-GSO-08`` →
    the province formed in 2025 with GSO code 08). A published code equal to another area's own code
    (ISO's ``VN-01``, Lai Châu) means the area ISO gives it."""
    return {public: code for code, (public, _area) in public_codes().items()}
