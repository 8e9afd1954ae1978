"""Blobs through the real app: verified PUT, HEAD, ranged GET, visibility and references."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

import labstore
from labstore.errors import InvalidInput, NotFound
from labstore.schema.blobs import blob_references
from labstore.schema.types import Field, Model
from labstore.store.engine import read_transaction
from tests.support.inprocess import CountingTransport

# Every test here runs on local disk and on a real S3-compatible server.
from tests.support.s3 import storage_on_disk_and_s3  # noqa: F401

CONTENT = b"0123456789abcdefghij" * 1000
SHA = hashlib.sha256(CONTENT).hexdigest()


def sha_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def alice(make_user, token_for):
    make_user("alice", projects=("neuro",))
    return token_for("alice")


@pytest.fixture
def bob(make_user, token_for):
    make_user("bob")
    return token_for("bob")


def put(api, headers, data, sha=None):
    return api.put(f"/api/blobs/{sha or sha_of(data)}", content=data, headers=headers)


def blob_rows(state):
    with read_transaction(state.db.engine) as conn:
        return conn.execute(select(func.count()).select_from(state.db.table("blob"))).scalar()


def test_put_head_and_ranged_get(api, alice):
    assert put(api, alice, CONTENT).status_code == 201
    again = put(api, alice, CONTENT)
    assert again.status_code == 200  # idempotent
    head = api.head(f"/api/blobs/{SHA}", headers=alice)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(CONTENT))
    whole = api.get(f"/api/blobs/{SHA}", headers=alice)
    assert whole.status_code == 200 and whole.content == CONTENT
    for header, expected, content_range in [
        ("bytes=10-19", CONTENT[10:20], f"bytes 10-19/{len(CONTENT)}"),
        ("bytes=19990-", CONTENT[19990:], f"bytes 19990-19999/{len(CONTENT)}"),
        ("bytes=-5", CONTENT[-5:], f"bytes 19995-19999/{len(CONTENT)}"),
        ("bytes=19998-30000", CONTENT[19998:], f"bytes 19998-19999/{len(CONTENT)}"),
    ]:
        part = api.get(f"/api/blobs/{SHA}", headers={**alice, "Range": header})
        assert part.status_code == 206, header
        assert part.content == expected and part.headers["content-range"] == content_range


@pytest.mark.parametrize(
    ("header", "status"),
    [("bytes=20000-", 416), ("bytes=5-2", 400), ("lines=1-2", 400), ("bytes=0-1,5-6", 400)],
)
def test_bad_ranges_are_refused(api, alice, header, status):
    put(api, alice, CONTENT)
    answer = api.get(f"/api/blobs/{SHA}", headers={**alice, "Range": header})
    assert answer.status_code == status
    assert "Range" in answer.json()["error"]["message"]


def test_a_wrong_checksum_stores_nothing(api, state, alice):
    answer = put(api, alice, CONTENT + b"!", sha=SHA)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "checksum_mismatch" and SHA in error["message"]
    assert api.head(f"/api/blobs/{SHA}", headers=alice).status_code == 404
    assert not state.blobs.exists(SHA) and blob_rows(state) == 0
    assert list(state.blobs.staging.iterdir()) == []  # no temporary file left behind


def test_bad_addresses_and_missing_login(api, alice):
    answer = api.put("/api/blobs/NOT-A-HASH", content=b"x", headers=alice)
    assert answer.status_code == 400 and "64 lowercase hex" in answer.json()["error"]["message"]
    assert api.put(f"/api/blobs/{SHA}", content=CONTENT).status_code == 401
    assert api.get(f"/api/blobs/{'0' * 64}", headers=alice).status_code == 404
    assert api.get("/api/blobs/xyz", headers=alice).status_code == 404


def test_another_user_sees_nothing_until_an_object_is_shared(api, state, alice, bob):
    put(api, alice, CONTENT)
    unknown = api.get(f"/api/blobs/{'1' * 64}", headers=bob)
    hidden = api.get(f"/api/blobs/{SHA}", headers=bob)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["message"] == f"no blob {SHA}"
    assert api.head(f"/api/blobs/{SHA}", headers=bob).status_code == 404
    assert api.get(f"/api/blobs/{SHA}").status_code == 404  # anonymous

    # Knowing the hash is not enough to refer to it.
    refused = api.post("/api/core/file", json={"name": "x", "sha256": SHA}, headers=bob)
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["path"] == "sha256"
    assert api.get("/api/core/file/count", headers=bob).json()["count"] == 0

    made = api.post("/api/core/file", json={"name": "d.bin", "sha256": SHA}, headers=alice)
    assert made.status_code == 201 and made.json()["size"] == len(CONTENT)
    location = made.json()["location"]
    api.put(f"/api/{location}/permissions", json={"safety_level": 1}, headers=alice)
    assert api.get(f"/api/blobs/{SHA}", headers=bob).status_code == 404
    api.post(f"/api/{location}/shares", json={"with": "bob"}, headers=alice)
    assert api.get(f"/api/blobs/{SHA}", headers=bob).content == CONTENT
    # Bob may now refer to it himself.
    assert (
        api.post("/api/core/file", json={"name": "y", "sha256": SHA}, headers=bob).status_code
        == 201
    )

    api.put(f"/api/{location}/permissions", json={"safety_level": 3}, headers=alice)
    assert api.get(f"/api/blobs/{SHA}").content == CONTENT  # public: anyone


def test_deleting_the_referring_object_ends_access_through_it(api, alice, bob):
    put(api, alice, CONTENT)
    made = api.post("/api/core/file", json={"name": "d", "sha256": SHA}, headers=alice).json()
    api.post(f"/api/{made['location']}/shares", json={"with": "bob"}, headers=alice)
    assert api.head(f"/api/blobs/{SHA}", headers=bob).status_code == 200
    assert api.delete(f"/api/{made['location']}", headers=alice).status_code == 204
    assert api.head(f"/api/blobs/{SHA}", headers=bob).status_code == 404
    assert api.head(f"/api/blobs/{SHA}", headers=alice).status_code == 200  # she sent it


def test_sending_the_bytes_makes_a_blob_readable(api, alice, bob):
    assert put(api, alice, CONTENT).status_code == 201
    assert put(api, bob, CONTENT).status_code == 201  # new to bob, who proved he has it
    assert api.get(f"/api/blobs/{SHA}", headers=bob).content == CONTENT


def test_file_references_are_checked_on_update_and_in_batches(api, alice):
    put(api, alice, CONTENT)
    other = b"other content"
    put(api, alice, other)
    made = api.post("/api/core/file", json={"name": "d", "sha256": SHA}, headers=alice).json()
    url = f"/api/{made['location']}"
    wrong_size = api.post(
        "/api/core/file", json={"name": "d", "sha256": SHA, "size": 3}, headers=alice
    )
    assert wrong_size.status_code == 400 and wrong_size.json()["error"]["details"]["path"] == "size"
    bad = api.patch(url, json={"sha256": "f" * 64}, headers=alice)
    assert bad.status_code == 400 and bad.json()["error"]["details"]["path"] == "sha256"
    assert api.get(url, headers=alice).json()["version"] == 1
    moved = api.patch(url, json={"sha256": sha_of(other), "size": None}, headers=alice)
    assert moved.status_code == 200 and moved.json()["size"] == len(other)
    batch = api.post(
        "/api/batch",
        json={
            "objects": [
                {"model": "core/file", "data": {"name": "a", "sha256": SHA}},
                {"model": "core/file", "data": {"name": "b", "sha256": "e" * 64}},
            ]
        },
        headers=alice,
    )
    assert batch.status_code == 400
    assert batch.json()["error"]["details"]["path"] == "objects[1].data.sha256"
    assert api.get("/api/core/file/count", headers=alice).json()["count"] == 1


def test_array_fields_refer_to_blobs_through_sha256():
    model = Model("signal", fields=(Field("samples", "array"), Field("name")))
    object.__setattr__(model, "pack", "ephys")
    header = {"sha256": SHA, "dtype": "<f4", "shape": [5000], "offset": 128}
    assert blob_references(model, {"samples": header, "name": "x"}) == {"samples": SHA}
    assert blob_references(model, {"samples": None}) == {"samples": None}
    assert blob_references(model, {"name": "x"}) == {}


# The client ----------------------------------------------------------------------------------


def test_blob_client_puts_once_and_reads_ranges(app, make_user, make_session, tmp_path):
    make_user("alice")
    counting = CountingTransport(app)
    session = labstore.Session(
        {"location": "http://testserver", "username": "alice", "password": "correct horse"},
        file_name=tmp_path / "c" / "config.toml",
        transport=counting,
    )
    try:
        assert session.blobs.put(CONTENT) == SHA
        assert session.blobs.put(io.BytesIO(CONTENT)) == SHA
        path = tmp_path / "data.bin"
        path.write_bytes(CONTENT)
        assert session.blobs.put(path) == SHA
        puts = [r for r in counting.requests if r[0] == "PUT"]
        assert puts == [("PUT", f"/api/blobs/{SHA}")]  # the content went once
        assert session.blobs.read(SHA, 100, 110) == CONTENT[100:110]
        assert session.blobs.read(SHA, 19995) == CONTENT[19995:]
        assert session.blobs.read(SHA, 30000, 30010) == b""
        assert session.blobs.read(SHA) == CONTENT
        assert session.blobs.size(SHA) == len(CONTENT)
        with pytest.raises(NotFound):
            session.blobs.read("2" * 64)
        with pytest.raises(InvalidInput):
            session.blobs.read("not a hash")
    finally:
        session.close()


def test_cached_blobs_are_read_offline(make_user, make_session, tmp_path):
    make_user("alice")
    session = make_session("alice", cache_dir=str(tmp_path / "cache"))
    sha = session.blobs.put(CONTENT)
    assert session.blobs.read(sha) == CONTENT  # whole: now in the cache
    assert (tmp_path / "cache" / "blobs" / sha).read_bytes() == CONTENT
    offline = session.with_cache(using_requests=False)
    assert offline.blobs.read(sha, 5, 15) == CONTENT[5:15]
    target = offline.blobs.download(sha, tmp_path / "out" / "copy.bin")
    assert target.read_bytes() == CONTENT


def test_download_streams_to_a_file(make_user, make_session, tmp_path):
    make_user("alice")
    session = make_session("alice")
    sha = session.blobs.put(CONTENT)
    seen = []
    target = session.blobs.download(sha, tmp_path / "copy.bin", progress=seen.append)
    assert target.read_bytes() == CONTENT and sum(seen) == len(CONTENT)
    assert not (tmp_path / "copy.bin.part").exists()
