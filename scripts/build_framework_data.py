"""Derive ``src/voicescount/framework/data/global-framework.csv`` from the shared reference files.

Run by a developer when the shared files change (not at install or run time)::

    .venv/bin/python scripts/build_framework_data.py [/path/to/shared/data/sdg]

Input: the UN global indicator framework after the 2025 comprehensive review (a CSV of the A/RES/71/313
annex) and the English goal short titles of open-sdg/sdg-translations. Output: one row per goal, target
and indicator with its code, parent, UNSD code(s) and English title. Footnote markers and line breaks of
the PDF-derived text are cleaned; nothing else is changed.
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "sdg"
TARGET = ROOT / "src" / "voicescount" / "framework" / "data" / "global-framework.csv"

GOAL = re.compile(r"Goal (\d+)\. (.*)", re.S)
TARGET_CELL = re.compile(r"(\d+\.[0-9a-z]+)\s+(.*)", re.S)
INDICATOR_CELL = re.compile(r"(\d+\.[0-9a-z]+\.\d+)\s+(.*)", re.S)


def clean(text: str) -> str:
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    return re.sub(r"(?<=[a-z\)])\d+(?=[ ,.;]|$)", "", text)  # footnote digits glued to words


def short_titles(source: Path) -> dict[str, str]:
    titles = {}
    for line in (
        (source / "sdg-translations" / "en" / "global_goals.yml").read_text(encoding="utf-8").splitlines()
    ):
        m = re.match(r"(\d+)-short: (.*)", line)
        if m:
            titles[m.group(1)] = m.group(2).strip().strip("'\"")
    return titles


def build(source: Path) -> list[dict[str, str]]:
    shorts = short_titles(source)
    out: list[dict[str, str]] = []
    goal = target = ""
    path = source / "un-global-indicator-framework-after-2025-review.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            row = (row + [""] * 4)[:4]
            left, indicator, unsd = row[1].strip(), row[2].strip(), row[3].strip()
            if m := GOAL.match(left):
                goal = m.group(1)
                out.append(
                    dict(
                        kind="goal",
                        code=goal,
                        parent="",
                        unsd="",
                        short=shorts[goal],
                        title=clean(m.group(2)),
                    )
                )
                continue
            if goal and (m := TARGET_CELL.match(left)):
                target = m.group(1)
                out.append(
                    dict(kind="target", code=target, parent=goal, unsd="", short="", title=clean(m.group(2)))
                )
            if goal and indicator and (m := INDICATOR_CELL.match(indicator)):
                out.append(
                    dict(
                        kind="indicator",
                        code=m.group(1),
                        parent=target,
                        unsd=unsd,
                        short="",
                        title=clean(m.group(2)),
                    )
                )
    counts = {k: sum(r["kind"] == k for r in out) for k in ("goal", "target", "indicator")}
    if counts["goal"] != 17 or counts["target"] != 169:
        raise SystemExit(f"{path.name}: unexpected counts {counts}")
    return out


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    rows = build(source)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with TARGET.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["kind", "code", "parent", "unsd", "short", "title"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"Wrote {len(rows)} rows to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
