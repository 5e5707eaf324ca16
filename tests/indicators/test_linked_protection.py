"""No suppressed cell of the demo's published tables can be worked out from one published parent and its
published children (the differencing attack that the per-table protection missed: a 4-way margin of 36
beside a published 5-way child of 34 gave the suppressed child of 2).

The check reads the stored estimates only — it does not use ``stats.linked`` — and applies the attack an
attentive reader could: for every published cell and every dimension it does not break down, if the
children along that dimension account for all its respondents (no answers outside the codes), exactly one
of the parent and its children is suppressed and it is worth protecting (a primary cell), that one cell
is given away.
"""

from __future__ import annotations

import pytest

from voicescount.collection.models import Study
from voicescount.indicators.compute import compute_study, latest_run
from voicescount.indicators.models import Estimate

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
RESPONDENTS = 1000
SUPPRESSED = {Estimate.Flag.SUPPRESSED_SMALL, Estimate.Flag.SUPPRESSED_COMPLEMENTARY}


def given_away(rows: list[Estimate]) -> list[str]:
    tables: dict[tuple[str, ...], list[Estimate]] = {}
    for r in rows:
        tables.setdefault(tuple(sorted(r.dimensions)), []).append(r)
    out = []
    for parent in rows:
        dims = parent.dimensions
        for table, cells in tables.items():
            if len(table) != len(dims) + 1 or not set(dims) <= set(table):
                continue
            children = [c for c in cells if all(c.dimensions[k] == v for k, v in dims.items())]
            if sum(c.n for c in children) != parent.n:
                continue  # some answers map to no code: the difference is not one cell's
            hidden = [m for m in (parent, *children) if m.flag in SUPPRESSED]
            if len(hidden) == 1 and hidden[0].flag == Estimate.Flag.SUPPRESSED_SMALL:
                out.append(f"{parent.run.definition.code}: {hidden[0].dimensions} (n={hidden[0].n})")
    return out


def test_no_small_cell_is_given_away_by_a_parent_and_its_children():
    from voicescount.accounts.demo import create_demo_accounts
    from voicescount.demo.load import load_demo_study

    create_demo_accounts()
    load_demo_study(respondents=RESPONDENTS)
    study = Study.objects.get(slug="vn-cgd-2022")
    compute_study(study)
    exposed = []
    checked = 0
    for definition in study.indicator_definitions.all():
        run = latest_run(definition)
        rows = list(run.estimates.select_related("run__definition"))
        checked += sum(r.flag == Estimate.Flag.SUPPRESSED_SMALL for r in rows)
        exposed += given_away(rows)
    assert checked > 50  # the demo has small cells to protect
    assert exposed == []
