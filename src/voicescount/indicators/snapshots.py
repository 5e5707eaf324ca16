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
"""

from __future__ import annotations

import contextlib
import hashlib
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
from voicescount.indicators.answers import BLOCK, Block, answer_blocks
from voicescount.indicators.errors import DatasetError
from voicescount.indicators.models import AnalysisSnapshot
from voicescount.perf import paused_gc

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


def source_state(study: Study) -> dict[str, Any]:
    """What a snapshot of ``study`` made now would be made from, cheaply: the ids in analysis (their
    SHA-256, count and highest), the instruments and the personal fields. Answers are never edited, so
    the same state means the same data."""
    rows = Submission.objects.filter(study=study).in_analysis().order_by("id").values_list("id", flat=True)
    sql, params = rows.query.sql_with_params()
    digest = hashlib.sha256()
    count, highest = 0, 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(200_000):
            ids = np.fromiter((r[0] for r in batch), dtype=np.int64, count=len(batch))
            digest.update(ids.tobytes())
            count += len(ids)
            highest = int(ids[-1])
    return _state(study, digest.hexdigest(), count, highest)


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
    state = source_state(study)
    latest = study.snapshots.order_by("-created", "-pk").first()
    if latest is not None and latest.source_state == state:
        held = {c["name"] for c in latest.columns}
        if held >= set(wanted) and (snapshot_root() / latest.path).exists():
            return latest
        wanted = sorted(set(wanted) | (held - excluded - {ID_COLUMN}))
    return build_snapshot(study, wanted, user=user, block=block)


def study_directory(study: Study) -> Path:
    """The study's private snapshot directory (made 0700 if needed)."""
    root = snapshot_root()
    directory = root / study.slug
    for path in (root, directory):
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_DIR_MODE)
    return directory


def build_snapshot(study: Study, names: list[str], *, user=None, block: int = BLOCK) -> AnalysisSnapshot:
    """A new snapshot of ``study``'s submissions in analysis with the questions ``names``; the same bytes
    as an existing snapshot give that snapshot back."""
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
        content_hash, rows, ids_digest, highest, kinds_written = _write_widening(study, names, kinds, block)
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
    study: Study, names: list[str], kinds: dict[str, str | None], block: int
) -> tuple[str, int, str, int, dict[str, str]]:
    """``write_file`` over the study's answer blocks, started again with a column widened to ``json``
    whenever a later block's answers do not fit the type its first block gave it."""
    directory = study_directory(study)
    while True:
        try:
            return write_file(directory, answer_blocks(study, names, block), kinds)
        except typed.TypeMismatch as exc:
            kinds[exc.name] = "json"


def write_file(
    directory: Path, blocks: Iterator[Block], kinds: dict[str, str | None]
) -> tuple[str, int, str, int, dict[str, str]]:
    """Write ``blocks`` as one Parquet row group each to a temporary file in ``directory`` and rename it
    to ``<sha256>.parquet``. Returns the hash, the row count, the ids' SHA-256, the highest id and each
    column's type. A build that fails or is interrupted leaves no file under a snapshot's name (and one
    that is killed leaves a ``.building-<pid>-…`` file, removed by the next build)."""
    temp = directory / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}.parquet"
    kinds = dict(kinds)
    ids_digest = hashlib.sha256()
    rows, highest = 0, 0
    writer: pq.ParquetWriter | None = None
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as sink:
            for ids, answers in blocks:
                for name, values in answers.items():
                    if kinds[name] is None:
                        kinds[name] = typed.type_of(values)
                id_array = np.asarray(ids, dtype=np.int64)
                arrays = [pa.array(id_array)] + [
                    typed.to_arrow(name, values, kinds[name] or "json") for name, values in answers.items()
                ]
                if writer is None:
                    schema = pa.schema(
                        [typed.field(ID_COLUMN, "int64")]
                        + [typed.field(name, kinds[name] or "json") for name in answers]
                    )
                    writer = pq.ParquetWriter(sink, schema, compression="zstd", write_statistics=False)
                writer.write_table(pa.Table.from_arrays(arrays, schema=writer.schema))
                ids_digest.update(id_array.tobytes())
                rows += len(ids)
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
