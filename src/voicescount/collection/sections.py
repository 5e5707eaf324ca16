"""A form compiled for checking: sections of fields, each with its converter and memoised rules.

A section is the top level of the form or one repeat; it holds its fields by key (the path relative
to the repeat), the other keys accepted for them, its nested repeats, and a memo of the text answers
already checked. A field holds its converter (``collection/converters.py``) and its relevance,
required and constraint expressions (``collection/xpath.py``), each wrapped by ``_cached_truth`` so
that a verdict is computed once per combination of the answers it reads.
``collection/validation.py`` builds these and runs records through them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from voicescount.collection.converters import Converter
from voicescount.collection.xpath import Expression

MEMO_LIMIT = 4096
"""Answers (or rule inputs) remembered per question or rule; values repeat across records (codes, ages),
so most answers are converted and most rules evaluated once per import, not once per record."""
SECTION_MEMO_LIMIT = 32_768
"""Answers remembered per section (form or repeat) in all: a few MB whatever the number of records."""


Truth = Callable[[dict[str, Any]], bool]


def _cached_truth(expr: Expression, limit: int = MEMO_LIMIT) -> Truth:
    """``expr.truth`` remembering its verdict for each combination of the answers it reads.

    An expression's value depends only on the answers it references (``expr.references``, ``.``
    included) and on today's date, which is fixed for a validator. Errors are not remembered.
    """
    truth = expr.truth
    refs = tuple(sorted(expr.references))
    cache: dict[Any, bool] = {}
    if len(refs) == 1:
        (ref,) = refs

        def one(env: dict[str, Any]) -> bool:
            value = env.get(ref, "")
            verdict = cache.get(value)
            if verdict is None:
                verdict = truth(env)
                if len(cache) < limit:
                    cache[value] = verdict
            return verdict

        return one

    def many(env: dict[str, Any]) -> bool:
        values = tuple([env.get(r, "") for r in refs])
        verdict = cache.get(values)
        if verdict is None:
            verdict = truth(env)
            if len(cache) < limit:
                cache[values] = verdict
        return verdict

    return many


@dataclass
class _Field:
    path: str  # full path, the key for messages and XPath
    key: str  # key inside its section's values (relative to the repeat)
    convert: Converter | None
    required: bool | Expression | None  # None: an expression that cannot be evaluated
    constraint: Expression | None
    constraint_message: str
    relevance: list[Expression | None]  # own and enclosing groups'; None: not evaluable
    remember: bool = False  # text answers and their typed values may be remembered (see _Section.memo)
    remembered: int = 0
    relevant: Truth | None = None  # all evaluable relevance expressions, cached; None: always relevant
    required_truth: Truth | None = None
    constraint_truth: Truth | None = None
    constraint_on_answer: bool = False  # the constraint reads only the answer itself
    position: int = 0  # order of the rules, so that issues come in form order
    env_path: str | None = None  # set when an expression reads this answer

    def __post_init__(self) -> None:
        tests = [_cached_truth(e) for e in self.relevance if e is not None]
        if len(tests) == 1:
            self.relevant = tests[0]
        elif tests:
            self.relevant = lambda env: all(test(env) for test in tests)
        if isinstance(self.required, Expression):
            self.required_truth = _cached_truth(self.required)
        if self.constraint is not None:
            self.constraint_truth = _cached_truth(self.constraint)
            self.constraint_on_answer = self.constraint.references <= {"."}


class _Remembered(NamedTuple):
    key: str  # the field's key in the section
    value: Any  # typed value (a tuple stands for a list: copied for each record)
    check: bool  # the constraint must still be evaluated for this record
    env_path: str | None  # where XPath reads the answer, if it does
    xpath: Any  # the answer as XPath sees it


_SKIP = _Remembered("", None, False, None, None)  # an empty answer: nothing to check


@dataclass
class _Section:
    path: str  # "" for the top level, else the repeat's full path
    fields: dict[str, _Field] = field(default_factory=dict)  # by key
    aliases: dict[str, str] = field(default_factory=dict)  # other accepted keys → key
    repeats: dict[str, _Section] = field(default_factory=dict)  # by key
    env_keys: list[tuple[str, str]] = field(default_factory=list)  # (full path, key) read by XPath
    ruled: list[tuple[str, _Field]] = field(default_factory=list)  # fields with relevance/required/constraint
    constrained: list[tuple[str, _Field]] = field(default_factory=list)  # ruled fields with a constraint
    required: frozenset[str] = frozenset()  # keys of ruled fields that may be required
    env_defaults: dict[str, str] = field(default_factory=dict)  # every path read by XPath → ""
    memo: dict[tuple[str, str], _Remembered] = field(default_factory=dict)
    """(key as sent, text answer) → what checking it gave, for answers that convert without notes."""
    lookup: dict[str, tuple[str, Any]] = field(
        default_factory=dict
    )  # any accepted key → (key, field/section)

    def relative(self, path: str) -> str:
        return path[len(self.path) + 1 :] if self.path else path
