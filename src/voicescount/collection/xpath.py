"""A small, safe evaluator for the XPath used in XLSForm ``relevant``, ``constraint`` and ``calculation``.

Only the subset that questionnaires actually use is supported: ``.``, ``..``-relative and ``/data/…``
absolute paths, ``${name}`` references (pyxform syntax), numbers, strings, comparisons, ``and``/``or``,
arithmetic (``+ - * div mod``) and the functions in ``FUNCTIONS``. Expressions are tokenised and parsed
by hand (recursive descent) into a tree of closures, once per form; nothing is ever passed to
``eval``. Anything outside the subset (predicates, unions, ``pulldata``, ``indexed-repeat`` …) raises
``NotEvaluable`` at compile time so that validation can skip that rule and say so.

Semantics follow XPath 1.0 as ODK Collect (JavaRosa) applies them: every answer is a string; an
empty answer is ``""`` and ``number("")`` is NaN, so ``${age} > 5`` is false when age is blank;
``=`` between two strings compares text, ``<`` and friends compare numbers; a date string compared
with a number becomes days since 1970-01-01, as in JavaRosa, so ``. <= today()`` works.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Value = str | float | bool
Env = Mapping[str, Any]
"""Answers by full question path (``grp/q``), as XForm strings; ``"."`` is the question being checked;
``"@today"`` is today's date (``datetime.date``)."""
Compiled = Callable[[Env], Value]

EPOCH = dt.date(1970, 1, 1)
_NUMBER = re.compile(r"\s*-?(?:\d+(?:\.\d*)?|\.\d+)\s*\Z")
_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\s*\Z")


class NotEvaluable(Exception):
    """The expression uses XPath that this evaluator does not support; the reason says what."""


@dataclass(frozen=True)
class Expression:
    """A compiled expression: ``evaluate(env)`` gives its value, ``references`` the paths it reads."""

    source: str
    references: frozenset[str]
    _fn: Compiled

    def evaluate(self, env: Env) -> Value:
        return self._fn(env)

    def truth(self, env: Env) -> bool:
        return boolean(self._fn(env))


# --- conversions (XPath 1.0 section 4) -------------------------------------------------------------


def number(value: Value) -> float:
    """XPath ``number()``: ``""`` and non-numeric text are NaN; an ISO date is days since 1970-01-01."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is str:
        if value == "":
            return math.nan
    elif kind is bool:
        return 1.0 if value else 0.0
    elif isinstance(value, float | int):
        return float(value)
    if _NUMBER.match(value):  # type: ignore[arg-type]
        return float(value)
    m = _DATE.match(value)  # type: ignore[arg-type]
    if m:
        try:
            return float((dt.date(int(m[1]), int(m[2]), int(m[3])) - EPOCH).days)
        except ValueError:
            return math.nan
    return math.nan


def string(value: Value) -> str:
    """XPath ``string()``: integral numbers print without a decimal point, NaN as ``NaN``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return value


def boolean(value: Value) -> bool:
    """XPath ``boolean()``: non-empty strings and non-zero, non-NaN numbers are true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float | int):
        return not (value == 0 or math.isnan(value))
    return value != ""


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
}


def _compare(op: str, a: Value, b: Value) -> bool:
    if op in ("=", "!="):
        if isinstance(a, bool) or isinstance(b, bool):
            equal = boolean(a) == boolean(b)
        elif isinstance(a, float) or isinstance(b, float):
            equal = number(a) == number(b)
        else:
            equal = a == b
        return equal if op == "=" else not equal
    x, y = number(a), number(b)
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


# --- functions --------------------------------------------------------------------------------------


def _selected(env: Env, args: list[Compiled]) -> Value:
    return string(args[1](env)).strip() in string(args[0](env)).split()


def _count_selected(env: Env, args: list[Compiled]) -> Value:
    return float(len(string(args[0](env)).split()))


def _regex(env: Env, args: list[Compiled]) -> Value:
    try:
        return re.search(string(args[1](env)), string(args[0](env))) is not None
    except re.error as exc:
        raise NotEvaluable(f"invalid regular expression: {exc}") from None


def _int(env: Env, args: list[Compiled]) -> Value:
    x = number(args[0](env))
    return x if math.isnan(x) or math.isinf(x) else float(math.trunc(x))


def _if(env: Env, args: list[Compiled]) -> Value:
    return args[1](env) if boolean(args[0](env)) else args[2](env)


def _coalesce(env: Env, args: list[Compiled]) -> Value:
    first = args[0](env)
    return first if string(first) != "" else args[1](env)


def _today(env: Env, args: list[Compiled]) -> Value:
    today = env.get("@today") or dt.date.today()
    return today.isoformat()


def _date(env: Env, args: list[Compiled]) -> Value:
    value = args[0](env)
    if isinstance(value, str):
        m = _DATE.match(value)
        return f"{m[1]}-{m[2]}-{m[3]}" if m else ""
    days = number(value)
    if math.isnan(days) or math.isinf(days):
        return ""
    return (EPOCH + dt.timedelta(days=math.floor(days))).isoformat()


def _round(env: Env, args: list[Compiled]) -> Value:
    x = number(args[0](env))
    digits = int(number(args[1](env))) if len(args) > 1 else 0
    if math.isnan(x) or math.isinf(x):
        return x
    scale = 10.0**digits
    return math.floor(x * scale + 0.5) / scale


def _unary(fn: Callable[[float], float]) -> Callable[[Env, list[Compiled]], Value]:
    def apply(env: Env, args: list[Compiled]) -> Value:
        x = number(args[0](env))
        return x if math.isnan(x) or math.isinf(x) else float(fn(x))

    return apply


FUNCTIONS: dict[str, tuple[int, int, Callable[[Env, list[Compiled]], Value]]] = {
    # name: (min args, max args, implementation)
    "selected": (2, 2, _selected),
    "count-selected": (1, 1, _count_selected),
    "string-length": (1, 1, lambda env, a: float(len(string(a[0](env))))),
    "regex": (2, 2, _regex),
    "contains": (2, 2, lambda env, a: string(a[1](env)) in string(a[0](env))),
    "starts-with": (2, 2, lambda env, a: string(a[0](env)).startswith(string(a[1](env)))),
    "ends-with": (2, 2, lambda env, a: string(a[0](env)).endswith(string(a[1](env)))),
    "number": (1, 1, lambda env, a: number(a[0](env))),
    "int": (1, 1, _int),
    "string": (1, 1, lambda env, a: string(a[0](env))),
    "boolean": (1, 1, lambda env, a: boolean(a[0](env))),
    "not": (1, 1, lambda env, a: not boolean(a[0](env))),
    "true": (0, 0, lambda env, a: True),
    "false": (0, 0, lambda env, a: False),
    "concat": (1, 99, lambda env, a: "".join(string(f(env)) for f in a)),
    "today": (0, 0, _today),
    "date": (1, 1, _date),
    "if": (3, 3, _if),
    "coalesce": (2, 2, _coalesce),
    "round": (1, 2, _round),
    "floor": (1, 1, _unary(math.floor)),
    "ceiling": (1, 1, _unary(math.ceil)),
    "abs": (1, 1, _unary(abs)),
}


# --- tokenizer --------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<ref>\$\{\s*(?P<refname>[A-Za-z_][\w.\-]*)\s*\})
    | (?P<number>\d+(?:\.\d*)?|\.\d+)
    | (?P<string>"[^"]*"|'[^']*')
    | (?P<op>!=|<=|>=|\.\.|[=<>+\-*/(),.|\[\]@])
    | (?P<name>[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # ref, number, string, op, name, end
    text: str


def tokenize(expression: str) -> list[_Token]:
    """Split ``expression`` into tokens; raises ``NotEvaluable`` on characters outside the subset."""
    tokens: list[_Token] = []
    pos = 0
    text = expression.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise NotEvaluable(f"unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}")
        kind = m.lastgroup if m.lastgroup != "refname" else "ref"
        if m.group("ref"):
            tokens.append(_Token("ref", m.group("refname")))
        else:
            tokens.append(_Token(kind or "op", m.group(kind or "op")))
        pos = m.end()
    tokens.append(_Token("end", ""))
    return tokens


# --- parser: recursive descent producing closures -------------------------------------------------


class _Parser:
    def __init__(self, source: str, here: str, names: Mapping[str, str], root: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.here = here
        self.names = names
        self.root = root
        self.references: set[str] = set()

    # helpers
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind not in ("op", "name"):
            raise NotEvaluable(f"expected {text!r} but found {token.text or 'the end'!r}")

    def at_operator(self, *words: str) -> str | None:
        token = self.peek()
        if token.kind in ("op", "name") and token.text in words:
            return token.text
        return None

    # grammar
    def parse(self) -> Compiled:
        if self.peek().kind == "end":
            raise NotEvaluable("empty expression")
        fn = self.or_expr()
        if self.peek().kind != "end":
            raise NotEvaluable(f"unsupported syntax near {self.peek().text!r}")
        return fn

    def or_expr(self) -> Compiled:
        left = self.and_expr()
        while self.at_operator("or"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda env: boolean(a(env)) or boolean(b(env)))(left, right)
        return left

    def and_expr(self) -> Compiled:
        left = self.equality()
        while self.at_operator("and"):
            self.take()
            right = self.equality()
            left = (lambda a, b: lambda env: boolean(a(env)) and boolean(b(env)))(left, right)
        return left

    def equality(self) -> Compiled:
        left = self.relational()
        while op := self.at_operator("=", "!="):
            self.take()
            right = self.relational()
            left = (lambda o, a, b: lambda env: _compare(o, a(env), b(env)))(op, left, right)
        return left

    def relational(self) -> Compiled:
        left = self.additive()
        while op := self.at_operator("<", "<=", ">", ">="):
            self.take()
            right = self.additive()
            # Ordering always compares numbers (XPath 1.0 §3.4): no type dispatch at run time.
            left = (lambda f, a, b: lambda env: f(number(a(env)), number(b(env))))(_ORDER[op], left, right)
        return left

    def additive(self) -> Compiled:
        left = self.multiplicative()
        while op := self.at_operator("+", "-"):
            self.take()
            right = self.multiplicative()
            if op == "+":
                left = (lambda a, b: lambda env: number(a(env)) + number(b(env)))(left, right)
            else:
                left = (lambda a, b: lambda env: number(a(env)) - number(b(env)))(left, right)
        return left

    def multiplicative(self) -> Compiled:
        left = self.unary()
        while op := self.at_operator("*", "div", "mod"):
            self.take()
            right = self.unary()
            left = (lambda o, a, b: lambda env: _arith(o, number(a(env)), number(b(env))))(op, left, right)
        return left

    def unary(self) -> Compiled:
        if self.at_operator("-"):
            self.take()
            inner = self.unary()
            return lambda env: -number(inner(env))
        return self.primary()

    def primary(self) -> Compiled:
        token = self.peek()
        if token.kind == "number":
            self.take()
            constant = float(token.text)
            return lambda env: constant
        if token.kind == "string":
            self.take()
            text = token.text[1:-1]
            return lambda env: text
        if token.kind == "ref":
            self.take()
            if token.text not in self.names:
                raise NotEvaluable(f"${{{token.text}}} is not a question of this form")
            return self.reference(self.names[token.text])
        if token.kind == "op" and token.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        if token.kind == "name" and self.tokens[self.i + 1].text == "(":
            return self.function_call()
        if token.kind in ("op", "name") and token.text in (".", "..", "/") or token.kind == "name":
            return self.path()
        raise NotEvaluable(f"unsupported syntax near {token.text or 'the end'!r}")

    def function_call(self) -> Compiled:
        name = self.take().text
        self.expect("(")
        args: list[Compiled] = []
        if not self.at_operator(")"):
            args.append(self.or_expr())
            while self.at_operator(","):
                self.take()
                args.append(self.or_expr())
        self.expect(")")
        if name not in FUNCTIONS:
            raise NotEvaluable(f"function {name}() is not supported")
        low, high, impl = FUNCTIONS[name]
        if not low <= len(args) <= high:
            raise NotEvaluable(f"{name}() takes {low}–{high} arguments, got {len(args)}")
        return lambda env: impl(env, args)

    def path(self) -> Compiled:
        """``.``, ``..``, ``../a/b``, ``/root/a/b`` or ``a/b`` (relative to the question's group)."""
        steps: list[str] = []
        absolute = False
        if self.at_operator("/"):
            self.take()
            absolute = True
        while True:
            token = self.take()
            if token.kind == "op" and token.text in (".", ".."):
                steps.append(token.text)
            elif token.kind == "name":
                steps.append(token.text)
            else:
                raise NotEvaluable(f"unsupported path step {token.text or 'the end'!r}")
            if self.at_operator("["):
                raise NotEvaluable("predicates ([…]) are not supported")
            if not self.at_operator("/"):
                break
            self.take()
        if absolute:
            if not steps or steps[0] != self.root:
                raise NotEvaluable(f"absolute path does not start at /{self.root}")
            parts = [s for s in steps[1:]]
            if any(s in (".", "..") for s in parts):
                raise NotEvaluable("'.' and '..' inside an absolute path are not supported")
            return self.reference("/".join(parts))
        if steps == ["."]:
            return self.reference(".")
        # Relative to the context node (the question itself): '..' is its group.
        parts = self.here.split("/") if self.here else []
        for step in steps:
            if step == ".":
                continue
            if step == "..":
                if not parts:
                    raise NotEvaluable("'..' goes above the form's root")
                parts.pop()
            else:
                parts.append(step)
        return self.reference("/".join(parts))

    def reference(self, path: str) -> Compiled:
        self.references.add(path)
        return lambda env: env.get(path, "")


def _arith(op: str, x: float, y: float) -> float:
    if op == "*":
        return x * y
    if op == "div":
        if y == 0:
            return math.nan if x == 0 or math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1, y)
        return x / y
    if y == 0 or math.isnan(x) or math.isnan(y) or math.isinf(x):
        return math.nan
    return math.fmod(x, y)


def compile_expression(
    source: str, *, here: str = "", names: Mapping[str, str] | None = None, root: str = "data"
) -> Expression:
    """Compile ``source`` once; raises ``NotEvaluable`` when it uses XPath outside the subset.

    ``here`` is the full path of the question the expression belongs to (``.`` and ``..`` are resolved
    against it), ``names`` maps question names to full paths for ``${name}``, ``root`` is the instance
    root for absolute paths (``/data/…``).
    """
    parser = _Parser(source, here, names or {}, root)
    fn = parser.parse()
    return Expression(source, frozenset(parser.references), fn)
