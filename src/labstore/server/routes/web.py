"""The web UI at ``/``: one HTML page and its scripts, over the same ``/api`` as every client.

Pages are drawn in the browser by ``labstore/web/static/app.js`` from ``/api`` answers, so
they show exactly what the API shows the user. The server only hands out the page (answering
404 for an object page the visitor may not see, as the API does), the static files, and the
login cookie (see :data:`labstore.server.state.TOKEN_COOKIE`).
"""

from __future__ import annotations

import functools
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from labstore.errors import LabstoreError, NotFound, PermissionDenied
from labstore.server.auth import ANONYMOUS, Principal
from labstore.server.reads import Reader
from labstore.server.routes.auth import log_in, revoke_token
from labstore.server.routes.objects import model_for
from labstore.server.state import (
    TOKEN_COOKIE,
    WEB_HEADER,
    AppState,
    CurrentUser,
    JsonBody,
    StateDep,
    request_token,
)
from labstore.store.engine import read_transaction

router = APIRouter(include_in_schema=False)
WEB_FILES = resources.files("labstore") / "web"


def static_files() -> StaticFiles:
    """The scripts and styles under ``/static`` (mounted by ``create_app``)."""
    return StaticFiles(directory=str(WEB_FILES / "static"))


@functools.cache
def _page() -> str:
    return (WEB_FILES / "index.html").read_text(encoding="utf-8")


def _shell(status: int = 200) -> HTMLResponse:
    # The page itself holds no data, only the script that asks /api for it.
    return HTMLResponse(_page(), status_code=status, headers={"Cache-Control": "no-cache"})


@router.get("/", response_class=HTMLResponse)
@router.get("/login", response_class=HTMLResponse)
@router.get("/browse", response_class=HTMLResponse)
@router.get("/browse/{path:path}", response_class=HTMLResponse)
@router.get("/search", response_class=HTMLResponse)
@router.get("/search/{pack}/{name}", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return _shell()


def _visitor(request: Request, state: AppState) -> Principal:
    """Who is looking at a page: the cookie's user, or anonymous (a stale cookie included:
    the page then asks them to log in)."""
    try:
        token = request_token(request)
        if token is None:
            return ANONYMOUS
        with read_transaction(state.db.engine) as conn:
            return state.accounts.resolve(conn, token)
    except LabstoreError:
        return ANONYMOUS


@router.get("/objects/{pack}/{name}/{ident}", response_class=HTMLResponse)
def object_page(
    pack: str, name: str, ident: str, request: Request, state: StateDep
) -> HTMLResponse:
    """The object's page; 404 (the same page, which then says so) when the visitor may not
    see it, exactly as ``GET /api/{pack}/{model}/{id}`` answers."""
    reader = Reader(state.db, _visitor(request, state))
    try:
        model = model_for(state, pack, name)
        with read_transaction(state.db.engine) as conn:
            reader.row(conn, model, ident)
    except NotFound:
        return _shell(404)
    return _shell()


@router.post("/login")
def login(request: Request, state: StateDep, body: JsonBody) -> JSONResponse:
    """Log in with ``{"username", "password"}``; the token goes into an HttpOnly cookie.

    Only the web UI's own script logs in here (it sends the header), so another site cannot
    log a visitor in as someone else.
    """
    if WEB_HEADER not in request.headers:
        raise PermissionDenied(f"log in from the web UI (it sends the {WEB_HEADER!r} header)")
    token, expires = log_in(state, body)
    response = JSONResponse({"username": body["username"]})
    response.set_cookie(
        TOKEN_COOKIE,
        token,
        expires=expires,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", status_code=204)
def logout(state: StateDep, user: CurrentUser, request: Request) -> Response:
    """Revoke the cookie's token and drop the cookie."""
    revoke_token(state, user, request)
    response = Response(status_code=204)
    response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="strict")
    return response
