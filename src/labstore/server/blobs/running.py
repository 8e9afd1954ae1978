"""The whole-content hash of chunked uploads, computed while the chunks still arrive.

This is the one pass of sha256 over an uploaded byte on the server: chunks are not hashed on
arrival (their sha256 is recorded and checked only when the whole does not match, see
:mod:`.uploads`). Whenever a chunk arrives, the process hashes the staged bytes of every
chunk that now follows the ones it hashed before, in order (chunks sent a few at a time
mostly arrive in order). The bytes are read back from the staged file (still in the page
cache), so chunks received by other server processes count too. Completing an upload hashes
whatever is left, so the digest is ready at once when the chunks were hashed as they came,
and a process that saw none of them hashes the whole file then.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

# Bytes read back from the staged file at a time.
PIECE = 4 << 20


class _Running:
    def __init__(self) -> None:
        self.hasher: Any = hashlib.sha256()
        self.next = 0
        self.lock = threading.Lock()


class RunningHashes:
    """The running hashes of the uploads this process saw chunks of."""

    def __init__(self) -> None:
        self._uploads: dict[str, _Running] = {}
        self._lock = threading.Lock()

    def _running(self, ident: str) -> _Running:
        with self._lock:
            return self._uploads.setdefault(ident, _Running())

    def advance(
        self, ident: str, staged: Path, chunk_size: int, size: int, received: Collection[int]
    ) -> None:
        """Hash the chunks in ``received`` that continue the hashed prefix of ``ident``.

        Returns at once when another thread is hashing this upload: the chunk that thread
        is busy with comes first, and whatever it leaves is hashed by the next chunk's
        request or by :meth:`finish`. A chunk's answer never waits for another's hashing.
        """
        running = self._running(ident)
        if running.lock.acquire(blocking=False):
            try:
                _hash_in_order(running, staged, chunk_size, size, received)
            finally:
                running.lock.release()

    def finish(
        self, ident: str, staged: Path, chunk_size: int, size: int, received: Collection[int]
    ) -> str | None:
        """The hex digest of the whole upload (hashing what is not hashed yet), or ``None``
        when chunks are missing or the staged file is shorter than ``size``."""
        running = self._running(ident)
        with running.lock:
            _hash_in_order(running, staged, chunk_size, size, received)
            if running.next < max(1, -(-size // chunk_size)):
                return None
            return str(running.hasher.hexdigest())

    def forget(self, ident: str) -> None:
        """Drop the running hash of ``ident`` (completed, aborted, or its chunks replaced)."""
        with self._lock:
            self._uploads.pop(ident, None)


def _hash_in_order(
    running: _Running, staged: Path, chunk_size: int, size: int, received: Collection[int]
) -> None:
    """Feed ``running`` the received chunks that follow its prefix; the caller holds its lock."""
    if running.next not in received:
        return
    with staged.open("rb") as handle:
        while running.next in received:
            start = running.next * chunk_size
            for piece in read_pieces(handle.fileno(), start, min(size, start + chunk_size)):
                running.hasher.update(piece)
            running.next += 1


def read_pieces(fd: int, start: int, stop: int) -> Iterator[bytes]:
    """The bytes ``[start, stop)`` of an open file, piece by piece; stops early at its end."""
    offset = start
    while offset < stop:
        piece = os.pread(fd, min(PIECE, stop - offset), offset)
        if not piece:
            return
        yield piece
        offset += len(piece)


def chunk_digests(staged: Path, chunk_size: int, size: int) -> tuple[str, list[str]]:
    """The sha256 of the staged file's first ``size`` bytes and of each of its chunks.

    Only for an upload whose whole did not match: it tells which chunks were damaged.
    """
    whole = hashlib.sha256()
    chunks: list[str] = []
    with staged.open("rb") as handle:
        for start in range(0, max(size, 1), chunk_size):
            one = hashlib.sha256()
            for piece in read_pieces(handle.fileno(), start, min(size, start + chunk_size)):
                whole.update(piece)
                one.update(piece)
            chunks.append(one.hexdigest())
    return whole.hexdigest(), chunks
