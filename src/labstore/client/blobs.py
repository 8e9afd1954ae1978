"""``session.blobs``: put, read and download blobs (immutable bytes addressed by sha256).

``put`` hashes first and sends nothing when the server already has the content for this user;
``read`` fetches a byte range with one Range request, or answers from the local blob cache
(``cache_dir/blobs``) when the whole blob is there, so cached blobs are readable offline.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from labstore.client import downloads, uploads
from labstore.client.blobcache import BlobCache
from labstore.client.transport import Transport
from labstore.client.uploads import Progress
from labstore.errors import InvalidInput, NotFound, TransportError
from labstore.schema.blobs import is_sha256

# Bytes read or sent at a time: large enough for throughput, small enough for memory.
PIECE = 1 << 20
BlobSource = bytes | bytearray | memoryview | BinaryIO | os.PathLike[str] | str


def check_sha256(sha256: str) -> str:
    if not is_sha256(sha256):
        raise InvalidInput(f"{sha256!r} is not a sha256 (64 lowercase hex digits)")
    return sha256


def file_sha256(handle: BinaryIO) -> tuple[str, int]:
    """The sha256 and length of what is left in ``handle`` (read in pieces)."""
    hasher = hashlib.sha256()
    size = 0
    while piece := handle.read(PIECE):
        hasher.update(piece)
        size += len(piece)
    return hasher.hexdigest(), size


def pieces(handle: BinaryIO, size: int, progress: Progress | None = None) -> Iterator[bytes]:
    """Up to ``size`` bytes of ``handle`` in pieces, reporting each to ``progress``."""
    left = size
    while left > 0:
        piece = handle.read(min(PIECE, left))
        if not piece:
            break
        left -= len(piece)
        if progress is not None:
            progress(len(piece))
        yield piece


class BlobClient:
    """Blob operations of one session (``session.blobs``).

    Args:
        transport: The session's transport.
        cache_dir: The session's cache directory; ``None`` keeps no blob cache.
    """

    def __init__(self, transport: Transport, cache_dir: Path | None) -> None:
        self.transport = transport
        self.cache = BlobCache(Path(cache_dir) / "blobs") if cache_dir else None

    # asking ----------------------------------------------------------------------------
    def size(self, sha256: str) -> int | None:
        """The blob's size if the server has it and this user may read it, else ``None``."""
        check_sha256(sha256)
        try:
            answer = self.transport.request("HEAD", f"/api/blobs/{sha256}")
        except NotFound:
            return None
        return int(answer.headers["content-length"])

    def exists(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    # sending ---------------------------------------------------------------------------
    def put(self, data: BlobSource, progress: Progress | None = None) -> str:
        """Store ``data`` as a blob; returns its sha256.

        Files larger than one chunk go in chunks that resume after an interruption (see
        :mod:`labstore.client.uploads`).

        Args:
            data: Bytes, a binary file object (read from its current position), or a path.
            progress: Called with the number of bytes sent, piece by piece.

        Raises:
            InvalidInput: The server refused the bytes (they changed while being sent).
        """
        if isinstance(data, bytes | bytearray | memoryview):
            return self._put_bytes(bytes(data), progress)
        if isinstance(data, str | os.PathLike):
            with open(data, "rb") as handle:
                return self._put_file(handle, progress)
        if data.seekable():
            return self._put_file(data, progress)
        with tempfile.TemporaryFile() as spooled:  # a pipe: keep it to hash, then send
            while piece := data.read(PIECE):
                spooled.write(piece)
            spooled.seek(0)
            return self._put_file(spooled, progress)

    def _put_bytes(self, data: bytes, progress: Progress | None) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.exists(sha256):
            self.transport.request("PUT", f"/api/blobs/{sha256}", content=data)
        if progress is not None:
            progress(len(data))
        return sha256

    def _put_file(self, handle: BinaryIO, progress: Progress | None) -> str:
        start = handle.tell()
        if _has_fileno(handle):
            size = os.fstat(handle.fileno()).st_size - start
            if size > uploads.CHUNK_SIZE:
                chunk_size = uploads.chunk_size_for(size)
                digest = uploads.hash_file(handle.fileno(), start, size, chunk_size)
                if not self.exists(digest.sha256):
                    uploads.send_chunked(self.transport, digest, progress=progress)
                elif progress is not None:
                    progress(digest.size)
                return digest.sha256
        sha256, size = file_sha256(handle)
        if self.exists(sha256):
            if progress is not None:
                progress(size)
            return sha256

        def body() -> Iterator[bytes]:
            handle.seek(start)  # from the start again on each attempt: retries send it whole
            return pieces(handle, size, progress)

        self.transport.request(
            "PUT", f"/api/blobs/{sha256}", content=body, headers={"Content-Length": str(size)}
        )
        return sha256

    # fetching --------------------------------------------------------------------------
    def read(self, sha256: str, start: int | None = None, stop: int | None = None) -> bytes:
        """Bytes ``[start:stop]`` of a blob (Python slice bounds, not negative).

        Raises:
            NotFound: No such blob, or one this user may not read.
        """
        check_sha256(sha256)
        if self.cache is not None and (cached := self.cache.find(sha256)) is not None:
            return self.cache.read(cached, start, stop)
        if start is None and stop is None:
            data = self.transport.request(
                "GET", f"/api/blobs/{sha256}", follow_redirects=True
            ).content
            if self.cache is not None:
                self.cache.add(sha256, data)
            return data
        first = start or 0
        if stop is not None and stop <= first:
            return b""
        last = "" if stop is None else str(stop - 1)
        try:
            answer = self.transport.request(
                "GET",
                f"/api/blobs/{sha256}",
                headers={"Range": f"bytes={first}-{last}"},
                follow_redirects=True,
            )
        except InvalidInput as exc:
            if exc.details.get("size") is not None:  # 416: the range starts past the end
                return b""
            raise
        return answer.content

    def download(
        self, sha256: str, dest: str | os.PathLike[str], progress: Progress | None = None
    ) -> Path:
        """Write blob ``sha256`` to the file ``dest``, checking its hash; returns the path.

        Raises:
            NotFound: No such blob, or one this user may not read.
            TransportError: What arrived does not hash to ``sha256``.
        """
        check_sha256(sha256)
        target = Path(dest)
        if self.cache is not None and (cached := self.cache.find(sha256)) is not None:
            with cached.open("rb") as source:
                _write_verified(sha256, target, iter(lambda: source.read(PIECE), b""), progress)
            return target
        size = self.size(sha256)
        if size is None:
            raise NotFound(f"no blob {sha256}", {"sha256": sha256})
        if size > downloads.SEGMENT:
            downloads.download_ranges(self.transport, sha256, size, target, progress=progress)
            return target
        with self.transport.stream(
            "GET", f"/api/blobs/{sha256}", follow_redirects=True
        ) as response:
            _write_verified(sha256, target, response.iter_bytes(PIECE), progress)
        return target


def _has_fileno(handle: BinaryIO) -> bool:
    try:
        handle.fileno()
    except (OSError, AttributeError, io.UnsupportedOperation):
        return False
    return True


def _write_verified(
    sha256: str, target: Path, chunks: Iterator[bytes], progress: Progress | None
) -> None:
    hasher = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        with part.open("wb") as out:
            for chunk in chunks:
                hasher.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(len(chunk))
        if hasher.hexdigest() != sha256:
            raise TransportError(
                f"blob {sha256} arrived as {hasher.hexdigest()}: the download was corrupted"
            )
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise
