"""The files of a study package and their schema: reading study.yaml and indicators.yaml, checking them.

A study package is a directory (``docs/study-package.md``)::

    study.yaml        the study's methodology, sampling design, disclosure thresholds and instruments
    indicators.yaml   the study's derived variables and indicator definitions
    forms/<file>      each instrument's XLSForm, byte for byte as uploaded
    data/<form>.json  optional: the submissions as a KoboToolbox export, without personal fields
    README.md         what the package holds (written by ``dump``; not read by ``load``)

Both YAML files are checked against ``collection/data/study-package.schema.json`` (JSON Schema 2020-12)
before anything else is looked at; every error names the file, the key path and what is wrong.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from voicescount.collection.errors import CollectionError

PACKAGE_FORMAT = 1
STUDY_FILE = "study.yaml"
INDICATORS_FILE = "indicators.yaml"
FORMS_DIR = "forms"
DATA_DIR = "data"
README_FILE = "README.md"
SCHEMA_FILE = "study-package.schema.json"


class PackageError(CollectionError):
    """A study package that cannot be loaded: ``file``, ``key`` (a dotted path) and what is wrong."""

    def __init__(self, file: str, key: str, message: str) -> None:
        Exception.__init__(self, file, key, message)  # CollectionError's own fields are file/row/field
        self.file, self.key, self.message = file, key, message
        self.row = self.field = None

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.file, self.key, self.message))


class _PlainLoader(yaml.SafeLoader):
    """YAML without implicit dates: ``2022-03-01`` stays the string the schema expects."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@functools.cache
def package_schema() -> dict[str, Any]:
    """The JSON Schema of study.yaml (``$defs/study``) and indicators.yaml (``$defs/indicators``)."""
    text = resources.files("voicescount.collection").joinpath("data", SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def key_path(parts: Any) -> str:
    """``design.psu``, ``definitions[3].title.en``: a JSON path as the error messages write it."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_document(document: Any, file: str) -> None:
    """Check ``document`` (the parsed ``file``: study.yaml or indicators.yaml) against the schema.

    Raises ``PackageError`` for the first error in document order (the deepest, most specific one).
    """
    which = "study" if file == STUDY_FILE else "indicators"
    schema = package_schema()
    validator = jsonschema.Draft202012Validator({"$ref": f"#/$defs/{which}", "$defs": schema["$defs"]})
    errors = sorted(
        validator.iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message)
    )
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    deepest = error
    while deepest.context:
        deepest = jsonschema.exceptions.best_match(deepest.context)
    path = list(deepest.absolute_path)
    if deepest.validator == "required":  # name the missing key itself
        path.append(next(k for k in deepest.validator_value if k not in deepest.instance))
    raise PackageError(file, key_path(path) or "(top level)", deepest.message)


def read_yaml(directory: Path, file: str) -> dict[str, Any]:
    """Parse and validate ``directory/file``; ``PackageError`` when missing, not YAML, or not valid."""
    path = directory / file
    if not path.is_file():
        raise PackageError(file, "", "the file is missing from the package")
    try:
        document = yaml.load(path.read_text("utf-8"), Loader=_PlainLoader)  # noqa: S506 -- a SafeLoader
    except UnicodeDecodeError:
        raise PackageError(file, "", "not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise PackageError(file, "", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    validate_document(document, file)
    return document


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors: a dimension used by several definitions is written out in each."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def write_yaml(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as block YAML, keys in the order given, Unicode as is (deterministic)."""
    text = yaml.dump(
        document,
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        width=110,
        default_flow_style=False,
    )
    path.write_text(text, encoding="utf-8")
