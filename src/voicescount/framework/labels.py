"""English and Vietnamese labels of disaggregation codes, for the open-data exports.

A code's label comes from its code list (``data/code-lists.json``, loaded into :class:`Code`); for the
code lists of the SDMX Global DSD for the SDGs these are the official English names (``Y15T24`` "15 to
24 years old"). Age bins are chosen per indicator definition, so an age code may be missing from the
list (the demo's ``Y25T59``): it is labelled from its SDMX pattern instead, so that readers never see a
bare code and a new bin needs no new list entry.

=============  ========================  =========================
pattern        English                   Vietnamese
=============  ========================  =========================
``Y25T59``     25 to 59 years            từ 25 đến 59 tuổi
``Y_GE60``     60 years and over         từ 60 tuổi trở lên
``Y_GT60``     over 60 years             trên 60 tuổi
``Y_LT5``      under 5 years             dưới 5 tuổi
``Y_LE24``     24 years and under        từ 24 tuổi trở xuống
``Y18``        18 years                  18 tuổi
=============  ========================  =========================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from voicescount.framework.models import Code, CodeList

Label = tuple[str, str]  # (English, Vietnamese)


def _years(number: str) -> str:
    return "year" if int(number) == 1 else "years"


AGE_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], Label]], ...] = (
    (re.compile(r"Y(\d+)T(\d+)"), lambda m: (f"{m[1]} to {m[2]} years", f"từ {m[1]} đến {m[2]} tuổi")),
    (re.compile(r"Y_GE(\d+)"), lambda m: (f"{m[1]} {_years(m[1])} and over", f"từ {m[1]} tuổi trở lên")),
    (re.compile(r"Y_GT(\d+)"), lambda m: (f"over {m[1]} {_years(m[1])}", f"trên {m[1]} tuổi")),
    (re.compile(r"Y_LT(\d+)"), lambda m: (f"under {m[1]} {_years(m[1])}", f"dưới {m[1]} tuổi")),
    (re.compile(r"Y_LE(\d+)"), lambda m: (f"{m[1]} {_years(m[1])} and under", f"từ {m[1]} tuổi trở xuống")),
    (re.compile(r"Y(\d+)"), lambda m: (f"{m[1]} {_years(m[1])}", f"{m[1]} tuổi")),
)


def age_label(code: str) -> Label | None:
    """The English and Vietnamese label of an SDMX age code read from its pattern (see the module's
    table), or None for a code of no known pattern."""
    for pattern, label in AGE_PATTERNS:
        if m := pattern.fullmatch(code):
            return label(m)
    return None


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


def code_labels(lists: Iterable[str]) -> CodeLabels:
    """The labels of the code lists ``lists`` from the database."""
    lists = list(lists)
    names = {
        code: (en, vi)
        for code, en, vi in CodeList.objects.filter(code__in=lists).values_list("code", "name_en", "name_vi")
    }
    codes = {
        (code_list, code): (en, vi)
        for code_list, code, en, vi in Code.objects.filter(code_list__code__in=lists).values_list(
            "code_list__code", "code", "name_en", "name_vi"
        )
    }
    return CodeLabels(names=names, codes=codes)
