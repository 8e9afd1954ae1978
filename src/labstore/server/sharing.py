"""Reading and changing who may see an object: safety level and shares.

``permissions`` is G-Node's view (``{"safety_level": 1|2|3, "shared_with": {"bob": 1 read /
2 read-write}}``, projects as ``"project:NAME"``); ``shares`` lists each grant with its
permission names. Changing either needs the ``share`` permission. An object that inherits its
access gets its own (with the inherited grants copied) the first time it is changed, and its
inheriting descendants follow it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select, update

from labstore.errors import InvalidInput, PermissionDenied
from labstore.schema.types import Model
from labstore.server import changes
from labstore.server.access import (
    ALL_PERMISSIONS,
    PERMISSION_BITS,
    bits,
    effective_permissions,
    names,
    require,
)
from labstore.server.groups import regroup
from labstore.server.writes import Writer

READ_ONLY, READ_WRITE = 1, 2
_GNODE_LEVELS = {READ_ONLY: ("read",), READ_WRITE: ("read", "write")}


def describe(
    conn: Connection, writer: Writer, model: Model, row: Mapping[Any, Any]
) -> dict[str, Any]:
    """The access of an object as the API answers it."""
    shares = writer.shares
    rows = conn.execute(
        select(shares.c.kind, shares.c.principal, shares.c.permissions)
        .where(shares.c.access_group == row["access_group"])
        .order_by(shares.c.kind, shares.c.principal)
    ).all()
    listed = []
    shared_with: dict[str, int] = {}
    for kind, principal, mask in rows:
        name = principal if kind == "user" else f"project:{principal}"
        granted = names(mask)
        listed.append({"with": name, "kind": kind, "permissions": granted})
        shared_with[name] = READ_WRITE if "write" in granted else READ_ONLY
    root_model = _group_root(conn, writer, row["access_group"])
    return {
        "location": f"{model.key}/{row['id']}",
        "owner": row["owner"],
        "project": row["project"],
        "safety_level": row["safety_level"],
        "shared_with": shared_with,
        "shares": listed,
        "inherited_from": None
        if root_model is None or row["access_group"] == row["id"]
        else f"{root_model.key}/{row['access_group']}",
    }


def _current(conn: Connection, writer: Writer, model: Model, ident: str) -> Mapping[Any, Any]:
    """The object after a change, read unscoped: an allowed change may end the caller's own
    access, and must still be kept and answered."""
    table = writer.db.tables(model)
    return conn.execute(select(table).where(table.c.id == ident)).mappings().one()


def _no_escalation(
    conn: Connection, writer: Writer, model: Model, row: Mapping[Any, Any], granted: frozenset[str]
) -> None:
    """A holder of ``share`` may pass on only permissions they hold themselves."""
    held = effective_permissions(conn, writer.shares, writer.principal, row)
    beyond = sorted(granted - held)
    if beyond:
        raise PermissionDenied(
            f"{writer.principal.username} may not grant {', '.join(beyond)} on "
            f"{model.key}/{row['id']}: they do not hold it"
        )


def _group_root(conn: Connection, writer: Writer, group: str) -> Model | None:
    """The model of the object whose id names an access group (its root)."""
    for model in writer.registry:
        table = writer.db.tables(model)
        if conn.execute(select(table.c.id).where(table.c.id == group)).first() is not None:
            return model
    return None


def _principal(conn: Connection, writer: Writer, name: Any, path: str) -> tuple[str, str]:
    """``("user", "bob")`` or ``("project", "neuro")`` for a share target."""
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{path}: expected a user or project name", {"path": path})
    kind, _, bare = name.partition(":")
    if not bare:
        kind, bare = "", name
    registry = writer.registry
    users = writer.db.tables(registry.model("core/user"))
    projects = writer.db.tables(registry.model("core/project"))
    if (
        kind in ("", "user")
        and conn.execute(select(users.c.id).where(users.c.username == bare)).first()
    ):
        return "user", bare
    if (
        kind in ("", "project")
        and conn.execute(select(projects.c.id).where(projects.c.name == bare)).first()
    ):
        return "project", bare
    raise InvalidInput(f"{path}: no user or project {name!r}", {"path": path})


def _permission_names(raw: Any, path: str) -> frozenset[str]:
    if raw is None:
        return frozenset({"read"})
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise InvalidInput(
            f"{path}: expected a list of {', '.join(PERMISSION_BITS)}", {"path": path}
        )
    unknown = sorted(set(raw) - ALL_PERMISSIONS)
    if unknown:
        raise InvalidInput(
            f"{path}: unknown permission {unknown[0]!r}; permissions are "
            f"{', '.join(PERMISSION_BITS)}",
            {"path": path},
        )
    return frozenset(raw) | {"read"}


def own_group(conn: Connection, writer: Writer, model: Model, row: Mapping[Any, Any]) -> str:
    """Give an inheriting object its own access group (grants copied); returns the group."""
    if row["access_group"] == row["id"]:
        return str(row["id"])
    shares = writer.shares
    inherited = conn.execute(
        select(shares.c.kind, shares.c.principal, shares.c.permissions).where(
            shares.c.access_group == row["access_group"]
        )
    ).all()
    regroup(
        conn, writer.db, model, [row["id"]], row["access_group"], row["id"], row["safety_level"]
    )
    if inherited:
        conn.execute(
            shares.insert(),
            [
                {"access_group": row["id"], "kind": k, "principal": p, "permissions": m}
                for k, p, m in inherited
            ],
        )
    return str(row["id"])


def _set_level(conn: Connection, writer: Writer, group: str, level: Any, path: str) -> None:
    if isinstance(level, bool) or level not in (1, 2, 3):
        raise InvalidInput(
            f"{path}: expected 1 (private), 2 (friendly) or 3 (public)", {"path": path}
        )
    for model in writer.registry:
        table = writer.db.tables(model)
        conn.execute(update(table).where(table.c.access_group == group).values(safety_level=level))


def set_permissions(
    conn: Connection, writer: Writer, model: Model, ident: str, body: Any
) -> dict[str, Any]:
    """Replace the safety level and/or the shares (G-Node's ``permissions(entity, p)``)."""
    if not isinstance(body, Mapping) or not set(body) <= {"safety_level", "shared_with"}:
        raise InvalidInput(
            'body: expected {"safety_level": 1-3, "shared_with": {...}}', {"path": "body"}
        )
    row = writer.reader.row(conn, model, ident)._mapping
    require(conn, writer.shares, writer.principal, model, row, "share")
    grants: list[tuple[str, str, int]] = []
    if "shared_with" in body:
        wanted = body["shared_with"]
        if not isinstance(wanted, Mapping):
            raise InvalidInput("shared_with: expected {name: 1 or 2}", {"path": "shared_with"})
        for name, level in wanted.items():
            where = f"shared_with.{name}"
            if level not in _GNODE_LEVELS or isinstance(level, bool):
                raise InvalidInput(
                    f"{where}: expected 1 (read-only) or 2 (read-write)", {"path": where}
                )
            kind, principal = _principal(conn, writer, name, where)
            _no_escalation(conn, writer, model, row, frozenset(_GNODE_LEVELS[level]))
            grants.append((kind, principal, bits(_GNODE_LEVELS[level])))
    group = own_group(conn, writer, model, row)
    changes.record_group(conn, writer.db, group)
    if "safety_level" in body:
        _set_level(conn, writer, group, body["safety_level"], "safety_level")
    if "shared_with" in body:
        conn.execute(delete(writer.shares).where(writer.shares.c.access_group == group))
        if grants:
            conn.execute(
                writer.shares.insert(),
                [
                    {"access_group": group, "kind": k, "principal": p, "permissions": m}
                    for k, p, m in grants
                ],
            )
    return describe(conn, writer, model, _current(conn, writer, model, ident))


def share(conn: Connection, writer: Writer, model: Model, ident: str, body: Any) -> dict[str, Any]:
    """Grant one user or project a set of permissions (replacing what it had)."""
    if not isinstance(body, Mapping) or "with" not in body:
        raise InvalidInput('body: expected {"with": NAME, "permissions": [...]}', {"path": "body"})
    row = writer.reader.row(conn, model, ident)._mapping
    require(conn, writer.shares, writer.principal, model, row, "share")
    kind, principal = _principal(conn, writer, body["with"], "with")
    wanted = _permission_names(body.get("permissions"), "permissions")
    _no_escalation(conn, writer, model, row, wanted)
    mask = bits(wanted)
    group = own_group(conn, writer, model, row)
    changes.record_group(conn, writer.db, group)
    _revoke(conn, writer, group, kind, principal)
    conn.execute(
        writer.shares.insert().values(
            access_group=group, kind=kind, principal=principal, permissions=mask
        )
    )
    return describe(conn, writer, model, _current(conn, writer, model, ident))


def unshare(
    conn: Connection, writer: Writer, model: Model, ident: str, name: str
) -> dict[str, Any]:
    """Withdraw a user's or project's grant; withdrawing one that is absent is no error."""
    row = writer.reader.row(conn, model, ident)._mapping
    require(conn, writer.shares, writer.principal, model, row, "share")
    kind, principal = _principal(conn, writer, name, "with")
    group = own_group(conn, writer, model, row)
    changes.record_group(conn, writer.db, group)
    _revoke(conn, writer, group, kind, principal)
    return describe(conn, writer, model, _current(conn, writer, model, ident))


def _revoke(conn: Connection, writer: Writer, group: str, kind: str, principal: str) -> None:
    shares = writer.shares
    conn.execute(
        delete(shares).where(
            shares.c.access_group == group, shares.c.kind == kind, shares.c.principal == principal
        )
    )
