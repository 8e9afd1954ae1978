"""The interface every blob storage backend offers, and the checks they share.

Backends store immutable byte strings under their sha256. Writes are verified (the bytes
must hash to the name they are stored under) and atomic (a reader never sees half a blob;
a failed or refused write leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

from labstore.errors import InvalidInput, NotFound
from labstore.schema.blobs import is_sha256

# Bytes per piece when streaming a blob out of storage.
READ_PIECE = 1 << 20


class ChecksumMismatch(InvalidInput):
    """The bytes sent do not hash to the sha256 they were sent for."""

    code = "checksum_mismatch"


@runtime_checkable
class BlobStorage(Protocol):
    """Where blob bytes live. ``stop`` bounds are exclusive, as in Python slices."""

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""

    def size(self, sha256: str) -> int:
        """The blob's length in bytes. Raises NotFound when it is not stored."""

    def write_stream(self, sha256: str, chunks: Iterable[bytes]) -> int:
        """Store the bytes of ``chunks`` as blob ``sha256``; returns their length.

        Verified and atomic: raises ChecksumMismatch (and stores nothing) when the bytes
        hash to anything else. Writing a blob that exists already is harmless.
        """

    def write_file(self, sha256: str, path: Path, *, verified: bool = False) -> int:
        """Store the local file ``path`` as blob ``sha256``; returns its length.

        The file is consumed (moved into place where the backend can, else copied and
        removed). Unless the caller ``verified`` its hash already, raises ChecksumMismatch,
        storing nothing, when it hashes to anything else.
        """

    def open_range(self, sha256: str, start: int, stop: int) -> Iterator[bytes]:
        """The bytes ``[start, stop)`` in pieces. Raises NotFound when not stored."""

    def read_range(self, sha256: str, start: int, stop: int) -> bytes:
        """The bytes ``[start, stop)`` at once (for small ranges: array slices)."""

    def delete(self, sha256: str) -> None:
        """Remove the blob; a missing blob is not an error."""

    def presigned_url(self, sha256: str, seconds: int) -> str | None:
        """A URL that serves the blob without labstore for ``seconds``, or ``None``."""


def check_address(sha256: str) -> str:
    """``sha256`` when it is a blob address.

    Raises:
        InvalidInput: It is not 64 lowercase hex digits.
    """
    if not is_sha256(sha256):
        raise InvalidInput(
            f"{sha256!r} is not a blob address: expected the sha256 of the content as 64 "
            "lowercase hex digits",
            {"path": "sha256"},
        )
    return sha256


def not_stored(sha256: str) -> NotFound:
    return NotFound(f"no blob {sha256}", {"sha256": sha256})


class VerifyingReader:
    """Passes chunks through while hashing and counting them; checks the total at the end."""

    def __init__(self, sha256: str, chunks: Iterable[bytes]) -> None:
        self.expected = sha256
        self.chunks = chunks
        self.hasher = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            if chunk:
                self.hasher.update(chunk)
                self.size += len(chunk)
                yield chunk

    def verify(self) -> None:
        """Raises ChecksumMismatch unless what passed through hashes to the expected sha256."""
        found = self.hasher.hexdigest()
        if found != self.expected:
            raise ChecksumMismatch(
                f"the content hashes to {found}, not {self.expected}: it was changed or cut "
                "short on the way; nothing was stored",
                {"expected": self.expected, "found": found, "size": self.size},
            )


def clamp_range(start: int, stop: int, size: int) -> tuple[int, int]:
    """``[start, stop)`` limited to a blob of ``size`` bytes."""
    return max(0, min(start, size)), max(0, min(stop, size))


@contextmanager
def verified_spool(
    sha256: str, chunks: Iterable[bytes], staging: Path
) -> Iterator[tuple[Path, int]]:
    """``chunks`` written to a temporary file under ``staging`` and verified: its path and
    length, for the caller to move or send; removed afterwards if it is still there.

    Raises:
        ChecksumMismatch: The bytes hash to anything else (the file is removed).
    """
    reader = VerifyingReader(sha256, chunks)
    fd, temporary = tempfile.mkstemp(dir=staging, prefix=sha256[:8])
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in reader:
                out.write(chunk)
        reader.verify()
        yield Path(temporary), reader.size
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def file_pieces(path: Path, piece: int = READ_PIECE) -> Iterator[bytes]:
    """The bytes of a local file, piece by piece."""
    with path.open("rb") as handle:
        while chunk := handle.read(piece):
            yield chunk


def verify_file(sha256: str, path: Path) -> int:
    """The length of ``path``. Raises ChecksumMismatch unless it hashes to ``sha256``."""
    reader = VerifyingReader(sha256, file_pieces(path))
    for _ in reader:
        pass
    reader.verify()
    return reader.size
