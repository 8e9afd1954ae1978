"""Idempotency keys: a retried write answers as its first attempt did and never runs twice.

A client sends ``Idempotency-Key: <key>`` with a write (POST, PUT, PATCH, DELETE). The key is
remembered per user with the request's fingerprint (method, path with query, sha256 of the
body) and, once it is ready, the answer (status, body and the headers that matter):

- The first request claims the key by inserting its row as the first statement of its write
  transaction (:func:`claim`, called by ``Database.write``), so the row exists if and only if
  the write committed. A request that fails changes nothing and leaves no key behind: its
  retry simply runs again.
- A retry of a request that went through, or a duplicate racing it, fails on the key's
  uniqueness in that same first statement, before it has written anything; it then answers
  with the stored answer, marked ``Idempotent-Replayed: true``, waiting for it while the first
  request is still running. (No look-up runs before the request: most keyed writes are first
  attempts, and they pay only for the one insert and for storing their answer.)
- The key row's time is set again just before its transaction commits (:func:`stamp`), so it
  says when the write went through. A row still without an answer
  ``idempotency_answer_lost_seconds`` after that lost it: the server stopped between the
  commit and storing the answer, which takes milliseconds. Its retries are then told so
  (:class:`~labstore.errors.AnswerLost`), not to come back later: coming back would never help,
  and a user told to retry would send the write again under a new key.
- The same key with another request is a 422 naming the problem.
- Keys expire after the ``idempotency_key_hours`` setting.

Requests that write nothing (a query sent by POST, a refused write) leave no row. Anonymous
requests and logins are never remembered: a stored answer to a login would be a token kept in
the clear.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Row, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labstore.errors import (
    AnswerLost,
    IdempotencyKeyReused,
    InvalidInput,
    LabstoreError,
    RequestInProgress,
    ServerError,
)
from labstore.server.errors import error_response
from labstore.store.engine import read_transaction, write_transaction
from labstore.store.records import utcnow
from labstore.store.tables import IDEMPOTENCY_KEY_LENGTH

if TYPE_CHECKING:  # the app state holds the database that calls claim(): no cycle at run time
    from labstore.server.state import AppState

log = logging.getLogger("labstore.server.idempotency")

KEY_HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Headers a replay must repeat; the rest (date, length, server) are made anew.
KEPT_HEADERS = frozenset({"content-type", "etag", "location"})
# Paths whose answers are never stored (a login answers a token).
NEVER_REMEMBERED = ("/api/auth/",)
# Writes that are idempotent by themselves: a blob or an upload chunk is named by its content
# (checked before it is stored), so sending it again stores nothing twice. Their bodies are
# large and streamed: hashing them once more for a key's fingerprint would only cost time.
IDEMPOTENT_BY_CONTENT = re.compile(r"^/api/(blobs/[^/]+|uploads/[^/]+/chunks/[^/]+)$")
_POLL_SECONDS = 0.05
_PURGE_EVERY_SECONDS = 60.0


@dataclass
class PendingKey:
    """A key this request will claim with its first write transaction."""

    key: str
    request_line: str  # method, path and query
    # Whose key: set when the request's credentials are checked (:func:`bind_user`).
    username: str | None = None
    # "open": not claimed yet; "claiming": inside the transaction that inserted the row;
    # "committed": that transaction committed, so the answer must be stored.
    state: str = "open"
    # The body's hash, fed as the app reads the body (a large upload is never held whole).
    body_hash: Any = field(default_factory=hashlib.sha256)
    body_read: bool = False

    @property
    def fingerprint(self) -> str:
        """What makes two requests the same: method, path, query and body. Every route reads
        its body before it writes, so the hash is the whole body's when the key is claimed."""
        text = f"{self.request_line}\n{self.body_hash.hexdigest()}"
        return hashlib.sha256(text.encode()).hexdigest()


_pending: ContextVar[PendingKey | None] = ContextVar("labstore_idempotency_key", default=None)


class DuplicateKey(Exception):
    """Another request holding the same key committed first; this one must replay its answer.

    Deliberately not a LabstoreError: it must pass the error handlers and reach the middleware.
    """


def bind_user(username: str) -> None:
    """Note whose request this is (called where credentials are checked); keys are per user."""
    pending = _pending.get()
    if pending is not None:
        pending.username = username


def _key_row(table: Table, username: str | None, key: str) -> ColumnElement[bool]:
    """The condition on one user's key row."""
    return (table.c.username == username) & (table.c.key == key)


def claim(conn: Connection, table: Table, lifetime: dt.timedelta) -> PendingKey | None:
    """Insert this request's key row as the first statements of a write transaction.

    There is no look-up before the request runs: a retry of a request that went through
    fails here, on the key's uniqueness, before it has written anything, and then replays.
    An expired row of the same key is removed first, so the key can be used afresh.

    Returns the claimed key (give it to :func:`settle`), or None when the request has no key,
    no user, or claimed it already.

    Raises:
        DuplicateKey: A request with the same key committed first.
    """
    pending = _pending.get()
    if pending is None or pending.username is None or pending.state != "open":
        return None
    now = utcnow()
    mine = _key_row(table, pending.username, pending.key)
    conn.execute(delete(table).where(mine, table.c.created < now - lifetime))
    try:
        conn.execute(
            insert(table).values(
                username=pending.username,
                key=pending.key,
                fingerprint=pending.fingerprint,
                created=now,
            )
        )
    except IntegrityError:
        raise DuplicateKey(pending.key) from None
    pending.state = "claiming"
    return pending


def stamp(conn: Connection, table: Table, pending: PendingKey | None) -> None:
    """Set the claimed key's time to now, as its transaction is about to commit.

    The claim's time is the transaction's start; a write that ran for minutes would otherwise
    look, the moment it commits, as if its answer had been missing for minutes.
    """
    if pending is not None:
        mine = _key_row(table, pending.username, pending.key)
        conn.execute(update(table).where(mine).values(created=utcnow()))


def settle(pending: PendingKey | None, *, committed: bool) -> None:
    """Record how the transaction that claimed a key ended."""
    if pending is not None:
        pending.state = "committed" if committed else "open"


def check_key(key: str) -> None:
    """Raises InvalidInput unless the key is 1 to 255 visible ASCII characters."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_LENGTH or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidInput(
            f"Idempotency-Key: expected 1 to {IDEMPOTENCY_KEY_LENGTH} visible ASCII characters "
            "(a UUID is a good key)",
            {"path": "Idempotency-Key"},
        )


class KeyStore:
    """The rows of ``idempotency_key``: look-up, answers, expiry."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.table = state.db.table("idempotency_key")
        self._purged = 0.0

    @property
    def lifetime(self) -> dt.timedelta:
        return dt.timedelta(hours=self.state.settings.idempotency_key_hours)

    def lookup(self, username: str, key: str) -> Row[Any] | None:
        """The key's row, unless it has expired."""
        where = _key_row(self.table, username, key)
        with read_transaction(self.state.db.engine) as conn:
            row = conn.execute(select(self.table).where(where)).first()
        return None if row is None or row.created < utcnow() - self.lifetime else row

    def save(self, pending: PendingKey, status: int, headers: list[list[str]], body: bytes) -> None:
        """Keep the answer of the request that claimed the key; purge expired keys now and
        then."""
        with write_transaction(self.state.db.engine) as conn:
            conn.execute(
                update(self.table)
                .where(_key_row(self.table, pending.username, pending.key))
                .values(status=status, headers=headers, body=body)
            )
            if time.monotonic() - self._purged > _PURGE_EVERY_SECONDS:
                self._purged = time.monotonic()
                cutoff = utcnow() - self.lifetime
                conn.execute(delete(self.table).where(self.table.c.created < cutoff))


def _hashing(receive: Receive, pending: PendingKey) -> Receive:
    """The app's receive, feeding the body to the key's fingerprint as it passes."""

    async def receive_and_hash() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            pending.body_hash.update(message.get("body", b""))
            pending.body_read = not message.get("more_body", False)
        return message

    return receive_and_hash


class _Recorder:
    """Forwards the app's answer, holding it back to store it first when the key was claimed:
    a client must never receive an answer whose key has not been completed.

    An error answer of a request that claimed nothing is checked against the keys too: a
    route may refuse a retry before it writes because the first attempt changed things (an
    upload completed by the first attempt is gone for the second). If the key is known, the
    error is dropped (``superseded``) and the first attempt's answer is replayed instead.
    """

    def __init__(self, send: Send, pending: PendingKey, store: KeyStore) -> None:
        self.send = send
        self.pending = pending
        self.store = store
        self.started = False
        self.superseded = False
        self.start: Message | None = None
        self.body: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if self.superseded:
            return
        if message["type"] == "http.response.start":
            self.started = True
            if self.pending.state == "committed":
                self.start = message
                return
            if await self._key_known_after(message["status"]):
                self.superseded = True
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(self.body)
            await run_in_threadpool(
                self.store.save, self.pending, self.start["status"], self._kept(), body
            )
            await self.send(self.start)
            await self.send({"type": "http.response.body", "body": body})
            return
        await self.send(message)

    async def _key_known_after(self, status: int) -> bool:
        """Whether an error answer of a request that claimed nothing has a key row after all."""
        username = self.pending.username
        if status < 400 or self.pending.state != "open" or username is None:
            return False
        row = await run_in_threadpool(self.store.lookup, username, self.pending.key)
        return row is not None

    def _kept(self) -> list[list[str]]:
        assert self.start is not None
        return [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in self.start.get("headers", [])
            if name.decode("latin-1").lower() in KEPT_HEADERS
        ]


class IdempotencyMiddleware:
    """ASGI middleware answering retried writes from their stored first answers."""

    def __init__(self, app: ASGIApp, state: AppState) -> None:
        self.app = app
        self.store = KeyStore(state)
        self.wait_seconds = state.settings.idempotency_wait_seconds
        self.lost_after = dt.timedelta(seconds=state.settings.idempotency_answer_lost_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(KEY_HEADER)
        path: str = scope["path"]
        if key is None or path.startswith(NEVER_REMEMBERED) or IDEMPOTENT_BY_CONTENT.match(path):
            await self.app(scope, receive, send)
            return
        try:
            check_key(key)
        except InvalidInput as exc:
            await error_response(exc)(scope, receive, send)
            return
        query = scope["query_string"].decode("latin-1")
        pending = PendingKey(key, f"{scope['method']} {path}?{query}")
        recorder = _Recorder(send, pending, self.store)
        reset = _pending.set(pending)
        hashing = _hashing(receive, pending)
        try:
            await self.app(scope, hashing, recorder)
            if recorder.superseded:
                await self._replay(pending, scope, hashing, send)
        except DuplicateKey:
            await self._replay(pending, scope, hashing, send)
        except Exception:
            if pending.state == "committed" and not recorder.started:
                # The write is in; its answer is the failure the client is about to get.
                failure = ServerError("the server failed after the write; see its log")
                await run_in_threadpool(
                    self.store.save,
                    pending,
                    failure.status,
                    [["content-type", "application/json"]],
                    json.dumps(failure.envelope()).encode(),
                )
            raise
        finally:
            _pending.reset(reset)

    async def _replay(
        self, pending: PendingKey, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Answer as the first request with this key did, waiting for it if it still runs."""
        assert pending.username is not None  # it claimed, or tried to
        while not pending.body_read:  # the fingerprint covers the whole body
            if (await receive())["type"] != "http.request":
                break
        deadline = time.monotonic() + self.wait_seconds
        while True:
            row = await run_in_threadpool(self.store.lookup, pending.username, pending.key)
            if row is not None and row.fingerprint != pending.fingerprint:
                error: LabstoreError = IdempotencyKeyReused(
                    f"Idempotency-Key {pending.key!r} was first sent with another request "
                    "(method, path or body); send a new key with a new request",
                    {"path": "Idempotency-Key"},
                )
                await error_response(error)(scope, receive, send)
                return
            if row is not None and row.status is None and row.created < utcnow() - self.lost_after:
                # Committed long ago with no answer: waiting on cannot help (module docstring).
                await error_response(_lost(pending.key, row.created))(scope, receive, send)
                return
            if row is not None and row.status is not None:
                log.info("replaying the answer to key %r of %s", pending.key, pending.username)
                body = bytes(row.body or b"")
                stored = [
                    (str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in row.headers
                ]
                stored += [
                    (b"content-length", str(len(body)).encode()),
                    (REPLAYED_HEADER.encode(), b"true"),
                ]
                await send({"type": "http.response.start", "status": row.status, "headers": stored})
                await send({"type": "http.response.body", "body": body})
                return
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(_POLL_SECONDS)
        error = RequestInProgress(
            f"the first request with Idempotency-Key {pending.key!r} has not finished; retry later",
            {"path": "Idempotency-Key"},
        )
        response = error_response(error)
        response.headers["Retry-After"] = "1"
        await response(scope, receive, send)


def _lost(key: str, written: dt.datetime) -> AnswerLost:
    return AnswerLost(
        f"the request first sent with Idempotency-Key {key!r} went through at "
        f"{written:%Y-%m-%d %H:%M:%S} UTC, but its answer was lost (the server "
        "stopped before storing it): do not send it again; read the objects it wrote instead",
        {"path": "Idempotency-Key", "written_at": written.isoformat()},
    )
