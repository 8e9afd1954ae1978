"""``/api/{pack}/{model}/{id}/arrays/{field}/envelope``: an array field, ready to plot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from labstore.errors import NotFound
from labstore.server.arrays import ArrayRef, Window, envelope
from labstore.server.routes.objects import model_for
from labstore.server.state import ReaderDep, StateDep
from labstore.store.engine import read_transaction

router = APIRouter(prefix="/api/{pack}/{name}/{ident}/arrays")


@router.get("/{field}/envelope")
def array_envelope(
    pack: str,
    name: str,
    ident: str,
    field: str,
    request: Request,
    state: StateDep,
    reader: ReaderDep,
) -> dict[str, Any]:
    """Min/max of ``points`` buckets of rows ``[start, stop)`` of one ``channel``.

    The object is read as the caller sees it (hidden: 404); its blob is readable by whoever
    may read the object, so the rows come straight from storage.
    """
    model = model_for(state, pack, name)
    if field not in {f.name for f in model.fields if f.kind == "array"}:
        raise NotFound(f"{model.key} has no array field {field!r}", {"path": "field"})
    with read_transaction(state.db.engine) as conn:
        value = reader.to_json(model, reader.row(conn, model, ident)._mapping)[field]
    if value is None:
        raise NotFound(f"{field}: no array stored in {model.key}/{ident}", {"path": "field"})
    ref = ArrayRef.from_value(field, value)
    window = Window.parse(ref, dict(request.query_params))

    def read(start: int, stop: int) -> bytes:
        return state.blobs.read_range(ref.sha256, start, stop)

    return {"location": f"{model.key}/{ident}", "field": field, **envelope(read, ref, window)}
