"""Lists of results that turn into a pandas DataFrame in one call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas


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


def _record(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return dict(item)
    record: dict[str, Any] = {"location": item.location}
    for name in ("id", "version", "owner", "project", "created", "modified"):
        record[name] = getattr(item, name)
    record.update(item._values)
    return record
