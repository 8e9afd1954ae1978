"""Neo annotations as JSON that gives back the same Python values.

Plain JSON values (strings, finite floats, ints, booleans, ``None``, lists of them, dicts
with string keys) are stored as they are, so annotations stay filterable. Everything else
Neo accepts is wrapped in a one-key object naming its type: ``{"__datetime__": "..."}``,
``{"__ndarray__": {...}}``, ``{"__quantity__": {...}}``, ``{"__tuple__": [...]}``,
``{"__float__": "nan"}``, numpy scalars as ``{"__numpy__": {"dtype", "value"}}``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import quantities as pq

from labstore.errors import InvalidInput

_TAGS = (
    "__datetime__",
    "__date__",
    "__time__",
    "__timedelta__",
    "__ndarray__",
    "__quantity__",
    "__tuple__",
    "__float__",
    "__numpy__",
    "__dict__",
)


def _array(value: np.ndarray[Any, Any], path: str) -> dict[str, Any]:
    if value.dtype.kind == "O":
        raise InvalidInput(f"{path}: arrays of Python objects cannot be stored", {"path": path})
    return {"dtype": value.dtype.str, "value": encode(value.tolist(), path)}


def encode(value: Any, path: str = "annotations") -> Any:
    """The JSON form of an annotation value.

    Raises:
        InvalidInput: A value that is none of the kinds Neo accepts (the path names it).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, pq.Quantity):
        return {
            "__quantity__": {
                **_array(np.asarray(value.magnitude), path),
                "units": value.dimensionality.string,
            }
        }
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _array(value, path)}
    if isinstance(value, np.generic):
        return {"__numpy__": {"dtype": value.dtype.str, "value": encode(value.item(), path)}}
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, dt.date):
        return {"__date__": value.isoformat()}
    if isinstance(value, dt.time):
        return {"__time__": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"__timedelta__": value.total_seconds()}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        encoded = {str(k): encode(v, f"{path}.{k}") for k, v in value.items()}
        # A dict whose only key looks like a tag must not be read back as one.
        return (
            {"__dict__": encoded} if len(encoded) == 1 and next(iter(encoded)) in _TAGS else encoded
        )
    raise InvalidInput(
        f"{path}: cannot store a {type(value).__name__} as an annotation", {"path": path}
    )


def decode(value: Any) -> Any:
    """The Python value of an annotation's JSON form."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        tag, inner = next(iter(value.items()))
        if tag in _TAGS:
            return _decode_tagged(tag, inner)
    return {k: decode(v) for k, v in value.items()}


def _decode_tagged(tag: str, inner: Any) -> Any:
    if tag == "__datetime__":
        return dt.datetime.fromisoformat(inner)
    if tag == "__date__":
        return dt.date.fromisoformat(inner)
    if tag == "__time__":
        return dt.time.fromisoformat(inner)
    if tag == "__timedelta__":
        return dt.timedelta(seconds=inner)
    if tag == "__tuple__":
        return tuple(decode(v) for v in inner)
    if tag == "__float__":
        return float(inner)
    if tag == "__numpy__":
        return np.dtype(inner["dtype"]).type(decode(inner["value"]))
    if tag == "__dict__":
        return {k: decode(v) for k, v in inner.items()}
    array = np.array(decode(inner["value"]), dtype=np.dtype(inner["dtype"]))
    if tag == "__quantity__":
        return pq.Quantity(array, inner["units"])
    return array


def encode_all(annotations: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """All annotations of an object; ``None`` when it has none."""
    if not annotations:
        return None
    return {str(k): encode(v, f"annotations.{k}") for k, v in annotations.items()}


def decode_all(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: decode(v) for k, v in (stored or {}).items()}
