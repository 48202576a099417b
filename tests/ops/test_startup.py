"""Start-up that tells the truth: one line naming the variable the operator set, exit 2;
where the server serves, where its data lives and how to stop it; a clean shutdown."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

import tasktrek
from tests.ops.conftest import clean_env, serving, tasktrek as run_tasktrek

SECRET = "s" * 40
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"JWT_SECRET": "short"}, "JWT_SECRET is 5 bytes; it must be at least 32 bytes"),
        ({"TASKTREK_JWT_SECRET": "short"}, "TASKTREK_JWT_SECRET is 5 bytes"),
        ({"TASKTREK_DATABASE_URL": "sqlite://x.db"}, "TASKTREK_DATABASE_URL: sqlite://x.db needs three slashes: sqlite:///x.db"),
        ({"MONGO_URI": "postgres://db/x"}, "MONGO_URI: expected sqlite:///<path>"),
        ({"MONGO_URI": "mongodb://localhost:99999/x", "JWT_SECRET": SECRET}, "MONGO_URI: "),
        ({"MONGO_URI": "mongodb://db/x"}, "TASKTREK_JWT_SECRET (or JWT_SECRET) is required with MongoDB (MONGO_URI is set)"),
        ({"TASKTREK_DATABASE_URL": "sqlite:////sys/tasktrek.db"}, "TASKTREK_DATABASE_URL: cannot create or write /sys/tasktrek.db"),
        ({"TASKTREK_CORS_ORIGINS": "https://a.example/"}, "TASKTREK_CORS_ORIGINS: 'https://a.example/' is not an origin"),
        ({"TASKTREK_CORS_ORIGINS": "https://a.example/"}, "did you mean https://a.example?"),
        ({"TASKTREK_CORS_ORIGINS": "example.com"}, "did you mean https://example.com?"),
        ({"TASKTREK_CORS_ORIGINS": "*,https://a.example"}, "TASKTREK_CORS_ORIGINS: * allows every origin and cannot be combined"),
        ({"TASKTREK_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "TASKTREK_TRUSTED_PROXIES: 'proxy.local' is not an IP address"),
        ({"TASKTREK_REGISTRATION": "invite-only"}, "TASKTREK_REGISTRATION: expected open or closed"),
        ({"PORT": "http"}, "PORT: not a number"),
        ({"TASKTREK_LOG_LEVEL": "LOUD"}, "TASKTREK_LOG_LEVEL: unknown level"),
        ({"TASKTREK_ACCESS_LOG": "sometimes"}, "TASKTREK_ACCESS_LOG: expected on or off"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable_set(workdir, env, expected):
    result = run_tasktrek(env=clean_env(**env), cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert expected in result.stderr


def test_a_directory_as_the_database_file_is_refused(workdir):
    (workdir / "db").mkdir()
    result = run_tasktrek(env=clean_env(TASKTREK_DATABASE_URL="sqlite:///db"), cwd=workdir)
    assert result.returncode == 2
    assert f"TASKTREK_DATABASE_URL: {workdir / 'db'} is a directory" in result.stderr


def test_the_start_lines_give_the_address_the_absolute_data_path_the_secret_and_how_to_stop(workdir):
    with serving(clean_env(), workdir) as server:
        health = json.load(urllib.request.urlopen(f"{server.url}/readyz", timeout=10))
        status = server.stop()
    output = server.output()
    assert health == {"status": "ok"}
    assert f"TaskTrek {tasktrek.__version__} serving on http://127.0.0.1:{server.port}" in output
    database = workdir / "tasktrek.db"  # the relative default, made absolute
    assert f"data: SQLite {database}; JWT secret: kept in {database}.secret" in output
    assert "press Ctrl+C (or send SIGTERM) to stop" in output
    assert status == 0 and output.rstrip().endswith("stopped cleanly")


def test_the_start_lines_name_the_secret_variable_and_hide_database_credentials(workdir):
    url = "mongodb://admin:hunter2@127.0.0.1:1/team?serverSelectionTimeoutMS=100"
    with serving(clean_env(MONGO_URI=url, JWT_SECRET=SECRET), workdir) as server:
        pass
    output = server.output()
    assert "data: MongoDB mongodb://127.0.0.1:1/team?serverSelectionTimeoutMS=100; JWT secret: from JWT_SECRET" in output
    assert "hunter2" not in output
    # Not up yet is waited for, with the reason in the log.
    assert "database unavailable at start-up (" in output


def test_version():
    result = run_tasktrek("--version", env=clean_env(), cwd=Path.cwd())
    assert result.returncode == 0 and result.stdout.strip() == f"tasktrek {tasktrek.__version__}"


def test_help_names_every_variable_of_the_configuration_page():
    documented = set(re.findall(r"^\| `([A-Z_]+)`", (DOCS / "configuration.md").read_text(), re.M))
    documented |= set(re.findall(r"^\| `[A-Z_]+`, (?:else )?`([A-Z_]+)`", (DOCS / "configuration.md").read_text(), re.M))
    result = run_tasktrek("--help", env=clean_env(), cwd=Path.cwd())
    assert result.returncode == 0
    assert {"TASKTREK_REGISTRATION", "TASKTREK_TRUSTED_PROXIES", "MONGO_URI", "PORT"} <= documented
    assert sorted(name for name in documented if name not in result.stdout) == []
    assert "users" in result.stdout


def _sqlite_file(path: Path, *statements: str) -> None:
    import sqlite3

    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p.write_bytes(b"this is no database" * 100), "is not a SQLite database"),
        (lambda p: _sqlite_file(p, "CREATE TABLE orders (id INTEGER)"), "holds tables TaskTrek does not know (orders)"),
        (lambda p: _sqlite_file(p, "PRAGMA user_version = 99"), "has schema version 99, newer than this TaskTrek's"),
    ],
)
def test_a_database_file_taskTrek_may_not_use_stops_start_up_with_one_line(workdir, make, expected):
    make(workdir / "other.db")
    env = clean_env(TASKTREK_DATABASE_URL="sqlite:///other.db", TASKTREK_JWT_SECRET=SECRET)
    expected = f"TASKTREK_DATABASE_URL: {workdir / 'other.db'} {expected}"
    for command in ([], ["users", "disable", "--email", "a@example.com"]):
        result = run_tasktrek(*command, env=env, cwd=workdir)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and expected in result.stderr and "Traceback" not in result.stderr
