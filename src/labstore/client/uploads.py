"""Sending a large blob in chunks that survive interruptions.

The server keeps what arrived: starting the upload of a blob that this user already has an
upload running for returns that upload and the chunks it holds, so after a crash or a
restart (of this process or of the machine) only the missing chunks are sent. Each chunk
goes with its sha256; the server checks it on arrival and the whole again at the end.
Chunks are read with ``pread`` and sent by a few threads at once, so memory stays at
``workers * chunk_size`` whatever the file's size.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, BinaryIO

from labstore.client.transport import Transport

CHUNK_SIZE = 8 * 1024 * 1024
WORKERS = 4
Progress = Callable[[int], None]


class LockedProgress:
    """A progress callback that threads may call together."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.lock = threading.Lock()

    def __call__(self, moved: int) -> None:
        if self.progress is not None and moved:
            with self.lock:
                self.progress(moved)


def send_chunked(
    transport: Transport,
    handle: BinaryIO,
    start: int,
    sha256: str,
    size: int,
    *,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    workers: int = WORKERS,
) -> dict[str, Any]:
    """Upload ``size`` bytes of ``handle`` from offset ``start`` as blob ``sha256``.

    Returns the server's answer to completing the upload (``{"sha256", "size"}``).

    Raises:
        InvalidInput: The server refused a chunk or the whole (the file changed meanwhile).
        LabstoreError: The transfer failed; calling again resumes where it stopped.
    """
    info = transport.request(
        "POST", "/api/uploads", json={"sha256": sha256, "size": size, "chunk_size": chunk_size}
    ).json()
    report = LockedProgress(progress)
    step = int(info["chunk_size"])
    received = set(info["received"])
    report(sum(min(step, size - n * step) for n in received))
    fd = handle.fileno()
    failed = threading.Event()

    def send(number: int) -> None:
        if failed.is_set():  # another chunk failed: leave the rest for the next attempt
            return
        try:
            length = min(step, size - number * step)
            data = os.pread(fd, length, start + number * step)
            transport.request(
                "PUT",
                f"/api/uploads/{info['id']}/chunks/{number}",
                content=data,
                headers={"X-Chunk-Sha256": hashlib.sha256(data).hexdigest()},
            )
            report(length)
        except BaseException:
            failed.set()
            raise

    missing = [n for n in range(int(info["chunks"])) if n not in received]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(send, n) for n in missing]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            failed.set()  # chunks in flight finish; the rest wait for the next attempt
            raise
    answer: dict[str, Any] = transport.request("POST", f"/api/uploads/{info['id']}/complete").json()
    return answer
