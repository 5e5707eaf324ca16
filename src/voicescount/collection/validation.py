"""Checking one submission against its instrument: types, choices, required, constraints, dates, areas.

``compile_validator(definition)`` does the work once per form — one converter per question
(``collection/converters.py``), every XPath expression parsed once (``collection/xpath.py``), both
held in the form's sections (``collection/sections.py``) — and returns a ``RecordValidator`` that
checks a record in a few microseconds per answer; ``validate`` is the one-off convenience.

What is checked, question by question:

* **types** — integer; decimal with ``.`` as the decimal separator only (``1,5`` is refused with a
  message saying so, because ``1,500`` is ambiguous between 1.5 and 1500); date as ISO
  ``YYYY-MM-DD`` (a date-time is cut to its date; Excel serial numbers are refused); datetime and
  time as ISO 8601; geopoint as "lat lon [alt [accuracy]]"; range within its start/end;
* **choices** — a select answer must be one of the list's codes; a label in any of the form's
  languages is accepted and mapped to its code (compared after NFC and case folding) with a note;
  an unknown code is an issue naming the question and the allowed codes;
* **required** — only when the question (and every group around it) is relevant, or when relevance
  cannot be evaluated; a required-if expression that cannot be evaluated is skipped;
* **constraints** — evaluated on non-empty answers, as ODK Collect does; expressions outside the
  supported XPath subset are skipped and reported once as a note;
* **future dates** — a date or date-time after ``today``;
* **areas** — answers of questions with the role ``dimension:AREA`` must be in ``area_codes``;
* **text** — NFC-normalised in the typed values; legacy Vietnamese encodings (TCVN3, VNI) and
  replacement characters are issues (``collection/textnorm.py``).

Repeats are lists of instances; each instance's answers are checked with paths relative to the
repeat, and issues name the instance (``member[2]/age``, counting from 1 as XPath does). An answer
under a name the form does not have is an issue (``unknown_field``, naming it): it could not be
stored, so the record is held back rather than accepted without it; an empty one is passed over.

Messages never contain an answer: they name the question, the rule and, for choices, the allowed
codes — so nothing personal can leak into reports, logs or quarantine reasons.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from voicescount.collection.converters import _converter, _Invalid, _to_xpath, _with_area_check
from voicescount.collection.sections import (
    _SKIP,
    MEMO_LIMIT,
    SECTION_MEMO_LIMIT,
    _Field,
    _Remembered,
    _Section,
)
from voicescount.collection.services import ENCRYPTED_ROLES, Issue
from voicescount.collection.xlsform import GROUP_TYPES, FormDefinition, suggest_roles
from voicescount.collection.xpath import Expression, NotEvaluable, compile_expression

_META_PREFIXES = ("meta/", "_", "__", "formhub/")
_SPACE = frozenset(" \t\r\n\f\v\u00a0\u2007\u202f\u3000")
_IGNORED: tuple[str, None] = ("", None)
_MAX_LOOKUP = 5000


@dataclass
class Validated:
    """One record's result: typed answers, blocking issues and non-blocking notes."""

    typed_values: dict[str, Any]
    issues: list[Issue]
    notes: list[Issue]


def _empty(raw: Any) -> bool:
    if raw is None:
        return True
    if type(raw) is str:
        return not raw or (raw[0].isspace() or raw[-1].isspace()) and not raw.strip()
    return raw == []


class RecordValidator:
    """A form compiled for checking records; call it with a record's answers (see module docstring).

    ``notes`` collects, over every record checked, what was noted but not blocking (labels mapped
    to codes, rules that could not be evaluated), each once with a count.
    """

    def __init__(
        self,
        definition: FormDefinition,
        *,
        roles: dict[str, str] | None = None,
        area_codes: Iterable[str] | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.today = today or dt.date.today()
        self.root = definition.get("root") or "data"
        self.roles = suggest_roles(definition) if roles is None else roles
        self.area_codes = frozenset(str(c) for c in area_codes) if area_codes is not None else None
        self.notes: dict[tuple[str, str], dict[str, Any]] = {}
        self.skipped: list[Issue] = []
        questions = [q for q in definition.get("questions", [])]
        self._by_path = {q["path"]: q for q in questions}
        self._names: dict[str, str] = {}
        for q in questions:
            self._names.setdefault(q["name"], q["path"])
        self._meta = frozenset(definition.get("meta", []))
        self.top = _Section("")
        sections = {"": self.top}
        for q in questions:  # questions come in document order: a repeat precedes its children
            parent = sections[q.get("repeat", "")]
            if q["type"] == "begin_repeat":
                section = _Section(q["path"])
                sections[q["path"]] = section
                parent.repeats[parent.relative(q["path"])] = section
                self._alias(parent, q, parent.relative(q["path"]))
                continue
            if q["type"] in GROUP_TYPES:
                continue
            self._add_field(parent, q)
        referenced: set[str] = set()
        for section in sections.values():
            for f in section.fields.values():
                for expr in [*f.relevance, f.constraint, f.required]:
                    if isinstance(expr, Expression):
                        referenced |= expr.references
        for section in sections.values():
            section.env_keys = [(f.path, key) for key, f in section.fields.items() if f.path in referenced]
            section.env_defaults = {path: "" for path, _ in section.env_keys}
            for path, key in section.env_keys:
                section.fields[key].env_path = path
            section.ruled = [(key, f) for key, f in section.fields.items() if f.required or f.constraint]
            for position, (_, f) in enumerate(section.ruled):
                f.position = position
            section.constrained = [(key, f) for key, f in section.ruled if f.constraint is not None]
            section.required = frozenset(
                key for key, f in section.ruled if f.required and f.convert is not None
            )
            targets: dict[str, Any] = {**section.fields, **section.repeats}
            section.lookup = {alias: (key, targets[key]) for alias, key in section.aliases.items() if key}
            section.lookup.update((key, (key, target)) for key, target in targets.items())

    # compilation helpers
    def _alias(self, section: _Section, question: dict[str, Any], key: str) -> None:
        for alias in (question["path"], question["name"]):
            if alias != key:
                if alias in section.aliases and section.aliases[alias] != key:
                    section.aliases[alias] = ""  # ambiguous short name: only the full path is accepted
                else:
                    section.aliases[alias] = key

    def _expression(self, source: str, question: dict[str, Any], what: str) -> Expression | None:
        try:
            expr = compile_expression(source, here=question["path"], names=self._names, root=self.root)
            for ref in expr.references - {"."}:
                owner = self._by_path.get(ref, {}).get("repeat", "")
                here = question.get("repeat", "")
                if owner and not (here == owner or here.startswith(owner + "/")):
                    raise NotEvaluable(f"it reads '{ref}' inside another repeat")
            return expr
        except NotEvaluable as exc:
            self.skipped.append(
                Issue(question["path"], f"{what}_not_evaluated", f"{what} '{source}' is not checked: {exc}")
            )
            return None

    def _relevance_chain(self, question: dict[str, Any]) -> list[Expression | None]:
        chain: list[Expression | None] = []
        node: dict[str, Any] | None = question
        while node is not None:
            if node.get("relevant"):
                chain.append(self._expression(node["relevant"], node, "relevant"))
            node = self._by_path.get(node.get("group", "")) if node.get("group") else None
        return chain

    def _add_field(self, section: _Section, q: dict[str, Any]) -> None:
        convert = _converter(q, self.today)
        is_area = self.roles.get(q["name"]) == "dimension:AREA"
        if convert is not None and self.area_codes is not None and is_area:
            convert = _with_area_check(convert, self.area_codes)
        required: bool | Expression | None = q.get("required", False)
        if isinstance(required, str):
            required = self._expression(required, q, "required")
        constraint = self._expression(q["constraint"], q, "constraint") if q.get("constraint") else None
        messages = q.get("constraint_message") or {}
        key = section.relative(q["path"])
        # Remember converted answers, except free text of personal questions and questionnaire codes
        # (names, phone numbers, codes: they do not repeat, and need not sit in memory) and nested lists
        # (traces, shapes).
        remember = (
            convert is not None
            and self.roles.get(q["name"]) not in ENCRYPTED_ROLES
            and q["type"] not in ("geotrace", "geoshape")
        )
        section.fields[key] = _Field(
            path=q["path"],
            key=key,
            convert=convert,
            required=required,
            constraint=constraint,
            constraint_message=next(iter(messages.values()), ""),
            relevance=self._relevance_chain(q),
            remember=remember,
        )
        self._alias(section, q, key)

    # checking
    def _note(self, field_path: str, code: str, message: str) -> None:
        entry = self.notes.get((field_path, code))
        if entry is None:
            self.notes[(field_path, code)] = {
                "field": field_path,
                "code": code,
                "message": message,
                "count": 1,
            }
        else:
            entry["count"] += 1

    def __call__(self, values: dict[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
        result = self.check(values)
        return result.typed_values, result.issues

    def check(self, values: dict[str, Any]) -> Validated:
        """Check one record's answers (keys: full question paths; repeats: lists of dicts)."""
        env: dict[str, Any] = {"@today": self.today}
        issues: list[Issue] = []
        notes: list[Issue] = []
        typed = self._check_section(self.top, values, "", env, issues, notes)
        return Validated(typed, issues, notes)

    def _check_section(
        self,
        section: _Section,
        values: dict[str, Any],
        prefix: str,
        env: dict[str, Any],
        issues: list[Issue],
        notes: list[Issue],
    ) -> dict[str, Any]:
        typed: dict[str, Any] = {}
        bad: set[str] = set()
        found: list[tuple[str, str]] = []
        repeats: list[tuple[_Section, str, Any]] = []
        to_check: list[str] = []  # answered fields whose constraint must be evaluated
        lookup = section.lookup
        memo = section.memo
        env.update(section.env_defaults)
        for item in values.items():
            try:
                seen = memo.get(item)  # type: ignore[arg-type]
            except TypeError:  # a list or an object: a repeat, or an answer that cannot be remembered
                seen = None
            if seen is not None:
                if seen is not _SKIP:
                    key, value, check, env_path, xpath = seen
                    typed[key] = list(value) if type(value) is tuple else value
                    if check:
                        to_check.append(key)
                    if env_path is not None:
                        env[env_path] = xpath
                continue
            raw_key, raw = item
            target = lookup.get(raw_key)
            if target is None:
                if raw_key in self._meta or raw_key.startswith(_META_PREFIXES):
                    if len(lookup) < _MAX_LOOKUP:  # remember metadata keys: Kobo sends a dozen per record
                        lookup[raw_key] = _IGNORED
                elif not _empty(raw):
                    message = (
                        f"'{raw_key}' is not a question of this form version, so its answer cannot be "
                        "stored: add the question to the form (a new version), or correct the column name."
                    )
                    issues.append(Issue(prefix + raw_key, "unknown_field", message))
                continue
            key, f = target
            if f is None:
                continue
            if type(f) is _Section:
                repeats.append((f, key, raw))
                continue
            if type(raw) is str:
                if not raw or (raw[0] in _SPACE or raw[-1] in _SPACE) and not raw.strip():
                    if len(memo) < SECTION_MEMO_LIMIT:
                        memo[item] = _SKIP  # type: ignore[index]
                    continue
            elif raw is None or _empty(raw):
                continue
            if f.convert is None:
                continue
            try:
                value = f.convert(raw, found)
            except _Invalid as exc:
                message = f"'{f.path}': {exc.message.rstrip('.')}."
                issues.append(Issue(prefix + key, exc.code, message))
                bad.add(key)
                continue
            typed[key] = value
            xpath = _to_xpath(value) if f.env_path is not None or f.constraint is not None else None
            if f.env_path is not None:
                env[f.env_path] = xpath
            if found:
                while found:
                    code, message = found.pop()
                    self._note(f.path, code, message)
                    notes.append(Issue(prefix + key, code, message))
                if f.constraint is not None:
                    to_check.append(key)
                continue
            check = f.constraint is not None
            if check and f.constraint_on_answer:
                try:  # a verdict that only depends on the answer is remembered with it
                    check = not f.constraint_truth({".": xpath, "@today": self.today})  # type: ignore[misc]
                except NotEvaluable:
                    check = True
            if check:
                to_check.append(key)
            if (
                f.remember
                and type(raw) is str
                and f.remembered < MEMO_LIMIT
                and len(memo) < SECTION_MEMO_LIMIT
            ):
                f.remembered += 1
                kept = tuple(value) if type(value) is list else value  # never share a mutable list
                memo[item] = _Remembered(key, kept, check, f.env_path, xpath)  # type: ignore[index]

        # The rules: a constraint on each answer, required on each missing answer, both only when
        # the question is relevant (relevance that cannot be evaluated counts as relevant).
        ruled: list[tuple[int, Issue]] = []
        fields = section.fields
        for key in dict.fromkeys(to_check) if len(to_check) > 1 else to_check:
            f = fields[key]
            if f.relevant is not None and not f.relevant(env):
                continue
            env["."] = _to_xpath(typed[key])
            try:
                ok = f.constraint_truth(env)  # type: ignore[misc]
            except NotEvaluable as exc:
                self._note(f.path, "constraint_not_evaluated", f"constraint not checked: {exc}")
                continue
            if not ok:
                because = f" ({f.constraint_message})" if f.constraint_message else ""
                source = f.constraint.source  # type: ignore[union-attr]
                message = f"'{f.path}' breaks the form's constraint '{source}'{because}."
                ruled.append((f.position, Issue(prefix + key, "constraint", message)))
        missing = section.required.difference(typed)
        for key in missing:
            if key in bad:
                continue
            f = fields[key]
            if f.relevant is not None and not f.relevant(env):
                continue
            if f.required_truth is not None:
                env["."] = ""
                if not f.required_truth(env):
                    continue
            message = f"'{f.path}' is required but not answered."
            ruled.append((f.position, Issue(prefix + key, "required", message)))
        if ruled:
            ruled.sort(key=lambda item: item[0])
            issues.extend(issue for _, issue in ruled)

        for sub, key, raw in repeats:
            instances = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
            if instances is None:
                issues.append(Issue(prefix + key, "not_a_repeat", f"'{sub.path}' must be a list of entries."))
                continue
            out = []
            for i, instance in enumerate(instances, start=1):
                where = f"{prefix}{key}[{i}]"
                if not isinstance(instance, dict):
                    message = f"'{sub.path}' entry {i} is not a set of answers."
                    issues.append(Issue(where, "not_a_repeat", message))
                    continue
                out.append(self._check_section(sub, instance, where + "/", dict(env), issues, notes))
            typed[key] = out
        return typed


def compile_validator(
    definition: FormDefinition,
    *,
    roles: dict[str, str] | None = None,
    area_codes: Iterable[str] | None = None,
    today: dt.date | None = None,
) -> RecordValidator:
    """Compile ``definition`` once for checking many records (the import hot path).

    ``roles`` (question name → role) default to ``suggest_roles(definition)``; ``area_codes``, when
    given, are the valid codes for ``dimension:AREA`` questions; ``today`` bounds dates (default: the
    current date). ``validator.skipped`` lists rules that cannot be evaluated, once.
    """
    return RecordValidator(definition, roles=roles, area_codes=area_codes, today=today)


def validate(
    definition: FormDefinition,
    values: dict[str, Any],
    *,
    area_codes: Iterable[str] | None = None,
    today: dt.date | None = None,
    roles: dict[str, str] | None = None,
) -> tuple[dict[str, Any], list[Issue]]:
    """Check one record: ``(typed_values, issues)``. Compiles the form each call; for many records
    use ``compile_validator``."""
    return compile_validator(definition, roles=roles, area_codes=area_codes, today=today)(values)
