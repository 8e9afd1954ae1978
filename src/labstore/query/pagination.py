"""Opaque cursors for keyset pages: stable under inserts, cheap at any depth.

A cursor carries the order it was made for and the order values of the last row served;
a cursor used with another order, model or a tampered value is refused, never misread.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from labstore.errors import InvalidInput
from labstore.query.ast import OrderKey
from labstore.schema.registry import Registry
from labstore.schema.types import Model
from labstore.schema.values import coerce_kind, to_json_value

# Ours are a few hundred characters; a longer one is not ours and is refused unread.
MAX_CURSOR = 4096


def _signature(model: Model, keys: Sequence[OrderKey]) -> str:
    text = model.key + "|" + ",".join(("-" if k.descending else "") + k.field for k in keys)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _kind(registry: Registry, model: Model, name: str) -> str:
    field = registry.any_field(model, name)
    return field.kind if field is not None else "str"


def encode_cursor(
    registry: Registry, model: Model, keys: Sequence[OrderKey], values: Sequence[Any]
) -> str:
    payload = {
        "o": _signature(model, keys),
        "v": [
            to_json_value(_kind(registry, model, k.field), v)  # type: ignore[arg-type]
            for k, v in zip(keys, values, strict=True)
        ],
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(
    registry: Registry, model: Model, keys: Sequence[OrderKey], cursor: str
) -> list[Any]:
    """The order values a cursor carries.

    Raises:
        InvalidInput: The cursor is malformed or was made for another order or model.
    """
    bad = InvalidInput(
        "cursor: not a cursor of this listing; start again without one", {"path": "cursor"}
    )
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR:
        raise bad
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = payload["v"]
        if payload["o"] != _signature(model, keys) or len(values) != len(keys):
            raise bad
        return [
            coerce_kind(_kind(registry, model, k.field), v, "cursor", strict=False)  # type: ignore[arg-type]
            for k, v in zip(keys, values, strict=True)
        ]
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise bad from None
