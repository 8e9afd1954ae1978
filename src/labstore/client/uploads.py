"""Sending a large blob in chunks that survive interruptions.

The server keeps what arrived: starting the upload of a blob that this user already has an
upload running for returns that upload and the chunks it holds, so after a crash or a
restart (of this process or of the machine) only the missing chunks are sent. Each chunk
goes with its sha256. The server hashes the whole as the chunks arrive and, when completing
finds that it does not match, names the chunks that differ from their sha256: only those are
sent again.

The file is read twice: once to hash it (the whole, to ask the server whether it has the
content and to name the upload, and each chunk, on a helper thread at the same time), then
to send the missing chunks, streamed from disk by a few threads at once. Memory stays at a
few pieces per thread whatever the file's size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from labstore.client.transport import Transport
from labstore.errors import Conflict, InvalidInput

log = logging.getLogger("labstore.client.uploads")

# Files larger than this go in chunks, of this size at least.
CHUNK_SIZE = 8 * 1024 * 1024
# Large files go in fewer, larger chunks: every chunk costs the server a request (a few ms of
# CPU), while about CHUNKS_WANTED of them still keep WORKERS busy and resume at a fine grain.
MAX_CHUNK_SIZE = 32 * 1024 * 1024
CHUNKS_WANTED = 16
WORKERS = 4
# Completing answers 409 naming chunks that arrived damaged, to be sent again: a chunk is sent
# at most this many times before the upload gives up.
SEND_ROUNDS = 3
PIECE = 1 << 20
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


def chunk_size_for(size: int) -> int:
    """The chunk size for a file of ``size`` bytes: a multiple of CHUNK_SIZE, at most
    MAX_CHUNK_SIZE, about ``size / CHUNKS_WANTED`` (the same on every run, so a restarted
    client resumes its upload)."""
    wanted = size // CHUNKS_WANTED // CHUNK_SIZE * CHUNK_SIZE
    return max(CHUNK_SIZE, min(MAX_CHUNK_SIZE, wanted))


def _start_upload(transport: Transport, digest: FileDigest) -> dict[str, Any]:
    """``POST /api/uploads``; a server that allows only smaller chunks (its
    ``max_chunk_bytes``) names its maximum, and the upload starts again cut at that size."""
    body = {"sha256": digest.sha256, "size": digest.size, "chunk_size": digest.chunk_size}
    try:
        info: dict[str, Any] = transport.request("POST", "/api/uploads", json=body).json()
        return info
    except InvalidInput as exc:
        allowed = exc.details.get("max") if exc.details.get("path") == "chunk_size" else None
        if not isinstance(allowed, int) or allowed >= digest.chunk_size:
            raise
    body["chunk_size"] = allowed
    again: dict[str, Any] = transport.request("POST", "/api/uploads", json=body).json()
    return again


@dataclass(frozen=True)
class FileDigest:
    """The hashes of ``size`` bytes of a file from offset ``start``: whole and per chunk."""

    fd: int
    start: int
    size: int
    sha256: str
    chunk_size: int
    chunks: list[str]

    def chunk_length(self, number: int) -> int:
        return min(self.chunk_size, self.size - number * self.chunk_size)


def hash_file(fd: int, start: int, size: int, chunk_size: int = CHUNK_SIZE) -> FileDigest:
    """Hash the whole and each chunk in one read (the chunks on a helper thread).

    The file is read into two buffers in turn: the next piece is read while the helper
    still hashes the last one (sha256 frees the GIL, so both hashes run at once), and no
    memory is allocated per piece.
    """
    whole, current = hashlib.sha256(), hashlib.sha256()
    chunks: list[str] = []
    buffers = (memoryview(bytearray(PIECE)), memoryview(bytearray(PIECE)))
    offset = in_chunk = turn = 0
    with ThreadPoolExecutor(max_workers=1) as helper:
        pending: Future[None] | None = None
        while offset < size:
            buffer = buffers[turn]
            turn ^= 1
            wanted = min(PIECE, size - offset, chunk_size - in_chunk)
            got = os.preadv(fd, [buffer[:wanted]], start + offset)
            if not got:
                break
            piece = buffer[:got]
            if pending is not None:
                pending.result()  # done with the other buffer: it is read into next
            pending = helper.submit(current.update, piece)
            whole.update(piece)
            offset += got
            in_chunk += got
            if in_chunk == chunk_size:
                pending.result()
                pending = None
                chunks.append(current.hexdigest())
                current, in_chunk = hashlib.sha256(), 0
        if pending is not None:
            pending.result()
    if in_chunk or not chunks:
        chunks.append(current.hexdigest())
    return FileDigest(fd, start, offset, whole.hexdigest(), chunk_size, chunks)


def _chunk_pieces(digest: FileDigest, number: int) -> Iterator[bytes]:
    offset = digest.start + number * digest.chunk_size
    left = digest.chunk_length(number)
    while left > 0:
        piece = os.pread(digest.fd, min(PIECE, left), offset)
        if not piece:
            return  # the file shrank: the server refuses the short chunk
        offset += len(piece)
        left -= len(piece)
        yield piece


def send_chunked(
    transport: Transport,
    digest: FileDigest,
    *,
    progress: Progress | None = None,
    workers: int = WORKERS,
) -> dict[str, Any]:
    """Upload the bytes ``digest`` describes as blob ``digest.sha256``.

    Returns the server's answer to completing the upload (``{"sha256", "size"}``).

    Raises:
        InvalidInput: The server refused the whole, or chunks arrived damaged
            ``SEND_ROUNDS`` times in a row (the file changes while it is being sent).
        LabstoreError: The transfer failed; calling again resumes where it stopped.
    """
    info = _start_upload(transport, digest)
    if int(info["chunk_size"]) != digest.chunk_size:  # resuming an upload cut differently
        digest = hash_file(digest.fd, digest.start, digest.size, int(info["chunk_size"]))
    report = LockedProgress(progress)
    received = set(info["received"])
    report(sum(digest.chunk_length(n) for n in received))
    missing = [n for n in range(len(digest.chunks)) if n not in received]
    for round_ in range(SEND_ROUNDS):
        # Chunks sent again after the server dropped them were counted the first time.
        _send_chunks(
            transport, info["id"], digest, missing, report if round_ == 0 else None, workers
        )
        try:
            answer: dict[str, Any] = transport.request(
                "POST", f"/api/uploads/{info['id']}/complete"
            ).json()
            return answer
        except Conflict as exc:
            again = exc.details.get("missing")
            if not again:
                raise
            log.info("upload %s: sending chunks %s again", info["id"], again)
            missing = [int(n) for n in again]
    raise InvalidInput(
        f"chunks {missing} of {digest.sha256} arrived damaged {SEND_ROUNDS} times: "
        "does the file change while it is being sent?",
        {"missing": missing},
    )


def _send_chunks(
    transport: Transport,
    upload: str,
    digest: FileDigest,
    numbers: list[int],
    report: Progress | None,
    workers: int,
) -> None:
    """PUT chunks ``numbers`` of ``digest``, a few at a time, each with its sha256."""
    failed = threading.Event()

    def send(number: int) -> None:
        if failed.is_set():  # another chunk failed: leave the rest for the next attempt
            return
        try:
            transport.request(
                "PUT",
                f"/api/uploads/{upload}/chunks/{number}",
                # A function: each attempt reads the chunk afresh, so a failed one is retried.
                content=lambda: _chunk_pieces(digest, number),
                headers={
                    "Content-Length": str(digest.chunk_length(number)),
                    "X-Chunk-Sha256": digest.chunks[number],
                },
            )
            if report is not None:
                report(digest.chunk_length(number))  # counted once the server holds it
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(send, n) for n in numbers]
        try:
            for future in as_completed(futures):
                future.result()
        except BaseException:
            failed.set()  # chunks in flight finish; the rest wait for the next attempt
            raise
