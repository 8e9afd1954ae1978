"""A real S3-compatible server for tests: moto's ThreadedMotoServer, an HTTP server on a free
loopback port that speaks the S3 API (labstore's S3Storage talks to it over HTTP as it would
to MinIO or AWS)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

CREDENTIALS = {
    "s3_region": "us-east-1",
    "s3_access_key_id": "testing",
    "s3_secret_access_key": "testing",
}


class S3Server:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["s3_region"],
            aws_access_key_id=CREDENTIALS["s3_access_key_id"],
            aws_secret_access_key=CREDENTIALS["s3_secret_access_key"],
        )

    def settings(self) -> dict[str, str]:
        """Settings overrides for a new, empty bucket on this server."""
        bucket = f"labstore-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return {
            "storage_url": f"s3://{bucket}/blobs",
            "s3_endpoint_url": self.endpoint,
            **CREDENTIALS,
        }

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(params=["disk", "s3"], name="storage_settings")
def storage_on_disk_and_s3(request: pytest.FixtureRequest) -> dict[str, str]:
    """Blob storage settings for ``app``: local disk, then a new bucket on the test session's
    S3 server. A test module imports this to run every test on both backends."""
    if request.param == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        return server.settings()
    return {}
