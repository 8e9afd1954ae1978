"""Retries benchmark: what idempotency keys cost on a clean network and buy on a faulty one.

A real ``labstore serve`` (SQLite) runs on 127.0.0.1 with one user; every object is an
``experiment/subject`` with a unique nickname. Two series:

1. **clean network, key cost**: creates per second sent with ``httpx`` one ``POST`` at a
   time, with an ``Idempotency-Key`` (the server stores the key and the answer in the write's
   transaction) and without one (what a plain HTTP client sends), interleaved in rounds so
   drift hits both alike. The ratio is the share of the keyless rate that keyed writes keep.
2. **faulty network**: the same number of creates through the fault-injecting proxy of the
   test suite (``tests/support/faultproxy.py``: resets before and after the server saw the
   request, 503 and 429 with Retry-After, truncated answers and stalls, at ``--fault-rate``),
   once with ``Session.set()`` (retries with keys) and once with the alternative a user would
   write: ``httpx`` retrying every failed POST without a key. Printed: the seconds taken, the
   objects the server holds afterwards, and so the duplicates each client made.

Usage::

    .venv/bin/python benchmarks/retries.py            # 1,000 creates a series, about a minute
    .venv/bin/python benchmarks/retries.py --quick    # 100 creates, a smoke test
    .venv/bin/python benchmarks/retries.py --creates 2000 --fault-rate 0.1

The figures are also written to ``benchmarks/results/retries.json``. One run on one machine:
compare figures of the same run.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from _support import LabstoreServer, exit_on_sigterm, machine_facts, write_results
from tests.support.faultproxy import FaultProxy

import labstore

USERNAME = "bench"
PASSWORD = "pw12345"
SUBJECTS = "/api/experiment/subject"
ROUNDS = 5
# Short waits: the proxy's faults are immediate, so long backoffs would only measure sleep.
FAST_RETRIES: dict[str, Any] = {
    "request_timeout": 1.0,
    "retry": {0: 10, 429: 10, 503: 10},
    "backoff": {0: (0.01, 0.05), 429: (0.01, 0.05), 503: (0.01, 0.05)},
    "retry_timeout": 120.0,
}


def login(url: str) -> dict[str, str]:
    answer = httpx.post(f"{url}/api/auth/token", json={"username": USERNAME, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def count(url: str, auth: dict[str, str], prefix: str) -> int:
    answer = httpx.get(
        f"{url}{SUBJECTS}/count", params={"nickname__startswith": prefix}, headers=auth
    )
    answer.raise_for_status()
    return int(answer.json()["count"])


def clean_rates(url: str, auth: dict[str, str], creates: int) -> dict[str, float]:
    """Creates per second with and without keys, in interleaved rounds."""
    per_round = max(1, creates // ROUNDS)
    seconds = {"with key": 0.0, "without key": 0.0}
    with httpx.Client(base_url=url, headers=auth) as client:
        for _ in range(ROUNDS):
            for label in seconds:
                keyed = label == "with key"
                start = time.perf_counter()
                for _ in range(per_round):
                    headers = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
                    body = {"nickname": f"clean-{uuid.uuid4().hex[:12]}"}
                    client.post(SUBJECTS, json=body, headers=headers).raise_for_status()
                seconds[label] += time.perf_counter() - start
    return {label: per_round * ROUNDS / s for label, s in seconds.items()}


def naive_creates(url: str, auth: dict[str, str], prefix: str, creates: int) -> None:
    """POST each object, retrying any failure at once, without a key."""
    with httpx.Client(base_url=url, headers=auth, timeout=1.0) as client:
        for i in range(creates):
            while True:
                try:
                    answer = client.post(SUBJECTS, json={"nickname": f"{prefix}{i}"})
                except httpx.TransportError:
                    continue
                if answer.status_code == 201:
                    break


def session_creates(url: str, prefix: str, creates: int, config: Path) -> None:
    options = {"location": url, "username": USERNAME, "password": PASSWORD, **FAST_RETRIES}
    with labstore.Session(options, file_name=config) as s:
        for i in range(creates):
            s.set(s.Subject.new(nickname=f"{prefix}{i}"))


def faulty_run(
    server: LabstoreServer,
    auth: dict[str, str],
    creates: int,
    rate: float,
    run: Callable[[str, str], None],
) -> dict[str, Any]:
    prefix = f"f-{uuid.uuid4().hex[:8]}-"
    with FaultProxy(port=server.port, rate=rate, seed=7, stall_seconds=1.5) as proxy:
        start = time.perf_counter()
        run(proxy.url, prefix)
        seconds = time.perf_counter() - start
        faults = sum(proxy.injected.values())
    stored = count(server.url, auth, prefix)
    return {"seconds": round(seconds, 2), "objects": stored, "duplicates": stored - creates,
            "faults": faults}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=1000, help="creates in each series")
    parser.add_argument("--fault-rate", type=float, default=0.3, help="share of requests hit")
    parser.add_argument("--quick", action="store_true", help="100 creates: a smoke test")
    args = parser.parse_args(argv)
    creates = 100 if args.quick else args.creates
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    work = Path(tempfile.mkdtemp(prefix="labstore-retries-"))
    try:
        with LabstoreServer(work / "data") as server:
            server.add_user(USERNAME, PASSWORD)
            server.start()
            auth = login(server.url)
            rates = clean_rates(server.url, auth, creates)
            labstore_run = faulty_run(
                server, auth, creates, args.fault_rate,
                lambda url, prefix: session_creates(url, prefix, creates, work / "c.toml"),
            )  # fmt: skip
            naive_run = faulty_run(
                server, auth, creates, args.fault_rate,
                lambda url, prefix: naive_creates(url, auth, prefix, creates),
            )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    keep = rates["with key"] / rates["without key"]
    print(f"{creates} creates a series, SQLite, fault rate {args.fault_rate:.0%}")
    print(f"{'clean network':<34}{'with key':>12}{'without key':>14}{'ratio':>8}")
    print(f"{'  creates/s (httpx, one POST each)':<34}{rates['with key']:>12.0f}"
          f"{rates['without key']:>14.0f}{keep:>8.2f}")  # fmt: skip
    print(f"{'faulty network':<34}{'labstore':>12}{'naive httpx':>14}{'ratio':>8}")
    for figure in ("seconds", "objects", "duplicates", "faults"):
        mine, theirs = labstore_run[figure], naive_run[figure]
        ratio = f"{mine / theirs:>8.2f}" if figure == "seconds" and theirs else ""
        print(f"  {figure:<32}{mine:>12}{theirs:>14}{ratio}")
    path = write_results(
        "retries",
        {
            "machine": machine_facts(None),
            "creates": creates,
            "fault_rate": args.fault_rate,
            "clean_creates_per_s": {k: round(v, 1) for k, v in rates.items()},
            "keyed_share_of_keyless_rate": round(keep, 3),
            "faulty": {"labstore": labstore_run, "naive_httpx": naive_run},
        },
    )
    print(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
