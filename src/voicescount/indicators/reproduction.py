"""Reproduction packs: everything an NSO reviewer needs to recompute a published definition in R.

``build_pack(run)`` returns the bytes of a zip holding

* ``extract.csv`` — one row per submission in analysis of the run's analysis snapshot
  (``indicators.snapshots``), numbered 1… (``row``) instead of its submission id: the analysis
  variables as VoicesCount evaluated them (``vc_y``, and ``vc_x`` for a ratio: blank outside the
  universe or without an answer; ``vc_<CODE LIST>``: each dimension's code, blank where the answer maps
  to no code), then the questions they were evaluated from and the design variables, as the snapshot
  holds them. Only the columns the definition and the design read; never a personal field (a snapshot
  holds none, and the extract checks it again);
* ``published.csv`` — the run's estimates as stored (suppressed cells with their n and flag, no number);
* ``reproduce.R`` — the study's ``svydesign`` and the definition's estimators in R's ``survey``
  package (``indicators.reproduction_script``), compared with ``published.csv``;
* ``README.txt`` — in Vietnamese and English: contents, how to run, versions, confidentiality.

Before anything is written, the run's inputs are checked: the fingerprint of the definition, the design
and the analysis variables recomputed from the snapshot must be the run's (``compute.fingerprint``), so a
pack never pairs a run's figures with data or definitions that changed after it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable
from typing import Any, BinaryIO

import numpy as np

from voicescount import __version__
from voicescount.collection.models import Study
from voicescount.collection.sampling import design_of
from voicescount.indicators.compute import fingerprint, latest_run
from voicescount.indicators.dataset import MISSING, WG_ITEMS, Dataset, design_for
from voicescount.indicators.direction import direction_of
from voicescount.indicators.disclosure_rule import rule_for
from voicescount.indicators.errors import ComputeError, DatasetError
from voicescount.indicators.estimation import analysis_variables
from voicescount.indicators.expressions import ExpressionError, parse
from voicescount.indicators.models import EstimateRun, IndicatorDefinition
from voicescount.indicators.reproduction_script import readme_text, reproduce_script
from voicescount.indicators.snapshots import ID_COLUMN, excluded_fields, open_snapshot
from voicescount.publishing.selectors import last_published_run

ROW_COLUMN = "row"
PREFIX = "vc_"
"""Columns VoicesCount derived (``vc_y``, ``vc_x``, ``vc_SEX``…); no question may have such a name."""
R_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9._]*$")  # a syntactic R name (design variables in svydesign)
CODE_LIST_NAME = re.compile(r"^[A-Za-z0-9_]+$")
BLOCK = 20_000  # extract rows formatted and written at a time
PUBLISHED_NUMBERS = ("estimate", "se", "ci_low", "ci_high", "df", "deff", "n_eff", "weighted_n")


class ReproductionError(Exception):
    """A pack cannot be made for this run (no run, no snapshot, inputs changed since the run)."""


def pack_filename(run: EstimateRun) -> str:
    """The pack's file name: ``<study>-<definition>-run<id>-reproduction.zip``."""
    return f"{run.definition.study.slug}-{run.definition.code}-run{run.pk}-reproduction.zip"


def latest_pack_run(study: Study, code: str, *, drafts: bool = True) -> EstimateRun:
    """The run whose pack is made for the study's definition ``code``; ``ReproductionError`` when there
    is none.

    With ``drafts`` (members who may compute, and the command line): the latest run, a draft or not, so
    that a draft can be checked before it is published. Without (reviewers, who may reproduce but not
    compute): the published run — the one the public sees once the definition and study are public
    (``publishing.selectors.last_published_run``) — since that is the figure they are asked to check."""
    definition = study.indicator_definitions.filter(code=code).select_related("study", "indicator").first()
    if definition is None:
        known = ", ".join(study.indicator_definitions.values_list("code", flat=True)) or "none"
        raise ReproductionError(f"Study '{study.slug}' has no definition '{code}' (definitions: {known}).")
    run = latest_run(definition) if drafts else last_published_run(definition)
    if run is None and drafts:
        raise ReproductionError(f"Definition '{code}' of study '{study.slug}' has not been computed yet.")
    if run is None:
        raise ReproductionError(
            f"No run of definition '{code}' of study '{study.slug}' has been published yet."
        )
    return run


def questions_of(definition: IndicatorDefinition, derived: dict[str, str]) -> list[str]:
    """The questions the definition reads through its expressions and dimension sources, derived
    variables followed to the questions they read (``@`` built-ins to theirs), plus the design's."""
    names: set[str] = set(design_of(definition.study).variables)
    seen: set[str] = set()

    def follow(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name == "@wg_disability":
            names.update(WG_ITEMS.values())
        elif name in ("@province", "@province_2025"):
            names.add("province")
        elif name in derived:
            for inner in parse(derived[name]).names:
                follow(inner)
        elif not name.startswith("@"):
            names.add(name)

    texts = [definition.universe, definition.numerator, definition.value, definition.denominator]
    try:
        for text in texts:
            if text and text.strip():
                for name in parse(text).names:
                    follow(name)
    except ExpressionError as exc:
        raise ReproductionError(f"Definition '{definition.code}': {exc}") from None
    for spec in definition.dimensions:
        if spec.get("source"):
            follow(str(spec["source"]))
    return sorted(names)


def run_dataset(run: EstimateRun) -> Dataset:
    """The analysis data the run read: a ``Dataset`` over its snapshot (not the study's current one)."""
    if run.snapshot is None:
        raise ReproductionError(
            f"Run {run.pk} of '{run.definition.code}' was made before analysis snapshots; compute the "
            "definition again to make a run that can be reproduced."
        )
    study = run.definition.study
    try:
        source = open_snapshot(run.snapshot)
    except DatasetError as exc:  # the file is gone: restore it, or compute again
        raise ReproductionError(str(exc)) from None
    ids = source.read(columns=[ID_COLUMN]).column(0).to_numpy()
    derived = dict(study.derived_variables.values_list("name", "expression"))
    return Dataset(study=study, ids=ids.tolist(), derived=derived, snapshot=run.snapshot)


def analysis_columns(run: EstimateRun, data: Dataset) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """``y``, ``x`` (ratios) and the dimensions as the run estimated them, checked against its
    fingerprint: ``ReproductionError`` when the definition, the design, the derived variables or the
    disclosure rule changed since the run."""
    definition = run.definition
    try:
        y, x = analysis_variables(definition, data)
        dimensions = {d["code_list"]: data.dimension(d) for d in definition.dimensions}
        design = design_for(definition.study, data)
    except (ComputeError, DatasetError) as exc:
        raise ReproductionError(str(exc)) from None
    if x is not None:  # as the computation: a row enters a ratio only with both of its terms
        y = np.where(np.isnan(x), np.nan, y)
    rule = rule_for(definition.study).cell_size_rule
    if fingerprint(definition, rule, design, y, dimensions, data, x) != run.input_fingerprint:
        raise ReproductionError(
            f"The inputs of '{definition.code}' changed since run {run.pk} (its definition, the study's "
            "design or derived variables, the direction or the disclosure rule); compute it again and "
            "make the pack of the new run."
        )
    return y, x, dimensions


def cell(value: Any) -> str:
    """One CSV field: blank for missing, floats in full (shortest text that reads back the same)."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else repr(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_extract(target: BinaryIO, columns: dict[str, np.ndarray], n: int) -> None:
    """``extract.csv``: a ``row`` number and ``columns``, ``BLOCK`` rows at a time."""
    text = io.TextIOWrapper(target, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([ROW_COLUMN, *columns])
    arrays = list(columns.values())
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        writer.writerows([str(i + 1), *(cell(a[i]) for a in arrays)] for i in range(start, stop))
    text.flush()
    text.detach()


def published_rows(run: EstimateRun, dimension_names: Iterable[str]) -> tuple[list[str], list[list[str]]]:
    """``published.csv``: one row per stored estimate, its dimensions' codes (blank: all), n, the
    numbers (blank for a suppressed cell: never stored) and the flag."""
    names = list(dimension_names)
    header = ["key", *names, "n", *PUBLISHED_NUMBERS, "flag"]
    rows = []
    for e in run.estimates.order_by("key"):
        numbers = {f: getattr(e, f) for f in PUBLISHED_NUMBERS}
        if e.suppressed:
            numbers = dict.fromkeys(PUBLISHED_NUMBERS)
        rows.append(
            [
                e.key,
                *(e.dimensions.get(d, "") for d in names),
                str(e.n),
                *(cell(numbers[f]) for f in PUBLISHED_NUMBERS),
                e.flag or "published",
            ]
        )
    return header, rows


def write_pack(run: EstimateRun, target: BinaryIO) -> None:
    """Write the run's reproduction pack (a zip) to ``target`` (see the module docstring)."""
    definition = run.definition
    study = definition.study
    data = run_dataset(run)
    y, x, dimensions = analysis_columns(run, data)
    raw = questions_of(definition, data.derived)
    personal = sorted(set(raw) & excluded_fields(study))
    if personal:
        raise ReproductionError(
            f"question(s) {', '.join(personal)} of study '{study.slug}' are personal data: never in a pack"
        )
    clash = [q for q in raw if q.startswith(PREFIX) or q == ROW_COLUMN]
    if clash:
        raise ReproductionError(f"question(s) {', '.join(clash)} clash with the pack's own column names")
    # names that reach R code (formulas, backticks) must be plain names there
    unsafe = [v for v in design_of(study).variables if not R_NAME.match(v)]
    unsafe += [d for d in dimensions if not CODE_LIST_NAME.match(d)]
    if unsafe:
        raise ReproductionError(f"name(s) {', '.join(unsafe)} cannot be written into an R formula")
    held = {c["name"] for c in run.snapshot.columns}
    missing = [q for q in raw if q not in held]
    if missing:
        raise ReproductionError(
            f"the run's snapshot does not hold question(s) {', '.join(missing)}; compute again"
        )
    derived: dict[str, np.ndarray] = {f"{PREFIX}y": y}
    if x is not None:
        derived[f"{PREFIX}x"] = x
    for name, (labels, _distinct, _codes) in dimensions.items():
        derived[f"{PREFIX}{name}"] = np.where(labels == MISSING, None, labels)
    columns = {**derived, **data.columns(raw)}
    header, rows = published_rows(run, list(dimensions))
    sampling = design_of(study)
    settings = {
        "kind": definition.kind,
        "definition": definition,
        "run": run,
        "design": sampling,
        "dimensions": list(dimensions),
        "raw": raw,
        "numeric": [c for c in (f"{PREFIX}y", f"{PREFIX}x") if c in derived]
        + [v for v in (sampling.weight, sampling.fpc, sampling.fpc2) if v],
        "direction": direction_of(definition),
        "version": __version__,
        "rows": data.n,
    }

    def member(name: str) -> zipfile.ZipInfo:  # dated by the run, readable by its owner only
        info = zipfile.ZipInfo(name, date_time=run.started.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        with pack.open(member("extract.csv"), "w", force_zip64=True) as extract:
            write_extract(extract, columns, data.n)
        published = io.StringIO()
        csv.writer(published, lineterminator="\n").writerows([header, *rows])
        pack.writestr(member("published.csv"), published.getvalue())
        pack.writestr(member("reproduce.R"), reproduce_script(settings))
        pack.writestr(member("README.txt"), readme_text(settings))


def build_pack(run: EstimateRun) -> bytes:
    """The bytes of the run's reproduction pack (a zip; see :func:`write_pack`)."""
    buffer = io.BytesIO()
    write_pack(run, buffer)
    return buffer.getvalue()
