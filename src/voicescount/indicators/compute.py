"""From a study's submissions to stored estimates: every disaggregation, disclosure flags, LNOB analytics.

``compute_study(study)`` computes every indicator definition of a study; ``compute_definition`` one of
them. For a definition it

1. reads the answers of the submissions that may enter analysis (consent given; withdrawn ones never),
2. evaluates the universe and the numerator/value with the safe expression language,
3. codes each disaggregation dimension to its code list (``codes`` map, age ``bins`` or a derived
   variable such as ``@wg_disability``),
4. estimates with the study's sampling design (``voicescount.stats``) for the total, every dimension and
   every intersection the definition asks for, with all their margins, in one call per intersection,
5. applies disclosure control (minimum cell size, the DHS precision convention, complementary
   suppression across the published margins), and
6. stores an ``EstimateRun`` with its provenance and the ``Estimate`` rows, plus the D-index and the
   furthest-behind / furthest-ahead groups.

A run is skipped when nothing it depends on changed (same submissions, same definition): the input
fingerprint is the hash of both.

This module runs those steps and stores the result; steps 1–3 are the ``Dataset``'s
(``indicators.dataset``), steps 4–5 and the LNOB analytics the estimation kernel's
(``indicators.estimation``), which large studies run in worker processes.
"""

from __future__ import annotations

import collections
import hashlib
import json
import multiprocessing
import os
import pickle
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from voicescount import __version__
from voicescount.collection.models import Study
from voicescount.collection.sampling import design_of
from voicescount.framework.labels import CodeLabels, code_labels
from voicescount.indicators.dataset import Dataset, design_for, load_dataset, questions_read
from voicescount.indicators.direction import direction_of
from voicescount.indicators.disclosure_rule import rule_for
from voicescount.indicators.errors import ComputeError, DatasetError
from voicescount.indicators.estimation import PatternCache, _intersections, _kernel, _outcome, _Prepared
from voicescount.indicators.models import Estimate, EstimateRun, IndicatorDefinition
from voicescount.stats.design import SurveyDesign
from voicescount.stats.disclosure import CellFlag, CellSizeRule

FLAGS = {
    CellFlag.OK: Estimate.Flag.NONE,
    CellFlag.CAUTION: Estimate.Flag.IMPRECISE,
    CellFlag.SUPPRESSED_SMALL_CELL: Estimate.Flag.SUPPRESSED_SMALL,
    CellFlag.SUPPRESSED_COMPLEMENTARY: Estimate.Flag.SUPPRESSED_COMPLEMENTARY,
}


Progress = Callable[[str, int, int], None]


def _code_names(code_lists: Iterable[str]) -> CodeLabels:
    """The labels of ``code_lists`` for the LNOB descriptions, read here because the kernel reads no
    database: the one lookup of the public pages (:mod:`voicescount.framework.labels`), so an age bin
    missing from the AGE list is worded as on the pages ("25 to 59 years old", "25–59 tuổi")."""
    return code_labels(code_lists)


def fingerprint(
    definition: IndicatorDefinition,
    rule: CellSizeRule,
    design: SurveyDesign,
    y: np.ndarray,
    dimensions: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    data: Dataset,
    x: np.ndarray | None = None,
) -> str:
    """Hash of everything one definition's estimates depend on, so that a change elsewhere in the study
    (a withdrawal or new submissions outside its universe) does not recompute it.

    That is: the definition (with its direction and interval method) and the rule; for the rows that
    enter the estimates (an answer in the universe) their ids, outcome, weight, stratum, PSU and dimension
    codes; and the design's shape (PSUs per stratum), which sets the degrees of freedom and the variance
    of every domain."""
    spec = {
        f: getattr(definition, f)
        for f in (
            "kind",
            "universe",
            "numerator",
            "value",
            "denominator",
            "dimensions",
            "intersections",
            "interval_method",
        )
    }
    spec["rule"] = [rule.suppress_below, rule.caution_below]
    spec["direction"] = direction_of(definition)  # decides who is furthest behind
    study = definition.study
    spec["design"] = design_of(study).as_dict()
    used = ~np.isnan(y)
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
    for part in (
        data.id_array[used],
        y[used],
        np.zeros(0) if x is None else x[used],
        design.weights[used],
        design.stratum[used],
        design.psu[used],
        design.n_psu_in_stratum,
        design.f1,
        *(
            ()
            if design.ssu is None
            else (design.ssu[used], design.n_ssu_in_psu, design.f2, design.stage2_factor)
        ),
    ):
        digest.update(np.ascontiguousarray(part).tobytes())
    for name in sorted(dimensions):
        _, distinct, codes = dimensions[name]
        digest.update("\x1f".join([name, *map(str, distinct)]).encode())
        digest.update(np.ascontiguousarray(codes[used]).tobytes())
    return digest.hexdigest()


def _prepare(
    definition: IndicatorDefinition, data: Dataset, rule: CellSizeRule, force: bool
) -> _Prepared | None:
    """Outcome, dimensions and fingerprint of ``definition``; ``None`` when its last run had the same
    inputs."""
    started = time.perf_counter()
    if data.n == 0:
        raise ComputeError(f"Study '{definition.study.slug}' has no submissions in analysis yet.")
    design = design_for(definition.study, data)
    try:
        y, x = _outcome(definition, data)
        specs = {d["code_list"]: d for d in definition.dimensions}
        dimensions = {name: data.dimension(spec) for name, spec in specs.items()}
    except DatasetError as exc:
        raise ComputeError(f"Definition '{definition.code}': {exc}") from None
    if x is not None:
        # a row enters a ratio only with both its numerator and its denominator (R's na.rm)
        y = np.where(np.isnan(x), np.nan, y)
    if np.isnan(y).all():
        raise ComputeError(
            f"Definition '{definition.code}': no respondent is in the universe with an answer."
        )
    _intersections(definition)  # refuses unknown dimensions before any work
    key = fingerprint(definition, rule, design, y, dimensions, data, x)
    latest = None if force else latest_run(definition)  # forced: the definition may be unsaved
    if latest is not None and latest.input_fingerprint == key:
        return None
    return _Prepared(definition, key, design, y, x, dimensions, started, direction_of(definition))


def _store(prep: _Prepared, rows: dict[str, dict], lnob: dict, data: Dataset, user) -> EstimateRun:
    definition = prep.definition
    with transaction.atomic():
        run = EstimateRun.objects.create(
            definition=definition,
            definition_version=definition.version,
            instrument_versions=sorted(
                {f"{i.form_id} {i.version}".strip() for i in definition.study.instruments.all()}
            ),
            input_fingerprint=prep.key,
            submissions=data.n,
            code_version=__version__,
            created_by=user,
            lnob=lnob,
            snapshot=data.snapshot,
        )
        _write_estimates([_estimate_row(run, key_, r) for key_, r in sorted(rows.items())])
        run.seconds = time.perf_counter() - prep.started
        run.save(update_fields=["seconds"])
    return run


def compute_definition(
    definition: IndicatorDefinition,
    *,
    data: Dataset | None = None,
    rule: CellSizeRule | None = None,
    force: bool = False,
    user=None,
    pattern_cache: PatternCache | None = None,
) -> EstimateRun | None:
    """Compute and store one definition; ``None`` when the latest run already used the same inputs."""
    rule = rule or rule_for(definition.study).cell_size_rule
    data = data or load_dataset(definition.study)
    prep = _prepare(definition, data, rule, force)
    if prep is None:
        return None
    rows, lnob = _kernel(
        prep, rule, pattern_cache, _code_names([d["code_list"] for d in definition.dimensions])
    )
    return _store(prep, rows, lnob, data, user)


def estimates_of(
    definition: IndicatorDefinition, *, data: Dataset | None = None, rule: CellSizeRule | None = None
) -> dict[str, dict[str, Any]]:
    """The estimates ``compute_definition`` would store for ``definition`` — saved or not — by key, as
    ``Estimate`` fields (suppressed cells without their numbers), stored nowhere: the preview of a
    definition being edited, computed by the same steps as a run."""
    rule = rule or rule_for(definition.study).cell_size_rule
    data = data or load_dataset(definition.study)
    prep = _prepare(definition, data, rule, force=True)
    assert prep is not None  # forced: never skipped
    rows, _ = _kernel(prep, rule, None, _code_names([d["code_list"] for d in definition.dimensions]))
    no_run = EstimateRun()  # the rows' values only: ``_estimate_row`` reads the run's id alone
    return {
        key: {
            **dict(zip(ESTIMATE_COLUMNS, _estimate_row(no_run, key, r), strict=True)),
            "dimensions": r["dimensions"],
        }
        for key, r in rows.items()
    }


def _finite(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


#: Columns of ``Estimate`` written by ``_write_estimates``, in order.
ESTIMATE_COLUMNS = (
    "run_id",
    "key",
    "dimensions",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "n",
    "weighted_n",
    "n_eff",
    "df",
    "flag",
)


def _estimate_row(run: EstimateRun, key: str, r: dict) -> tuple[Any, ...]:
    """One ``Estimate`` row in ``ESTIMATE_COLUMNS`` order (the JSON column as Django's field writes it)."""
    flag = FLAGS[CellFlag(r["flag"])]
    suppressed = flag in (Estimate.Flag.SUPPRESSED_SMALL, Estimate.Flag.SUPPRESSED_COMPLEMENTARY)
    # Suppressed cells keep n (needed to explain the suppression) but never the number itself.
    return (
        run.pk,
        key,
        json.dumps(r["dimensions"]),
        None if suppressed else _finite(r["estimate"]),
        None if suppressed else _finite(r["se"]),
        None if suppressed else _finite(r["ci_low"]),
        None if suppressed else _finite(r["ci_high"]),
        None if suppressed else _finite(r["deff"]),
        int(r["n"]),
        0.0 if suppressed else float(r["N"]),
        None if suppressed else _finite(r["n_eff"]),
        _finite(r["df"]),
        flag.value,
    )


def _write_estimates(rows: list[tuple[Any, ...]]) -> None:
    """Insert estimate rows in one statement: ``COPY`` on PostgreSQL, ``executemany`` on SQLite (the ORM's
    ``bulk_create`` spent more time preparing thousands of rows field by field than computing them)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(Estimate._meta.db_table)
    columns = ", ".join(quote(c) for c in ESTIMATE_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(ESTIMATE_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def compute_study(
    study: Study,
    *,
    progress: Progress | None = None,
    force: bool = False,
    user=None,
    on_error: Callable[[IndicatorDefinition, ComputeError], None] | None = None,
) -> dict[str, EstimateRun | None]:
    """Compute every definition of ``study``; returns code → run (None where nothing changed).

    A definition that cannot be computed raises :class:`ComputeError`, or — with ``on_error`` — is
    reported to it and left out of the result while the others are computed. On a large study
    (``VOICESCOUNT_PARALLEL_ROWS`` respondents or more, default 100,000) the definitions are estimated in
    worker processes, one per core (``VOICESCOUNT_COMPUTE_WORKERS``, default: the cores, at most 4)."""
    report = progress or (lambda *_: None)
    rule = rule_for(study).cell_size_rule
    definitions = list(study.indicator_definitions.select_related("study", "indicator").order_by("code"))
    data = load_dataset(study, questions_read(study, definitions))
    results: dict[str, EstimateRun | None] = {}
    patterns: PatternCache = {}

    def failed(definition: IndicatorDefinition, exc: ComputeError) -> None:
        if on_error is None:
            raise exc
        on_error(definition, exc)

    workers = _workers(data.n, len(definitions))
    if workers > 1:
        # each definition's kernel in a worker process forked as soon as it is prepared, while the
        # next ones are prepared here
        names = _code_names({d["code_list"] for definition in definitions for d in definition.dimensions})
        done = 0

        def prepared_definitions():
            nonlocal done
            for definition in definitions:
                try:
                    prep = _prepare(definition, data, rule, force)
                except ComputeError as exc:
                    failed(definition, exc)
                    done += 1
                    continue
                if prep is None:
                    results[definition.code] = None
                    done += 1
                else:
                    yield prep

        for prep, outcome in _pipelined_kernels(prepared_definitions(), rule, names, workers):
            if isinstance(outcome, ComputeError):
                failed(prep.definition, outcome)
            else:
                results[prep.definition.code] = _store(prep, *outcome, data, user)
            done += 1
            report(f"Indicators of {study.slug}", done, len(definitions))
        data.release_columns()
        return {d.code: results[d.code] for d in definitions if d.code in results}
    prepared: list[_Prepared] = []
    for definition in definitions:
        try:
            prep = _prepare(definition, data, rule, force)
        except ComputeError as exc:
            failed(definition, exc)
            continue
        if prep is None:
            results[definition.code] = None
        else:
            prepared.append(prep)
    data.release_columns()
    names = _code_names({d["code_list"] for p in prepared for d in p.definition.dimensions})
    done = len(definitions) - len(prepared)
    for prep in prepared:
        try:
            outcome = _kernel(prep, rule, patterns, names)
        except ComputeError as exc:
            failed(prep.definition, exc)
        else:
            results[prep.definition.code] = _store(prep, *outcome, data, user)
        done += 1
        report(f"Indicators of {study.slug}", done, len(definitions))
    return {d.code: results[d.code] for d in definitions if d.code in results}


def _workers(n_rows: int, n_definitions: int) -> int:
    """Worker processes for the kernels: one per core (``VOICESCOUNT_COMPUTE_WORKERS``, default the
    cores, at most 4) for a large study (``VOICESCOUNT_PARALLEL_ROWS`` respondents, default 100,000)
    where processes can fork; 1 (none) otherwise."""
    workers = min(
        getattr(settings, "VOICESCOUNT_COMPUTE_WORKERS", min(os.cpu_count() or 1, 4)), n_definitions
    )
    parallel = (
        workers > 1
        and n_rows >= getattr(settings, "VOICESCOUNT_PARALLEL_ROWS", 100_000)
        and "fork" in multiprocessing.get_all_start_methods()
    )
    return workers if parallel else 1


def _pipelined_kernels(prepared: Iterable[_Prepared], rule: CellSizeRule, names: CodeLabels, workers: int):
    """(prepared, (rows, lnob) or the ComputeError) for each of ``prepared``, in order, each kernel in
    a process forked once its definition is prepared (it sees the prepared arrays as they are in
    memory: nothing is copied or pickled but the result), at most ``workers`` at a time, so that the
    next definitions are prepared here meanwhile. The kernel reads no database."""
    context = multiprocessing.get_context("fork")
    running: collections.deque = collections.deque()

    def oldest():
        prep, process, receive = running.popleft()
        try:
            kind, value = pickle.loads(receive.recv_bytes())
        except EOFError:
            kind, value = "crash", f"exit code {process.exitcode}"
        finally:
            receive.close()
            process.join()
        if kind == "crash":
            raise RuntimeError(f"The estimation of '{prep.definition.code}' stopped: {value}")
        return prep, value

    try:
        for prep in prepared:
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_kernel_child, args=(send, prep, rule, names), daemon=True)
            process.start()
            send.close()
            running.append((prep, process, receive))
            if len(running) >= workers:
                yield oldest()
        while running:
            yield oldest()
    finally:
        for _prep, process, receive in running:
            receive.close()
            if process.is_alive():
                process.terminate()
            process.join()


def _kernel_child(send, prep: _Prepared, rule: CellSizeRule, names: CodeLabels) -> None:
    """One definition's kernel in a forked process; the result (or its ComputeError) to ``send``."""
    from voicescount.stats import disclosure

    disclosure.reset_solver()  # the parent's solver object is not this process's to use
    try:
        message = ("ok", _kernel(prep, rule, {}, names))
    except ComputeError as exc:
        message = ("ok", exc)
    except BaseException as exc:  # noqa: BLE001 -- every failure goes to the parent, which raises it
        message = ("crash", f"{type(exc).__name__}: {exc}")
    send.send_bytes(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
    send.close()


def latest_run(definition: IndicatorDefinition) -> EstimateRun | None:
    return definition.runs.order_by("-started", "-pk").first()
