"""The architecture of design.md section 2, checked from the source: import rules, no print,
the pinned public API, and a server module that builds nothing at import."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import labstore

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "labstore"
# Top-level areas of the package: its subpackages and modules.
AREAS = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" and p.stem != "__init__"} | {
    p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()
}
ROOT = "labstore"  # the package's own __init__ (which pulls in the client)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every module an import statement of ``path`` names, absolute, with its line."""
    return _imports_as_if_at(path, path)


def _imports_as_if_at(source: Path, path: Path) -> Iterator[tuple[int, str]]:
    """The imports of ``source`` read as if the file sat at ``path`` inside the package."""
    tree = ast.parse(source.read_text(), filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base == ROOT:
                # ``from labstore import errors`` imports the module labstore.errors.
                for alias in node.names:
                    yield node.lineno, f"{base}.{alias.name}"
            else:
                yield node.lineno, base


def area_of(module: str) -> str | None:
    """The top-level area of a labstore module (``labstore.schema.types`` -> ``schema``)."""
    parts = module.split(".")
    if parts[0] != "labstore":
        return None
    if len(parts) == 1 or parts[1] not in AREAS:
        return ROOT
    return parts[1]


def labstore_imports(area: str) -> list[tuple[str, int, str, str]]:
    """(file, line, module, its area) for every labstore import made inside ``area``."""
    where = PACKAGE / area
    files = sorted(where.rglob("*.py")) if where.is_dir() else [PACKAGE / f"{area}.py"]
    found = []
    for path in files:
        for line, module in imported_modules(path):
            target = area_of(module)
            if target is not None:
                found.append((str(path.relative_to(SRC)), line, module, target))
    return found


def violations(area: str, allowed: set[str]) -> list[str]:
    return [
        f"{file}:{line} imports {module}"
        for file, line, module, target in labstore_imports(area)
        if target not in allowed
    ]


def test_the_package_has_the_documented_areas() -> None:
    assert {"errors", "schema", "query", "store", "client", "server", "cli"} <= AREAS


def test_the_import_scanner_sees_imports() -> None:
    """Guard the rules below against a scanner that finds nothing."""
    schema = {module for _, _, module, _ in labstore_imports("schema")}
    assert "labstore.errors" in schema
    assert "labstore.schema.types" in schema
    query = {target for _, _, _, target in labstore_imports("query")}
    assert query >= {"errors", "schema", "query"}


def test_errors_imports_nothing_of_labstore() -> None:
    assert labstore_imports("errors") == []


def test_schema_imports_only_errors_and_schema() -> None:
    assert violations("schema", {"errors", "schema"}) == []


def test_query_imports_only_errors_schema_and_query() -> None:
    assert violations("query", {"errors", "schema", "query"}) == []


def test_convert_imports_only_errors_schema_and_convert() -> None:
    """Neo/odML conversion is pure: client and server both may use it, it uses neither."""
    assert violations("convert", {"errors", "schema", "convert"}) == []


def test_store_imports_only_errors_schema_query_and_store() -> None:
    assert violations("store", {"errors", "schema", "query", "store"}) == []


def test_client_never_imports_server() -> None:
    found = [f"{f}:{line} {m}" for f, line, m, t in labstore_imports("client") if t == "server"]
    assert found == []


def test_server_never_imports_client() -> None:
    found = [f"{f}:{line} {m}" for f, line, m, t in labstore_imports("server") if t == "client"]
    assert found == []


def test_the_scanner_resolves_relative_and_root_imports(tmp_path: Path) -> None:
    """``from ..x import y`` and ``from labstore import name`` resolve as Python would."""
    packs = SRC / "labstore" / "schema" / "packs"
    tree = (
        "from ..types import Field\nfrom . import core\nfrom labstore import errors, __version__\n"
    )
    probe = packs / "probe.py"  # a path only: nothing is written under src/
    assert module_name(packs / "core.py") == "labstore.schema.packs.core"
    probe_source = tmp_path / "probe.py"
    probe_source.write_text(tree)
    found = [m for _, m in _imports_as_if_at(probe_source, probe)]
    assert found == [
        "labstore.schema.types",
        "labstore.schema.packs",
        "labstore.errors",
        "labstore.__version__",
    ]
    assert area_of("labstore.server.app") == "server"
    assert area_of("labstore.__version__") == ROOT
    assert area_of("labstore") == ROOT
    assert area_of("httpx") is None


def print_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    ]


def test_no_print_outside_the_cli() -> None:
    found = {
        str(path.relative_to(SRC)): lines
        for path in source_files()
        if path != PACKAGE / "cli.py" and (lines := print_calls(path))
    }
    assert found == {}


def test_print_scanner_finds_calls(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    print('x')\n\nprint\n")
    assert print_calls(sample) == [2]


# --- the public API -------------------------------------------------------------------------

PUBLIC_API = [
    "LabObject",
    "ModelInterface",
    "Session",
    "__version__",
    "errors",
    "get_profile_config",
    "login",
    "session",
]


def test_public_api_is_pinned() -> None:
    assert sorted(labstore.__all__) == PUBLIC_API
    assert labstore.__all__ == PUBLIC_API


@pytest.mark.parametrize("name", PUBLIC_API)
def test_public_names_resolve(name: str) -> None:
    assert getattr(labstore, name) is not None


def test_public_names_are_what_they_say() -> None:
    from labstore.client.config import get_profile_config
    from labstore.client.session import Session

    assert labstore.Session is Session
    assert labstore.get_profile_config is get_profile_config
    assert labstore.errors.LabstoreError.__name__ == "LabstoreError"
    assert isinstance(labstore.__version__, str)
    assert labstore.__version__.count(".") >= 1


def test_global_session_functions_exist() -> None:
    assert callable(labstore.session.create)
    assert callable(labstore.session.close)


def test_package_init_defines_nothing_but_the_api() -> None:
    """``__init__.py`` re-exports; it holds no classes or functions of its own."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    defined = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    ]
    assert defined == []


# --- nothing built at import ----------------------------------------------------------------

PROBE = """
import json, sys
import labstore.server.app
from fastapi import FastAPI
from sqlalchemy.engine import Engine
built = [
    f"{name}.{attr}"
    for name, module in list(sys.modules.items())
    if name.startswith("labstore")
    for attr, value in vars(module).items()
    if isinstance(value, (FastAPI, Engine))
]
print(json.dumps(built))
"""


def test_importing_the_server_app_builds_nothing(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTORE_")}
    env["LABSTORE_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
    assert list(cwd.iterdir()) == []  # no labstore-data, no SQLite file
    assert not data_dir.exists()
