"""``POST /api/batch``: many new or changed objects in one transaction, all or nothing.

New objects may point at each other through temporary references: an entry with
``"ref": "s1"`` can be named as ``{"ref": "s1"}`` in another entry's relation. Entries are
applied parents first, whatever their order in the request; the answer lists the stored
objects in request order and maps each reference to its location.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from labstore.errors import InvalidInput, NotFound
from labstore.server.writes import Writer
from labstore.store.records import split_location


def _refs_in(data: Any) -> set[str]:
    if not isinstance(data, Mapping):
        return set()
    return {str(v["ref"]) for v in data.values() if isinstance(v, Mapping) and "ref" in v}


def _order(entries: list[Mapping[str, Any]]) -> list[int]:
    """Indexes in an order where every referenced entry comes before its referrers."""
    defined: dict[str, int] = {}
    for i, entry in enumerate(entries):
        ref = entry.get("ref")
        if ref is not None:
            if str(ref) in defined:
                raise InvalidInput(
                    f"objects[{i}].ref: {ref!r} is used twice", {"path": f"objects[{i}].ref"}
                )
            defined[str(ref)] = i
    needs = {}
    for i, entry in enumerate(entries):
        deps = set()
        for ref in _refs_in(entry.get("data")):
            if ref not in defined:
                raise InvalidInput(
                    f"objects[{i}].data: reference {ref!r} is not defined in this batch",
                    {"path": f"objects[{i}].data"},
                )
            deps.add(defined[ref])
        needs[i] = deps
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(entries):
        ready = [i for i in needs if i not in done and needs[i] <= done]
        if not ready:
            stuck = sorted(i for i in needs if i not in done)
            raise InvalidInput(
                f"objects {stuck}: their references form a cycle", {"path": "objects"}
            )
        for i in ready:
            order.append(i)
            done.add(i)
    return order


def apply_batch(
    conn: Connection, writer: Writer, body: Any, *, max_batch: int, default_project: str | None
) -> dict[str, Any]:
    """Apply a batch inside ``conn``'s transaction; the caller commits or rolls back."""
    if not isinstance(body, Mapping) or not isinstance(body.get("objects"), list):
        raise InvalidInput('body: expected {"objects": [...]}', {"path": "objects"})
    entries = body["objects"]
    if len(entries) > max_batch:
        raise InvalidInput(f"objects: at most {max_batch} objects per batch", {"path": "objects"})
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InvalidInput(f"objects[{i}]: expected an object", {"path": f"objects[{i}]"})
    locations: dict[str, str] = {}

    def resolve(ref: str, where: str) -> str:
        return locations[ref]

    results: list[dict[str, Any] | None] = [None] * len(entries)
    for i in _order(entries):
        entry = entries[i]
        path = f"objects[{i}]"
        data = entry.get("data", {})
        if entry.get("location"):
            key, ident = _split(entry["location"], path)
            model = _model(writer, key, path)
            version = entry.get("if_match")
            if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
                raise InvalidInput(
                    f"{path}.if_match: expected a version number", {"path": f"{path}.if_match"}
                )
            try:
                stored = writer.update(
                    conn,
                    model,
                    ident,
                    data,
                    partial=True,
                    if_match=version,
                    path=f"{path}.data",
                    refs=resolve,
                )
            except NotFound as exc:
                raise NotFound(f"{path}: {exc.message}", {**exc.details, "path": path}) from None
        else:
            model = _model(writer, entry.get("model"), path)
            stored = writer.create(
                conn,
                model,
                data,
                path=f"{path}.data",
                refs=resolve,
                default_project=default_project,
            )
        if entry.get("ref") is not None:
            locations[str(entry["ref"])] = stored["location"]
        results[i] = stored
    return {"objects": results, "refs": locations}


def _split(location: Any, path: str) -> tuple[str, str]:
    try:
        return split_location(str(location))
    except ValueError as exc:
        raise InvalidInput(f"{path}.location: {exc}", {"path": f"{path}.location"}) from None


def _model(writer: Writer, name: Any, path: str) -> Any:
    if not isinstance(name, str):
        raise InvalidInput(
            f"{path}.model: expected a model like 'experiment/subject'", {"path": f"{path}.model"}
        )
    try:
        return writer.registry.model(name)
    except NotFound as exc:
        raise InvalidInput(f"{path}.model: {exc.message}", {"path": f"{path}.model"}) from None
