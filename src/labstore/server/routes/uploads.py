"""``/api/uploads``: chunked, resumable uploads (see :mod:`labstore.server.blobs.uploads`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from labstore.server.blobs.uploads import UploadRules, Uploads
from labstore.server.reads import Reader
from labstore.server.routes.blobs import body_batches_in_thread
from labstore.server.state import CurrentUser, JsonBody, StateDep

router = APIRouter(prefix="/api/uploads")


def get_uploads(state: StateDep, user: CurrentUser) -> Uploads:
    rules = UploadRules(
        staging=state.settings.data_dir / "uploads",
        expiry=dt.timedelta(hours=state.settings.upload_expiry_hours),
        max_chunk=state.settings.max_chunk_bytes,
    )
    return Uploads(state.db, state.blobs, rules, Reader(state.db, user), state.upload_hashes)


UploadsDep = Annotated[Uploads, Depends(get_uploads)]


@router.post("")
def start_upload(uploads: UploadsDep, body: JsonBody) -> JSONResponse:
    """Start an upload of ``{"sha256", "size", "chunk_size"}``; the caller's running upload of
    the same blob is returned (200) instead of a new one (201), listing what arrived."""
    info, new = uploads.start(body)
    return JSONResponse(info, status_code=201 if new else 200)


@router.get("/{ident}")
def describe_upload(ident: str, uploads: UploadsDep) -> dict[str, Any]:
    """The upload and the numbers of the chunks that arrived."""
    return uploads.describe(ident)


@router.put("/{ident}/chunks/{number}")
async def put_chunk(ident: str, number: int, request: Request, uploads: UploadsDep) -> Any:
    """Chunk ``number`` as the body, its sha256 in ``X-Chunk-Sha256`` (checked when the upload
    completes): 201, or 200 if it had arrived before."""
    sha256 = request.headers.get("x-chunk-sha256")
    new = await run_in_threadpool(
        uploads.put_chunk, ident, number, sha256, body_batches_in_thread(request)
    )
    return JSONResponse({"number": number}, status_code=201 if new else 200)


@router.post("/{ident}/complete")
def complete_upload(ident: str, uploads: UploadsDep) -> JSONResponse:
    """Check the whole, store it as a blob and forget the upload: 201 (200 if the caller
    could read the blob before); 409 naming the chunks to send (again) first."""
    info, new = uploads.complete(ident)
    return JSONResponse(info, status_code=201 if new else 200)


@router.delete("/{ident}", status_code=204)
def abort_upload(ident: str, uploads: UploadsDep) -> None:
    """Forget the upload and its chunks."""
    uploads.abort(ident)
