"""Fetching a large blob with parallel Range requests, resumable and hash-checked.

The bytes go into ``<dest>.part`` at their offsets, segment by segment, and the segments done
are noted in ``<dest>.part.json``; a download that was interrupted (an error, a killed
process) starts again from the segments it lacks. The whole is hashed in order while later
segments still arrive, and ``dest`` appears only once the hash checks out.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from labstore.client.transport import Transport
from labstore.client.uploads import LockedProgress, Progress
from labstore.errors import TransportError

SEGMENT = 8 * 1024 * 1024
WORKERS = 4
PIECE = 1 << 20


class _State:
    """Which segments of ``part`` hold their final bytes, kept in a small JSON file."""

    def __init__(self, part: Path, sha256: str, size: int) -> None:
        self.file = part.with_name(part.name + ".json")
        self.identity = {"sha256": sha256, "size": size, "segment": SEGMENT}
        self.done: set[int] = set()
        self.lock = threading.Lock()
        with contextlib.suppress(OSError, ValueError):
            saved = json.loads(self.file.read_text())
            if all(saved.get(k) == v for k, v in self.identity.items()):
                self.done = {int(n) for n in saved["done"]}

    def mark(self, number: int) -> None:
        with self.lock:
            self.done.add(number)
            temporary = self.file.with_name(self.file.name + ".tmp")
            temporary.write_text(json.dumps({**self.identity, "done": sorted(self.done)}))
            os.replace(temporary, self.file)

    def forget(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.file.unlink()


def download_ranges(
    transport: Transport,
    sha256: str,
    size: int,
    target: Path,
    *,
    progress: Progress | None = None,
    workers: int = WORKERS,
) -> None:
    """Write blob ``sha256`` (``size`` bytes) to ``target`` with parallel Range requests.

    Raises:
        TransportError: The bytes do not hash to ``sha256`` (the partial file is dropped).
        LabstoreError: The transfer failed; calling again resumes where it stopped.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    state = _State(part, sha256, size)
    if not state.done or not part.exists() or part.stat().st_size != size:
        state.done = set()
        with part.open("wb") as out:
            out.truncate(size)
    report = LockedProgress(progress)
    count = -(-size // SEGMENT)
    report(sum(min(SEGMENT, size - n * SEGMENT) for n in state.done))
    fd = os.open(part, os.O_RDWR)
    failed = threading.Event()
    try:

        def fetch(number: int) -> int:
            if failed.is_set():  # another segment failed: leave the rest for next time
                return number
            try:
                return fetch_segment(number)
            except BaseException:
                failed.set()
                raise

        def fetch_segment(number: int) -> int:
            offset = number * SEGMENT
            last = min(size, offset + SEGMENT) - 1
            headers = {"Range": f"bytes={offset}-{last}"}
            with transport.stream(
                "GET", f"/api/blobs/{sha256}", headers=headers, follow_redirects=True
            ) as response:
                if response.status_code != 206:
                    raise TransportError(f"GET {sha256}: expected 206, got {response.status_code}")
                position = offset
                for piece in response.iter_bytes():  # as they arrive, no regrouping
                    if position + len(piece) > last + 1:
                        raise TransportError(f"GET {sha256}: more bytes than the range asked")
                    os.pwrite(fd, piece, position)
                    position += len(piece)
                    report(len(piece))
            if position != last + 1:
                raise TransportError(f"GET {sha256}: the range was cut short")
            state.mark(number)
            return number

        hasher = hashlib.sha256()
        next_to_hash = 0
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            pending: set[Future[int]] = {
                pool.submit(fetch, n) for n in range(count) if n not in state.done
            }
            while True:
                # Hash the finished prefix while the rest still arrives.
                while next_to_hash < count and next_to_hash in state.done:
                    _hash_segment(fd, hasher, next_to_hash, size)
                    next_to_hash += 1
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
    finally:
        os.close(fd)
    if hasher.hexdigest() != sha256:
        state.forget()
        part.unlink()
        raise TransportError(
            f"blob {sha256} arrived as {hasher.hexdigest()}: the download was corrupted "
            "and is dropped"
        )
    os.replace(part, target)
    state.forget()


def _hash_segment(fd: int, hasher: Any, number: int, size: int) -> None:
    offset = number * SEGMENT
    stop = min(size, offset + SEGMENT)
    while offset < stop:
        piece = os.pread(fd, min(PIECE, stop - offset), offset)
        if not piece:
            break
        hasher.update(piece)
        offset += len(piece)
