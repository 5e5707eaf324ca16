"""Column headers of a CSV/XLSX/XLS export read back to the form's questions, and one row to its answers.

KoboToolbox, Ona and ODK write the same submissions under many headers. ``FormColumns`` knows the
form (question paths, types, labels in every language, choices, repeats) and ``plan`` says what each
header holds:

* an answer, under the question's path written with ``/``, ``-`` or ``.`` between groups, or the bare
  name when only one question has it, or the question's label in any of the form's languages (Kobo's
  "labels" export; with "hierarchy in labels" the group labels in front, joined by ``/``);
* one choice of a select_multiple split into its own column: ``q/choice`` (Kobo), ``q-choice`` or
  ``q/choice`` (ODK), ``q.choice``, or the labels ``Question label/Choice label``;
* an answer inside a repeat written as wide columns, ``children[1]/name``, ``children[2]/name``
  (Ona; nested repeats carry one index per level, ``hh[1]/member[2]/age``), or — Ona's export
  "without group names" — the bare name once per instance (``numbered``);
* submission metadata (Kobo's ``_uuid``…, ``meta/instanceID`` and Ona's bare ``instanceID``).

A header the form does not explain is kept under its own name: validation then holds the record back
naming the column when it has an answer (never left out silently). ``Row`` puts a row's cells
together: split choices become the select_multiple's answer (checked against a summary column when
the file has both), wide columns become the repeat's instances, Ona's ``n/a`` is an empty answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from voicescount.collection.errors import ImportFileError
from voicescount.collection.readers import is_meta_key

SEPARATORS = ("/", "-", ".")
"""Group separators met in exports: Kobo and Ona ``/``, ODK Central ``-``, some tools ``.``."""

META_NAMES = {
    "instanceID": "meta/instanceID",
    "deprecatedID": "meta/deprecatedID",
    "instanceName": "meta/instanceName",
}
"""Ona and ODK write the ``meta`` group's fields without their group."""

NOT_APPLICABLE = "n/a"
"""Ona's mark for a question not asked (relevance false) or not answered."""

SELECTED = frozenset({"1", "true", "1.0"})
NOT_SELECTED = frozenset({"0", "false", "0.0", "", NOT_APPLICABLE})
"""Cells of a split select_multiple column: Kobo and ODK write 1/0, Ona True/False."""

HXL_TAG = re.compile(r"#[A-Za-z][\w-]*(\s*\+[\w-]+)*")
"""A Humanitarian Exchange Language hashtag (``#adm1+name``): Kobo writes a row of them under the header."""

_INDEX = re.compile(r"\[(\d+)\]")
_MAX_INDEX = 10_000


def _key(text: str) -> str:
    """Headers and labels compared after NFC, case folding and collapsed spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


class Column(NamedTuple):
    """What one header holds: ``kind`` is "value", "choice", "meta" or "skip"."""

    kind: str
    path: str = ""
    """The question's full path (``grp/q``), the metadata key, or the header itself when unknown."""
    code: str = ""
    """For "choice": the choice's code."""
    indices: tuple[int, ...] = ()
    """For an answer inside a repeat written as wide columns: the instance number of each level."""


@dataclass
class _Question:
    path: str
    type: str
    repeats: tuple[str, ...]
    """The repeats around the question, outermost first."""
    choices: list[str] = field(default_factory=list)
    choice_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """code → language → label."""


class FormColumns:
    """The form as the tabular readers need it; built from an instrument's definition (``xlsform``), or
    from question paths alone (then labels, split choices and repeats cannot be recognised)."""

    def __init__(self, definition: dict[str, Any] | None = None, *, questions: Iterable[str] | None = None):
        self.questions: dict[str, _Question] = {}
        self.repeats: set[str] = set()
        self._names: dict[str, str | None] = {}
        self._leaves: dict[str, str | None] = {}
        self._labels: dict[str, str | None] = {}
        self._choices: dict[str, tuple[str, str] | None] = {}
        entries = (definition or {}).get("questions") or [
            {"path": p, "name": p.rsplit("/", 1)[-1], "type": ""} for p in questions or ()
        ]
        by_path = {q["path"]: q for q in entries}
        for q in entries:
            path = q["path"]
            if q.get("type") == "begin_repeat":
                self.repeats.add(path)
            if q.get("type") in ("begin_group", "begin_repeat"):
                continue
            chain = _repeat_chain(q, by_path)
            question = _Question(path, str(q.get("type") or ""), chain)
            self.questions[path] = question
            for separator in SEPARATORS:
                self._add(self._names, path.replace("/", separator), path)
            self._add(self._leaves, path.rsplit("/", 1)[-1], path)
            for text in _label_paths(q, by_path):
                self._add(self._labels, _key(text), path)
            if question.type.startswith("select_multiple"):
                for choice in q.get("choices") or []:
                    code = choice["code"]
                    question.choices.append(code)
                    question.choice_labels[code] = choice.get("labels") or {}
                    for separator in SEPARATORS:
                        for name in {path.replace("/", separator), path.rsplit("/", 1)[-1]}:
                            self._add(self._choices, f"{name}{separator}{code}", (path, code))
                    for text in _label_paths(q, by_path):
                        for label in (choice.get("labels") or {}).values():
                            self._add(self._choices, _key(f"{text}/{label}"), (path, code))

    @staticmethod
    def _add(table: dict[str, Any], key: str, target: Any) -> None:
        if key in table and table[key] != target:
            table[key] = None  # two questions answer to it: only an unambiguous header is mapped
        else:
            table[key] = target

    def numbered(self, header: Sequence[str]) -> list[str]:
        """``header`` with the names an export "without group names" repeats (``childs_name`` once per
        instance of a repeat) written as wide columns, ``children[1]/childs_name``, ``children[2]/…``:
        only names of questions in one (not nested) repeat; any other repeated name is left to be
        refused."""
        counts = Counter(header)
        seen: Counter[str] = Counter()
        out = []
        for title in header:
            path = self._leaves.get(title) if counts[title] > 1 else None
            question = self.questions.get(path or "")
            if question is None or len(question.repeats) != 1:
                out.append(title)
                continue
            seen[title] += 1
            repeat = question.repeats[0]
            out.append(f"{repeat}[{seen[title]}]/{path[len(repeat) + 1 :]}")
        return out

    def plan(self, header: Sequence[str], *, file: str | None = None) -> list[Column]:
        """What each header holds (see the module docstring); refuses a header two questions share."""
        return [self.column(title, file=file) for title in header]

    def column(self, title: str, *, file: str | None = None) -> Column:
        """The ``Column`` of one header."""
        if title == "":
            return Column("skip")
        if title in self.questions:
            return Column("value", title)
        if title in META_NAMES:
            return Column("meta", META_NAMES[title])
        if is_meta_key(title):
            return Column("meta", title)
        for separator in SEPARATORS[1:]:
            if title.startswith(f"meta{separator}"):
                return Column("meta", "meta/" + title[5:])
        indices = tuple(int(n) for n in _INDEX.findall(title))
        bare = _INDEX.sub("", title) if indices else title
        found = self._find(bare, title, file)
        if found is None:
            return Column("value", title)  # unknown: validation names it if it holds an answer
        if indices:
            question = self.questions[found.path]
            if len(indices) != len(question.repeats) or not all(0 < i <= _MAX_INDEX for i in indices):
                return Column("value", title)
            return found._replace(indices=indices)
        return found

    def _find(self, bare: str, title: str, file: str | None) -> Column | None:
        for table, kind in ((self._names, "value"), (self._choices, "choice")):
            if bare in table:
                return self._found(table[bare], kind, title, file)
        if self._leaves.get(bare):  # a bare name several questions share stays unknown, as it is
            return Column("value", self._leaves[bare])
        key = _key(bare)
        for table, kind in ((self._labels, "value"), (self._choices, "choice")):
            if key in table:
                return self._found(table[key], kind, title, file)
        return None

    @staticmethod
    def _found(target: Any, kind: str, title: str, file: str | None) -> Column:
        if target is None:
            raise ImportFileError(
                "The column name matches several questions of the form (by name with another group "
                "separator, or by label); export with the XML names and '/' separators.",
                file=file,
                field=title,
            )
        if kind == "choice":
            return Column("choice", target[0], target[1])
        return Column("value", target)


def _repeat_chain(question: dict[str, Any], by_path: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    chain: list[str] = []
    repeat = question.get("repeat") or ""
    while repeat:
        chain.append(repeat)
        repeat = (by_path.get(repeat) or {}).get("repeat") or ""
    return tuple(reversed(chain))


def _label_paths(question: dict[str, Any], by_path: dict[str, dict[str, Any]]) -> list[str]:
    """The question's label in each language, alone and after its groups' labels (Kobo's
    "hierarchy in labels")."""
    texts: list[str] = []
    for language, label in (question.get("labels") or {}).items():
        texts.append(label)
        parts = [label]
        group = question.get("group") or ""
        while group:
            node = by_path.get(group) or {}
            parts.insert(0, (node.get("labels") or {}).get(language) or node.get("name") or "")
            group = node.get("group") or ""
        if len(parts) > 1:
            texts.append("/".join(parts))
    return texts


def is_hxl_row(cells: Sequence[Any]) -> bool:
    """Whether a row is Kobo's HXL hashtag row (every filled cell a hashtag), not a submission."""
    filled = [c for c in cells if c not in ("", None)]
    return bool(filled) and all(isinstance(c, str) and HXL_TAG.fullmatch(c.strip()) for c in filled)


def flag(cell: Any) -> bool | None:
    """A split choice cell: True (chosen), False (not chosen or empty), None (not readable as either)."""
    if isinstance(cell, bool):
        return cell
    text = str(cell).strip().casefold() if cell is not None else ""
    if text in SELECTED:
        return True
    if text in NOT_SELECTED:
        return False
    return None


class Row:
    """Puts together one row's answers from its cells and their ``Column``s (one ``Row`` per file)."""

    def __init__(self, form: FormColumns, plan: Sequence[Column], header: Sequence[str], *, ona: bool):
        self.form = form
        self.plan = plan
        self.header = header
        self.ona = ona
        self.summaries = {c.path for c in plan if c.kind == "value" and not c.indices}

    def empty(self, cell: Any) -> bool:
        return cell is None or cell == "" or (self.ona and cell == NOT_APPLICABLE)

    def values(
        self, cells: Sequence[Any]
    ) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, str, str]]]:
        """``(values, meta, problems)`` of one row; ``problems`` are (column, code, message)."""
        values: dict[str, Any] = {}
        meta: dict[str, Any] = {}
        problems: list[tuple[str, str, str]] = []
        chosen: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}
        nested: dict[tuple[int, ...], dict[str, Any]] = {}
        for column, title, cell in zip(self.plan, self.header, cells, strict=True):
            if column.kind == "skip":
                continue
            value = None if self.empty(cell) else cell
            if column.kind == "meta":
                meta[column.path] = value
            elif column.kind == "choice":
                chosen.setdefault((column.path, column.indices), {})[title] = (column.code, cell)
            elif column.indices:
                self._place(nested, column.path, column.indices, value)
            else:
                values[column.path] = value
        for (path, indices), cells_of in chosen.items():
            answer = self._choices(path, cells_of, values, problems)
            if indices:
                if answer is not None or not self._has(nested, path, indices):
                    self._place(nested, path, indices, answer)
            elif answer is not None or path not in values:
                values[path] = answer
        values.update(self._repeats(nested))
        return values, meta, problems

    def _choices(
        self,
        path: str,
        cells_of: dict[str, tuple[str, Any]],
        values: dict[str, Any],
        problems: list[tuple[str, str, str]],
    ) -> str | None:
        """The select_multiple's answer from its split columns, the codes in the form's order."""
        selected: list[str] = []
        for title, (code, cell) in cells_of.items():
            verdict = flag(None if self.empty(cell) else cell)
            if verdict is None:
                problems.append(
                    (
                        title,
                        "unreadable_choice",
                        f"'{title}' holds neither 1/0 nor True/False: the choice cannot be read.",
                    )
                )
            elif verdict:
                selected.append(code)
        question = self.form.questions[path]
        order = {code: i for i, code in enumerate(question.choices)}
        selected.sort(key=lambda c: order.get(c, len(order)))
        summary = values.get(path) if path in self.summaries else None
        if summary is not None and not self._agrees(question, str(summary), selected):
            problems.append(
                (
                    path,
                    "choices_disagree",
                    f"'{path}' and its one-column-per-choice columns do not say the same: which is right?",
                )
            )
        return " ".join(selected) if selected else None

    @staticmethod
    def _agrees(question: _Question, summary: str, selected: list[str]) -> bool:
        if set(summary.split()) == set(selected):
            return True
        languages = {lang for labels in question.choice_labels.values() for lang in labels}
        for language in languages:
            labels = [question.choice_labels.get(code, {}).get(language, code) for code in selected]
            if _key(summary) == _key(" ".join(labels)):
                return True
        return False

    def _place(
        self, nested: dict[tuple[int, ...], dict[str, Any]], path: str, indices: tuple[int, ...], value: Any
    ) -> None:
        nested.setdefault(indices, {})[path] = value

    @staticmethod
    def _has(nested: dict[tuple[int, ...], dict[str, Any]], path: str, indices: tuple[int, ...]) -> bool:
        return path in nested.get(indices, {})

    def _repeats(self, nested: dict[tuple[int, ...], dict[str, Any]]) -> dict[str, Any]:
        """Wide columns as repeat instances: lists of dicts with keys relative to the repeat; an
        instance whose cells are all empty (a row with fewer instances than the widest) is no instance."""
        top: dict[str, Any] = {}
        for indices in sorted(nested):
            for path, value in nested[indices].items():
                chain = self.form.questions[path].repeats
                container = top
                for level, (repeat, index) in enumerate(zip(chain, indices, strict=True)):
                    outer = chain[level - 1] if level else ""
                    key = repeat[len(outer) + 1 :] if outer else repeat
                    instances = container.setdefault(key, [])
                    while len(instances) < index:
                        instances.append({})
                    container = instances[index - 1]
                container[path[len(chain[-1]) + 1 :]] = value
        return {key: pruned for key, instances in top.items() if (pruned := _prune(instances))}


def _prune(instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Instances without any answer dropped from the end (an earlier empty one keeps its place)."""
    kept = []
    for instance in instances:
        for key, value in list(instance.items()):
            if isinstance(value, list):
                inner = _prune(value)
                if inner:
                    instance[key] = inner
                else:
                    del instance[key]
        kept.append(instance)
    while kept and all(v is None for v in kept[-1].values()):
        kept.pop()
    return kept


def looks_like_ona_or_kobo(header: Sequence[str]) -> bool:
    """Kobo and Ona exports carry ``_uuid``; only Ona writes ``n/a``, Kobo never does, so in such a file
    ``n/a`` is Ona's empty answer."""
    return "_uuid" in header or "_submission_time" in header
