"""Reading the answers of a study's submissions in analysis from the database, a block of rows at a time.

The database picks the answers out of each stored JSON document and aggregates a block of rows into one
JSON array (``json_extract`` + ``json_group_array`` on SQLite, ``jsonb_build_array`` + ``json_agg`` on
PostgreSQL), so Python decodes one text per block holding only the answers asked for, instead of every
document with its ~50 answers. Types are those of the stored JSON (a select_multiple stays a list).

The analysis snapshot (``indicators.snapshots``) is built from these blocks; a computation reads the
snapshot, and comes here only for a question the snapshot does not hold.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from voicescount.collection.models import Study, Submission
from voicescount.indicators.errors import DatasetError

#: Question names that can go into a JSON path unquoted-safe (XLSForm names are XML names).
PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
#: At most this many questions per query (PostgreSQL functions take at most 100 arguments).
MAX_PICKED = 90
#: Rows per block (one JSON text of about 30 MB for 25 questions).
BLOCK = 100_000

Block = tuple[list[int], dict[str, list[Any]]]


def _in_analysis(study: Study, after: int, upto: int | None):
    rows = Submission.objects.filter(study=study, id__gt=after).in_analysis().order_by("id")
    return rows.filter(id__lte=upto) if upto is not None else rows


def _decode(text: str) -> Any:
    """JSON text decoded by orjson (several times faster than ``json``), or by ``json`` when orjson cannot
    hold a value exactly (an integer beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _picked(study: Study, names: list[str], after: int, upto: int | None, limit: int) -> list[list[Any]]:
    """``[id, [answers…]]`` of the rows after ``after`` (up to ``upto``, or ``limit`` rows), by id."""
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        picks = ", ".join(['s."values" -> %s'] * len(names))
        select = f"SELECT json_agg(jsonb_build_array(s.id, jsonb_build_array({picks})) ORDER BY s.id)::text"
        params: list[Any] = list(names)
    else:
        paths = [f'$."{n}"' for n in names]
        # with two paths or more json_extract gives a JSON array; with one, the bare value
        picks = f"json_extract(s.{quote('values')}, {', '.join(['%s'] * len(paths))})"
        if len(paths) == 1:
            picks = f"json_array({picks})"
        select = f"SELECT json_group_array(json_array(s.id, {picks}))"
        params = paths
    rows = _in_analysis(study, after, upto).values("id", "values")
    if upto is None:
        rows = rows[:limit]
    inner, inner_params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{select} FROM ({inner}) s", [*params, *inner_params])
        text = cursor.fetchone()[0]
    picked = _decode(text) if text else []
    if any(picked[i][0] >= picked[i + 1][0] for i in range(len(picked) - 1)):
        picked.sort(key=lambda r: r[0])
    return picked


def _documents(study: Study, names: list[str], after: int, upto: int | None, limit: int) -> Block:
    """The slow path for unusual question names: each whole JSON document decoded."""
    rows = (
        _in_analysis(study, after, upto)
        .annotate(text=Cast("values", output_field=TextField()))
        .values_list("id", "text")
    )
    if upto is None:
        rows = rows[:limit]
    ids: list[int] = []
    out: dict[str, list[Any]] = {name: [] for name in names}
    for pk, text in rows.iterator(chunk_size=10_000):
        ids.append(pk)
        document = json.loads(text)
        for name in names:
            out[name].append(document.get(name))
    return ids, out


def answer_blocks(study: Study, names: list[str], block: int = BLOCK) -> Iterator[Block]:
    """The ids and answers to ``names`` of the study's submissions in analysis, ``block`` rows at a time,
    in id order. Raises ``DatasetError`` when the submissions change between the queries of one block."""
    names = list(dict.fromkeys(names))
    last = 0
    while True:
        ids, columns = answer_block(study, names, last, None, block)
        if not ids:
            return
        yield ids, columns
        if len(ids) < block:
            return
        last = ids[-1]


def answer_block(study: Study, names: list[str], after: int, upto: int | None, block: int = BLOCK) -> Block:
    """One block: the ids and answers to ``names`` of the submissions in analysis with an id above
    ``after`` — up to ``upto`` included, or the first ``block`` of them when ``upto`` is None."""
    names = list(dict.fromkeys(names))
    plain = [n for n in names if PLAIN_NAME.match(n)]
    odd = [n for n in names if not PLAIN_NAME.match(n)]
    chunks = [plain[i : i + MAX_PICKED] for i in range(0, len(plain), MAX_PICKED)]
    ids: list[int] | None = None
    columns: dict[str, list[Any]] = {}
    for chunk in chunks:
        picked = _picked(study, chunk, after, upto, block)
        chunk_ids = [r[0] for r in picked]
        if ids is None:
            ids = chunk_ids
            upto = ids[-1] if ids else after
        elif chunk_ids != ids:
            raise DatasetError("the study's submissions changed during the computation; run it again")
        values = list(zip(*(r[1] for r in picked), strict=True)) if picked else [() for _ in chunk]
        del picked  # the rows' lists go before the next chunk's are made
        columns.update({name: list(v) for name, v in zip(chunk, values, strict=True)})
        del values
    if odd or ids is None:
        odd_ids, odd_columns = _documents(study, odd, after, upto, block)
        if ids is not None and odd_ids != ids:
            raise DatasetError("the study's submissions changed during the computation; run it again")
        ids = odd_ids
        columns.update(odd_columns)
    return ids, {name: columns[name] for name in names}


def read_columns(study: Study, names: list[str]) -> tuple[list[int], dict[str, np.ndarray]]:
    """The ids of the submissions in analysis and their answers to ``names`` (object arrays)."""
    ids: list[int] = []
    parts: dict[str, list[Any]] = {name: [] for name in dict.fromkeys(names)}
    for block_ids, columns in answer_blocks(study, list(parts)):
        ids.extend(block_ids)
        for name, values in columns.items():
            parts[name].extend(values)
    out = {}
    for name, values in parts.items():
        col = np.empty(len(ids), dtype=object)
        col[:] = values
        out[name] = col
    return ids, out
