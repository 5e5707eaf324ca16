"""Analysis snapshots: the immutable, versioned data every computation of a study reads.

A snapshot holds, for the submissions in analysis (consent given) at the time it was made, their ids
(column ``@submission_id``) and their typed answers to the questions the study's analysis reads — its
definitions, derived variables and sampling design — in one Parquet file, never a personal field nor
the questionnaire code (``collection.services.personal_fields``). The file is named by the SHA-256 of its
bytes, ``<VOICESCOUNT_SNAPSHOT_DIR>/<study slug>/<sha256>.parquet`` (directories 0700, files 0600), written
to a temporary file in the same directory and renamed into place, and never rewritten.

:func:`snapshot_for` returns the study's current snapshot when its *source state* — the hash of the ids
in analysis, their count and highest id, the study's instruments and personal fields — is unchanged and it
holds the columns asked for; otherwise it builds a new one, reading the submissions a block at a time
(memory stays bounded: a block's JSON, then compact Arrow columns). A withdrawal or an import changes the
ids, so it makes a new snapshot; the old file stays as it was, for the runs that read it.

A large study's blocks (``VOICESCOUNT_PARALLEL_ROWS`` submissions or more) are read and typed in forked
worker processes (``VOICESCOUNT_COMPUTE_WORKERS``), each with its own database connection, while this
process writes them in order: the same blocks, typed the same way, so the same bytes.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import multiprocessing
import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection, transaction

from voicescount.collection.models import Study, Submission
from voicescount.collection.services import personal_fields
from voicescount.config import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE
from voicescount.indicators import columns as typed
from voicescount.indicators.answers import BLOCK, Block, answer_block, answer_blocks
from voicescount.indicators.errors import DatasetError
from voicescount.indicators.models import AnalysisSnapshot
from voicescount.perf import AheadInChild, paused_gc

ID_COLUMN = "@submission_id"
"""The submission id of each row ("@": made by VoicesCount, never a question's name)."""
TEMP_PREFIX = ".building-"


class SnapshotError(DatasetError):
    """A snapshot cannot be made or read (a personal field asked for, a file missing or altered)."""


def snapshot_root() -> Path:
    """The directory of every study's snapshots (``VOICESCOUNT_SNAPSHOT_DIR``)."""
    return Path(settings.VOICESCOUNT_SNAPSHOT_DIR)


def excluded_fields(study: Study) -> frozenset[str]:
    """Questions no snapshot may hold: every instrument's personal fields and questionnaire code."""
    names: set[str] = set()
    for instrument in study.instruments.all():
        names |= personal_fields(instrument)
    return frozenset(names)


def analysis_ids(study: Study) -> np.ndarray:
    """The ids of the study's submissions in analysis, in order (int64)."""
    rows = Submission.objects.filter(study=study).in_analysis().order_by("id").values_list("id", flat=True)
    sql, params = rows.query.sql_with_params()
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(200_000):
            parts.append(np.fromiter((r[0] for r in batch), dtype=np.int64, count=len(batch)))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def source_state(study: Study, ids: np.ndarray | None = None) -> dict[str, Any]:
    """What a snapshot of ``study`` made now would be made from, cheaply: the ids in analysis (their
    SHA-256, count and highest; ``ids`` when already read), the instruments and the personal fields.
    Answers are never edited, so the same state means the same data."""
    ids = analysis_ids(study) if ids is None else ids
    digest = hashlib.sha256(ids.tobytes())
    return _state(study, digest.hexdigest(), len(ids), int(ids[-1]) if len(ids) else 0)


def _state(study: Study, ids_sha256: str, count: int, highest: int) -> dict[str, Any]:
    return {
        "ids_sha256": ids_sha256,
        "count": count,
        "max_id": highest,
        "instruments": sorted(study.instruments.values_list("pk", flat=True)),
        "excluded": sorted(excluded_fields(study)),
    }


def snapshot_for(study: Study, names: Iterable[str], *, user=None, block: int = BLOCK) -> AnalysisSnapshot:
    """The study's snapshot holding at least the questions ``names`` for the submissions in analysis now:
    the latest one if nothing changed since it was made, else a new one (see the module docstring)."""
    excluded = excluded_fields(study)
    wanted = sorted(set(names) - excluded)
    ids = analysis_ids(study)
    state = source_state(study, ids)
    latest = study.snapshots.order_by("-created", "-pk").first()
    if latest is not None and latest.source_state == state:
        held = {c["name"] for c in latest.columns}
        if held >= set(wanted) and (snapshot_root() / latest.path).exists():
            return latest
        wanted = sorted(set(wanted) | (held - excluded - {ID_COLUMN}))
    return build_snapshot(study, wanted, user=user, block=block, ids=ids)


def study_directory(study: Study) -> Path:
    """The study's private snapshot directory (made 0700 if needed)."""
    root = snapshot_root()
    directory = root / study.slug
    for path in (root, directory):
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_DIR_MODE)
    return directory


def build_snapshot(
    study: Study, names: list[str], *, user=None, block: int = BLOCK, ids: np.ndarray | None = None
) -> AnalysisSnapshot:
    """A new snapshot of ``study``'s submissions in analysis with the questions ``names``; the same bytes
    as an existing snapshot give that snapshot back. ``ids``: the ids in analysis, when already read."""
    excluded = excluded_fields(study)
    names = sorted(set(names))  # one column order: the same answers always give the same bytes
    asked = sorted(set(names) & excluded)
    if asked:
        raise SnapshotError(
            f"question(s) {', '.join(asked)} of study '{study.slug}' are personal data (or the "
            "questionnaire code): they are never part of an analysis snapshot"
        )
    directory = study_directory(study)
    remove_abandoned(directory)
    kinds: dict[str, str | None] = dict.fromkeys(names)
    with paused_gc():  # millions of answers decoded, none of them garbage: no cyclic collection
        content_hash, rows, ids_digest, highest, kinds_written = _write_widening(
            study, names, kinds, block, ids
        )
    columns = [{"name": ID_COLUMN, "type": "int64"}] + [{"name": n, "type": kinds_written[n]} for n in names]
    assert not {c["name"] for c in columns} & excluded, "a personal field reached a snapshot"
    state = _state(study, ids_digest, rows, highest)
    with transaction.atomic():
        snapshot, _ = AnalysisSnapshot.objects.get_or_create(
            study=study,
            content_hash=content_hash,
            defaults={
                "rows": rows,
                "columns": columns,
                "path": f"{study.slug}/{content_hash}.parquet",
                "source_state": state,
                "created_by": user,
            },
        )
        if snapshot.source_state != state:  # same bytes, another study state (instruments, roles)
            snapshot.source_state = state
            snapshot.save(update_fields=["source_state"])
    return snapshot


def _write_widening(
    study: Study, names: list[str], kinds: dict[str, str | None], block: int, ids: np.ndarray | None
) -> tuple[str, int, str, int, dict[str, str]]:
    """``write_file`` over the study's answer blocks, started again with a column widened to ``json``
    whenever a later block's answers do not fit the type its first block gave it. A large study's
    blocks are read and typed in worker processes (``_blocks_in_workers``)."""
    directory = study_directory(study)
    workers = _build_workers(ids, block)
    while True:
        try:
            if workers == 1:
                return write_file(directory, answer_blocks(study, names, block), kinds)
            assert ids is not None
            local = dict(kinds)
            return _write_arrays(
                directory, _blocks_in_workers(study, names, local, block, ids, workers), local
            )
        except typed.TypeMismatch as exc:
            kinds[exc.name] = "json"


def _build_workers(ids: np.ndarray | None, block: int) -> int:
    """How many worker processes read a build's blocks: one per core (at most 4, as the estimation's)
    for a large study; none (1) for a small one, inside a transaction (a new connection would not see
    its rows), on an in-memory database, or where processes cannot fork."""
    if ids is None or len(ids) <= block or len(ids) < getattr(settings, "VOICESCOUNT_PARALLEL_ROWS", 100_000):
        return 1
    if connection.in_atomic_block or connection.vendor == "sqlite" and connection.is_in_memory_db():
        return 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, int(getattr(settings, "VOICESCOUNT_COMPUTE_WORKERS", min(os.cpu_count() or 1, 4))))


def _block_bounds(ids: np.ndarray, block: int) -> list[tuple[int, int, int]]:
    """``(after, upto, start)`` of each block of ``block`` ids: the ids above ``after`` up to ``upto``,
    from position ``start`` — the blocks ``answer_blocks`` reads one after the other."""
    return [
        (int(ids[start - 1]) if start else 0, int(ids[min(start + block, len(ids)) - 1]), start)
        for start in range(0, len(ids), block)
    ]


def _typed(block: Block, kinds: dict[str, str | None]) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """One block's ids and answers as Arrow arrays of the columns' types (``TypeMismatch``)."""
    ids, answers = block
    arrays = {name: typed.to_arrow(name, values, kinds[name] or "json") for name, values in answers.items()}
    return np.asarray(ids, dtype=np.int64), arrays


def _blocks_in_workers(
    study: Study, names: list[str], kinds: dict[str, str | None], block: int, ids: np.ndarray, workers: int
) -> Iterator[tuple[np.ndarray, dict[str, pa.Array]]]:
    """The typed blocks of the build, in order: the first read here (it sets the columns' types), the
    others read and typed by ``workers`` forked processes. Each block must hold the ids ``ids`` says
    it holds (else the submissions changed since: ``DatasetError``)."""
    bounds = _block_bounds(ids, block)
    after, upto, start = bounds[0]
    first = answer_block(study, names, after, upto, block)
    _set_kinds(first[1], kinds)
    got, arrays = _typed(first, kinds)
    del first
    _check_block(got, ids, start, block)
    yield got, arrays
    work = functools.partial(_read_and_type, study, names, dict(kinds), block)
    with AheadInChild(bounds[1:], work, _close_own_connection, children=workers) as ahead:
        for (_after, _upto, start), (got, arrays) in zip(bounds[1:], ahead, strict=True):
            _check_block(got, ids, start, block)
            yield got, arrays


def _check_block(got: np.ndarray, ids: np.ndarray, start: int, block: int) -> None:
    if not np.array_equal(got, ids[start : start + block]):
        raise DatasetError("the study's submissions changed during the computation; run it again")


_INHERITED: list[Any] = []


def _read_and_type(
    study: Study, names: list[str], kinds: dict[str, str | None], block: int, bound: tuple[int, int, int]
) -> tuple[np.ndarray, dict[str, pa.Array]]:
    """In a worker process: one block read (on a connection of its own) and typed."""
    if connection.connection is not None and not _INHERITED:
        # the parent's connection: never used nor closed here (closing it could end the parent's
        # session); kept referenced so that it is not closed when collected, and a new one is opened
        _INHERITED.append(connection.connection)
        connection.connection = None
    after, upto, _start = bound
    return _typed(answer_block(study, names, after, upto, block), kinds)


def _close_own_connection() -> None:
    """In a worker process, after its last block: close the connection it opened (never the parent's,
    which a worker that read no block still holds)."""
    if _INHERITED:
        connection.close()


def _set_kinds(answers: dict[str, list[Any]], kinds: dict[str, str | None]) -> None:
    """The columns' types from the first block's answers; ``json`` for a column it never answers (a
    later block may hold anything)."""
    for name, values in answers.items():
        if kinds[name] is None:
            kinds[name] = typed.type_of(values) or "json"


def write_file(
    directory: Path, blocks: Iterator[Block], kinds: dict[str, str | None]
) -> tuple[str, int, str, int, dict[str, str]]:
    """Write ``blocks`` as one Parquet row group each to a temporary file in ``directory`` and rename it
    to ``<sha256>.parquet``. Returns the hash, the row count, the ids' SHA-256, the highest id and each
    column's type. A build that fails or is interrupted leaves no file under a snapshot's name (and one
    that is killed leaves a ``.building-<pid>-…`` file, removed by the next build)."""
    kinds = dict(kinds)

    def typed_blocks() -> Iterator[tuple[np.ndarray, dict[str, pa.Array]]]:
        for number, block in enumerate(blocks):
            if number == 0:
                _set_kinds(block[1], kinds)
            yield _typed(block, kinds)

    return _write_arrays(directory, typed_blocks(), kinds)


def _write_arrays(
    directory: Path, blocks: Iterator[tuple[np.ndarray, dict[str, pa.Array]]], kinds: dict[str, str | None]
) -> tuple[str, int, str, int, dict[str, str]]:
    """``write_file``'s writing: typed blocks (ids, column → Arrow array) to the snapshot's file, the
    columns typed ``kinds`` (set by the time the first block comes: ``_set_kinds``)."""
    temp = directory / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}.parquet"
    ids_digest = hashlib.sha256()
    rows, highest = 0, 0
    writer: pq.ParquetWriter | None = None
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as sink:
            for id_array, arrays in blocks:
                if writer is None:
                    schema = pa.schema(
                        [typed.field(ID_COLUMN, "int64")]
                        + [typed.field(name, kinds[name] or "json") for name in arrays]
                    )
                    writer = pq.ParquetWriter(sink, schema, compression="zstd", write_statistics=False)
                columns = [pa.array(id_array), *arrays.values()]
                writer.write_table(pa.Table.from_arrays(columns, schema=writer.schema))
                ids_digest.update(id_array.tobytes())
                rows += len(id_array)
                highest = int(id_array[-1])
            if writer is None:  # no submission in analysis: an empty snapshot, every column typed json
                schema = pa.schema(
                    [typed.field(ID_COLUMN, "int64")] + [typed.field(n, kinds[n] or "json") for n in kinds]
                )
                writer = pq.ParquetWriter(sink, schema, compression="zstd", write_statistics=False)
            writer.close()
            writer = None
            sink.flush()
            os.fsync(sink.fileno())
        content_hash = file_sha256(temp)
        final = directory / f"{content_hash}.parquet"
        if final.exists() and file_sha256(final) == content_hash:
            temp.unlink()
        else:
            os.replace(temp, final)
    except BaseException:
        if writer is not None:  # close it before its file goes, or its finaliser writes to a closed file
            with contextlib.suppress(Exception):
                writer.close()
        temp.unlink(missing_ok=True)
        raise
    return content_hash, rows, ids_digest.hexdigest(), highest, {n: k or "json" for n, k in kinds.items()}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (what ``sha256sum`` prints)."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def remove_abandoned(directory: Path) -> None:
    """Remove the temporary files of builds whose process is gone (killed mid-build)."""
    for temp in directory.glob(f"{TEMP_PREFIX}*.parquet"):
        try:
            pid = int(temp.name[len(TEMP_PREFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            temp.unlink(missing_ok=True)
        except (ValueError, PermissionError):
            continue


def open_snapshot(snapshot: AnalysisSnapshot) -> pq.ParquetFile:
    """The snapshot's file, opened for reading; ``SnapshotError`` when it is missing."""
    path = snapshot_root() / snapshot.path
    if not path.exists():
        raise SnapshotError(
            f"the analysis snapshot {snapshot.content_hash[:12]} of study '{snapshot.study.slug}' is "
            f"missing ({path}); restore it from a backup, or compute again to make a new one"
        )
    return pq.ParquetFile(path)
