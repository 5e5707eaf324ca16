"""Configuration from the environment: data directory, secret key, database URL, production checks."""

import os
import stat
import subprocess
import sys

import pytest

from voicescount import config


def test_database_url_default_is_sqlite_in_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db = config.database(tmp_path)
    assert db.settings["ENGINE"] == "django.db.backends.sqlite3"
    assert db.settings["NAME"] == str(tmp_path / "voicescount.sqlite3")


def test_database_url_postgres(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres:secret@127.0.0.1:5432/vc")
    db = config.database(tmp_path)
    assert db.settings["ENGINE"] == "django.db.backends.postgresql"
    assert db.settings["NAME"] == "vc"
    assert "secret" not in db.description


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a URL"),
        ("mysql://root@localhost/vc", "scheme 'mysql'"),
        ("postgres://postgres@127.0.0.1:5432", "names no database"),
        ("postgres://postgres@127.0.0.1:notaport/vc", "could not be read"),
    ],
)
def test_wrong_database_url_says_what_is_wrong(monkeypatch, tmp_path, url, message):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(config.ConfigurationError, match=message):
        config.database(tmp_path)


def test_secret_key_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_SECRET_KEY, raising=False)
    first = config.secret_key(False, tmp_path)
    assert len(first) >= 50
    assert config.secret_key(False, tmp_path) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_secret_key_required_in_production(tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_SECRET_KEY, raising=False)
    with pytest.raises(config.ConfigurationError, match="must be set in production"):
        config.secret_key(True, tmp_path)
    monkeypatch.setenv(config.ENV_SECRET_KEY, "short")
    with pytest.raises(config.ConfigurationError, match="at least 50"):
        config.secret_key(True, tmp_path)


def test_unwritable_data_dir_is_reported(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(config.ConfigurationError, match="Cannot create the data directory"):
        config.ensure_data_dir(blocker / "sub")


def test_bad_mode_is_reported(monkeypatch):
    monkeypatch.setenv(config.ENV_MODE, "staging")
    with pytest.raises(config.ConfigurationError, match="development, production"):
        config.mode()


def test_unknown_default_language_falls_back_to_vietnamese(monkeypatch):
    monkeypatch.setenv(config.ENV_LANGUAGE, "fr")
    assert config.default_language() == "vi"


def test_import_workers_come_from_the_environment_or_the_cores(monkeypatch):
    monkeypatch.setenv(config.ENV_IMPORT_WORKERS, "0")
    assert config.import_workers() == 0
    monkeypatch.setenv(config.ENV_IMPORT_WORKERS, "2")
    assert config.import_workers() == 2
    for bad in ("two", "-1", "99"):
        monkeypatch.setenv(config.ENV_IMPORT_WORKERS, bad)
        with pytest.raises(config.ConfigurationError, match="VOICESCOUNT_IMPORT_WORKERS must be"):
            config.import_workers()
    monkeypatch.delenv(config.ENV_IMPORT_WORKERS)
    monkeypatch.setattr(config.os, "cpu_count", lambda: 1)
    assert config.import_workers() == 0


def test_check_deploy_passes_in_production_mode(tmp_path):
    """`voicescount manage check --deploy` passes with the documented production settings."""
    env = {
        **os.environ,
        "VOICESCOUNT_MODE": "production",
        "VOICESCOUNT_SECRET_KEY": "x" * 30 + "Yz9-_" * 10,
        "VOICESCOUNT_ALLOWED_HOSTS": "sdg.example.org",
        "VOICESCOUNT_ENCRYPTION_KEYS": "Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktMTI=",
        "VOICESCOUNT_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/prod.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "-m", "voicescount.cli", "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_encryption_key_generated_once_for_the_embedded_default(tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_ENCRYPTION_KEYS, raising=False)
    keys = config.encryption_keys(False, tmp_path)
    assert config.encryption_keys(False, tmp_path) == keys
    assert stat.S_IMODE(os.stat(tmp_path / "encryption_key").st_mode) == 0o600


def test_encryption_keys_required_and_checked_in_production(tmp_path, monkeypatch):
    monkeypatch.delenv(config.ENV_ENCRYPTION_KEYS, raising=False)
    with pytest.raises(config.ConfigurationError, match="must be set in production"):
        config.encryption_keys(True, tmp_path)
    monkeypatch.setenv(config.ENV_ENCRYPTION_KEYS, "not-a-key")
    with pytest.raises(config.ConfigurationError, match="not a Fernet key"):
        config.encryption_keys(True, tmp_path)
