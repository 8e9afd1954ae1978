"""Shared plumbing of the benchmarks: real servers, throw-away PostgreSQL, figures, results.

Nothing here is mocked: :class:`LabstoreServer` runs ``labstore serve`` as a subprocess of the
project's virtualenv, and :func:`postgres_cluster` starts a real PostgreSQL cluster through the
test suite's helper (``tests/support/postgres.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from sqlalchemy import Connection, Engine

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
BIN_DIR = Path(sys.executable).parent
LABSTORE = BIN_DIR / "labstore"
HOST = "127.0.0.1"

if str(REPO_ROOT) not in sys.path:  # for ``tests.support.postgres``
    sys.path.insert(0, str(REPO_ROOT))

from tests.support.postgres import PostgresCluster, find_postgres_bin  # noqa: E402

# Real server settings that keep logins cheap and the console quiet; the stored objects and
# their checks are the same as with the defaults.
SERVER_SETTINGS = {
    "LABSTORE_ARGON2_MEMORY_KIB": "8192",
    "LABSTORE_ARGON2_TIME_COST": "1",
    "LABSTORE_LOG_LEVEL": "warning",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(database_url: str | None) -> dict[str, str]:
    """The environment of server commands: ours without ``LABSTORE_*``, plus the settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSTORE_")}
    env.update(SERVER_SETTINGS)
    if database_url:
        env["LABSTORE_DATABASE_URL"] = database_url
    return env


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


class LabstoreServer:
    """``labstore serve`` in a subprocess, with one user; stop it with :meth:`stop`.

    Args:
        data_dir: The server's data directory (its SQLite file lives there unless
            ``database_url`` names another database).
        database_url: SQLAlchemy URL of the database, or ``None`` for SQLite in ``data_dir``.
    """

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.env = server_env(database_url)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def add_user(self, username: str, password: str, *, admin: bool = False) -> None:
        """``labstore user add USERNAME --password-stdin [--admin]`` (also creates the schema)."""
        self.cli("user", "add", username, "--password-stdin", *(["--admin"] if admin else []),
                 input=f"{password}\n")  # fmt: skip

    def upgrade(self) -> None:
        """``labstore db upgrade``: create (or upgrade) the schema of the server's database."""
        self.cli("db", "upgrade")

    def cli(self, *args: str, input: str | None = None) -> str:
        """``labstore ARGS... --data-dir DATA_DIR`` with the server's environment; its output."""
        result = subprocess.run(
            [str(LABSTORE), *args, "--data-dir", str(self.data_dir)],
            input=input, env=self.env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(
                f"labstore {' '.join(args[:2])} failed (exit {result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until ``GET /api/ping`` answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [str(LABSTORE), "serve", "--data-dir", str(self.data_dir),
                 "--host", HOST, "--port", str(self.port)],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C reaches us; we stop the server
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(
                    f"labstore serve exited with {self._proc.returncode}:\n{_tail(self.log_path)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/ping", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"labstore serve did not answer within {timeout:.0f}s:\n{_tail(self.log_path)}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> LabstoreServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Postgres:
    """A running cluster, or why there is none (``cluster`` is then ``None``)."""

    cluster: PostgresCluster | None
    reason: str = ""

    def url(self, database: str) -> str:
        assert self.cluster is not None
        return self.cluster.url.rsplit("/", 1)[0] + f"/{database}"

    def create_database(self, name: str) -> str:
        """``CREATE DATABASE name``; returns its SQLAlchemy URL."""
        import psycopg

        assert self.cluster is not None
        with psycopg.connect(self.cluster.conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def version(self) -> str:
        import psycopg

        assert self.cluster is not None
        with psycopg.connect(self.cluster.conninfo) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


@contextlib.contextmanager
def postgres_cluster(base_dir: Path, *, wanted: bool = True) -> Iterator[Postgres]:
    """A throw-away PostgreSQL cluster under ``base_dir``, stopped afterwards.

    Yields a :class:`Postgres` without a cluster (and with the reason) when PostgreSQL is not
    wanted, not installed or does not start.
    """
    if not wanted:
        yield Postgres(None, "--skip-postgres was given")
        return
    if find_postgres_bin() is None:
        yield Postgres(None, "PostgreSQL server binaries (initdb, pg_ctl) not found")
        return
    try:
        cluster = PostgresCluster.start(base_dir)
    except RuntimeError as exc:
        yield Postgres(None, f"PostgreSQL did not start: {exc}")
        return
    try:
        yield Postgres(cluster)
    finally:
        cluster.stop()


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def machine_facts(postgres_version: str | None) -> dict[str, Any]:
    """What the figures depend on: CPU, Python, SQLite and PostgreSQL versions."""
    import labstore

    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version,
        "labstore": labstore.__version__,
    }


def latency_ms(samples: list[float]) -> dict[str, float]:
    """Median and 95th percentile of durations in seconds, in milliseconds."""
    if not samples:
        return {"median_ms": float("nan"), "p95_ms": float("nan")}
    ordered = sorted(samples)
    p95 = (
        statistics.quantiles(ordered, n=100, method="inclusive")[94]
        if len(ordered) > 1
        else ordered[0]
    )
    return {
        "median_ms": round(1000 * statistics.median(ordered), 3),
        "p95_ms": round(1000 * p95, 3),
    }


def write_results(name: str, figures: Mapping[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json``; returns its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=False) + "\n")
    return path


# -- shared by queries.py and visibility.py -------------------------------------------------


def secondary_indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes of ``table`` that no constraint owns."""
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
    else:
        found = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %(t)s AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            {"t": table},
        )
    return [(str(name), str(sql)) for name, sql in found]


def analyze(engine: Engine) -> None:
    """Fresh planner statistics: ``ANALYZE`` (SQLite), ``VACUUM ANALYZE`` (PostgreSQL)."""
    statement = "ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(statement)


def json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds, so servers and the cluster are stopped


@dataclass(frozen=True)
class Scale:
    """How big a run is and how long each query is timed (see :func:`parse_scale`)."""

    objects: int
    runs: int
    warmup: int
    budget: float
    skip_postgres: bool
    explain: bool


def parse_scale(
    description: str,
    argv: list[str] | None,
    *,
    runs: tuple[int, str],
    budget: tuple[float, str],
    explain_help: str,
    min_objects: int,
) -> Scale:
    """The command line shared by the 1,000,000-object benchmarks (``--quick`` and friends).

    ``runs`` and ``budget`` are each a default and what one unit of it is, for the help text.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="20,000 objects, a smoke test")
    parser.add_argument("--objects", type=int, help="objects in all (1,000,000)")
    parser.add_argument("--runs", type=int, help=f"timed runs of each query {runs[1]} ({runs[0]})")
    parser.add_argument("--warmup", type=int, help="untimed runs before them (3)")
    parser.add_argument(
        "--budget", type=float, help=f"seconds of timed runs per query{budget[1]} ({budget[0]:g})"
    )
    parser.add_argument("--skip-postgres", action="store_true", help="no PostgreSQL server")
    parser.add_argument("--explain", action="store_true", help=explain_help)
    args = parser.parse_args(argv)
    scale = Scale(
        objects=args.objects or (20_000 if args.quick else 1_000_000),
        runs=args.runs if args.runs is not None else (10 if args.quick else runs[0]),
        warmup=args.warmup if args.warmup is not None else (1 if args.quick else 3),
        budget=args.budget if args.budget is not None else budget[0],
        skip_postgres=args.skip_postgres,
        explain=args.explain,
    )
    if scale.objects < min_objects or scale.runs < 1 or scale.warmup < 1 or scale.budget <= 0:
        parser.error(
            f"--objects must be at least {min_objects}; --runs, --warmup and --budget positive"
        )
    return scale
