"""Retries through a faulty network: a real server behind the fault-injecting proxy.

1,000 creates at a 30% fault rate (resets before and after the server saw the request, 503
and 429 with Retry-After, truncated answers, stalls past the request timeout) all complete,
and the server holds exactly 1,000 objects. A control run without idempotency keys shows the
proxy does make duplicates of naive retries, so the main test can fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import labstore
from labstore.client import downloads, uploads
from tests.e2e.test_readme import quickstart_code
from tests.support.faultproxy import FAULTS, FaultProxy
from tests.support.live import LiveServer

CREATES = 1000
UPLOADS = 50
THREADS = 4
# Small waits keep the run short; large budgets make a give-up vanishingly unlikely
# (no answer at 30% * 4/6 per attempt, eleven times in a row: about 2e-8 per create).
FAST_RETRIES: dict[str, Any] = {
    "request_timeout": 1.0,
    "retry": {0: 10, 429: 10, 503: 10},
    "backoff": {0: (0.01, 0.05), 429: (0.01, 0.05), 503: (0.01, 0.05)},
    "retry_timeout": 120.0,
}


def alice_options(url: str, **extra: Any) -> dict[str, Any]:
    return {"location": url, "username": "alice", "password": "alice-password", **extra}


def login_token(live_server: LiveServer) -> str:
    answer = httpx.post(
        f"{live_server.url}/api/auth/token",
        json={"username": "alice", "password": "alice-password"},
    )
    return str(answer.json()["token"])


def count_subjects(live_server: LiveServer, tmp_path: Path, prefix: str) -> list[str]:
    """The nicknames of the subjects starting with ``prefix``, asked without the proxy."""
    with labstore.Session(alice_options(live_server.url), file_name=tmp_path / "d.toml") as s:
        found = s.select("experiment/subject", {"nickname__startswith": prefix})
        return [subject.nickname for subject in found]


def test_a_thousand_creates_through_faults_make_a_thousand_objects(
    live_server: LiveServer, tmp_path: Path
) -> None:
    prefix = f"fault-{uuid.uuid4().hex[:6]}-"
    with FaultProxy(port=live_server.port, rate=0.3, seed=7, stall_seconds=1.5) as proxy:

        def create_share(worker: int) -> int:
            options = alice_options(proxy.url, **FAST_RETRIES)
            file_name = tmp_path / f"w{worker}.toml"
            with labstore.Session(options, file_name=file_name) as s:
                for i in range(worker, CREATES, THREADS):
                    stored = s.set(s.Subject.new(nickname=f"{prefix}{i:04d}"))
                    assert stored.location is not None
            return worker

        with ThreadPoolExecutor(THREADS) as pool:
            assert sorted(pool.map(create_share, range(THREADS))) == list(range(THREADS))
        faults = dict(proxy.injected)
    nicknames = count_subjects(live_server, tmp_path, prefix)
    assert len(nicknames) == CREATES
    assert sorted(nicknames) == [f"{prefix}{i:04d}" for i in range(CREATES)]
    # Every kind of fault happened, about as often as asked.
    assert set(faults) == set(FAULTS), faults
    assert sum(faults.values()) >= 0.2 * CREATES


def test_fifty_uploads_through_faults_store_each_file_once_and_whole(
    live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small chunks and segments, so most files go as resumable chunked uploads and come back
    as parallel Range downloads, through the same faults as the creates."""
    monkeypatch.setattr(uploads, "CHUNK_SIZE", 64 * 1024)
    monkeypatch.setattr(downloads, "SEGMENT", 64 * 1024)
    rng = random.Random(5)
    prefix = f"up-{uuid.uuid4().hex[:6]}-"
    sources = {}
    for i in range(UPLOADS):
        path = tmp_path / "sources" / f"{prefix}{i:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(1024, 200 * 1024)))
        sources[path.name] = path
    with FaultProxy(port=live_server.port, rate=0.3, seed=13, stall_seconds=1.0) as proxy:
        # Each stall costs a request timeout: a short one keeps the run short.
        options = alice_options(proxy.url, **{**FAST_RETRIES, "request_timeout": 0.5})
        with labstore.Session(options, file_name=tmp_path / "u.toml") as s:
            stored = [s.upload(path) for path in sources.values()]
            for obj in stored:
                target = tmp_path / "back" / obj.name
                for _ in range(20):  # an interrupted download resumes when called again
                    try:
                        s.download(obj, target)
                        break
                    except labstore.errors.TransportError:
                        continue
                assert _sha256(target) == _sha256(sources[obj.name]) == obj.sha256
        faults = dict(proxy.injected)
    assert set(faults) == set(FAULTS), faults
    with labstore.Session(alice_options(live_server.url), file_name=tmp_path / "d.toml") as s:
        files = s.select("core/file", {"name__startswith": prefix})
        assert sorted(f.name for f in files) == sorted(sources)  # each once
        for f in files:  # the server's copy is whole
            assert _sha256(s.download(f, tmp_path / "direct" / f.name)) == f.sha256


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_naive_retries_without_keys_do_make_duplicates(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """The control: the fault that idempotency keys are for is real."""
    prefix = f"naive-{uuid.uuid4().hex[:6]}-"
    token = login_token(live_server)
    with (
        FaultProxy(port=live_server.port, rate=0.5, seed=3, faults=("reset_after",)) as proxy,
        httpx.Client(base_url=proxy.url, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        for i in range(20):
            for _ in range(50):  # retry until an answer arrives, as a naive client would
                try:
                    answer = client.post(
                        "/api/experiment/subject", json={"nickname": f"{prefix}{i}"}
                    )
                    assert answer.status_code == 201
                    break
                except httpx.TransportError:
                    continue
    assert len(count_subjects(live_server, tmp_path, prefix)) > 20


def test_concurrent_duplicates_of_one_keyed_create_make_one_object(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """Retries racing the first attempt: one runs, the others wait and answer as it did."""
    prefix = f"race-{uuid.uuid4().hex[:6]}"
    token = login_token(live_server)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
    gate = threading.Barrier(8)

    def send(_: int) -> httpx.Response:
        gate.wait()
        return httpx.post(
            f"{live_server.url}/api/experiment/subject",
            json={"nickname": prefix},
            headers=headers,
            timeout=30,
        )

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert count_subjects(live_server, tmp_path, prefix) == [prefix]


def test_a_stall_past_retry_timeout_gives_up(live_server: LiveServer, tmp_path: Path) -> None:
    """retry_timeout bounds the whole: an attempt never outlives it, even when request_timeout
    is longer. (Were the attempt to wait for request_timeout, the proxy would drop the
    connection after its 3 s stall first, and the error would be a reset, not a timeout.)"""
    token = login_token(live_server)
    with FaultProxy(port=live_server.port, rate=1.0, faults=("stall",), stall_seconds=3) as proxy:
        options = {"location": proxy.url, "token": token, "request_timeout": 30.0}
        with (
            labstore.Session({**options, "retry_timeout": 0.5}, file_name=tmp_path / "s.toml") as s,
            pytest.raises(labstore.errors.TransportError, match="timed out"),
        ):
            s.get_user_profile()
        assert proxy.requests == 1


def test_the_readme_example_runs_through_faults(live_server: LiveServer, tmp_path: Path) -> None:
    with FaultProxy(port=live_server.port, rate=0.5, seed=11, stall_seconds=1.5) as proxy:
        code = (
            quickstart_code("## Flaky networks")
            .replace("http://127.0.0.1:8000", proxy.url)
            .replace('"demo-password"', '"alice-password"')
            .replace('"demo"', '"alice"')
            .replace('"request_timeout": 60', '"request_timeout": 1')
            .replace("(1, 30)", "(0.01, 0.05)")
            .replace("ZM_3001", f"readme-{uuid.uuid4().hex[:6]}")
        )
        script = tmp_path / "flaky.py"
        script.write_text(code)
        env = {**os.environ, "LABSTORE_CONFIG_FILE": str(tmp_path / "c.toml")}
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 0, done.stderr
    assert "experiment/subject/" in done.stdout
    assert proxy.injected.total() > 0
    assert "failed (attempt" in done.stderr and "Bearer ***" in done.stderr
    token = json.loads((tmp_path / "tokens.json").read_text()).popitem()[1]["token"]
    assert token not in done.stderr
