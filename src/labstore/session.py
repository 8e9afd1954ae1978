"""The global session: ``create()`` returns the same Session until ``close()``.

For scripts that need one connection::

    from labstore import session
    s = session.create(location=URL, username="alice", password="...")
    assert session.create() is s
    session.close()
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from labstore.client.session import Session

__all__ = ["Session", "close", "create", "current"]

_lock = threading.Lock()
_current: Session | None = None


def create(
    username: str | None = None,
    password: str | None = None,
    location: str | None = None,
    file_name: str | Path | None = None,
    persist_options: bool = False,
    **options: Any,
) -> Session:
    """The global session, made on the first call from these arguments (later calls ignore them).

    Other options (``cache_dir``, ``token``, ``project``, ...) may be passed as keywords;
    ``mode`` and ``transport`` are passed on to :class:`Session`.
    """
    global _current
    with _lock:
        if _current is None or _current.closed:
            extra = {k: options.pop(k) for k in ("mode", "transport") if k in options}
            given = {"username": username, "password": password, "location": location, **options}
            _current = Session(
                {k: v for k, v in given.items() if v is not None},
                file_name=file_name,
                persist_options=persist_options,
                **extra,
            )
        return _current


def current() -> Session | None:
    """The global session, or ``None`` if none is open."""
    return _current


def close() -> None:
    """Close the global session; the next ``create()`` makes a new one."""
    global _current
    with _lock:
        if _current is not None:
            _current.close()
            _current = None
