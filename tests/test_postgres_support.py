"""The throw-away PostgreSQL cluster of tests/support/postgres.py starts, serves and stops."""

from __future__ import annotations

import socket
from pathlib import Path

import psycopg
import pytest

try:
    from tests.support.postgres import PostgresCluster, find_postgres_bin, in_ci
except ModuleNotFoundError:  # `pytest` puts tests/ (not the repo root) on sys.path
    from support.postgres import PostgresCluster, find_postgres_bin, in_ci


def test_cluster_starts_serves_and_stops(tmp_path: Path) -> None:
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if in_ci():
            pytest.fail(f"{message}, but PostgreSQL is required in CI")
        pytest.skip(f"{message}; run scripts/install-system-deps.sh to test with PostgreSQL")

    cluster = PostgresCluster.start(tmp_path, bin_dir=bin_dir)
    try:
        assert cluster.url == f"postgresql+psycopg://postgres@127.0.0.1:{cluster.port}/postgres"
        with psycopg.connect(cluster.conninfo, connect_timeout=10) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        cluster.stop()

    assert not cluster.root.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", cluster.port), timeout=2):
        pass
    cluster.stop()  # a second stop is harmless
