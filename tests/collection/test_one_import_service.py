"""One import service: the upload job, the CLI, the JSON API, study packages and the demo all import
through ``collection.import_service`` — none assembles reader, checker, form check and batch itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from voicescount.accounts.demo import create_demo_accounts
from voicescount.collection import import_service
from voicescount.demo.load import load_demo_study

SRC = Path(__file__).resolve().parents[2] / "src" / "voicescount"
ASSEMBLY = {"import_records", "read_records", "form_check_for"}
"""What assembling an import takes; only the service (and the modules defining them) may call these. (A
checker alone may be used elsewhere: the quarantine page checks one corrected record with it.)"""
ALLOWED = {"collection/import_service.py", "collection/batches.py", "collection/importing.py"}


def calls_in(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    return names


def test_no_caller_assembles_an_import_itself():
    offenders = {
        str(path.relative_to(SRC)): sorted(calls_in(path) & ASSEMBLY)
        for path in SRC.rglob("*.py")
        if str(path.relative_to(SRC)) not in ALLOWED and calls_in(path) & ASSEMBLY
    }
    assert offenders == {}
    # and the callers do call the service
    for caller in (
        "cli.py",
        "collection/jobs.py",
        "collection/api.py",
        "collection/packages_load.py",
        "demo/load.py",
    ):
        assert calls_in(SRC / caller) & {"import_file", "import_submitted"}, caller


@pytest.mark.django_db
def test_the_demo_imports_through_the_service(monkeypatch, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    create_demo_accounts()
    seen = []
    real = import_service.import_file

    def spy(instrument, path, **kwargs):
        seen.append((instrument.form_id, kwargs.get("fmt")))
        return real(instrument, path, **kwargs)

    monkeypatch.setattr(import_service, "import_file", spy)
    summary = load_demo_study(respondents=200)
    assert seen and all(fmt == "kobo-json" for _, fmt in seen)
    assert summary.accepted + summary.quarantined + summary.duplicates == 200
