"""Rows to and from the JSON form every API answer and the client use.

An object's JSON is flat: the common fields, ``location``, its fields by name, and each
relation as the parent's location (or ``null``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from labstore.schema.registry import COMMON_FIELDS
from labstore.schema.types import Model
from labstore.schema.values import coerce_kind, to_json_value

# Crockford's base32 alphabet: no I, L, O or U, so ids survive being read aloud or retyped.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ID_CHARS = 10  # 50 random bits: collisions are checked for, and vanishingly rare


def utcnow() -> dt.datetime:
    """Now, aware and in UTC: every stored time is UTC."""
    return dt.datetime.now(dt.UTC)


def fresh_row(ident: str, owner: str, project: str | None, **fields: Any) -> dict[str, Any]:
    """The columns of a brand-new object that is its own access group, plus ``fields``."""
    stamp = utcnow()
    return {
        "id": ident,
        "version": 1,
        "owner": owner,
        "project": project,
        "created": stamp,
        "modified": stamp,
        "access_group": ident,
        **fields,
    }


def new_id() -> str:
    """A short random id like ``2DFA548ESC``."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(ID_CHARS))


def location_of(model: Model, ident: str) -> str:
    return f"{model.key}/{ident}"


def split_location(location: str) -> tuple[str, str]:
    """``("pack/model", "id")`` from ``pack/model/id``; ``ValueError`` if it is not one."""
    parts = location.strip("/").split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{location!r} is not a location of the form pack/model/id")
    return f"{parts[0]}/{parts[1]}", parts[2]


def json_to_row(model: Model, data: Mapping[str, Any]) -> dict[str, Any]:
    """The row for an object's JSON form (what a replica stores from an API answer)."""
    row: dict[str, Any] = {}
    for field in (*COMMON_FIELDS, *model.fields):
        row[field.name] = coerce_kind(field.kind, data.get(field.name), field.name, strict=False)
    for rel in model.relations:
        parent = data.get(rel.name)
        row[rel.column] = str(parent).rsplit("/", 1)[1] if parent else None
    # A replica holds only what its user may see, so access is not replicated; the columns
    # exist because the tables are the server's.
    row["access_group"] = row["id"]
    row["safety_level"] = 2
    return row


def row_to_json(
    model: Model, row: Mapping[Any, Any], parent_keys: Mapping[str, str]
) -> dict[str, Any]:
    """The JSON form of one row; ``parent_keys`` maps each relation to its target's key."""
    out: dict[str, Any] = {"location": location_of(model, row["id"]), "model": model.key}
    for field in COMMON_FIELDS:
        out[field.name] = to_json_value(field.kind, row[field.name])
    for field in model.fields:
        out[field.name] = to_json_value(field.kind, row[field.name])
    for rel in model.relations:
        parent_id = row[rel.column]
        out[rel.name] = f"{parent_keys[rel.name]}/{parent_id}" if parent_id else None
    return out
