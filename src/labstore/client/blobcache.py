"""The local blob cache: whole blobs as files named by their sha256 under ``cache_dir/blobs``.

Blobs never change, so a cached file is good for ever; it is added only after its bytes hashed
to its name, and atomically, so a crash never leaves a wrong file under a valid name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

# Whole-blob reads larger than this are not copied into the cache (download() them instead).
CACHE_LIMIT = 64 << 20


class BlobCache:
    """Blob files in one directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def find(self, sha256: str) -> Path | None:
        """The cached file of ``sha256``, if there is one."""
        path = self.path(sha256)
        return path if path.is_file() else None

    def add(self, sha256: str, data: bytes) -> None:
        """Keep ``data`` as blob ``sha256`` if it hashes to it (silently skip otherwise)."""
        if len(data) > CACHE_LIMIT or hashlib.sha256(data).hexdigest() != sha256:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.root, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, self.path(sha256))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def read(self, path: Path, start: int | None, stop: int | None) -> bytes:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            first, last, _ = slice(start, stop).indices(size)
            handle.seek(first)
            return handle.read(max(0, last - first))
