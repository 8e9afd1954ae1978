"""Blob storage: immutable bytes addressed by sha256, on local disk or S3-compatible storage.

``open_storage(settings)`` picks the backend from ``storage_url``; the app keeps the one it
opened as ``state.blobs``. Who may read which blob is the business of :mod:`.catalog`.
"""

from __future__ import annotations

from pathlib import Path

from labstore.errors import ConfigError
from labstore.server.blobs.local import LocalDiskStorage
from labstore.server.blobs.storage import BlobStorage, ChecksumMismatch
from labstore.server.settings import Settings

__all__ = ["BlobStorage", "ChecksumMismatch", "LocalDiskStorage", "open_storage"]


def open_storage(settings: Settings) -> BlobStorage:
    """The blob storage ``settings`` name.

    Raises:
        ConfigError: ``storage_url`` has a scheme labstore does not know.
    """
    url = settings.storage_url
    if not url:
        return LocalDiskStorage(settings.data_dir / "blobs")
    if url.startswith("file://"):
        return LocalDiskStorage(Path(url.removeprefix("file://")).expanduser())
    raise ConfigError(
        f"storage_url {url!r}: expected empty (local disk under the data dir), "
        "file:///path or s3://bucket/prefix"
    )
