"""Recordings in and out through a real server process: pages 000/001 with real Neo blocks,
``labstore import`` of files neo reads and ``labstore export`` back to NIX."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import neo
import pytest
from click.testing import CliRunner
from neo.test.tools import assert_neo_object_is_compliant, assert_same_sub_schema

import labstore
from labstore.cli import main
from tests.support.neo_data import simple_block


@pytest.fixture
def env(live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "LABSTORE_URL": live_server.url,
        "LABSTORE_USERNAME": "alice",
        "LABSTORE_PASSWORD": "alice-password",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def write_nix(block: Any, path: Path) -> Path:
    writer = neo.io.NixIO(str(path), mode="ow")
    writer.write_block(block)
    writer.close()
    return path


def test_pages_000_and_001_with_real_neo_blocks(live_server: Any, env: dict[str, str]) -> None:
    s = labstore.Session({"location": live_server.url, "username": "alice",
                          "password": "alice-password"})  # fmt: skip
    block = s.set(neo.Block("A cool block"))
    segment = neo.Segment("first")
    segment.block = block
    s.set(segment)
    tree = s.get(block.location, recursive=True)
    assert [seg.name for seg in tree.segments] == ["first"]
    assert_neo_object_is_compliant(tree)
    s.close()


def test_import_then_export_round_trips_a_recording(env: dict[str, str], tmp_path: Path) -> None:
    original = simple_block(4, nb_segment=2)
    recorded = write_nix(original, tmp_path / "recording.nix")
    as_read = neo.io.NixIO(str(recorded), mode="ro")
    expected = as_read.read_block()
    as_read.close()

    runner = CliRunner()
    imported = runner.invoke(main, ["import", str(recorded), "--dest", "/neuro/raw"])
    assert imported.exit_code == 0, (imported.output, imported.exception)
    location = next(w for w in imported.output.split() if w.startswith("ephys/block/"))
    assert "1 block(s) stored" in imported.output

    s = labstore.Session()
    assert [e["location"] for e in s.ls_path("/neuro/raw")] == [location]
    fetched = s.get(location, recursive=True)
    assert_same_sub_schema(expected, fetched, exclude=["file_origin"])

    out = tmp_path / "back.nix"
    exported = runner.invoke(main, ["export", location, str(out)])
    assert exported.exit_code == 0, (exported.output, exported.exception)
    again = neo.io.NixIO(str(out), mode="ro")
    assert len(again.read_block().segments) == 2
    again.close()
    s.close()


def test_import_of_a_file_neo_cannot_read_is_one_clear_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    junk = tmp_path / "notes.qqq"
    junk.write_text("not a recording")
    result = CliRunner().invoke(main, ["import", str(junk)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "notes.qqq" in lines[0]
