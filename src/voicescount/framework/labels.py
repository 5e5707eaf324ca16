"""English and Vietnamese labels of disaggregation codes: the one lookup for the public pages, the
open-data exports and the furthest-behind / furthest-ahead sentences the computation stores.

A code's label comes from its code list (``data/code-lists.json``, loaded into :class:`Code`); for the
code lists of the SDMX Global DSD for the SDGs these are the official English names (``Y15T24`` "15 to
24 years old"). Age bins are chosen per indicator definition, so an age code may be missing from the
list (the demo's ``Y25T59``): it is labelled from its SDMX pattern instead, so that readers never see a
bare code and a new bin needs no new list entry. The generated labels are worded like the list's own
(English "15 to 24 years old", "60 years old and over"; Vietnamese "15–24 tuổi", "Từ 60 tuổi trở lên"),
so that a generated bin does not stand out among listed ones in a table:

=============  ==========================  =========================
pattern        English                     Vietnamese
=============  ==========================  =========================
``Y25T59``     25 to 59 years old          25–59 tuổi
``Y_GE60``     60 years old and over       Từ 60 tuổi trở lên
``Y_GT60``     Over 60 years old           Trên 60 tuổi
``Y_LT5``      Under 5 years old           Dưới 5 tuổi
``Y_LE24``     24 years old and under      Từ 24 tuổi trở xuống
``Y18``        18 years old                18 tuổi
=============  ==========================  =========================

The codes of REGION, AREA and COUNTRY are areas of the geography app and are named from it.

The words around the groups of the leave-no-one-behind analysis are here too (:func:`lnob_roles`,
:func:`lnob_sentence`): which end of the tree is "furthest behind" depends on the indicator's direction
(the group with the highest rate where a higher value is worse), and the words say which it is —
"furthest behind (highest rate)"; an indicator with no better direction names its "lowest rate" and
"highest rate" groups and no one behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q

from voicescount.framework.models import Code, CodeList

Label = tuple[str, str]  # (English, Vietnamese)


def _years(number: str) -> str:
    return "year" if int(number) == 1 else "years"


AGE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Label]], ...] = (
    (re.compile(r"Y(\d+)T(\d+)"), lambda m: (f"{m[1]} to {m[2]} years old", f"{m[1]}–{m[2]} tuổi")),
    (re.compile(r"Y_GE(\d+)"), lambda m: (f"{m[1]} {_years(m[1])} old and over", f"Từ {m[1]} tuổi trở lên")),
    (re.compile(r"Y_GT(\d+)"), lambda m: (f"Over {m[1]} {_years(m[1])} old", f"Trên {m[1]} tuổi")),
    (re.compile(r"Y_LT(\d+)"), lambda m: (f"Under {m[1]} {_years(m[1])} old", f"Dưới {m[1]} tuổi")),
    (
        re.compile(r"Y_LE(\d+)"),
        lambda m: (f"{m[1]} {_years(m[1])} old and under", f"Từ {m[1]} tuổi trở xuống"),
    ),
    (re.compile(r"Y(\d+)"), lambda m: (f"{m[1]} {_years(m[1])} old", f"{m[1]} tuổi")),
)


def age_label(code: str) -> Label | None:
    """The English and Vietnamese label of an SDMX age code read from its pattern (see the module's
    table), or None for a code of no known pattern."""
    for pattern, label in AGE_PATTERNS:
        if m := pattern.fullmatch(code):
            return label(m)
    return None


#: Code lists whose codes are areas of the geography app (named from it, not from a code list):
#: survey regions, provinces and countries.
PLACE_LISTS = ("REGION", "AREA", "COUNTRY")

#: Code lists whose codes can be labelled from their pattern when the list lacks them.
GENERATED: dict[str, Callable[[str], Label | None]] = {"AGE": age_label}


@dataclass(frozen=True)
class CodeLabels:
    """Names of code lists and labels of their codes in both languages (read by :func:`code_labels`)."""

    names: dict[str, Label]
    codes: dict[tuple[str, str], Label]

    def bilingual(self, code_list: str, code: str) -> Label | None:
        """(English, Vietnamese) label of ``code``: the list's, else the pattern's; None if neither.
        A list entry without a Vietnamese name takes the pattern's, else the English one."""
        listed = self.codes.get((code_list, code))
        generate = GENERATED.get(code_list)
        generated = generate(code) if generate else None
        if listed is None:
            return generated
        en, vi = listed
        return en, vi or (generated[1] if generated else en)

    def label(self, code_list: str, code: str, language: str = "en") -> str:
        """The label of ``code`` in ``language`` ("en" or "vi"); the code itself if it has none."""
        both = self.bilingual(code_list, code)
        if both is None:
            return code
        return both[1] if language == "vi" else both[0]

    def name(self, code_list: str, language: str = "en") -> str:
        """The name of a code list in ``language``; its code if the list is unknown."""
        en, vi = self.names.get(code_list, (code_list, ""))
        return (vi or en) if language == "vi" else en

    def in_sentence(self, code_list: str, code: str, language: str = "en") -> str:
        """The label of ``code`` as it reads inside a sentence (a furthest-behind group: "female, 25 to
        59 years old"): lower-cased, since listed labels start with a capital, except the names of
        places (:data:`PLACE_LISTS`)."""
        label = self.label(code_list, code, language)
        return label if code_list in PLACE_LISTS else label.lower()


def code_labels(lists: Iterable[str] | None = None) -> CodeLabels:
    """The labels of the code lists ``lists`` (every code list when None) from the database, with the
    names of the areas used as codes of :data:`PLACE_LISTS` among them."""
    list_rows = CodeList.objects.all()
    code_rows = Code.objects.all()
    places = PLACE_LISTS
    if lists is not None:
        lists = list(lists)
        list_rows = list_rows.filter(code__in=lists)
        code_rows = code_rows.filter(code_list__code__in=lists)
        places = tuple(p for p in PLACE_LISTS if p in lists)
    names = {code: (en, vi) for code, en, vi in list_rows.values_list("code", "name_en", "name_vi")}
    codes = {
        (code_list, code): (en, vi)
        for code_list, code, en, vi in code_rows.values_list("code_list__code", "code", "name_en", "name_vi")
    }
    return CodeLabels(names=names, codes={**codes, **_place_labels(places)})


def _place_labels(places: Iterable[str]) -> dict[tuple[str, str], Label]:
    """(place list, area code) → (English, Vietnamese) name: Viet Nam's survey regions (REGION) and
    provinces (AREA), and every country (COUNTRY, what an estimate without a place stands for)."""
    from voicescount.geography.models import Area

    kinds = {Area.Level.MACRO_REGION: "REGION", Area.Level.PROVINCE: "AREA", Area.Level.COUNTRY: "COUNTRY"}
    levels = [level for level, kind in kinds.items() if kind in places]
    if not levels:
        return {}
    in_viet_nam = Q(country_code="VN") | Q(level=Area.Level.COUNTRY)
    rows = Area.objects.filter(in_viet_nam, level__in=levels).only("code", "level", "name", "name_en")
    return {(kinds[area.level], area.code): (area.name_en or area.name, area.name) for area in rows}


# --- the words of the leave-no-one-behind analysis -------------------------------------------------------

#: (first, second) group's role per direction and language: the furthest behind and the furthest ahead,
#: with which end of the rate they are; an indicator with no better direction has a lowest and a highest.
LNOB_ROLES: dict[str, dict[str, tuple[str, str]]] = {
    "higher_worse": {
        "en": ("furthest behind (highest rate)", "furthest ahead (lowest rate)"),
        "vi": ("bị bỏ lại xa nhất (tỷ lệ cao nhất)", "đi trước xa nhất (tỷ lệ thấp nhất)"),
    },
    "higher_better": {
        "en": ("furthest behind (lowest rate)", "furthest ahead (highest rate)"),
        "vi": ("bị bỏ lại xa nhất (tỷ lệ thấp nhất)", "đi trước xa nhất (tỷ lệ cao nhất)"),
    },
    "neutral": {
        "en": ("lowest rate", "highest rate"),
        "vi": ("tỷ lệ thấp nhất", "tỷ lệ cao nhất"),
    },
}


def lnob_roles(direction: str, language: str = "en") -> tuple[str, str]:
    """What the first and the second group of an LNOB analysis are, in ``language`` ("en" or "vi"):
    ("furthest behind (highest rate)", "furthest ahead (lowest rate)") where a higher value is worse,
    ("lowest rate", "highest rate") where neither direction is better."""
    roles = LNOB_ROLES.get(direction, LNOB_ROLES["neutral"])
    return roles["vi" if language == "vi" else "en"]


def percent(value: float, language: str = "en") -> str:
    """A proportion as a percentage with one decimal, the Vietnamese way in Vietnamese ("41,0%")."""
    text = f"{100 * value:.1f}%"
    return text.replace(".", ",") if language == "vi" else text


def lnob_sentence(
    direction: str, first: tuple[str, float], second: tuple[str, float], language: str = "en"
) -> str:
    """The LNOB result in one sentence: the first group (furthest behind, or lowest) and the second
    (furthest ahead, or highest), each as (description, mean proportion).

    "Furthest behind (highest rate): ethnic minority, 41.0%; furthest ahead (lowest rate): female,
    urban, Kinh or Hoa, 6.5%." / "Bị bỏ lại xa nhất (tỷ lệ cao nhất): dân tộc thiểu số, 41,0%; …"."""
    role_first, role_second = lnob_roles(direction, language)
    text = (
        f"{role_first}: {first[0]}, {percent(first[1], language)}; "
        f"{role_second}: {second[0]}, {percent(second[1], language)}."
    )
    return text[0].upper() + text[1:]
