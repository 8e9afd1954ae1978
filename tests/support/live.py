"""A real labstore server process (``labstore serve``) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LABSTORE = str(Path(sys.executable).with_name("labstore"))
# Real settings, cheap hashing: these tests are about behaviour, not argon2's cost.
FAST_ENV = {"LABSTORE_ARGON2_TIME_COST": "1", "LABSTORE_ARGON2_MEMORY_KIB": "1024"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    data_dir: Path
    database_url: str = ""
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {**os.environ, **FAST_ENV, "LABSTORE_DATA_DIR": str(self.data_dir)}
        if self.database_url:
            env["LABSTORE_DATABASE_URL"] = self.database_url
        return env

    def cli(self, *args: str, input: str | None = None) -> str:
        """Run a ``labstore`` command on this server's data; returns its output."""
        done = subprocess.run(
            [LABSTORE, *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"labstore {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, timeout: float = 90.0) -> LiveServer:
        log = open(self.data_dir.parent / f"server-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [LABSTORE, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {Path(log.name).read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/ping", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
