"""Lists of results that turn into a pandas DataFrame in one call.

A query answered by the local store knows its objects' ids long before anyone looks at the
objects, and a search may answer thousands that the caller only counts, slices or filters.
:class:`LazyResultList` is such an answer: a real ``list`` (``isinstance`` holds, and every
list operation gives what it gives on the built list) whose objects are made the first time
anything but its length is asked of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

Maker = Callable[[Sequence[str]], list[Any]]


class ResultList(list[Any]):
    """A list of objects (or plain dicts) returned by a query."""

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per result: ``location``, the common fields and every field.

        Relations appear as the parent's location. Needs pandas (``pip install pandas``).

        Raises:
            ImportError: pandas is not installed.
        """
        try:
            import pandas
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_dataframe() needs pandas: pip install pandas") from exc
        return pandas.DataFrame([_record(item) for item in self])

    def _reverse_order(self) -> ResultList:
        """The same results in reverse order (``last(n)`` asks for the newest first)."""
        return ResultList(self[::-1])


class LazyResultList(ResultList):
    """A :class:`ResultList` of the objects with ``ids``, made by ``make(ids)`` on first use.

    ``len()`` and truth answer from the ids; any other use (iteration, indexing, comparison,
    ``repr``, changes) makes the objects once, and the list behaves as the built list after.
    The objects are made all at once, so ``answer[0] is answer[0]`` as in any list.

    C code that takes any sequence goes through its methods (``json.dumps``, ``numpy.array``,
    ``pandas``, ``str.join``, ``*answer``: CPython's fast paths are for exact lists only).
    The exception is C code that demands a ``list`` and then reads its storage directly:
    ``heapq``'s functions see an unused answer as empty; hand them ``list(answer)``.
    """

    __slots__ = ("_ids", "_make")
    _filling = threading.Lock()  # two threads using a new answer at once build it once

    def __init__(self, ids: Sequence[str], make: Maker) -> None:
        super().__init__()
        self._ids: Sequence[str] | None = ids
        self._make = make

    def _fill(self) -> None:
        if self._ids is None:
            return
        with self._filling:
            ids, self._ids = self._ids, None
            if ids is not None:
                list.extend(self, self._make(ids))

    def __len__(self) -> int:
        ids = self._ids
        return len(ids) if ids is not None else list.__len__(self)

    def _reverse_order(self) -> ResultList:
        ids = self._ids
        if ids is None:
            return super()._reverse_order()
        return LazyResultList(ids[::-1], self._make)

    def __radd__(self, other: Any) -> Any:
        """``[...] + answer`` (list's own ``+`` would read the unbuilt storage)."""
        self._fill()
        return other + list(self) if isinstance(other, list) else NotImplemented

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (and copies) as the built list
        self._fill()
        return (ResultList, (list(self),))


def _built(name: str) -> Callable[..., Any]:
    """``list.<name>``, on this list and on any lazy list among the arguments once built."""
    method = getattr(list, name)

    def call(self: LazyResultList, *args: Any, **kwargs: Any) -> Any:
        self._fill()
        for arg in args:  # list's C code reads another list's storage directly
            if isinstance(arg, LazyResultList):
                arg._fill()
        return method(self, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.__doc__
    return call


# Every list method that reads or changes the items (``__len__`` is answered from the ids).
for _name in (
    "__getitem__", "__iter__", "__reversed__", "__contains__", "__repr__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__add__", "__iadd__", "__mul__", "__rmul__", "__imul__",
    "__setitem__", "__delitem__", "__sizeof__",
    "append", "extend", "insert", "pop", "remove", "index", "count",
    "sort", "reverse", "clear", "copy",
):  # fmt: skip
    setattr(LazyResultList, _name, _built(_name))


def _record(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return dict(item)
    record: dict[str, Any] = {"location": item.location}
    for name in ("id", "version", "owner", "project", "created", "modified"):
        record[name] = getattr(item, name)
    record.update(item._values)
    return record
