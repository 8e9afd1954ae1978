"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, ...): ``s3://bucket/prefix``.

Objects are named ``<prefix>/<ab>/<sha256>``. A write is hashed on its way to a temporary
file and sent only once it checked out (S3 makes an object visible only when its upload
completes, so readers never see half a blob); large files go as multipart uploads. Reads are
ranged GETs streamed piece by piece. The server holds no blob state of its own, so several
servers can share one bucket.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from labstore.errors import ConfigError
from labstore.server.blobs.storage import (
    READ_PIECE,
    check_address,
    not_stored,
    verified_spool,
    verify_file,
)


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Storage:
    """Blob storage in one bucket under one prefix.

    Args:
        url: ``s3://bucket`` or ``s3://bucket/prefix``.
        staging: A local directory for writes being verified.
        client_options: Passed to ``boto3.client("s3", ...)`` (endpoint_url, region_name,
            aws_access_key_id, aws_secret_access_key); empty ones are left to boto3's own
            configuration (environment, ~/.aws).
    """

    def __init__(self, url: str, staging: Path, **client_options: Any) -> None:
        import boto3
        from botocore.config import Config

        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not url.startswith("s3://") or not bucket:
            raise ConfigError(f"storage_url {url!r}: expected s3://bucket or s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.staging = Path(staging)
        self.staging.mkdir(parents=True, exist_ok=True)
        options = {k: v for k, v in client_options.items() if v}
        # Path-style addressing works with every S3-compatible server, virtual hosts do not.
        config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard"})
        self.client = boto3.client("s3", config=config, **options)

    def __repr__(self) -> str:
        return f"S3Storage('s3://{self.bucket}/{self.prefix}')"

    def key(self, sha256: str) -> str:
        check_address(sha256)
        name = f"{sha256[:2]}/{sha256}"
        return f"{self.prefix}/{name}" if self.prefix else name

    def _head(self, sha256: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            answer: dict[str, Any] = self.client.head_object(
                Bucket=self.bucket, Key=self.key(sha256)
            )
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return answer

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int:
        found = self._head(sha256)
        if found is None:
            raise not_stored(sha256)
        return int(found["ContentLength"])

    def write_stream(self, sha256: str, chunks: Iterable[bytes]) -> int:
        with verified_spool(sha256, chunks, self.staging) as (temporary, size):
            self._send(sha256, temporary)
        return size

    def write_file(self, sha256: str, path: Path, *, verified: bool = False) -> int:
        try:
            size = path.stat().st_size if verified else verify_file(sha256, path)
            self._send(sha256, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return size

    def _send(self, sha256: str, path: Path) -> None:
        self.client.upload_file(str(path), self.bucket, self.key(sha256))

    def open_range(self, sha256: str, start: int, stop: int) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        if stop <= start:
            self.size(sha256)  # still NotFound for a missing blob
            return iter(())
        try:
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self.key(sha256), Range=f"bytes={start}-{stop - 1}"
            )
        except ClientError as exc:
            if _is_missing(exc):
                raise not_stored(sha256) from None
            raise
        body = answer["Body"]
        return _closing(body.iter_chunks(READ_PIECE), body)

    def read_range(self, sha256: str, start: int, stop: int) -> bytes:
        return b"".join(self.open_range(sha256, start, stop))

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def presigned_url(self, sha256: str, seconds: int) -> str | None:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key(sha256)},
            ExpiresIn=seconds,
        )
        return url


def _closing(pieces: Iterator[bytes], body: Any) -> Iterator[bytes]:
    try:
        yield from pieces
    finally:
        body.close()
