"""Which values of an object are blob references, and what a blob address looks like.

A blob is addressed by the lowercase hex sha256 of its bytes. An object refers to blobs
through the ``sha256`` field of ``core/file`` and through every field of kind ``array`` whose
value is a JSON object carrying ``"sha256"`` (``{"sha256", "dtype", "shape", "offset", ...}``).
Server and client both need this: the server to check and index references, the client to
fetch the bytes behind an object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from labstore.schema.types import Model

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
FILE_MODEL = "core/file"


def is_sha256(text: object) -> bool:
    """Whether ``text`` is a blob address: 64 lowercase hex digits."""
    return isinstance(text, str) and _SHA256.match(text) is not None


def blob_fields(model: Model) -> list[str]:
    """Names of the fields of ``model`` that may hold a blob reference."""
    names = [f.name for f in model.fields if f.kind == "array"]
    if model.key == FILE_MODEL:
        names.append("sha256")
    return names


def referenced_blob(model: Model, field: str, value: Any) -> str | None:
    """The blob address a field value refers to, if it refers to one (not checked)."""
    if value is None:
        return None
    if model.key == FILE_MODEL and field == "sha256":
        return str(value)
    if isinstance(value, Mapping) and "sha256" in value:
        return str(value["sha256"])
    return None


def blob_references(model: Model, values: Mapping[str, Any]) -> dict[str, str | None]:
    """For each blob field present in ``values``: the address it refers to, or ``None``."""
    return {
        name: referenced_blob(model, name, values[name])
        for name in blob_fields(model)
        if name in values
    }
