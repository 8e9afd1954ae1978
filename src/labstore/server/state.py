"""What one app holds, and the request dependencies built on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Body, Depends, Request

from labstore.errors import AuthenticationError, PermissionDenied
from labstore.schema.registry import Registry
from labstore.server import idempotency
from labstore.server.auth import ANONYMOUS, Accounts, Principal
from labstore.server.blobs.running import RunningHashes
from labstore.server.blobs.storage import BlobStorage
from labstore.server.database import Database
from labstore.server.reads import Reader
from labstore.server.settings import Settings
from labstore.server.writes import Writer
from labstore.store.engine import read_transaction


@dataclass
class AppState:
    settings: Settings
    registry: Registry
    db: Database
    accounts: Accounts
    blobs: BlobStorage
    # Whole-content hashes of chunked uploads, advanced as chunks arrive (this process's).
    upload_hashes: RunningHashes = field(default_factory=RunningHashes)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.labstore
    return state


StateDep = Annotated[AppState, Depends(get_state)]
# A request body of any JSON: the schema checks it, so errors name fields, not pydantic types.
JsonBody = Annotated[Any, Body()]


# The web UI's login: an HttpOnly cookie holding an ordinary token, so scripts cannot read it
# and plain links (file downloads) carry it. SameSite=Strict keeps other sites' pages from
# sending it; on top, a request that changes something with the cookie must carry the
# WEB_HEADER, which a cross-site page cannot add without a CORS preflight we never grant.
TOKEN_COOKIE = "labstore_token"
WEB_HEADER = "x-labstore-web"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def request_token(request: Request) -> str | None:
    """The caller's token: the Authorization header, else the web UI's cookie.

    Raises:
        PermissionDenied: A change sent with the cookie alone, without the web UI's header.
    """
    token = bearer_token(request)
    if token is not None:
        return token
    cookie = request.cookies.get(TOKEN_COOKIE)
    if not cookie:
        return None
    if request.method not in _SAFE_METHODS and WEB_HEADER not in request.headers:
        raise PermissionDenied(
            f"a change made with the login cookie must carry the {WEB_HEADER!r} header"
        )
    return cookie


def current_principal(request: Request, state: StateDep) -> Principal:
    token = request_token(request)
    if token is None:
        raise AuthenticationError(
            "log in first: send 'Authorization: Bearer <token>' (POST /api/auth/token gives one)"
        )
    with read_transaction(state.db.engine) as conn:
        principal = state.accounts.resolve(conn, token)
    idempotency.bind_user(principal.username)  # an Idempotency-Key belongs to its user
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def reader_principal(request: Request, state: StateDep) -> Principal:
    """The caller, or the anonymous reader when no credentials were sent (a bad token is
    still refused: it means the caller meant to log in)."""
    if request.headers.get("authorization") is None and TOKEN_COOKIE not in request.cookies:
        return ANONYMOUS
    return current_principal(request, state)


def get_reader(state: StateDep, user: Annotated[Principal, Depends(reader_principal)]) -> Reader:
    return Reader(state.db, user)


ReaderDep = Annotated[Reader, Depends(get_reader)]


def get_writer(state: StateDep, user: CurrentUser) -> Writer:
    return Writer(Reader(state.db, user))


WriterDep = Annotated[Writer, Depends(get_writer)]
