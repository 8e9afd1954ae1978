"""The README's quickstart runs, as written, against a demo server (`labstore demo` data)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live import FAST_ENV, LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_code(heading: str = "## Quickstart") -> str:
    text = README.read_text()
    section = text[text.index(heading) :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"the README's {heading} has no python block"
    return match.group(1)


def test_readme_opens_with_the_two_commands():
    lines = [line for line in README.read_text().splitlines() if line.strip()]
    assert lines[1] == "```sh"
    assert lines[2].startswith("make demo") and lines[3].startswith("make test")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    server = LiveServer(folder / "data")
    server.data_dir.mkdir()
    output = server.cli("demo", "--no-serve", "--data-dir", str(server.data_dir))
    assert "demo / demo-password" in output
    server.start()
    yield server
    server.stop()


def test_quickstart_runs(demo_server, tmp_path):
    code = quickstart_code().replace("http://127.0.0.1:8000", demo_server.url)
    script = tmp_path / "quickstart.py"
    script.write_text(code)
    env = {**demo_server.env, **FAST_ENV, "LABSTORE_CONFIG_FILE": str(tmp_path / "c.toml")}
    done = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "experiment/subject/" in done.stdout
    assert "subjects in cortexlab" in done.stdout


def test_neo_section_runs(demo_server, tmp_path):
    code = quickstart_code("## Neo recordings").replace("http://127.0.0.1:8000", demo_server.url)
    script = tmp_path / "neo_example.py"
    script.write_text(code)
    env = {**demo_server.env, **FAST_ENV, "LABSTORE_CONFIG_FILE": str(tmp_path / "c.toml")}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "30.0 kHz" in done.stdout and "(3000, 4)" in done.stdout
    assert "'session 12'" in done.stdout
