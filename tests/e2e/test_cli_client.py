"""The client commands (ls, stat, get, search, query, share, tag, sync) against a real server.

Commands run in-process (click's CliRunner) with the option layers a user has: LABSTORE_URL,
LABSTORE_USERNAME and LABSTORE_PASSWORD in the environment and a config file of their own.
The server is the e2e ``live_server`` on SQLite: these commands only speak HTTP, and the API
behind them is tested on both databases elsewhere.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import labstore
from labstore.cli import main
from tests.integration.test_cli import assert_one_line_error

pytestmark = pytest.mark.parametrize("live_server", ["sqlite"], indirect=True, scope="module")
PASSWORDS = {"alice": "alice-password", "bob": "bob-password"}


@pytest.fixture(scope="module")
def alice(live_server, tmp_path_factory) -> Iterator[labstore.Session]:
    options = {"location": live_server.url, "username": "alice", "password": "alice-password"}
    folder = tmp_path_factory.mktemp("alice-session")
    with labstore.Session(options, file_name=folder / "config.toml") as session:
        yield session


@pytest.fixture(scope="module")
def subject(alice) -> Any:
    lab = alice.set(alice.Lab.new(name="cli-lab"))
    made = alice.set(alice.Subject.new(nickname="ZM_77", lab=lab, species="mouse"))
    alice.set(alice.Experiment.new(subject=made, date="2024-06-01"))
    alice.create_paths("/neuro/cli")
    alice.assign_paths({"entity": made, "path": "/neuro/cli"})
    return made


@pytest.fixture
def cli(live_server, tmp_path, monkeypatch):
    """``cli("ls", "/", user="alice", ok=True)``: run one command as that user."""
    for name in [n for n in os.environ if n.startswith("LABSTORE_")]:
        monkeypatch.delenv(name)
    runner = CliRunner()

    def run(*args: str, user: str = "alice", ok: bool = True, **kwargs: Any) -> Result:
        env = {
            "LABSTORE_URL": live_server.url,
            "LABSTORE_USERNAME": user,
            "LABSTORE_PASSWORD": PASSWORDS[user],
            **kwargs.pop("env", {}),
        }
        config = tmp_path / user / "config.toml"
        result = runner.invoke(main, [*args, "--config", str(config)], env=env, **kwargs)
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    return run


def test_ls_stat_and_get(cli, subject):
    assert "folder  /neuro" in cli("ls").stdout
    listing = cli("ls", "/neuro/cli").stdout
    assert f"experiment/subject  /neuro/cli/ZM_77  {subject.location}" in listing
    assert json.loads(cli("ls", "/neuro/cli", "--json").stdout)[0]["location"] == subject.location
    assert subject.location in cli("stat", "/neuro/cli/ZM_77").stdout

    shown = cli("get", subject.location).stdout
    assert re.search(r"^nickname +ZM_77$", shown, re.M) and re.search(r"^version +1$", shown, re.M)
    data = json.loads(cli("get", subject.location, "--json").stdout)
    assert (data["nickname"], data["species"], data["version"]) == ("ZM_77", "mouse", 1)
    tree = cli("get", subject.location, "-r").stdout
    assert subject.location in tree and "experiment/experiment/" in tree

    assert_one_line_error(cli("get", "nonsense", ok=False), "not a location")
    assert_one_line_error(cli("get", "experiment/subject/NOSUCH0000", ok=False), "no experiment")
    assert_one_line_error(cli("ls", "/nowhere", ok=False), "no folder")


def test_get_downloads_a_file(cli, alice, tmp_path):
    content = b"spikes " * 50_000
    sha = alice.blobs.put(content)
    record = alice.set(alice.File.new(name="raw.bin", sha256=sha, size=len(content)))
    dest = tmp_path / "out" / "raw.bin"
    assert "wrote" in cli("get", record.location, "-o", str(dest)).stdout
    assert dest.read_bytes() == content
    not_a_file = alice.set(alice.Lab.new(name="no-content"))
    result = cli("get", not_a_file.location, "-o", str(tmp_path / "x"), ok=False)
    assert_one_line_error(result, "only a core/file")


def test_search_and_query(cli, subject, tmp_path):
    found = cli("search", "experiment/subject", "nickname__icontains=zm_7", "lab__name=cli-lab")
    assert subject.location in found.stdout and "(1 found)" in found.stderr
    assert cli("search", "experiment/subject", "nickname=ZM_77", "--count").stdout == "1\n"
    rows = json.loads(cli("search", "experiment/subject", "species=mouse", "--json").stdout)
    assert subject.location in [r["location"] for r in rows]
    assert_one_line_error(cli("search", "experiment/subject", "nickname", ok=False), "filter like")
    assert_one_line_error(cli("search", "experiment/subject", "colour=red", ok=False), "colour")

    query = {"__model__": "Subject", "__query__": {"lab": {"name": "cli-lab"}}}
    path = tmp_path / "query.json"
    path.write_text(json.dumps(query))
    assert subject.location in cli("query", str(path)).stdout
    piped = cli("query", "-", "--json", input=json.dumps(query)).stdout
    assert [r["nickname"] for r in json.loads(piped)] == ["ZM_77"]
    path.write_text("{not json")
    assert_one_line_error(cli("query", str(path), ok=False), "not JSON")
    path.write_text(json.dumps({"__model__": "Subject", "__query__": {"colour": 1}}))
    assert_one_line_error(cli("query", str(path), ok=False), "colour")
    assert_one_line_error(cli("query", str(tmp_path / "missing.json"), ok=False), "cannot read")


def test_share_and_tag(cli, alice):
    lab = alice.set(alice.Lab.new(name="shared-by-cli"))
    location = lab.location
    out = cli("share", location, "--level", "1").stdout
    assert out.startswith("safety level 1, owner alice")
    assert_one_line_error(cli("get", location, user="bob", ok=False), "no experiment/lab")
    out = cli("share", location, "bob", "-p", "read", "-p", "write").stdout
    assert "bob  read,write" in out
    assert json.loads(cli("get", location, "--json", user="bob").stdout)["name"] == "shared-by-cli"
    shares = json.loads(cli("share", location, "bob", "--remove", "--json").stdout)
    assert shares["shares"] == []
    assert cli("share", location).stdout.endswith("not shared with anyone\n")
    assert_one_line_error(cli("get", location, user="bob", ok=False), "no experiment/lab")
    assert_one_line_error(cli("share", location, "bob", user="bob", ok=False))

    assert cli("tag", location, "good", "todo").stdout.split() == ["good", "-", "todo", "-"]
    cli("tag", location, "todo", "--remove")
    assert json.loads(cli("tag", location, "--json").stdout) == [{"tag": "good", "project": None}]
    assert alice.list_tags(lab) == [{"tag": "good", "project": None}]


def test_sync_fills_the_local_store(cli, subject, tmp_path: Path):
    env = {"LABSTORE_CACHE_DIR": str(tmp_path / "cache")}
    first = cli("sync", env=env).stdout
    assert first.startswith("synced at ") and "(+" in first
    total = int(first.split(": ")[1].split()[0])
    assert total >= 3  # the lab, the subject and its experiment at least
    assert cli("sync", env=env).stdout.endswith(f"{total} objects (+0)\n")
    assert_one_line_error(cli("sync", ok=False), "cache_dir")
