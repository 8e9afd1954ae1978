"""Links: a JSON-serialisable reference to an object on one labstore server.

A link is a plain dict, so it can be stored anywhere JSON goes (a field of another object, a
notebook, a file)::

    {"labstore_link": 1, "server": "https://lab.example.org", "location": "ephys/block/2DFA548ESC",
     "model": "ephys/block"}

A link grants nothing: :meth:`Link.get` loads the object with the reader's own session, so a
reader who may not see the object gets :class:`~labstore.errors.NotFound`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from labstore.errors import InvalidInput
from labstore.schema.values import is_valid_id

LINK_KEY = "labstore_link"
LINK_VERSION = 1
LINK_KEYS = frozenset({LINK_KEY, "server", "location", "model"})


class _Getter(Protocol):
    """What a link needs of a session: loading an object by its location."""

    def get(self, location: str, refresh: bool = False, recursive: bool = False) -> Any: ...


def _same_server(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def link_dict(server: str, location: str) -> dict[str, Any]:
    """The serialised link to ``location`` on ``server``."""
    model = location.rsplit("/", 1)[0]
    return {
        LINK_KEY: LINK_VERSION,
        "server": server.rstrip("/"),
        "location": location,
        "model": model,
    }


def _split(location: Any) -> tuple[str, str]:
    """(model key, id) of a link's location.

    Raises:
        InvalidInput: Not a ``pack/model/id`` location.
    """
    parts = location.split("/") if isinstance(location, str) else []
    if len(parts) != 3 or not all(parts[:2]) or not is_valid_id(parts[2]):
        raise InvalidInput(
            f"invalid link: location {location!r} is not of the form pack/model/id",
            {"path": "location"},
        )
    return f"{parts[0]}/{parts[1]}", parts[2]


@dataclass(frozen=True)
class Link:
    """A checked link, bound to the session that read it.

    Attributes:
        server: The server the object lives on (the session's).
        location: The object's ``pack/model/id``.
        model: The object's ``pack/model``.
    """

    server: str
    location: str
    model: str
    _session: _Getter = field(repr=False, compare=False)

    @classmethod
    def parse(cls, data: Any, session: _Getter, session_url: str) -> Link:
        """Check a serialised link and bind it to ``session``.

        Raises:
            InvalidInput: Not a link dict, a missing or unknown key, another version, a bad
                location, a model that disagrees with the location, or a link to another
                server than ``session_url``.
        """
        if not isinstance(data, Mapping):
            raise InvalidInput(f"invalid link: expected a dict, got {type(data).__name__}")
        missing = sorted(LINK_KEYS - set(data))
        if missing:
            raise InvalidInput(f"invalid link: missing {', '.join(missing)}", {"missing": missing})
        unknown = sorted(str(k) for k in set(data) - LINK_KEYS)
        if unknown:
            raise InvalidInput(f"invalid link: unknown key {unknown[0]!r}", {"path": unknown[0]})
        version = data[LINK_KEY]
        if isinstance(version, bool) or version != LINK_VERSION:
            raise InvalidInput(
                f"invalid link: version {version!r}; this labstore reads version {LINK_VERSION}",
                {"path": LINK_KEY},
            )
        server = data["server"]
        if not isinstance(server, str) or not server:
            raise InvalidInput("invalid link: server must be a URL", {"path": "server"})
        model, _ = _split(data["location"])
        if data["model"] != model:
            raise InvalidInput(
                f"invalid link: model {data['model']!r} disagrees with location "
                f"{data['location']!r}",
                {"path": "model"},
            )
        if not _same_server(server, session_url):
            raise InvalidInput(
                f"the link points at {server}, not at this session's server {session_url}: "
                "open it with a session of that server",
                {"path": "server", "server": server},
            )
        return cls(server.rstrip("/"), data["location"], model, session)

    def get(self) -> Any:
        """The linked object, loaded with the session's own permissions.

        Raises:
            NotFound: It was deleted, or the session's user may not see it.
        """
        return self._session.get(self.location)

    def to_dict(self) -> dict[str, Any]:
        """The serialised form (what :meth:`Session.create_link` returns)."""
        return link_dict(self.server, self.location)
