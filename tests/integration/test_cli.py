"""The ``labstore`` command, run in-process through click's CliRunner on a fresh data directory.

The commands hash passwords with the default (deliberately slow) argon2 settings, as they do
for a real deployment, so these tests keep the number of commands they run small. Apps made to
check a command's effect use ``fast_settings`` (argon2 verification reads the parameters from
the stored hash, so they check passwords the command stored).
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from fastapi.testclient import TestClient

from labstore.cli import main
from labstore.server import Settings, create_app
from labstore.server.demo import DEMO_PASSWORD, DEMO_USER
from labstore.server.migrate import head_revision
from tests.conftest import fast_settings


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands see no LABSTORE_* setting from the developer's environment."""
    for name in list(os.environ):
        if name.startswith("LABSTORE_"):
            monkeypatch.delenv(name)
    return CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def run(runner: CliRunner, *args: str, input: str | None = None, ok: bool = True) -> Result:
    result = runner.invoke(main, list(args), input=input)
    if ok:
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert result.exception is None, result.exception
    return result


def assert_one_line_error(result: Result, *words: str) -> str:
    """Exit status 1, one line ``error: ...`` on stderr, no traceback anywhere."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert result.stdout == "", result.stdout
    return lines[0]


@pytest.fixture
def app_for(data_dir: Path) -> Iterator[Any]:
    """``app_for()``: a TestClient on a real app serving the data directory."""
    clients: list[TestClient] = []

    def make() -> TestClient:
        client = TestClient(create_app(fast_settings(data_dir)))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
        client.app.state.labstore.db.dispose()  # type: ignore[attr-defined]


def log_in(client: TestClient, username: str, password: str) -> dict[str, str]:
    answer = client.post("/api/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_db_upgrade_prints_the_revision_and_is_idempotent(
    runner: CliRunner, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(runner, "db", "upgrade", "--data-dir", str(data_dir))
    assert (data_dir / "labstore.sqlite3").is_file()
    assert f"database was empty; now at revision {head_revision()}" in first.stdout

    second = run(runner, "db", "upgrade", "--data-dir", str(data_dir))
    assert f"database was current; now at revision {head_revision()}" in second.stdout

    # LABSTORE_DATA_DIR works as well as --data-dir.
    monkeypatch.setenv("LABSTORE_DATA_DIR", str(data_dir))
    third = run(runner, "db", "upgrade")
    assert "database was current" in third.stdout


def test_db_upgrade_refuses_a_database_of_something_else(runner: CliRunner, data_dir: Path) -> None:
    data_dir.mkdir()
    with sqlite3.connect(data_dir / "labstore.sqlite3") as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    result = run(runner, "db", "upgrade", "--data-dir", str(data_dir), ok=False)
    assert_one_line_error(result, "not a labstore database")


def test_serve_and_db_upgrade_refuse_a_newer_database(runner: CliRunner, data_dir: Path) -> None:
    run(runner, "db", "upgrade", "--data-dir", str(data_dir))
    with sqlite3.connect(data_dir / "labstore.sqlite3") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999zzzz'")
    for command in (("serve", "--port", "1"), ("db", "upgrade")):
        result = run(runner, *command, "--data-dir", str(data_dir), ok=False)
        assert_one_line_error(result, "9999zzzz", "newer")


def test_user_add_then_log_in_and_add_again(
    runner: CliRunner, data_dir: Path, app_for: Any
) -> None:
    added = run(
        runner,
        "user",
        "add",
        "alice",
        "--password-stdin",
        "--data-dir",
        str(data_dir),
        input="pw-alice\n",
    )
    assert "user alice added" in added.stdout

    client = app_for()
    headers = log_in(client, "alice", "pw-alice")
    me = client.get("/api/me", headers=headers).json()
    assert me["username"] == "alice" and me["is_admin"] is False
    wrong = client.post("/api/auth/token", json={"username": "alice", "password": "pw-alice\n"})
    assert wrong.status_code == 401  # the newline ending stdin is not part of the password

    again = run(
        runner,
        "user",
        "add",
        "alice",
        "--password-stdin",
        "--data-dir",
        str(data_dir),
        input="other-pw\n",
        ok=False,
    )
    assert_one_line_error(again, "alice", "exists already")
    log_in(client, "alice", "pw-alice")  # the first password still works

    bad_name = run(
        runner,
        "user",
        "add",
        "Bob Smith",
        "--password-stdin",
        "--data-dir",
        str(data_dir),
        input="pw-bob\n",
        ok=False,
    )
    assert_one_line_error(bad_name, "Bob Smith")


def test_project_add_with_members(runner: CliRunner, data_dir: Path, app_for: Any) -> None:
    run(
        runner,
        "user",
        "add",
        "alice",
        "--password-stdin",
        "--data-dir",
        str(data_dir),
        input="pw-alice\n",
    )
    created = run(
        runner, "project", "add", "neuro", "--member", "alice", "--data-dir", str(data_dir)
    )
    assert "project neuro created with 1 member(s)" in created.stdout

    unknown = run(
        runner,
        "project",
        "add",
        "vision",
        "--member",
        "alice",
        "--member",
        "bob",
        "--data-dir",
        str(data_dir),
        ok=False,
    )
    assert_one_line_error(unknown, "bob")

    with sqlite3.connect(data_dir / "labstore.sqlite3") as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM core_project ORDER BY name")]
    assert names == ["neuro"]  # the failed command left nothing behind

    client = app_for()
    me = client.get("/api/me", headers=log_in(client, "alice", "pw-alice")).json()
    assert me["projects"] == ["neuro"]


def test_settings_lists_every_setting(runner: CliRunner) -> None:
    result = run(runner, "settings")
    assert "LABSTORE_DATA_DIR" in result.stdout
    assert "LABSTORE_DATABASE_URL" in result.stdout
    for spec in dataclasses.fields(Settings):
        assert f"LABSTORE_{spec.name.upper()}" in result.stdout, spec.name


def _commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield prefix, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def test_every_command_has_help_with_its_example(runner: CliRunner) -> None:
    with_example = set()
    for path, command in _commands(main):
        result = run(runner, *path, "--help")
        assert result.stdout.startswith("Usage: "), (path, result.stdout)
        assert (command.help or "").split("\n")[0].strip() in result.stdout, path
        if "Example" in (command.help or ""):
            assert "Example" in result.stdout, (path, result.stdout)
            with_example.add(" ".join(path))
    assert {"", "serve", "db upgrade", "user add", "project add", "demo", "login"} <= (with_example)
    client = {"ls", "stat", "get", "search", "query", "share", "tag", "sync"}
    assert client <= with_example


def test_demo_creates_data_once(runner: CliRunner, data_dir: Path, app_for: Any) -> None:
    first = run(runner, "demo", "--no-serve", "--data-dir", str(data_dir))
    assert f"demo data created in {data_dir}" in first.stdout
    assert f"{DEMO_USER} / {DEMO_PASSWORD}" in first.stdout

    client = app_for()
    headers = log_in(client, DEMO_USER, DEMO_PASSWORD)
    counts = {
        model: client.get(f"/api/{model}/count", headers=headers).json()["count"]
        for model in (
            "experiment/lab",
            "experiment/subject",
            "experiment/experiment",
            "experiment/dataset",
            "inventory/item",
        )
    }
    assert all(n > 0 for n in counts.values()), counts

    second = run(runner, "demo", "--no-serve", "--data-dir", str(data_dir))
    assert f"demo data already present in {data_dir}" in second.stdout
    again = {
        model: client.get(f"/api/{model}/count", headers=headers).json()["count"]
        for model in counts
    }
    assert again == counts
