"""Derive ``src/voicescount/indicators/data/un_sdg_series.csv`` (UN SDG series → indicator) from a copy of
open-numbers/ddf--unstats--sdg_indicators, Gapminder's DDF dataset of the UN SDG Global Database.

Run by a developer when the source changes (not at install or run time)::

    .venv/bin/python scripts/build_un_sdg_series.py /path/to/ddf--concepts--continuous.csv

Input: the dataset's ``ddf--concepts--continuous.csv`` (one row per series of the UNSD SDG API: ``name`` is
the series code, ``indicator`` its indicator code(s), comma-separated, ``description`` its title). Output:
``series,indicators,description`` sorted by series, the indicator codes separated by a space, every one
checked against our framework (``framework/data/global-framework.csv``); nothing else is changed.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORK = ROOT / "src" / "voicescount" / "framework" / "data" / "global-framework.csv"
TARGET = ROOT / "src" / "voicescount" / "indicators" / "data" / "un_sdg_series.csv"


def main(source: Path) -> None:
    with FRAMEWORK.open(encoding="utf-8", newline="") as handle:
        ours = {row["code"] for row in csv.DictReader(handle) if row["kind"] == "indicator"}
    rows = []
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            indicators = [code.strip() for code in row["indicator"].split(",") if code.strip()]
            unknown = [code for code in indicators if code not in ours]
            if unknown:
                sys.exit(
                    f"{source.name}: series {row['name']} names {', '.join(unknown)}, not in our framework"
                )
            rows.append((row["name"].strip(), " ".join(indicators), " ".join(row["description"].split())))
    rows.sort()
    with TARGET.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["series", "indicators", "description"])
        writer.writerows(rows)
    print(f"{len(rows)} series written to {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
