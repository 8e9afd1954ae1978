"""Chunked, resumable uploads and parallel, resumable downloads through the real app."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import pytest
from sqlalchemy import update

import labstore
from labstore.client import downloads, uploads
from labstore.errors import TransportError
from labstore.store.engine import write_transaction
from labstore.store.records import utcnow
from tests.conftest import PASSWORD
from tests.support.inprocess import CountingTransport

# Every test here runs on local disk and on a real S3-compatible server.
from tests.support.s3 import storage_on_disk_and_s3  # noqa: F401

CHUNK = 64 * 1024  # the smallest chunk the server takes
DATA = os.urandom(5 * CHUNK + 1234)  # six chunks, the last one short
SHA = hashlib.sha256(DATA).hexdigest()


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunk(n: int, data: bytes = DATA) -> bytes:
    return data[n * CHUNK : (n + 1) * CHUNK]


@pytest.fixture
def alice(make_user, token_for):
    make_user("alice", projects=("neuro",))
    return token_for("alice")


@pytest.fixture
def bob(make_user, token_for):
    make_user("bob")
    return token_for("bob")


def start(api, headers):
    body = {"sha256": SHA, "size": len(DATA), "chunk_size": CHUNK}
    return api.post("/api/uploads", json=body, headers=headers)


def send(api, headers, upload, n, data=None, sha=None):
    body = chunk(n) if data is None else data
    return api.put(
        f"/api/uploads/{upload}/chunks/{n}",
        content=body,
        headers={**headers, "X-Chunk-Sha256": sha or sha_of(body)},
    )


def test_chunks_in_any_order_then_complete(api, state, alice):
    started = start(api, alice)
    assert started.status_code == 201
    info = started.json()
    assert (info["chunks"], info["received"], info["size"]) == (6, [], len(DATA))
    upload = info["id"]
    for n in (5, 2, 0, 3):
        assert send(api, alice, upload, n).status_code == 201
    assert send(api, alice, upload, 2).status_code == 200  # sent again: harmless
    # Starting again (a client that restarted) finds the same upload and what arrived.
    again = start(api, alice)
    assert again.status_code == 200
    assert again.json()["id"] == upload and again.json()["received"] == [0, 2, 3, 5]
    early = api.post(f"/api/uploads/{upload}/complete", headers=alice)
    assert early.status_code == 409 and early.json()["error"]["details"]["missing"] == [1, 4]
    for n in (1, 4):
        send(api, alice, upload, n)
    done = api.post(f"/api/uploads/{upload}/complete", headers=alice)
    assert done.status_code == 201 and done.json() == {"sha256": SHA, "size": len(DATA)}
    assert api.get(f"/api/blobs/{SHA}", headers=alice).content == DATA
    assert api.get(f"/api/uploads/{upload}", headers=alice).status_code == 404  # gone
    assert list((state.settings.data_dir / "uploads").iterdir()) == []


def test_bad_chunks_are_refused_and_change_nothing(api, alice):
    upload = start(api, alice).json()["id"]
    cases = [
        (send(api, alice, upload, 0, data=chunk(0)[:-1]), 400, "invalid_input"),  # short
        (send(api, alice, upload, 5, data=DATA[5 * CHUNK :] + b"x"), 400, "invalid_input"),
        (send(api, alice, upload, 6, data=b"x"), 400, "invalid_input"),  # out of range
        (send(api, alice, upload, -1, data=b"x"), 400, "invalid_input"),
        (api.put(f"/api/uploads/{upload}/chunks/0", content=chunk(0), headers=alice), 400, None),
        (api.put(f"/api/uploads/{upload}/chunks/x", content=b"", headers=alice), 400, None),
    ]
    for answer, status, code in cases:
        assert answer.status_code == status, answer.text
        error = answer.json()["error"]
        assert error["message"]
        if code:
            assert error["code"] == code
    assert "out of range" in cases[2][0].json()["error"]["message"]
    assert "X-Chunk-Sha256" in cases[4][0].json()["error"]["message"]
    assert api.get(f"/api/uploads/{upload}", headers=alice).json()["received"] == []


@pytest.mark.parametrize("hashed_while_arriving", [True, False])
def test_chunks_damaged_on_the_way_are_dropped_at_completion(
    api, state, alice, hashed_while_arriving
):
    """A chunk is checked against its sha256 only when the whole does not match: then the
    damaged ones, and only they, must be sent again; nothing is stored before."""
    upload = start(api, alice).json()["id"]
    damaged = bytes([chunk(3)[0] ^ 1]) + chunk(3)[1:]
    for n in range(6):
        body = damaged if n == 3 else chunk(n)
        assert send(api, alice, upload, n, data=body, sha=sha_of(chunk(n))).status_code == 201
    if not hashed_while_arriving:  # as if another server process completed it
        state.upload_hashes.forget(upload)
    answer = api.post(f"/api/uploads/{upload}/complete", headers=alice)
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["details"]["missing"] == error["details"]["damaged"] == [3]
    assert "sent with them" in error["message"]
    assert (
        not state.blobs.exists(SHA)
        and api.head(f"/api/blobs/{SHA}", headers=alice).status_code == 404
    )
    assert api.get(f"/api/uploads/{upload}", headers=alice).json()["received"] == [0, 1, 2, 4, 5]
    assert send(api, alice, upload, 3).status_code == 201
    done = api.post(f"/api/uploads/{upload}/complete", headers=alice)
    assert done.status_code == 201 and done.json() == {"sha256": SHA, "size": len(DATA)}
    assert api.get(f"/api/blobs/{SHA}", headers=alice).content == DATA


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"sha256": "abc", "size": 10}, "sha256"),
        ({"sha256": SHA, "size": -1}, "size"),
        ({"sha256": SHA, "size": "10"}, "size"),
        ({"sha256": SHA, "size": 10, "chunk_size": 10}, "chunk_size"),
        ({"sha256": SHA, "size": 10, "chunk_size": 1 << 40}, "chunk_size"),
        ([1, 2], "body"),
    ],
)
def test_bad_starts_are_refused(api, alice, body, path):
    answer = api.post("/api/uploads", json=body, headers=alice)
    assert answer.status_code == 400 and answer.json()["error"]["details"]["path"] == path


@pytest.mark.parametrize("hashed_while_arriving", [True, False])
def test_a_whole_that_does_not_match_stores_nothing(api, state, alice, hashed_while_arriving):
    other = os.urandom(len(DATA))  # every chunk correct for itself, the whole is not DATA
    upload = start(api, alice).json()["id"]
    for n in range(6):
        send(api, alice, upload, n, data=chunk(n, other))
    if not hashed_while_arriving:  # as if another server process completed it
        state.upload_hashes.forget(upload)
    answer = api.post(f"/api/uploads/{upload}/complete", headers=alice)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "checksum_mismatch"
    assert not state.blobs.exists(SHA) and not state.blobs.exists(sha_of(other))
    assert api.head(f"/api/blobs/{SHA}", headers=alice).status_code == 404
    assert api.get(f"/api/uploads/{upload}", headers=alice).status_code == 404


def test_an_upload_belongs_to_its_user(api, alice, bob):
    upload = start(api, alice).json()["id"]
    send(api, alice, upload, 0)
    for answer in (
        api.get(f"/api/uploads/{upload}", headers=bob),
        send(api, bob, upload, 1),
        api.post(f"/api/uploads/{upload}/complete", headers=bob),
        api.delete(f"/api/uploads/{upload}", headers=bob),
    ):
        assert answer.status_code == 404, answer.text
    assert start(api, bob).json()["id"] != upload  # bob's own upload of the same content
    assert api.get(f"/api/uploads/{upload}", headers=alice).json()["received"] == [0]
    assert api.delete(f"/api/uploads/{upload}", headers=alice).status_code == 204
    assert api.get(f"/api/uploads/{upload}", headers=alice).status_code == 404


def test_stale_uploads_expire(api, state, alice):
    upload = start(api, alice).json()["id"]
    staged = state.settings.data_dir / "uploads" / f"{upload}.part"
    assert staged.exists()
    table = state.db.table("upload")
    with write_transaction(state.db.engine) as conn:
        conn.execute(update(table).where(table.c.id == upload).values(expires=utcnow()))
    assert api.get(f"/api/uploads/{upload}", headers=alice).status_code == 404
    fresh = start(api, alice)  # starting any upload sweeps the expired ones
    assert fresh.status_code == 201 and fresh.json()["id"] != upload
    assert not staged.exists()


# The client ----------------------------------------------------------------------------------


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK_SIZE", CHUNK)
    monkeypatch.setattr(downloads, "SEGMENT", CHUNK)


def counting_session(app, tmp_path, name="alice"):
    transport = CountingTransport(app)
    session = labstore.Session(
        {"location": "http://testserver", "username": name, "password": PASSWORD},
        file_name=tmp_path / "client" / "config.toml",
        transport=transport,
    )
    return session, transport


class Interrupt(Exception):
    pass


def stop_after(limit):
    moved = []

    def progress(n):
        moved.append(n)
        if sum(moved) >= limit:
            raise Interrupt

    return progress


def test_an_interrupted_upload_sends_only_the_missing_chunks(
    app, make_user, tmp_path, small_pieces
):
    make_user("alice")
    path = tmp_path / "big.bin"
    path.write_bytes(DATA)
    first, _ = counting_session(app, tmp_path)
    with pytest.raises(Interrupt):
        first.upload(path, progress=stop_after(2 * CHUNK))
    first.close()

    second, transport = counting_session(app, tmp_path)  # a new session: nothing remembered
    seen = []
    stored = second.upload(path, progress=seen.append, description="raw")
    chunk_puts = [p for m, p in transport.requests if m == "PUT" and "/chunks/" in p]
    assert 1 <= len(chunk_puts) <= 4  # what arrived before was not sent again
    assert sum(seen) == len(DATA)
    assert (stored.name, stored.size, stored.sha256) == ("big.bin", len(DATA), SHA)
    assert stored.content_type == "application/octet-stream" and stored.description == "raw"
    assert second.blobs.read(SHA, 100, 200) == DATA[100:200]
    # Uploading the same content again sends nothing but the new object.
    before = len(transport.requests)
    second.upload(path, name="copy.bin")
    assert [m for m, p in transport.requests[before:] if "/blobs/" in p or "/uploads" in p] == [
        "HEAD"
    ]
    second.close()


def damage_chunk(monkeypatch, number, times):
    """Chunk ``number`` leaves the client with one bit flipped on its first ``times`` sends,
    as a faulty link would deliver it; returns the list of its sends."""
    original = uploads._chunk_pieces
    sends = []

    def pieces(digest, n):
        if n != number:
            return original(digest, n)
        sends.append(n)
        data = b"".join(original(digest, n))
        return iter([bytes([data[0] ^ 1]) + data[1:] if len(sends) <= times else data])

    monkeypatch.setattr(uploads, "_chunk_pieces", pieces)
    return sends


def test_a_chunk_damaged_on_the_way_is_sent_again_alone(
    app, make_user, tmp_path, small_pieces, monkeypatch
):
    make_user("alice")
    path = tmp_path / "big.bin"
    path.write_bytes(DATA)
    session, transport = counting_session(app, tmp_path)
    sends = damage_chunk(monkeypatch, 2, times=1)
    seen = []
    assert session.blobs.put(path, progress=seen.append) == SHA
    chunk_puts = sorted(p.rsplit("/", 1)[1] for m, p in transport.requests if "/chunks/" in p)
    assert chunk_puts == ["0", "1", "2", "2", "3", "4", "5"] and len(sends) == 2
    assert sum(seen) == len(DATA)
    assert session.blobs.read(SHA) == DATA
    session.close()


def test_a_chunk_damaged_on_every_send_stores_nothing(
    app, state, make_user, tmp_path, small_pieces, monkeypatch
):
    make_user("alice")
    path = tmp_path / "big.bin"
    path.write_bytes(DATA)
    session, _ = counting_session(app, tmp_path)
    sends = damage_chunk(monkeypatch, 2, times=len(DATA))
    with pytest.raises(labstore.errors.InvalidInput, match=r"chunks \[2\] .* damaged 3 times"):
        session.blobs.put(path)
    assert len(sends) == uploads.SEND_ROUNDS == 3
    assert not session.blobs.exists(SHA) and not state.blobs.exists(SHA)
    session.close()


def test_upload_files_into_a_folder_and_download(make_user, make_session, tmp_path):
    make_user("alice", projects=("neuro",))
    session = make_session("alice")
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    stored = session.upload(path, "/neuro/raw")
    assert stored.content_type == "text/plain" and stored.size == 5
    assert session.stat_path("/neuro/raw/notes.txt")["location"] == stored.location
    out = tmp_path / "out"
    out.mkdir()
    assert session.download(stored, out) == out / "notes.txt"
    assert session.download(stored.location, out / "n2.txt").read_text() == "hello"
    from_bytes = session.upload(b"raw bytes", name="b.bin")
    assert session.download(from_bytes, out).read_bytes() == b"raw bytes"
    with pytest.raises(labstore.errors.InvalidInput):
        session.upload(b"nameless")


def test_an_interrupted_download_resumes_and_checks_the_hash(
    app, make_user, tmp_path, small_pieces
):
    make_user("alice")
    session, transport = counting_session(app, tmp_path)
    sha = session.blobs.put(DATA)
    target = tmp_path / "copy.bin"
    part = tmp_path / "copy.bin.part"
    with pytest.raises(Interrupt):
        session.blobs.download(sha, target, progress=stop_after(2 * CHUNK))
    assert not target.exists() and part.exists()
    done = json.loads((tmp_path / "copy.bin.part.json").read_text())["done"]
    assert done

    before = len(transport.requests)
    seen = []
    session.blobs.download(sha, target, progress=seen.append)
    ranged = [p for m, p in transport.requests[before:] if m == "GET"]
    assert len(ranged) == 6 - len(done)
    assert target.read_bytes() == DATA and sum(seen) == len(DATA)
    assert not part.exists() and not (tmp_path / "copy.bin.part.json").exists()

    # A partial file damaged on disk is caught by the final hash: nothing is written.
    with pytest.raises(Interrupt):
        session.blobs.download(sha, tmp_path / "bad.bin", progress=stop_after(2 * CHUNK))
    bad_part = tmp_path / "bad.bin.part"
    kept = json.loads((tmp_path / "bad.bin.part.json").read_text())["done"]
    with bad_part.open("r+b") as handle:
        handle.seek(kept[0] * CHUNK)
        handle.write(b"\0" * 16)
    with pytest.raises(TransportError, match="corrupted"):
        session.blobs.download(sha, tmp_path / "bad.bin")
    assert not (tmp_path / "bad.bin").exists() and not bad_part.exists()
    session.close()


def test_a_server_allowing_smaller_chunks_gets_them(
    app, state, make_user, tmp_path, small_pieces, monkeypatch
):
    """The client cuts at 2 chunks of the smallest size; the server allows only one."""
    monkeypatch.setattr(uploads, "CHUNK_SIZE", 2 * CHUNK)
    monkeypatch.setattr(
        state, "settings", dataclasses.replace(state.settings, max_chunk_bytes=CHUNK)
    )
    make_user("alice")
    path = tmp_path / "big.bin"
    path.write_bytes(DATA)
    session, transport = counting_session(app, tmp_path)
    assert session.blobs.put(path) == SHA
    starts = [p for m, p in transport.requests if m == "POST" and p == "/api/uploads"]
    chunk_puts = [p for m, p in transport.requests if "/chunks/" in p]
    assert len(starts) == 2 and len(chunk_puts) == 6  # refused once, then cut at CHUNK
    assert session.blobs.read(SHA) == DATA
    session.close()
