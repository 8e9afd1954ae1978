"""A real uvicorn server process per test module and database backend.

Users and the project are made with the real ``labstore`` command. The server is shared by
the tests of a module, so tests name their objects uniquely and count relative to a start.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, backend_database
from tests.support.live import LiveServer


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: str | None,
) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("live")
    with backend_database(request.param, folder, postgres_server) as url:
        server = LiveServer(folder / "data", database_url="" if url.startswith("sqlite") else url)
        server.data_dir.mkdir()
        server.cli("user", "add", "alice", "--password-stdin", input="alice-password\n")
        server.cli("user", "add", "bob", "--password-stdin", input="bob-password\n")
        server.cli("project", "add", "neuro", "--member", "alice", "--member", "bob")
        server.start()
        yield server
        server.stop()
