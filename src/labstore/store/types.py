"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores naive UTC, returns aware UTC: comparisons and ordering agree on every database."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC)
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=dt.UTC)
        return value


def text_type(max_length: int | None = None) -> TypeEngine[str]:
    """A string column compared bytewise ("C" collation) on PostgreSQL, as SQLite does."""
    base: TypeEngine[str] = String(max_length) if max_length else Text()
    bytewise: TypeEngine[str] = (
        String(max_length, collation="C") if max_length else Text(collation="C")
    )
    return base.with_variant(bytewise, "postgresql")
