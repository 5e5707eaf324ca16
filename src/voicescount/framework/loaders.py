"""Load the UN global SDG framework and the disaggregation code lists from the committed files in ``data/``.

* ``global-framework.csv`` — goals, targets and indicators (derived from the shared reference files by
  ``scripts/build_framework_data.py``; sources in ``data/SOURCES.md``);
* ``vi_titles.csv`` — VoicesCount's own, unofficial Vietnamese titles (marked ``vi_unofficial``);
* ``indicator_direction.csv`` — whether a higher value of each indicator is better, worse or neither
  (``Indicator.direction``, the default of its definitions; curated, see ``data/SOURCES.md``);
* ``code-lists.json`` — SDMX-aligned and CGD code lists.

Loading is idempotent (update by code) and runs in one transaction. Rows the files no longer contain are
left alone: a national or complementary indicator may still link to them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from django.db import transaction

from voicescount.framework.models import (
    GLOBAL,
    Code,
    CodeList,
    Direction,
    Framework,
    Goal,
    Indicator,
    Target,
)

DATA = Path(__file__).resolve().parent / "data"
Progress = Callable[[str, int, int], None]

# The goals' colours in the UN SDG communication guidelines.
GOAL_COLOURS = {
    1: "#E5243B", 2: "#DDA63A", 3: "#4C9F38", 4: "#C5192D", 5: "#FF3A21", 6: "#26BDE2",
    7: "#FCC30B", 8: "#A21942", 9: "#FD6925", 10: "#DD1367", 11: "#FD9D24", 12: "#BF8B2E",
    13: "#3F7E44", 14: "#0A97D9", 15: "#56C02B", 16: "#00689D", 17: "#19486A",
}  # fmt: skip


class ReferenceDataError(Exception):
    """A committed reference file is missing or malformed (names the file and row)."""


def _rows(name: str) -> list[dict[str, str]]:
    path = DATA / name
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError as exc:
        raise ReferenceDataError(f"{name}: cannot read ({exc.strerror})") from None


def vietnamese_titles() -> dict[tuple[str, str], str]:
    """(kind, code) → Vietnamese title, from ``vi_titles.csv`` if present."""
    if not (DATA / "vi_titles.csv").exists():
        return {}
    return {
        (r["kind"], r["code"]): r["title_vi"].strip() for r in _rows("vi_titles.csv") if r["title_vi"].strip()
    }


def indicator_directions() -> dict[str, str]:
    """Indicator code → direction (a :class:`Direction` value) from ``indicator_direction.csv``; a
    direction that is not one of the choices is a :class:`ReferenceDataError` naming the line. Without the
    file (as without ``vi_titles.csv``) every indicator keeps the neutral default."""
    if not (DATA / "indicator_direction.csv").exists():
        return {}
    out = {}
    for line, row in enumerate(_rows("indicator_direction.csv"), 2):
        direction = row.get("direction", "")
        if direction not in Direction.values or not row.get("code"):
            raise ReferenceDataError(
                f"indicator_direction.csv: line {line}: direction {direction!r} of {row.get('code')!r} is "
                f"not one of {Direction.values}"
            )
        out[row["code"]] = direction
    return out


@transaction.atomic
def load_global_framework(progress: Progress | None = None) -> Framework:
    report = progress or (lambda *_: None)
    rows = _rows("global-framework.csv")
    vi = vietnamese_titles()
    directions = indicator_directions()
    framework, _ = Framework.objects.update_or_create(
        code=GLOBAL,
        defaults={
            "kind": Framework.Kind.GLOBAL,
            "name_en": "Global indicator framework for the SDGs (after the 2025 comprehensive review)",
            "name_vi": "Khung chỉ tiêu toàn cầu về các Mục tiêu Phát triển bền vững (sau rà soát năm 2025)",
            "source": "UN Statistics Division: A/RES/71/313 annex, revised by the 2025 comprehensive review",
        },
    )
    goals: dict[str, Goal] = {}
    targets: dict[str, Target] = {}
    for i, row in enumerate(rows, 1):
        try:
            _load_row(row, framework, goals, targets, vi, directions)
        except (KeyError, ValueError, TypeError) as exc:
            raise ReferenceDataError(
                f"global-framework.csv: line {i + 1}: {exc.__class__.__name__} {exc} "
                "(expected columns kind, code, parent, unsd, short, title and parents listed before children)"
            ) from None
        if i % 25 == 0 or i == len(rows):
            report("SDG framework", i, len(rows))
    return framework


def _load_row(row, framework, goals: dict, targets: dict, vi: dict, directions: dict) -> None:
    kind, code = row["kind"], row["code"]
    if kind == "goal":
        short_vi, title_vi = vi.get(("goal_short", code), ""), vi.get(("goal_title", code), "")
        goals[code], _ = Goal.objects.update_or_create(
            number=int(code),
            defaults={
                "short_title_en": row["short"],
                "title_en": row["title"],
                "short_title_vi": short_vi,
                "title_vi": title_vi,
                "vi_unofficial": bool(short_vi or title_vi),
                "colour": GOAL_COLOURS[int(code)],
            },
        )
    elif kind == "target":
        title_vi = vi.get(("target", code), "")
        targets[code], _ = Target.objects.update_or_create(
            code=code,
            defaults={
                "goal": goals[row["parent"]],
                "title_en": row["title"],
                "title_vi": title_vi,
                "vi_unofficial": bool(title_vi),
            },
        )
    elif kind == "indicator":
        title_vi = vi.get(("indicator", code), "")
        Indicator.objects.update_or_create(
            framework=framework,
            code=code,
            defaults={
                "target": targets[row["parent"]],
                "title_en": row["title"],
                "title_vi": title_vi,
                "vi_unofficial": bool(title_vi),
                "unsd_codes": row["unsd"],
                "direction": directions.get(code, Direction.NEUTRAL),
                "is_public": True,
                "organisation": None,
            },
        )
    else:
        raise ValueError(f"unknown kind '{kind}'")


@transaction.atomic
def load_code_lists(progress: Progress | None = None) -> None:
    report = progress or (lambda *_: None)
    try:
        lists = json.loads((DATA / "code-lists.json").read_text(encoding="utf-8"))["lists"]
    except (OSError, ValueError, KeyError) as exc:
        raise ReferenceDataError(f"code-lists.json: cannot read ({exc})") from None
    for i, item in enumerate(lists, 1):
        code_list, _ = CodeList.objects.update_or_create(
            code=item["code"],
            defaults={"name_en": item["name_en"], "name_vi": item["name_vi"], "sdmx_id": item["sdmx_id"]},
        )
        for order, (code, name_en, name_vi) in enumerate(item["codes"]):
            Code.objects.update_or_create(
                code_list=code_list,
                code=code,
                defaults={"name_en": name_en, "name_vi": name_vi, "order": order},
            )
        report("Code lists", i, len(lists))


def load_all(progress: Progress | None = None) -> None:
    load_global_framework(progress)
    load_code_lists(progress)
