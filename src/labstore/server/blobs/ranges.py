"""The ``Range`` header of a blob download: one ``bytes=`` range, as clients send it."""

from __future__ import annotations

import re

from labstore.errors import InvalidInput

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(InvalidInput):
    """The range starts past the end of the blob."""

    code = "range_not_satisfiable"
    status = 416


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, stop)`` (stop exclusive) of a ``Range`` header, or ``None`` for the whole blob.

    Raises:
        InvalidInput: The header is not one ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n`` range.
        RangeNotSatisfiable: The range lies outside the blob.
    """
    if header is None:
        return None
    match = _RANGE.match(header)
    if match is None or match.group(1) == match.group(2) == "":
        raise InvalidInput(
            f"Range: expected one range like 'bytes=0-1023', 'bytes=1024-' or 'bytes=-512', "
            f"got {header!r}",
            {"path": "Range"},
        )
    first, last = match.group(1), match.group(2)
    if first == "":  # the last n bytes
        start, stop = max(0, size - int(last)), size
    else:
        start = int(first)
        stop = size if last == "" else min(int(last) + 1, size)
        if last != "" and int(last) < start:
            raise InvalidInput(f"Range: {header!r} ends before it starts", {"path": "Range"})
    if start >= size and not (size == 0 and start == 0):
        raise RangeNotSatisfiable(
            f"Range: {header!r} starts past the end of the blob ({size} bytes)",
            {"path": "Range", "size": size},
        )
    return start, stop
