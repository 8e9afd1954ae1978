"""Files against a real server process: the put/download commands, and an upload that resumes
after its client process was killed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap

import httpx

import labstore
from tests.support.live import LABSTORE, LiveServer

CHUNK = 64 * 1024
KILLED_UPLOADER = textwrap.dedent(
    """
    import os, sys, labstore
    from labstore.client import uploads
    uploads.CHUNK_SIZE = 64 * 1024
    url, config, path = sys.argv[1:4]
    s = labstore.Session({"location": url, "username": "alice", "password": "alice-password"},
                         file_name=config)
    sent = []
    def progress(n):
        sent.append(n)
        if len(sent) >= 2:
            os._exit(3)  # the process dies mid-upload: no cleanup, no goodbye
    s.upload(path, progress=progress)
    """
)


class CountingHTTP(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return super().handle_request(request)


def client_env(live_server, tmp_path):
    return {
        **os.environ,
        "LABSTORE_URL": live_server.url,
        "LABSTORE_USERNAME": "alice",
        "LABSTORE_PASSWORD": "alice-password",
        "LABSTORE_CONFIG_FILE": str(tmp_path / "cli.toml"),
    }


def labstore_command(env, *args):
    return subprocess.run(
        [LABSTORE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_put_and_download_commands(live_server, tmp_path):
    source = tmp_path / f"{live_server.port}-trace.bin"
    source.write_bytes(os.urandom(300_000))
    env = client_env(live_server, tmp_path)
    put = labstore_command(env, "put", str(source), "--path", "/neuro/cli", "--project", "neuro")
    assert put.returncode == 0, put.stderr
    location = put.stdout.strip()
    assert location.startswith("core/file/") and "put " in put.stderr  # the progress bar
    out = tmp_path / "out"
    out.mkdir()
    got = labstore_command(env, "download", location, str(out))
    assert got.returncode == 0, got.stderr
    assert (out / source.name).read_bytes() == source.read_bytes()
    assert got.stdout.strip() == str(out / source.name)
    missing = labstore_command(env, "download", "core/file/NOSUCHFILE", str(out))
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("error: ") and "Traceback" not in missing.stderr


def test_an_upload_resumes_after_its_process_was_killed(live_server, tmp_path):
    data = os.urandom(6 * CHUNK + 99)
    path = tmp_path / "killed.bin"
    path.write_bytes(data)
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLED_UPLOADER,
            live_server.url,
            str(tmp_path / "k.toml"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == 3, killed.stderr

    counting = CountingHTTP()
    session = labstore.Session(
        {"location": live_server.url, "username": "alice", "password": "alice-password"},
        file_name=tmp_path / "r.toml",
        transport=counting,
    )
    from labstore.client import uploads

    uploads_chunk, uploads.CHUNK_SIZE = uploads.CHUNK_SIZE, CHUNK
    try:
        stored = session.upload(path)
    finally:
        uploads.CHUNK_SIZE = uploads_chunk
    chunk_puts = [p for m, p in counting.requests if m == "PUT" and "/chunks/" in p]
    assert 1 <= len(chunk_puts) <= 5  # what the killed process sent was not sent again
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert session.blobs.read(stored.sha256) == data
    session.close()


def test_large_downloads_redirect_to_presigned_object_storage_urls(
    s3_server, tmp_path, monkeypatch
):
    for name, value in {**s3_server.settings(), "presign_above_bytes": "100000"}.items():
        monkeypatch.setenv(f"LABSTORE_{name.upper()}", value)
    server = LiveServer(tmp_path / "data")
    server.data_dir.mkdir()
    server.cli("user", "add", "carol", "--password-stdin", input="carol-password\n")
    server.start()
    try:
        session = labstore.Session(
            {"location": server.url, "username": "carol", "password": "carol-password"},
            file_name=tmp_path / "c.toml",
        )
        large, small = os.urandom(300_000), os.urandom(5_000)
        stored = session.upload(large, name="large.bin")
        small_sha = session.blobs.put(small)
        token = {"Authorization": f"Bearer {session._transport.token}"}
        answer = httpx.get(f"{server.url}/api/blobs/{stored.sha256}", headers=token)
        assert answer.status_code == 307
        assert answer.headers["location"].startswith(s3_server.endpoint)
        direct = httpx.get(f"{server.url}/api/blobs/{small_sha}", headers=token)
        assert direct.status_code == 200 and direct.content == small  # small: no redirect
        # The client follows it (httpx drops the token when the origin changes).
        assert session.download(stored, tmp_path / "large.bin").read_bytes() == large
        assert session.blobs.read(stored.sha256, 1000, 1010) == large[1000:1010]
        session.close()
    finally:
        server.stop()
