"""The whole-content hash of chunked uploads, computed while the chunks still arrive.

Completing an upload must check the sha256 of the whole; hashing a large staged file at that
moment would make the client wait for it. Instead, whenever a chunk arrives, the process hashes
the staged bytes of every chunk that now follows the ones it hashed before, in order (chunks
sent a few at a time mostly arrive in order). The bytes are read back from the staged file,
so chunks received by other server processes count too. When the process that completes an
upload has hashed all of it, the hash is ready; otherwise completing hashes the file then.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

PIECE = 1 << 20


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

    def advance(
        self, ident: str, staged: Path, chunk_size: int, size: int, received: Collection[int]
    ) -> None:
        """Hash the chunks in ``received`` that continue the hashed prefix of ``ident``."""
        with self._lock:
            running = self._uploads.setdefault(ident, _Running())
        with running.lock, staged.open("rb") as handle:
            while running.next in received:
                offset = running.next * chunk_size
                stop = min(size, offset + chunk_size)
                while offset < stop:
                    piece = os.pread(handle.fileno(), min(PIECE, stop - offset), offset)
                    if not piece:
                        return
                    running.hasher.update(piece)
                    offset += len(piece)
                running.next += 1

    def finish(self, ident: str, chunks: int) -> str | None:
        """The hex digest of the whole upload if this process hashed all ``chunks``; forgets
        the upload either way."""
        with self._lock:
            running = self._uploads.pop(ident, None)
        if running is None:
            return None
        with running.lock:
            return str(running.hasher.hexdigest()) if running.next == chunks else None

    def forget(self, ident: str) -> None:
        with self._lock:
            self._uploads.pop(ident, None)
