"""Converters, one per XLSForm question type: a raw answer in, its typed value out, or ``_Invalid``.

``_converter(question, today)`` picks the converter for a question once, when a form is compiled
(``collection/validation.py``); the record checker then calls it, a plain function of
``(raw, notes)``, for every answer. What each type accepts is listed in ``validation.py``'s
docstring. A converter raises ``_Invalid(code, message)`` to refuse an answer and appends
``(code, message)`` to ``notes`` for what it accepted but changed; messages never contain the
answer. ``_to_xpath`` gives a typed value as XPath sees it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from voicescount.collection import textnorm
from voicescount.collection.xpath import string

MAX_CODES_IN_MESSAGE = 20
_INTEGER = re.compile(r"\s*[+-]?\d+(?:\.0*)?\s*\Z")
_DECIMAL = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")
_COMMA_DECIMAL = re.compile(r"\s*[+-]?\d+,\d+\s*\Z")
_TIME = re.compile(r"\s*(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\s*\Z")
_TEXT_TYPES_AS_DATETIME = frozenset({"start", "end", "datetime"})


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


Converter = Callable[[Any, list[tuple[str, str]]], Any]
"""Turns a raw answer into its typed value (appending (code, message) notes) or raises ``_Invalid``."""


def _convert_integer(raw: Any, notes: list[tuple[str, str]]) -> int:
    if isinstance(raw, bool):
        raise _Invalid("not_integer", "expected a whole number, got true/false")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise _Invalid("not_integer", "expected a whole number, got a number with decimals")
    if isinstance(raw, str):
        if raw.isdigit() and raw.isascii():
            return int(raw)
        if _INTEGER.match(raw):
            return int(float(raw)) if "." in raw else int(raw)
    raise _Invalid("not_integer", "expected a whole number")


def _convert_decimal(raw: Any, notes: list[tuple[str, str]]) -> float:
    if isinstance(raw, bool):
        raise _Invalid("not_decimal", "expected a number, got true/false")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str) and _DECIMAL.match(raw):
        value = float(raw)
    elif isinstance(raw, str) and _COMMA_DECIMAL.match(raw):
        raise _Invalid("decimal_comma", "use '.' as the decimal separator (',' is ambiguous: 1,500)")
    else:
        raise _Invalid("not_decimal", "expected a number")
    if math.isnan(value) or math.isinf(value):
        raise _Invalid("not_decimal", "expected a finite number")
    return value


_NOT_A_DATE = ("not_a_date", "expected a date as YYYY-MM-DD (Excel date numbers are not accepted)")
_NOT_A_DATETIME = ("not_a_datetime", "expected an ISO 8601 date and time (YYYY-MM-DDTHH:MM:SS±HH:MM)")


def _parse_date(raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) == 10:
                return dt.date.fromisoformat(text)
            if len(text) > 10 and text[10] in "T ":
                return dt.datetime.fromisoformat(text).date()
        except ValueError:
            raise _Invalid(*_NOT_A_DATE) from None
    raise _Invalid(*_NOT_A_DATE)


def _parse_datetime(raw: Any) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time())
    if isinstance(raw, str):
        try:
            return dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise _Invalid(*_NOT_A_DATETIME) from None
    raise _Invalid(*_NOT_A_DATETIME)


def _convert_time(raw: Any, notes: list[tuple[str, str]]) -> str:
    if isinstance(raw, dt.time):
        return raw.isoformat()
    if isinstance(raw, str):
        m = _TIME.match(raw)
        if m and int(m[1]) < 24 and int(m[2]) < 60 and int(m[3] or 0) < 60:
            return raw.strip()
    raise _Invalid("not_a_time", "expected a time as HH:MM or HH:MM:SS")


def _convert_geopoint(raw: Any, notes: list[tuple[str, str]]) -> list[float]:
    parts = raw if isinstance(raw, list | tuple) else str(raw).split()
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise _Invalid("invalid_geopoint", "expected 'latitude longitude [altitude [accuracy]]'") from None
    if not 2 <= len(numbers) <= 4 or not (-90 <= numbers[0] <= 90 and -180 <= numbers[1] <= 180):
        raise _Invalid("invalid_geopoint", "expected 'latitude longitude [altitude [accuracy]]' in range")
    return numbers


def _convert_geoshape(raw: Any, notes: list[tuple[str, str]]) -> list[list[float]]:
    points = raw if isinstance(raw, list) else [p for p in str(raw).split(";") if p.strip()]
    return [_convert_geopoint(p, notes) for p in points]


def _convert_text(raw: Any, notes: list[tuple[str, str]]) -> Any:
    if isinstance(raw, str):
        text, findings = textnorm.normalise(raw)
        for finding in findings:
            if finding == textnorm.NORMALISED:
                notes.append((finding, textnorm.MESSAGES[finding]))
            else:
                raise _Invalid(finding, textnorm.MESSAGES[finding])
        return text
    if isinstance(raw, bool | int | float):
        return raw
    if isinstance(raw, dt.date | dt.time):
        return raw.isoformat()
    raise _Invalid("not_text", "expected text")


def _convert_acknowledge(raw: Any, notes: list[tuple[str, str]]) -> str:
    if raw is True or str(raw).strip().upper() in ("OK", "TRUE", "1", "YES"):
        return "OK"
    raise _Invalid("not_acknowledged", "expected 'OK'")


def _nfc_key(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def _choice_converter(question: dict[str, Any], multiple: bool) -> Converter:
    codes = [c["code"] for c in question.get("choices", [])]
    if not codes:  # external or dynamic lists: nothing to check against
        if multiple:
            return lambda raw, notes: raw if isinstance(raw, list) else str(raw).split()
        return _convert_text
    code_set = {unicodedata.normalize("NFC", c): c for c in codes}
    by_label: dict[str, str] = {}
    for choice in question["choices"]:
        for text in choice.get("labels", {}).values():
            by_label.setdefault(_nfc_key(text), choice["code"])
    shown = ", ".join(codes[:MAX_CODES_IN_MESSAGE]) + (" …" if len(codes) > MAX_CODES_IN_MESSAGE else "")
    unknown = _Invalid("unknown_choice", f"not one of the choices of list '{question['list_name']}': {shown}")

    def one(item: Any, notes: list[tuple[str, str]]) -> str:
        code = code_set.get(item) if type(item) is str else None
        if code is not None:
            return code
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        text = str(item).strip()
        if text in code_set:
            return code_set[text]
        nfc = unicodedata.normalize("NFC", text)
        if nfc in code_set:
            return code_set[nfc]
        code = by_label.get(nfc.casefold())
        if code is None:
            raise unknown
        notes.append(("label_mapped", "a choice label was given instead of its code and mapped to the code"))
        return code

    if not multiple:
        return one

    def many(raw: Any, notes: list[tuple[str, str]]) -> list[str]:
        if isinstance(raw, list | tuple):
            items = list(raw)
        else:
            text = str(raw).strip()
            whole = by_label.get(_nfc_key(text)) if text not in code_set else None
            items = [whole] if whole is not None else text.split()
            if whole is not None:
                notes.append(("label_mapped", "a choice label was given instead of its code and mapped"))
        out: list[str] = []
        for item in items:
            code = one(item, notes)
            if code not in out:
                out.append(code)
        return out

    return many


def _range_converter(question: dict[str, Any]) -> Converter:
    params = question.get("parameters") or {}
    try:
        start = float(params.get("start", 0))
        end = float(params.get("end", 10))
    except ValueError:
        return _convert_decimal
    low, high = min(start, end), max(start, end)

    def convert(raw: Any, notes: list[tuple[str, str]]) -> float:
        value = _convert_decimal(raw, notes)
        if not low <= value <= high:
            raise _Invalid("out_of_range", f"must be between {string(low)} and {string(high)}")
        return int(value) if value.is_integer() else value

    return convert


def _dated(parse: Callable[[Any], Any], today: dt.date, as_date: bool) -> Converter:
    def convert(raw: Any, notes: list[tuple[str, str]]) -> str:
        value = parse(raw)
        day = value if as_date else value.date()
        if day > today:
            raise _Invalid("future_date", f"the date is after today ({today.isoformat()})")
        return value.isoformat()

    return convert


def _converter(question: dict[str, Any], today: dt.date) -> Converter | None:
    kind = question["type"]
    if kind == "integer":
        return _convert_integer
    if kind == "decimal":
        return _convert_decimal
    if kind == "range":
        return _range_converter(question)
    if kind in ("select_one", "select_one_external", "select_one_from_file"):
        return _choice_converter(question, multiple=False)
    if kind in ("select_multiple", "select_multiple_from_file", "rank"):
        return _choice_converter(question, multiple=True)
    if kind in ("date", "today"):
        return _dated(_parse_date, today, as_date=True)
    if kind in _TEXT_TYPES_AS_DATETIME:
        return _dated(_parse_datetime, today, as_date=False)
    if kind == "time":
        return _convert_time
    if kind == "geopoint":
        return _convert_geopoint
    if kind in ("geotrace", "geoshape"):
        return _convert_geoshape
    if kind == "acknowledge":
        return _convert_acknowledge
    if kind == "note":
        return None
    return _convert_text


def _with_area_check(convert: Converter, area_codes: frozenset[str]) -> Converter:
    def checked(raw: Any, notes: list[tuple[str, str]]) -> Any:
        value = convert(raw, notes)
        if str(value).strip() not in area_codes:
            raise _Invalid("unknown_area", "not a known area code (current or former codes are accepted)")
        return value

    return checked


def _to_xpath(value: Any) -> Any:
    """A typed answer as XPath sees it: text, or a float for numbers (saves re-parsing the string)."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        return value
    if kind is int or kind is float:
        return float(value)
    if kind is bool:
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(_to_xpath(v) for v in value)
    return str(value)
