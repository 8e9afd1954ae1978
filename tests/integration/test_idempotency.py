"""Idempotency keys on the real app: a retried write answers as the first did, never twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid

import pytest
from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from labstore.client.transport import Transport
from labstore.errors import AnswerLost
from labstore.server import create_app, idempotency
from labstore.store.engine import read_transaction, write_transaction
from tests.conftest import fast_settings
from tests.support.inprocess import AppTransport

SUBJECTS = "/api/experiment/subject"


@pytest.fixture
def alice(make_user, token_for):
    make_user("alice", projects=("neuro",))
    return token_for("alice")


def keyed(headers, key=None):
    return {**headers, "Idempotency-Key": key or uuid.uuid4().hex}


def count_subjects(api, headers, nickname):
    answer = api.get(f"{SUBJECTS}/count", params={"nickname": nickname}, headers=headers)
    return answer.json()["count"]


def key_rows(state):
    table = state.db.table("idempotency_key")
    with read_transaction(state.db.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_retried_create_returns_the_first_answer(api, alice):
    headers = keyed(alice)
    first = api.post(SUBJECTS, json={"nickname": "ZM_1"}, headers=headers)
    again = api.post(SUBJECTS, json={"nickname": "ZM_1"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count_subjects(api, alice, "ZM_1") == 1
    # A new key is a new request.
    assert api.post(SUBJECTS, json={"nickname": "ZM_1"}, headers=keyed(alice)).status_code == 201
    assert count_subjects(api, alice, "ZM_1") == 2


def lose_answers(state, **values):
    """Every key back to claimed without an answer: a first request still running, or one
    whose server stopped before storing the answer (with ``created`` in the past)."""
    table = state.db.table("idempotency_key")
    with write_transaction(state.db.engine) as conn:
        conn.execute(update(table).values(status=None, headers=None, body=None, **values))


def test_a_key_sent_with_another_request_is_refused_and_changes_nothing(api, alice):
    headers = keyed(alice)
    api.post(SUBJECTS, json={"nickname": "ZM_1"}, headers=headers)
    for method, path, body in [
        ("POST", SUBJECTS, {"nickname": "ZM_2"}),
        ("POST", "/api/experiment/lab", {"nickname": "ZM_1"}),
    ]:
        answer = api.request(method, path, json=body, headers=headers)
        assert answer.status_code == 422
        error = answer.json()["error"]
        assert error["code"] == "idempotency_key_reused"
        assert "Idempotency-Key" in error["message"] and "new key" in error["message"]
    assert count_subjects(api, alice, "ZM_2") == 0


def test_a_failed_write_leaves_no_key_so_its_retry_runs_again(api, alice, state):
    headers = keyed(alice)
    for _ in range(2):
        answer = api.post(SUBJECTS, json={"nickname": "ZM", "lab": "nope"}, headers=headers)
        assert answer.status_code == 400 and "idempotent-replayed" not in answer.headers
    assert key_rows(state) == 0


def test_reads_sent_by_post_are_not_remembered(api, alice, state):
    api.post(SUBJECTS, json={"nickname": "ZM_1"}, headers=alice)
    headers = keyed(alice)
    query = {"__model__": "experiment/subject", "__query__": {"nickname": "ZM_1"}}
    first = api.post("/api/query", json=query, headers=headers)
    again = api.post("/api/query", json=query, headers=headers)
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in again.headers
    assert key_rows(state) == 0


def test_logins_are_never_remembered(api, make_user, state):
    make_user("bob")
    headers = {"Idempotency-Key": "k1"}
    body = {"username": "bob", "password": "correct horse"}
    tokens = {api.post("/api/auth/token", json=body, headers=headers).json()["token"] for _ in "ab"}
    assert len(tokens) == 2
    assert key_rows(state) == 0


def test_a_retried_batch_makes_its_tree_once(api, alice):
    headers = keyed(alice)
    body = {
        "objects": [
            {"ref": "l", "model": "experiment/lab", "data": {"name": "batchlab"}},
            {
                "ref": "s",
                "model": "experiment/subject",
                "data": {"nickname": "B1", "lab": {"ref": "l"}},
            },
        ]
    }
    first = api.post("/api/batch", json=body, headers=headers)
    again = api.post("/api/batch", json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert count_subjects(api, alice, "B1") == 1


def test_a_retried_delete_that_went_through_answers_204_not_404(api, alice):
    made = api.post(SUBJECTS, json={"nickname": "gone"}, headers=alice).json()
    url = f"/api/{made['location']}"
    headers = keyed(alice)
    assert api.delete(url, headers=headers).status_code == 204
    retried = api.delete(url, headers=headers)
    assert retried.status_code == 204 and retried.headers["idempotent-replayed"] == "true"
    # Another delete (a new key) is told the truth.
    assert api.delete(url, headers=keyed(alice)).status_code == 404


def test_a_retried_patch_with_if_match_answers_as_the_first(api, alice):
    made = api.post(SUBJECTS, json={"nickname": "p"}, headers=alice).json()
    url = f"/api/{made['location']}"
    headers = {**keyed(alice), "If-Match": '"1"'}
    first = api.patch(url, json={"strain": "C57"}, headers=headers)
    again = api.patch(url, json={"strain": "C57"}, headers=headers)
    assert first.status_code == again.status_code == 200  # not 412: the first went through
    assert again.json()["version"] == first.json()["version"] == 2


def test_keys_belong_to_their_user(api, alice, make_user, token_for):
    make_user("bob", projects=("neuro",))
    bob = token_for("bob")
    for headers in (alice, bob):
        answer = api.post(
            SUBJECTS,
            json={"nickname": "shared-key", "project": "neuro"},
            headers=keyed(headers, "k"),
        )
        assert answer.status_code == 201 and "idempotent-replayed" not in answer.headers
    assert count_subjects(api, alice, "shared-key") == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"])
def test_a_malformed_key_is_refused(api, alice, key):
    headers = {**alice, "Idempotency-Key": key.encode()}
    answer = api.post(SUBJECTS, json={"nickname": "bad-key"}, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["path"] == "Idempotency-Key"
    assert count_subjects(api, alice, "bad-key") == 0


def test_an_expired_key_is_forgotten(api, alice, state):
    headers = keyed(alice)
    api.post(SUBJECTS, json={"nickname": "old"}, headers=headers)
    table = state.db.table("idempotency_key")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=state.settings.idempotency_key_hours + 1)
    with write_transaction(state.db.engine) as conn:
        conn.execute(update(table).values(created=past))
    again = api.post(SUBJECTS, json={"nickname": "old"}, headers=headers)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers
    assert count_subjects(api, alice, "old") == 2


def test_a_retry_while_the_first_still_runs_is_told_to_come_back(
    database_url, tmp_path, alice, state
):
    """The first request claimed the key but has no answer yet (it is still running)."""
    body = {"nickname": "slow"}
    headers = keyed(alice, "running")
    # A second app on the same database, waiting only briefly for a first request to finish.
    settings = fast_settings(tmp_path / "other", database_url, idempotency_wait_seconds=0.2)
    other = create_app(settings)
    try:
        with TestClient(other) as client:
            first = client.post(SUBJECTS, json=body, headers=headers)
            assert first.status_code == 201
            lose_answers(state)  # back to a first request still running
            again = client.post(SUBJECTS, json=body, headers=headers)
    finally:
        other.state.labstore.db.dispose()
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "request_in_progress"
    assert again.headers["retry-after"] == "1"


def test_a_retry_of_a_write_whose_answer_was_lost_is_told_it_went_through(api, alice, state):
    """The server stopped between committing a write and storing its answer: its retries are
    told the write went through (without waiting), not to come back later for ever."""
    body = {"nickname": "lost-answer"}
    headers = keyed(alice, "lost")
    assert api.post(SUBJECTS, json=body, headers=headers).status_code == 201
    lost_after = dt.timedelta(seconds=state.settings.idempotency_answer_lost_seconds)
    written = dt.datetime.now(dt.UTC) - lost_after - dt.timedelta(seconds=5)
    lose_answers(state, created=written)
    began = time.monotonic()
    again = api.post(SUBJECTS, json=body, headers=headers)
    assert time.monotonic() - began < state.settings.idempotency_wait_seconds
    assert again.status_code == 409, again.text
    error = again.json()["error"]
    assert error["code"] == "answer_lost"
    assert "do not send it again" in error["message"] and "'lost'" in error["message"]
    assert dt.datetime.fromisoformat(error["details"]["written_at"]) == written
    assert count_subjects(api, alice, "lost-answer") == 1


def test_the_client_raises_answer_lost_at_once_and_never_retries_it(app, api, alice, state):
    """What the Session's transport makes of it: an AnswerLost, after one attempt, while a
    request still in progress would be retried."""
    headers = keyed(alice, "lost-client")
    body = {"nickname": "lost-client"}
    assert api.post(SUBJECTS, json=body, headers=headers).status_code == 201
    lose_answers(state, created=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    client = Transport("http://testserver", transport=AppTransport(app))
    client.token = alice["Authorization"].removeprefix("Bearer ")
    sleeps: list[float] = []
    client.sleep = sleeps.append
    with pytest.raises(AnswerLost, match="went through") as raised:
        client.request("POST", SUBJECTS, json=body, headers={"Idempotency-Key": "lost-client"})
    assert sleeps == [] and "written_at" in raised.value.details
    assert count_subjects(api, alice, "lost-client") == 1


def test_the_key_time_is_when_the_write_commits_not_when_it_began(state, alice):
    """A long write must not look, the moment it commits, as if its answer had been missing
    since it began."""
    table = state.db.table("idempotency_key")
    pending = idempotency.PendingKey("long-write", "POST /api/batch?")
    pending.username = "alice"
    reset = idempotency._pending.set(pending)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    try:
        with state.db.write() as conn:
            conn.execute(update(table).values(created=long_ago))  # as if claimed an hour ago
            before_commit = dt.datetime.now(dt.UTC)
    finally:
        idempotency._pending.reset(reset)
    with read_transaction(state.db.engine) as conn:
        created = conn.execute(select(table.c.created)).scalar_one()
    assert created >= before_commit


def test_a_retry_refused_because_the_first_went_through_gets_the_first_answer(api, alice):
    """Completing an upload removes it, so a retried completion would be refused (404) before
    it writes anything; the key turns that into the first completion's answer."""
    data = b"x" * 70_000
    body = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "chunk_size": 65536}
    upload = api.post("/api/uploads", json=body, headers=alice).json()
    for number in range(upload["chunks"]):
        piece = data[number * 65536 : (number + 1) * 65536]
        sha = hashlib.sha256(piece).hexdigest()
        chunk_headers = {**alice, "X-Chunk-Sha256": sha}
        url = f"/api/uploads/{upload['id']}/chunks/{number}"
        assert api.put(url, content=piece, headers=chunk_headers).status_code < 300
    headers = keyed(alice)
    url = f"/api/uploads/{upload['id']}/complete"
    first = api.post(url, headers=headers)
    assert first.status_code == 201, first.text
    assert api.post(url, headers=keyed(alice)).status_code == 404  # a new request: gone
    again = api.post(url, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
