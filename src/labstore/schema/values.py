"""Turning outside values (JSON bodies, query strings) into typed field values, and back.

Bodies are checked strictly (a JSON string is not an integer); query strings arrive as text, so
filters parse them leniently (``"3"`` is the integer 3). Either way a bad value raises
:class:`InvalidInput` naming the place it came from.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from labstore.errors import InvalidInput
from labstore.schema.types import Field, FieldKind

# Integer columns are 64-bit on every database.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


_ID_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


def is_valid_id(ident: object) -> bool:
    """Whether ``ident`` could be an object id (ids never hold other characters)."""
    return isinstance(ident, str) and bool(_ID_RE.match(ident))


def utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; naive input is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def parse_datetime(raw: str) -> dt.datetime:
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return utc(dt.datetime.fromisoformat(text))


def _fail(path: str, kind: str, raw: Any) -> InvalidInput:
    shown = repr(raw)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidInput(f"{path}: expected {kind}, got {shown}", {"path": path, "expected": kind})


def coerce_kind(kind: FieldKind, raw: Any, path: str, *, strict: bool) -> Any:
    """Convert ``raw`` to the Python value of a field kind; ``None`` passes through."""
    if raw is None:
        return None
    if kind in ("str", "text"):
        if not isinstance(raw, str):
            raise _fail(path, "a string", raw)
        if "\x00" in raw:  # PostgreSQL cannot store NUL; refuse it everywhere alike
            raise _fail(path, "a string without NUL characters", raw)
        return raw
    if kind == "int":
        value = _integer(raw, strict=strict)
        if value is None:
            raise _fail(path, "an integer", raw)
        if not INT_MIN <= value <= INT_MAX:
            raise _fail(path, "an integer that fits in 64 bits", raw)
        return value
    if kind == "float":
        if isinstance(raw, bool):
            raise _fail(path, "a number", raw)
        try:
            if isinstance(raw, int | float):
                number = float(raw)
            elif isinstance(raw, str) and not strict:
                number = float(raw.strip())
            else:
                raise _fail(path, "a number", raw)
        except (ValueError, OverflowError):  # JSON integers may exceed any float
            raise _fail(path, "a number", raw) from None
        if not math.isfinite(number):
            raise _fail(path, "a finite number", raw)
        return number
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and not strict:
            low = raw.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        raise _fail(path, "true or false", raw)
    if kind == "datetime":
        try:
            if isinstance(raw, dt.datetime):
                return utc(raw)
            if isinstance(raw, str):
                return parse_datetime(raw)
        except (ValueError, OverflowError):  # OverflowError: no UTC equivalent (year 1 or 9999)
            pass
        raise _fail(path, "an ISO 8601 date-time", raw)
    if kind == "date":
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            return raw
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw.strip())
            except ValueError:
                pass
        raise _fail(path, "an ISO 8601 date (YYYY-MM-DD)", raw)
    # json and array values are stored as given; arrays are references described by their pack.
    try:
        json.dumps(raw, allow_nan=False)
    except (TypeError, ValueError):
        raise _fail(path, "JSON without NaN or infinite numbers", raw) from None
    if "\\u0000" in json.dumps(raw):
        raise _fail(path, "JSON without NUL characters", raw)
    return raw


def _integer(raw: Any, *, strict: bool) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer() and not strict:
        return int(raw)
    if isinstance(raw, str) and not strict:
        try:
            return int(raw.strip())
        except ValueError:
            return None
    return None


def coerce_field(field: Field, raw: Any, path: str, *, strict: bool = True) -> Any:
    """Convert and check one value of ``field`` (type, choices, length)."""
    value = coerce_kind(field.kind, raw, path, strict=strict)
    if value is None:
        return None
    if field.choices is not None and value not in field.choices:
        options = ", ".join(repr(c) for c in field.choices)
        raise InvalidInput(
            f"{path}: {value!r} is not one of {options}", {"path": path, "choices": field.choices}
        )
    if field.max_length is not None and isinstance(value, str) and len(value) > field.max_length:
        raise InvalidInput(f"{path}: longer than {field.max_length} characters", {"path": path})
    return value


def to_json_value(kind: FieldKind, value: Any) -> Any:
    """The JSON form of a stored value."""
    if value is None:
        return None
    if kind == "datetime" and isinstance(value, dt.datetime):
        return utc(value).isoformat().replace("+00:00", "Z")
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return value
