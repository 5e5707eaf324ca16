"""Typed columns of an analysis snapshot: stored answers to Arrow arrays, and back to a dataset's columns.

A column of the snapshot has one of four types, chosen from the answers themselves so that reading it
back gives exactly the values the stored JSON held (an integer stays an integer: ``str(25)`` codes a
dimension as ``"25"``, never ``"25.0"``):

* ``int64`` — every answer an integer (within 64 bits) or missing;
* ``float64`` — every answer a decimal number or missing;
* ``text`` — every answer a text or missing, dictionary-encoded (a code list's few codes once each);
* ``json`` — anything else (select_multiple lists, true/false, numbers mixed with text), each answer as
  its JSON text, dictionary-encoded.

Back in a dataset (:func:`dataset_column`), a column is the object array the expression evaluator has
always read, made from its distinct values (each value one Python object, shared by the rows that hold
it), with its factorisation and — for numbers — its numeric form handed to the evaluator at once
(``expressions.remember_factors`` / ``remember_numbers``): the first conversion of each column, which
had been most of the time of a large computation, is then the Arrow column's own encoding.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from voicescount.indicators.expressions import remember_factors, remember_numbers

TYPES = ("int64", "float64", "text", "json")
ARROW_TYPES = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "text": pa.dictionary(pa.int32(), pa.string()),
    "json": pa.dictionary(pa.int32(), pa.string()),
}
KIND_KEY = b"voicescount.type"


class TypeMismatch(ValueError):
    """A block's answers do not fit the type chosen for their column (the build widens it and restarts)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"answers to '{name}' do not fit the column's type")

    def __reduce__(self) -> tuple[object, ...]:  # raised in a build's worker process, sent to its parent
        return (type(self), (self.name,))


def type_of(values: list[Any]) -> str | None:
    """The narrowest type that holds ``values`` exactly; None when every answer is missing."""
    kinds = set(map(type, values)) - {type(None)}
    if not kinds:
        return None
    if kinds == {int}:
        return "int64"
    if kinds == {float}:
        return "float64"
    if kinds == {str}:
        return "text"
    return "json"


def _json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_texts(values: list[Any]) -> list[str | None]:
    """Each answer's JSON text, encoded once per distinct answer (the type is part of the key: 1, 1.0
    and true have different texts)."""
    texts: dict[Any, str | None] = {}
    out: list[str | None] = []
    for v in values:
        key = (v.__class__, tuple(v) if v.__class__ is list else v)
        try:
            text = texts[key]
        except KeyError:
            text = texts[key] = _json_text(v)
        except TypeError:  # unhashable (a nested structure)
            text = _json_text(v)
        out.append(text)
    return out


def to_arrow(name: str, values: list[Any], kind: str) -> pa.Array:
    """One block's answers as the Arrow array of the column's type; ``TypeMismatch`` when they do not fit."""
    if kind == "json":
        return pa.array(_json_texts(values), pa.string()).dictionary_encode()
    try:
        if kind == "text":  # Arrow refuses anything but a text (or None) itself
            return pa.array(values, pa.string()).dictionary_encode()
        # Arrow would take 1.0 as an integer and 1 or True as a decimal: the types are checked first
        if type_of(values) not in (None, kind):
            raise TypeMismatch(name)
        return pa.array(values, ARROW_TYPES[kind])
    except (OverflowError, pa.ArrowException):  # not a text; an integer beyond 64 bits
        raise TypeMismatch(name) from None


def field(name: str, kind: str) -> pa.Field:
    """The Parquet/Arrow field of a column, its type named in the field's metadata."""
    return pa.field(name, ARROW_TYPES[kind], metadata={KIND_KEY: kind.encode()})


def kind_of(arrow_field: pa.Field) -> str:
    """The column type a snapshot's field was written with."""
    return (arrow_field.metadata or {}).get(KIND_KEY, b"json").decode()


def _levels_and_codes(array: pa.Array) -> tuple[list[Any], np.ndarray]:
    """Distinct values (Arrow's dictionary order, a missing value last) and each row's index into them."""
    encoded = array if pa.types.is_dictionary(array.type) else pc.dictionary_encode(array)
    levels = encoded.dictionary.to_pylist()
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(levels))
        levels.append(None)
    # int32, as Arrow holds them: half the memory of intp, and numpy indexes with either
    codes = indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    used = np.bincount(codes, minlength=len(levels))
    if (used == 0).any():  # a level no row holds (never expected): drop it, the evaluator reads levels
        keep = np.flatnonzero(used)
        remap = np.full(len(levels), -1, dtype=np.int32)
        remap[keep] = np.arange(len(keep))
        levels, codes = [levels[i] for i in keep], remap[codes]
    return levels, codes


def _texts_list(value: Any) -> bool:
    """A select_multiple answer: a list of codes (distinct JSON texts are then distinct answers)."""
    return value.__class__ is list and all(v.__class__ is str for v in value)


def dataset_column(chunked: pa.ChunkedArray, kind: str) -> np.ndarray:
    """A snapshot column as a dataset column: an object array of the stored answers (None where missing)."""
    array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
    levels, codes = _levels_and_codes(array)
    if kind == "json":
        levels = [None if v is None else json.loads(v) for v in levels]
    distinct = np.empty(len(levels), dtype=object)
    for i, v in enumerate(levels):  # one by one: a list must stay one element
        distinct[i] = v
    column = distinct[codes]
    if kind == "json" and not all(v is None or _texts_list(v) for v in levels):
        return column  # mixed types: the evaluator factorises them itself, as it always has
    remember_factors(column, codes, levels)
    if kind in ("int64", "float64"):
        numbers = pc.fill_null(pc.cast(array, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        remember_numbers(column, numbers)
    return column
