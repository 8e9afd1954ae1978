"""Throw-away PostgreSQL clusters for the test suite.

A cluster lives in a fresh directory, listens only on 127.0.0.1 on a free port, trusts every
local connection and is tuned for speed, not durability (``fsync=off`` and friends). It is
meant to be started once per test run and thrown away afterwards.

``initdb`` refuses to run as root, so when the current user is root the server programs run as
the ``postgres`` OS user (through ``runuser``, or ``su``), on a directory owned by that user.
Any other user runs them directly.

Python API::

    cluster = PostgresCluster.start(tmp_path)   # or start_cluster(tmp_path)
    engine = sqlalchemy.create_engine(cluster.url)
    ...
    cluster.stop()                               # also: ``with PostgresCluster.start(...)``

Command line (used by ``make test``)::

    python -m tests.support.postgres run -- CMD ARGS...

starts a cluster, runs CMD with ``LABSTORE_TEST_POSTGRES_URL`` set to the cluster's SQLAlchemy
URL, stops the cluster afterwards (also on Ctrl-C or failure) and exits with CMD's exit code.
Without PostgreSQL binaries it runs CMD without the variable (PostgreSQL tests then skip), or,
when ``CI`` is ``true``/``1``, fails with exit code 2.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType

import psycopg

__all__ = [
    "ENV_VAR",
    "PostgresCluster",
    "find_postgres_bin",
    "in_ci",
    "main",
    "start_cluster",
]

ENV_VAR = "LABSTORE_TEST_POSTGRES_URL"
"""Environment variable through which the test run receives the cluster's SQLAlchemy URL."""

HOST = "127.0.0.1"
SERVER_OS_USER = "postgres"
"""The OS user that runs initdb/pg_ctl when the current user is root."""

_SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}
_REQUIRED_PROGRAMS = ("initdb", "pg_ctl")
# Unix socket paths are limited to 107 bytes (sizeof(sun_path) - 1).
_MAX_SOCKET_PATH = 107
_SOCKET_NAME_LEN = len("/.s.PGSQL.65535")
_PORT_ATTEMPTS = 3


def in_ci() -> bool:
    """Whether we run in CI (environment variable ``CI`` is ``true`` or ``1``)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def _has_server_programs(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _REQUIRED_PROGRAMS)


def _version_key(directory: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))


def find_postgres_bin() -> Path | None:
    """Return the directory holding PostgreSQL's ``initdb`` and ``pg_ctl``, or None.

    Looks, in order, at ``pg_config --bindir``, at ``/usr/lib/postgresql/*/bin`` (newest
    version first, Debian's layout) and at the directories on ``PATH``.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            result = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            )
            if result.returncode == 0 and result.stdout.strip():
                candidates.append(Path(result.stdout.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).parent)
        # A symlink (e.g. /usr/local/bin/initdb) to the real bin directory.
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if _has_server_programs(candidate):
            return candidate
    return None


def _server_user() -> pwd.struct_passwd | None:
    """The OS user to run the server programs as, or None for the current user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        raise RuntimeError(
            f"running as root, but there is no {SERVER_OS_USER!r} OS user to run PostgreSQL "
            "as (initdb refuses to run as root); install PostgreSQL with "
            "scripts/install-system-deps.sh"
        ) from None


def _as_user(user: pwd.struct_passwd | None, argv: Sequence[str]) -> list[str]:
    if user is None:
        return list(argv)
    runuser = shutil.which("runuser")
    if runuser is not None:
        return [runuser, "-u", user.pw_name, "--", *argv]
    return ["su", "-s", "/bin/sh", user.pw_name, "-c", shlex.join(argv)]


def _server_env() -> dict[str, str]:
    # PG* variables (PGPORT, PGDATA, ...) would change what the programs do.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        pass
    else:
        # A zombie is dead for our purpose (its parent may never reap it).
        return stat.rpartition(")")[2].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no server log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(server log is empty)"


class PostgresCluster:
    """A running throw-away PostgreSQL cluster; create one with :meth:`start`."""

    url: str
    """SQLAlchemy URL: ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``."""
    conninfo: str
    """The same as a libpq URL (``postgresql://...``), e.g. for ``psycopg.connect``."""
    host: str
    port: int
    root: Path
    """The cluster's own directory (data directory, Unix socket, server log); removed by stop."""
    data_dir: Path
    log_path: Path
    bin_dir: Path

    def __init__(
        self, *, bin_dir: Path, root: Path, port: int, user: pwd.struct_passwd | None
    ) -> None:
        """Describe a cluster; use :meth:`start` to make and run one."""
        self.bin_dir = bin_dir
        self.root = root
        self.data_dir = root / "data"
        self.log_path = root / "server.log"
        self.host = HOST
        self.port = port
        self.url = f"postgresql+psycopg://postgres@{HOST}:{port}/postgres"
        self.conninfo = f"postgresql://postgres@{HOST}:{port}/postgres"
        self._user = user
        self._pid: int | None = None
        self._stopped = False

    @classmethod
    def start(
        cls, base_dir: Path, *, bin_dir: Path | None = None, timeout: float = 30.0
    ) -> PostgresCluster:
        """Create a cluster in a new directory under ``base_dir``, start it and wait for it.

        If the server user cannot use ``base_dir`` (e.g. pytest's 0700 temp dirs when running
        as root) or its path is too long for a Unix socket, the system temp dir is used instead.
        Raises RuntimeError (with the server log's tail) if the cluster fails to start or to
        accept connections within ``timeout`` seconds.
        """
        if bin_dir is None:
            bin_dir = find_postgres_bin()
        if bin_dir is None:
            raise RuntimeError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found; "
                "install them with scripts/install-system-deps.sh"
            )
        user = _server_user()
        root = _make_root(Path(base_dir), user)
        cluster = cls(bin_dir=bin_dir, root=root, port=0, user=user)
        try:
            cluster._init()
            cluster._start(timeout)
        except BaseException:
            cluster.stop()
            raise
        atexit.register(cluster.stop)
        return cluster

    # -- internals ------------------------------------------------------------------------

    def _run(self, *argv: str, timeout: float) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                _as_user(self._user, argv),
                cwd=self.root,
                env=_server_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            what = " ".join([Path(argv[0]).name, *argv[1:2]])  # e.g. "pg_ctl start"
            raise RuntimeError(
                f"{what} timed out after {timeout:.0f}s\n"
                f"--- tail of {self.log_path} ---\n{_tail(self.log_path)}"
            ) from exc

    def _init(self) -> None:
        result = self._run(
            str(self.bin_dir / "initdb"),
            str(self.data_dir),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def _write_settings(self) -> None:
        settings = {
            **_SERVER_SETTINGS,
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
        }
        lines = [f"{key} = '{value}'" for key, value in settings.items()]
        # Later settings win, and postgresql.conf is owned by the server user: append as is.
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# labstore test cluster\n" + "\n".join(lines) + "\n")

    def _start(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            self.port = _free_port()
            self.url = f"postgresql+psycopg://postgres@{HOST}:{self.port}/postgres"
            self.conninfo = f"postgresql://postgres@{HOST}:{self.port}/postgres"
            self._write_settings()
            log_size = self.log_path.stat().st_size if self.log_path.exists() else 0
            remaining = max(1, int(deadline - time.monotonic()))
            result = self._run(
                str(self.bin_dir / "pg_ctl"),
                "start",
                "--pgdata",
                str(self.data_dir),
                "--log",
                str(self.log_path),
                "--wait",
                "--timeout",
                str(remaining),
                timeout=remaining + 10,
            )
            self._read_pid()
            if result.returncode == 0:
                break
            new_log = self.log_path.read_text(errors="replace")[log_size:]
            port_taken = "could not bind" in new_log or "already in use" in new_log
            if not port_taken or attempt == _PORT_ATTEMPTS:
                raise RuntimeError(
                    f"PostgreSQL failed to start (pg_ctl exit {result.returncode}): "
                    f"{result.stdout.strip()} {result.stderr.strip()}\n"
                    f"--- tail of {self.log_path} ---\n{_tail(self.log_path)}"
                )
        self._wait_until_ready(deadline)

    def _read_pid(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid_file = self.data_dir / "postmaster.pid"
            self._pid = int(pid_file.read_text().splitlines()[0])

    def _wait_until_ready(self, deadline: float) -> None:
        while True:
            try:
                with psycopg.connect(self.conninfo, connect_timeout=2) as conn:
                    conn.execute("select 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"PostgreSQL on {HOST}:{self.port} does not accept connections: "
                        f"{exc}\n--- tail of {self.log_path} ---\n{_tail(self.log_path)}"
                    ) from exc
            time.sleep(0.1)

    # -- public ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m immediate``) and remove its directory.

        Safe to call more than once; never raises for an already stopped server.
        """
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(OSError, RuntimeError):
                self._run(
                    str(self.bin_dir / "pg_ctl"),
                    "stop",
                    "--pgdata",
                    str(self.data_dir),
                    "--mode",
                    "immediate",
                    "--wait",
                    "--timeout",
                    "30",
                    timeout=40,
                )
        if self._pid is not None and _pid_alive(self._pid):
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            give_up = time.monotonic() + 10
            while _pid_alive(self._pid) and time.monotonic() < give_up:
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<PostgresCluster {self.url} {state} in {self.root}>"


def start_cluster(base_dir: Path, *, timeout: float = 30.0) -> PostgresCluster:
    """Start a cluster under ``base_dir``; see :meth:`PostgresCluster.start`."""
    return PostgresCluster.start(base_dir, timeout=timeout)


def _usable_by(user: pwd.struct_passwd, directory: Path) -> bool:
    result = subprocess.run(
        _as_user(user, ["test", "-w", str(directory), "-a", "-x", str(directory)]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0


def _make_root(base_dir: Path, user: pwd.struct_passwd | None) -> Path:
    """Make the cluster's directory, owned by (and usable by) the server user."""
    for parent in (base_dir, Path(tempfile.gettempdir())):
        parent.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="labstore-pg-", dir=parent)).absolute()
        if len(str(root)) + _SOCKET_NAME_LEN > _MAX_SOCKET_PATH:
            root.rmdir()
            continue
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
            if not _usable_by(user, root):
                root.rmdir()
                continue
        return root
    raise RuntimeError(
        f"no directory for a PostgreSQL cluster: neither {base_dir} nor the temp dir "
        "is usable by the server user with a short enough path for a Unix socket"
    )


# -- command line ---------------------------------------------------------------------------


def _say(message: str) -> None:
    sys.stderr.write(f"tests.support.postgres: {message}\n")
    sys.stderr.flush()


def _run_command(argv: Sequence[str], env: dict[str, str]) -> int:
    """Run argv to completion, forwarding SIGTERM/SIGHUP; return a shell-style exit code."""
    try:
        proc = subprocess.Popen(argv, env=env)
    except OSError as exc:
        _say(f"cannot run {argv[0]!r}: {exc}")
        return 127

    def forward(signum: int, frame: FrameType | None) -> None:
        proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        returncode = proc.wait()
    except KeyboardInterrupt:
        # A terminal's Ctrl-C reaches the child too; give it a moment to finish on its own.
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - returncode if returncode < 0 else returncode


def _cmd_run(command: list[str]) -> int:
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        if in_ci():
            _say(
                "error: PostgreSQL is required in CI, but its server binaries (initdb, pg_ctl) "
                "were not found; install them with scripts/install-system-deps.sh"
            )
            return 2
        _say(
            f"warning: PostgreSQL not found; running without {ENV_VAR}, "
            "so the PostgreSQL tests will be skipped"
        )
        return _run_command(command, dict(os.environ))

    began = time.monotonic()
    try:
        cluster = PostgresCluster.start(Path(tempfile.gettempdir()), bin_dir=bin_dir)
    except RuntimeError as exc:
        _say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    try:
        _say(
            f"PostgreSQL from {bin_dir} on {cluster.host}:{cluster.port} "
            f"(started in {time.monotonic() - began:.1f}s)"
        )
        return _run_command(command, {**os.environ, ENV_VAR: cluster.url})
    finally:
        cluster.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tests.support.postgres``."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.postgres",
        description="Throw-away PostgreSQL clusters for the labstore tests.",
    )
    commands = parser.add_subparsers(dest="action", required=True)
    run = commands.add_parser(
        "run",
        help=f"run a command with {ENV_VAR} pointing at a fresh cluster",
        description=(
            f"Start a cluster, run COMMAND with {ENV_VAR} set to its SQLAlchemy URL, "
            "stop the cluster and exit with COMMAND's exit code."
        ),
    )
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command: list[str] = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        parser.error("run: missing command (usage: run -- COMMAND [ARGS...])")
    return _cmd_run(command)


if __name__ == "__main__":
    sys.exit(main())
