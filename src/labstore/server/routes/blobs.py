"""``/api/blobs/{sha256}``: store verified bytes, ask whether they exist, read them by range."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio.from_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from labstore.server.blobs.catalog import BlobCatalog
from labstore.server.blobs.ranges import parse_range
from labstore.server.blobs.storage import READ_PIECE, VerifyingReader, check_address
from labstore.server.reads import Reader
from labstore.server.state import AppState, CurrentUser, ReaderDep, StateDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api/blobs")


# Most request-body pieces gathered for one trip to a worker thread (os.pwritev takes up to
# IOV_MAX, 1024, buffers at once).
BATCH_PIECES = 256


async def _batches(stream: AsyncIterator[bytes], size: int) -> AsyncIterator[list[bytes]]:
    """The request body's pieces gathered into lists of about ``size`` bytes: one thread hop
    per list, and nothing copied on the event loop (it serves every connection)."""
    batch: list[bytes] = []
    held = 0
    async for piece in stream:
        if piece:
            batch.append(piece)
            held += len(piece)
        if held >= size or len(batch) >= BATCH_PIECES:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def body_batches_in_thread(request: Request) -> Iterator[list[bytes]]:
    """The request body as a plain iterator of lists of pieces, for code running in a worker
    thread."""
    batches = _batches(request.stream(), READ_PIECE)

    async def next_batch() -> list[bytes]:
        return await anext(batches)

    while True:
        try:
            yield anyio.from_thread.run(next_batch)
        except StopAsyncIteration:
            return


def body_in_thread(request: Request) -> Iterator[bytes]:
    """The request body as a plain iterator of pieces, for code running in a worker thread."""
    for batch in body_batches_in_thread(request):
        yield b"".join(batch)  # the one copy, made in the worker thread


def store_blob(state: AppState, reader: Reader, sha256: str, body: Iterator[bytes]) -> bool:
    """Verify and store ``body`` as blob ``sha256`` for the reader's principal.

    Returns whether the blob is new to them (they could not read it before).

    Raises:
        ChecksumMismatch: The body hashes to something else; nothing is stored.
    """
    if state.blobs.exists(sha256):
        # The sender must still prove they hold the bytes before they may read the blob.
        verifying = VerifyingReader(sha256, body)
        for _ in verifying:
            pass
        verifying.verify()
        size = verifying.size
    else:
        size = state.blobs.write_stream(sha256, body)
    catalog = BlobCatalog(reader)
    with state.db.write() as conn:
        known = catalog.size(conn, sha256) is not None
        catalog.record(conn, sha256, size)
    return not known


@router.put("/{sha256}", status_code=201)
async def put_blob(sha256: str, request: Request, state: StateDep, user: CurrentUser) -> Response:
    """Store the request body as blob ``sha256``: 201 when new to the caller, 200 if not."""
    check_address(sha256)
    reader = Reader(state.db, user)
    new = await run_in_threadpool(store_blob, state, reader, sha256, body_in_thread(request))
    return Response(status_code=201 if new else 200, headers={"ETag": f'"{sha256}"'})


def _readable_size(state: AppState, reader: Reader, sha256: str) -> int:
    with read_transaction(state.db.engine) as conn:
        return BlobCatalog(reader).require_size(conn, sha256)


def _headers(sha256: str, size: int) -> dict[str, str]:
    return {
        "Accept-Ranges": "bytes",
        "Content-Length": str(size),
        "ETag": f'"{sha256}"',
        "Cache-Control": "private, max-age=31536000, immutable",
    }


@router.head("/{sha256}")
def head_blob(sha256: str, state: StateDep, reader: ReaderDep) -> Response:
    """200 with the size as Content-Length, or 404 (unknown or not readable: the same)."""
    size = _readable_size(state, reader, sha256)
    return Response(status_code=200, headers=_headers(sha256, size))


@router.get("/{sha256}")
def get_blob(sha256: str, request: Request, state: StateDep, reader: ReaderDep) -> Response:
    """The blob's bytes, streamed; ``Range: bytes=a-b`` answers 206 with that part.

    Large blobs in object storage may answer 307 to a presigned URL instead (see the
    ``presign_above_bytes`` setting): the bytes then skip this server.
    """
    size = _readable_size(state, reader, sha256)
    threshold = state.settings.presign_above_bytes
    if threshold and size >= threshold:
        url = state.blobs.presigned_url(sha256, state.settings.presign_seconds)
        if url is not None:
            return RedirectResponse(url, status_code=307)
    wanted = parse_range(request.headers.get("range"), size)
    start, stop = wanted if wanted is not None else (0, size)
    headers = _headers(sha256, stop - start)
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{max(start, stop - 1)}/{size}"
    return StreamingResponse(
        state.blobs.open_range(sha256, start, stop),
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )
