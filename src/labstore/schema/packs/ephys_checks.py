"""Rules across the fields of ``ephys`` objects, applied by the server on every write.

Neo refuses these objects on the client; the server refuses them too, so no client (an old
one, a script speaking raw REST) can store a signal whose times and samples disagree or a
unit nobody can read back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from labstore.errors import InvalidInput
from labstore.schema.blobs import is_sha256

Values = Mapping[str, Any]
# Fields holding a unit: the signal's, and every ``<quantity>_units``.
_UNIT_FIELDS = ("units", "time_units", "waveform_units", "duration_units")


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", {"path": field})


def array_shape(values: Values, field: str) -> list[int] | None:
    """The shape an array field declares, after checking the reference is well formed.

    Raises:
        InvalidInput: Not ``{"sha256", "dtype", "shape", "offset"}`` with sensible values.
    """
    value = values.get(field)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _bad(field, 'expected an array reference {"sha256", "dtype", "shape", "offset"}')
    sha = value.get("sha256")
    if not is_sha256(sha):
        raise _bad(field, "sha256 must be 64 lower-case hex digits")
    shape = value.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise _bad(field, "shape must be a list of non-negative integers")
    offset = value.get("offset")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise _bad(field, "offset must be a non-negative integer (bytes of the .npy header)")
    dtype = value.get("dtype")
    if not isinstance(dtype, str) or not _is_dtype(dtype):
        raise _bad(field, f"dtype {dtype!r} is not a numpy dtype")
    return shape


@cache
def _is_dtype(text: str) -> bool:
    import numpy as np  # the server's ephys checks are the only numpy users on that side

    try:
        return np.dtype(text).kind != "O"  # object arrays cannot be read without pickle
    except TypeError:
        return False


@cache
def _is_unit(text: str) -> bool:
    import quantities as pq

    try:
        pq.Quantity(1.0, text)
    except (LookupError, ValueError, TypeError, SyntaxError):
        return False
    return True


def units_known(values: Values) -> None:
    """Every unit field names a unit that ``quantities`` can read back."""
    for name, value in values.items():
        if value is None or not (name in _UNIT_FIELDS or name.endswith("_units")):
            continue
        if not isinstance(value, str) or not _is_unit(value):
            raise _bad(name, f"{value!r} is not a unit quantities knows (e.g. 'mV', 'ms', 'Hz')")


def arrays_well_formed(fields: tuple[str, ...]) -> Callable[[Values], None]:
    """Each of these array fields, when set, is a well-formed reference."""

    def check(values: Values) -> None:
        for field in fields:
            array_shape(values, field)

    return check


def _ndim(field: str, ndim: int) -> Callable[[Values], None]:
    def check(values: Values) -> None:
        shape = array_shape(values, field)
        if shape is not None and len(shape) != ndim:
            raise _bad(field, f"expected {ndim} dimensions, got shape {shape}")

    return check


signal_is_2d = _ndim("signal", 2)
image_is_3d = _ndim("image_data", 3)


def same_length(first: str, second: str) -> Callable[[Values], None]:
    """``second`` has one entry (along its first axis) per entry of ``first``."""

    def check(values: Values) -> None:
        a, b = array_shape(values, first), array_shape(values, second)
        if a is None or b is None:
            return
        if not a or not b or a[0] != b[0]:
            raise _bad(second, f"has {b[0] if b else 0} entries but {first} has {a[0] if a else 0}")

    return check


def positive(field: str) -> Callable[[Values], None]:
    def check(values: Values) -> None:
        value = values.get(field)
        if value is not None and not value > 0:
            raise _bad(field, f"must be positive, got {value}")

    return check


def ordered(start: str, stop: str) -> Callable[[Values], None]:
    """``start`` is not after ``stop`` (compared only when both are in the same unit)."""

    def check(values: Values) -> None:
        a, b = values.get(start), values.get(stop)
        same_unit = values.get(f"{start}_units") == values.get(f"{stop}_units")
        if a is not None and b is not None and same_unit and a > b:
            raise _bad(stop, f"{stop} ({b}) is before {start} ({a})")

    return check


def array_annotations_fit(values: Values) -> None:
    """Array annotations have one entry per channel (signals) or per event (the rest)."""
    shape = array_shape(values, "array_annotations")
    if shape is None:
        return
    for field, axis in (("signal", 1), ("image_data", None), ("times", 0)):
        target = array_shape(values, field)
        if target is None or axis is None:
            continue
        if len(shape) != 1 or len(target) <= axis or shape[0] != target[axis]:
            raise _bad(
                "array_annotations",
                f"have {shape[0] if shape else 0} entries, {field} has {target[axis]}",
            )
        return


def views_one_signal(values: Values) -> None:
    """A channel view looks at exactly one signal."""
    if (values.get("analogsignal_id") is None) == (
        values.get("irregularlysampledsignal_id") is None
    ):
        raise _bad(
            "analogsignal",
            "a channel view needs exactly one of analogsignal, irregularlysampledsignal",
        )
    array_shape(values, "index")


def exactly_one_member(names: tuple[str, ...]) -> Callable[[Values], None]:
    def check(values: Values) -> None:
        present = [n for n in names if values.get(f"{n}_id") is not None]
        if len(present) != 1:
            raise _bad(
                "group_member",
                f"exactly one of {', '.join(names)} must be set, got {present or 'none'}",
            )

    return check
