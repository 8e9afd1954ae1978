"""Blobs as files on local disk: ``<root>/ab/cd/<sha256>``, written to a temporary file first.

Two levels of fan-out keep directories small. A write goes to ``<root>/tmp/`` on the same
filesystem and is renamed into place only after its hash checks out, so a crash or a refused
write leaves no partial blob under a valid name.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from labstore.server.blobs.storage import (
    READ_PIECE,
    check_address,
    clamp_range,
    file_pieces,
    not_stored,
    verified_spool,
    verify_file,
)


class LocalDiskStorage:
    """The default backend: a directory (``DATA_DIR/blobs``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.staging = self.root / "tmp"
        self.staging.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalDiskStorage({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        check_address(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            raise not_stored(sha256) from None

    def write_stream(self, sha256: str, chunks: Iterable[bytes]) -> int:
        target = self.path(sha256)
        with verified_spool(sha256, chunks, self.staging) as (temporary, size):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)  # atomic; a concurrent identical write is harmless
        return size

    def write_file(self, sha256: str, path: Path, *, verified: bool = False) -> int:
        target = self.path(sha256)
        size = path.stat().st_size if verified else verify_file(sha256, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)  # the same filesystem: no copy
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            self.write_stream(sha256, file_pieces(path))
            path.unlink()
        return size

    def open_range(self, sha256: str, start: int, stop: int) -> Iterator[bytes]:
        try:
            handle = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise not_stored(sha256) from None
        return _pieces(handle, start, stop)

    def read_range(self, sha256: str, start: int, stop: int) -> bytes:
        return b"".join(self.open_range(sha256, start, stop))

    def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(sha256).unlink()

    def presigned_url(self, sha256: str, seconds: int) -> str | None:
        return None


def _pieces(handle: BinaryIO, start: int, stop: int) -> Iterator[bytes]:
    with handle:
        size = os.fstat(handle.fileno()).st_size
        start, stop = clamp_range(start, stop, size)
        handle.seek(start)
        left = stop - start
        while left > 0:
            piece = handle.read(min(READ_PIECE, left))
            if not piece:
                break
            left -= len(piece)
            yield piece
