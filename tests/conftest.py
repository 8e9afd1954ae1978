"""Fixtures: the real app on a real database, SQLite always and PostgreSQL when available.

Every test that takes ``app`` (directly or through ``api``/``make_session``) runs twice,
``[sqlite]`` and ``[postgresql]``. PostgreSQL comes from ``LABSTORE_TEST_POSTGRES_URL``
(``make test`` starts a throw-away cluster and sets it); without it the PostgreSQL variants
skip, saying why, except in CI, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

import labstore
from labstore.server import Settings, create_app
from labstore.server.admin import add_member, add_project
from labstore.server.state import AppState
from labstore.store.engine import write_transaction
from tests.support.inprocess import AppTransport
from tests.support.s3 import S3Server

PG_ENV = "LABSTORE_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true")
PASSWORD = "correct horse"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "[postgresql" in item.nodeid:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_server() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url and IN_CI:
        pytest.fail(f"{PG_ENV} is not set: CI must run the PostgreSQL variants (make test)")
    return url


@contextmanager
def temporary_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the test cluster; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def backend_database(backend: str, folder: Path, postgres_server: str | None) -> Iterator[str]:
    """A fresh database URL for ``backend``, skipping PostgreSQL when no server is set."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'labstore.sqlite3'}"
        return
    if not postgres_server:
        pytest.skip(f"PostgreSQL variant: {PG_ENV} not set (run `make test` to start one)")
    with temporary_postgres_database(postgres_server) as url:
        yield url


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: str | None
) -> Iterator[str]:
    with backend_database(request.param, tmp_path, postgres_server) as url:
        yield url


def fast_settings(data_dir: Path, database_url: str = "", **overrides: Any) -> Settings:
    """Real settings with cheap argon2 (hashing is not what these tests measure)."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        **overrides,
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server process (moto) for the whole test session."""
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def storage_settings() -> dict[str, str]:
    """Blob storage settings of ``app``: local disk. Modules that test blobs import
    ``tests.support.s3.storage_on_disk_and_s3`` to run on local disk and on S3."""
    return {}


@pytest.fixture
def app(database_url: str, tmp_path: Path, storage_settings: dict[str, str]) -> Iterator[FastAPI]:
    application = create_app(fast_settings(tmp_path / "data", database_url, **storage_settings))
    yield application
    application.state.labstore.db.dispose()


@pytest.fixture
def state(app: FastAPI) -> AppState:
    result: AppState = app.state.labstore
    return result


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


UserMaker = Callable[..., str]


@pytest.fixture
def make_user(state: AppState) -> UserMaker:
    """``make_user("alice", admin=False, projects=("lab",))`` adds a user; returns the name."""

    def make(name: str, *, admin: bool = False, projects: tuple[str, ...] = ()) -> str:
        projects_table = state.db.tables(state.registry.model("core/project"))
        with write_transaction(state.db.engine) as conn:
            state.accounts.create_user(conn, name, PASSWORD, is_admin=admin)
            for project in projects:
                found = conn.execute(
                    projects_table.select().where(projects_table.c.name == project)
                ).first()
                if found is None:
                    add_project(state, conn, project, owner=name, members=[name])
                else:
                    add_member(state, conn, project, name)
        return name

    return make


@pytest.fixture
def token_for(api: TestClient) -> Callable[[str], dict[str, str]]:
    """Authorization headers for a user made by ``make_user``."""

    def headers(name: str) -> dict[str, str]:
        answer = api.post("/api/auth/token", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    return headers


SessionMaker = Callable[..., labstore.Session]


@pytest.fixture
def make_session(app: FastAPI, tmp_path: Path) -> Iterator[SessionMaker]:
    """Sessions talking to the in-process app; config and token files under tmp_path."""
    made: list[labstore.Session] = []

    def make(
        username: str | None = None, password: str | None = PASSWORD, **options: Any
    ) -> labstore.Session:
        opts = {"location": "http://testserver", **options}
        if username:
            opts.update(username=username, password=password)
        file_name = options.pop("file_name", None) or tmp_path / "client" / "config.toml"
        opts.pop("file_name", None)
        session = labstore.Session(opts, file_name=file_name, transport=AppTransport(app))
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()
