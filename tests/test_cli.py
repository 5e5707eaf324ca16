"""The `voicescount` command: help, bad arguments, port in use, configuration errors, the demo set-up."""

import json
import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from voicescount.cli import app
from voicescount.demo import definitions, survey

runner = CliRunner(env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})


def run_cli(*args, env_extra=None, timeout=180):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "voicescount.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "serve", "load-reference", "manage"):
        assert command in result.output


@pytest.mark.parametrize("command", ["demo", "serve", "load-reference"])
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "--data-dir" in result.output


def test_unknown_command_and_bad_option_fail_with_usage():
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["demo", "--port", "eighty"])
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output


def test_port_in_use_is_reported_without_traceback(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        result = run_cli("demo", "--port", str(port), "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_port_number():
    result = run_cli("serve", "--port", "70000")
    assert result.returncode == 2
    assert "not a valid TCP port" in result.stderr


def test_wrong_database_url_is_explained_without_traceback(tmp_path):
    result = run_cli(
        "load-reference", "--data-dir", str(tmp_path), env_extra={"DATABASE_URL": "mysql://x@y/z"}
    )
    assert result.returncode == 2
    assert "supports PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_explained_without_traceback(tmp_path):
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused at once.
    url = "postgres://postgres@127.0.0.1:9/nowhere"
    result = run_cli("load-reference", "--data-dir", str(tmp_path), env_extra={"DATABASE_URL": url})
    assert result.returncode == 2
    assert "Cannot use the postgres database 'nowhere' on 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_data_dir_is_reported(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli("load-reference", "--data-dir", str(blocker / "data"))
    assert result.returncode == 2
    assert "Cannot create the data directory" in result.stderr


@pytest.mark.own_sqlite
def test_demo_without_server_sets_everything_up_and_is_repeatable(tmp_path):
    args = ("demo", "--no-serve", "--respondents", "400", "--data-dir", str(tmp_path))
    first = run_cli(*args, timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "coordinator" in first.stdout and "voicescount-demo" in first.stdout
    assert "25 indicators (25 computed)" in " ".join(first.stdout.split())
    assert (tmp_path / "voicescount.sqlite3").exists()
    second = run_cli(*args, timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    # Nothing is imported twice and nothing unchanged is recomputed.
    assert "0 submissions accepted" in second.stdout and "(0 computed)" in " ".join(second.stdout.split())

    # `voicescount import` (in a worker process on a machine with two cores): new records are taken,
    # records held already are duplicates, and the table of the batch says so.
    export = tmp_path / "new-and-old.json"
    records = [*survey.generate_submissions(n=200, seed=7)[:30], *survey.generate_submissions(n=400)[:5]]
    export.write_text(json.dumps(survey.kobo_page(records), ensure_ascii=False), encoding="utf-8")
    imported = run_cli("import", definitions.STUDY["slug"], str(export), "--data-dir", str(tmp_path))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    row = next(line for line in imported.stdout.splitlines() if line.count("│") >= 5)
    received, accepted, duplicates, quarantined = (int(c) for c in row.strip("│ ").split("│"))
    assert (received, duplicates, accepted + quarantined) == (35, 5, 30) and accepted > 20


def test_manage_passes_through_to_django(tmp_path):
    result = run_cli(
        "manage", "showmigrations", "accounts", env_extra={"VOICESCOUNT_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stderr
    assert "0001_initial" in result.stdout
