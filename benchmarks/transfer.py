"""Transfer benchmark: a large file up and down through labstore, beside curl and a disk copy.

A real ``labstore serve`` (SQLite, blobs on local disk) runs on 127.0.0.1 with one user. One
file of ``--size`` MiB (1 GiB by default) is moved four ways, each timed on its own:

1. **labstore upload**: ``Session.blobs.put(path)`` in a child process: it hashes the file
   (whole and per chunk, in one read), asks whether the server has it, and sends it in 32 MiB
   chunks (4 at a time), each with its sha256; the server hashes the whole as the chunks
   arrive and stores it once it matches;
2. **curl upload**: ``curl -T FILE`` as one ``PUT /api/blobs/{sha256}`` with the same token (the
   server hashes and stores it as it arrives); the sha256 is computed beforehand, untimed;
3. **labstore download**: ``Session.blobs.download(sha256, dest)`` in a child process: 8 MiB
   Range requests, 4 at a time, written at their offsets and hashed in order as they land;
4. **curl download**: ``curl -o DEST`` of ``GET /api/blobs/{sha256}`` (no hash check);

and a plain ``cp`` of the same file is the bound (the disk and page cache alone, no HTTP).
The two uploads send different files of the same size (otherwise the second would find the
content already stored and send nothing).

The client's peak memory is the child process's ``ru_maxrss`` (the Python interpreter and
labstore's imports included); the timings are measured inside the child, around the call.

How to read it: ``vs curl`` is labstore's throughput over curl's on the same server (1.0:
as fast; the target is 0.7 or more), ``vs cp`` is the share of a disk copy's speed. labstore's
upload also hashes the file before sending it (to skip content the server has and to name the
upload), which curl does not.

Usage::

    .venv/bin/python benchmarks/transfer.py               # 1 GiB, about a minute
    .venv/bin/python benchmarks/transfer.py --size 64     # 64 MiB, a smoke test

The figures are also written to ``benchmarks/results/transfer.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from _support import (
    LabstoreServer,
    exit_on_sigterm,
    machine_facts,
    write_results,
)

MIB = 1024 * 1024
USER, PASSWORD = "bench", "bench-password"

# Runs in a child process, so its peak memory is the client's alone.
CLIENT = """
import json, resource, sys, time
import labstore
action, url, token, *rest = sys.argv[1:]
s = labstore.Session({"location": url, "token": token, "request_timeout": 600})
started = time.perf_counter()
if action == "upload":
    result = s.blobs.put(rest[0])
else:
    result = str(s.blobs.download(rest[0], rest[1]))
seconds = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "result": result}))
"""


def make_file(path: Path, size: int, salt: int) -> str:
    """A file of ``size`` bytes that no other run shares (``salt``); returns its sha256."""
    block = bytearray(os.urandom(MIB))
    hasher = hashlib.sha256()
    with path.open("wb") as out:
        for i in range(-(-size // MIB)):
            block[:16] = salt.to_bytes(8, "little") + i.to_bytes(8, "little")
            piece = bytes(block[: min(MIB, size - i * MIB)])
            hasher.update(piece)
            out.write(piece)
    return hasher.hexdigest()


def run_client(action: str, server: LabstoreServer, token: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, action, server.url, token, *args],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("LABSTORE_")},
    )
    if done.returncode != 0:
        raise RuntimeError(f"labstore {action} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def curl(token: str, *args: str) -> list[str]:
    return ["curl", "-sS", "--fail", "-H", f"Authorization: Bearer {token}", *args]


def file_sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(MIB):
            hasher.update(piece)
    return hasher.hexdigest()


def measure(work: Path, size: int) -> dict[str, Any]:
    server = LabstoreServer(work / "data")
    server.add_user(USER, PASSWORD)
    server.start()
    try:
        token = httpx.post(
            f"{server.url}/api/auth/token", json={"username": USER, "password": PASSWORD}
        ).json()["token"]
        mine, theirs = work / "labstore.bin", work / "curl.bin"
        sha_mine, sha_theirs = make_file(mine, size, 1), make_file(theirs, size, 2)

        copy_seconds = timed(["cp", str(mine), str(work / "copy.bin")])
        (work / "copy.bin").unlink()

        up = run_client("upload", server, token, str(mine))
        assert up["result"] == sha_mine, up
        curl_up = timed(curl(token, "-T", str(theirs), f"{server.url}/api/blobs/{sha_theirs}"))

        down = run_client("download", server, token, sha_mine, str(work / "down-labstore.bin"))
        curl_down = timed(
            curl(token, "-o", str(work / "down-curl.bin"), f"{server.url}/api/blobs/{sha_mine}")
        )
        for copy in ("down-labstore.bin", "down-curl.bin"):
            if file_sha256(work / copy) != sha_mine:
                raise RuntimeError(f"{copy} differs from what was uploaded")
    finally:
        server.stop()

    def rate(seconds: float) -> float:
        return round(size / MIB / seconds, 1)

    def compare(labstore: dict[str, Any], curl_seconds: float) -> dict[str, Any]:
        seconds = labstore["seconds"]
        return {
            "labstore": {"seconds": round(seconds, 3), "mb_s": rate(seconds)},
            "curl": {"seconds": round(curl_seconds, 3), "mb_s": rate(curl_seconds)},
            "labstore_vs_curl": round(curl_seconds / seconds, 2),
            "labstore_vs_cp": round(copy_seconds / seconds, 2),
            "client_peak_mib": round(labstore["peak_mib"], 1),
        }

    return {
        "size_mib": size // MIB,
        "copy": {"seconds": round(copy_seconds, 3), "mb_s": rate(copy_seconds)},
        "upload": compare(up, curl_up),
        "download": compare(down, curl_down),
    }


def report(figures: dict[str, Any]) -> None:
    print(f"\n{figures['size_mib']} MiB over loopback (MiB/s; ratios of throughput)\n")
    print(f"{'':10} {'labstore':>10} {'curl':>10} {'vs curl':>8} {'vs cp':>7} {'client peak':>12}")
    for name in ("upload", "download"):
        row = figures[name]
        print(
            f"{name:10} {row['labstore']['mb_s']:>10} {row['curl']['mb_s']:>10} "
            f"{row['labstore_vs_curl']:>8} {row['labstore_vs_cp']:>7} "
            f"{row['client_peak_mib']:>9} MiB"
        )
    print(f"{'cp':10} {figures['copy']['mb_s']:>10} (the bound: disk and page cache, no HTTP)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1024, help="file size in MiB (1024)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    if shutil.which("curl") is None:
        print("curl is not installed: it is the comparison (apt-get install curl)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="labstore-transfer-"))
    try:
        figures = measure(work, args.size * MIB)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["machine"] = machine_facts(None)
    report(figures)
    print(f"\nwritten to {write_results('transfer', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
