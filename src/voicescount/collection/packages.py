"""Studies as files: a study package written by ``dump_study`` and read by ``load_study``.

A package holds a study's methodology, sampling design, disclosure thresholds, instruments (the
XLSForms as uploaded, with their question roles and consent questions), derived variables and
indicator definitions — and, optionally, its submissions without personal fields. The layout and the
schema are in ``packages_schema`` and ``docs/study-package.md``; writing is ``packages_dump``, reading
and loading ``packages_load``. Used by ``voicescount study dump|load`` and by the demo.
"""

from __future__ import annotations

from voicescount.collection.packages_dump import dump_study
from voicescount.collection.packages_load import LoadReport, load_study, package_checker, package_slug
from voicescount.collection.packages_schema import PackageError, package_schema, validate_document

__all__ = [
    "LoadReport",
    "PackageError",
    "dump_study",
    "load_study",
    "package_checker",
    "package_schema",
    "package_slug",
    "validate_document",
]
