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
    if url.startswith("s3://"):
        from labstore.server.blobs.s3 import S3Storage  # boto3 only when S3 is used

        return S3Storage(
            url,
            settings.data_dir / "staging",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
        )
    raise ConfigError(
        f"storage_url {url!r}: expected empty (local disk under the data dir), "
        "file:///path or s3://bucket/prefix"
    )
