"""Creating, changing and deleting objects: checked against the schema, versioned, all or nothing.

Every write runs inside the caller's transaction, so a batch that fails on its last object
leaves nothing of its first ones behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, select, update
from sqlalchemy.exc import IntegrityError

from labstore.errors import Conflict, InvalidInput, NotFound, PermissionDenied, VersionConflict
from labstore.query.compile import column_name
from labstore.query.filters import relation_id
from labstore.schema.registry import COMMON_FIELDS
from labstore.schema.types import Model
from labstore.schema.values import coerce_field
from labstore.server import changes
from labstore.server.access import DEFAULT_SAFETY_LEVEL, check_project, require
from labstore.server.blobs.catalog import BlobCatalog
from labstore.server.groups import regroup
from labstore.server.reads import Reader
from labstore.store.records import new_id, utcnow

# Keys the server sets; echoed back by clients that send a whole object, and then ignored.
SERVER_KEYS = frozenset(
    {f.name for f in COMMON_FIELDS} | {"location", "model", "safety_level", "access_group"}
) - {"project"}
# Maps a batch reference (and where it was used) to the location it was stored at.
RefResolver = Callable[[str, str], str]
log = logging.getLogger("labstore.server.writes")


def parse_if_match(header: str | None) -> int | None:
    """The version an ``If-Match`` header names; ``None`` for no header or ``*``.

    Raises:
        InvalidInput: The header is not a version.
    """
    if header is None or header.strip() == "*":
        return None
    text = header.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            f'If-Match: expected an object version like "3", got {header!r}',
            {"path": "If-Match"},
        ) from None


def _apply_checks(model: Model, values: Mapping[str, Any]) -> None:
    """The model's own rules across fields, on the state about to be stored."""
    for check in model.checks:
        check(values)


class Writer:
    """Writes of one principal, on top of their :class:`Reader` (what they can see)."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.db = reader.db
        self.registry = reader.registry
        self.principal = reader.principal
        self._parents_seen: set[tuple[str, str]] = set()
        self.shares = self.db.table("access_share")
        self.blobs = BlobCatalog(reader)

    def _check_model(self, model: Model) -> None:
        if model.read_only:
            raise PermissionDenied(
                f"{model.key} is read-only through the API; administrators manage it with "
                "the `labstore` command"
            )

    def clean(
        self,
        conn: Connection,
        model: Model,
        data: Any,
        *,
        partial: bool,
        path: str = "",
        refs: RefResolver | None = None,
    ) -> dict[str, Any]:
        """Column values from an input object, every key and value checked.

        Raises:
            InvalidInput: Not an object, an unknown key, a bad value, a missing required value,
                or a parent that does not exist.
        """
        prefix = f"{path}." if path else ""
        if not isinstance(data, Mapping):
            raise InvalidInput(
                f"{path or 'body'}: expected a JSON object of fields", {"path": path or "body"}
            )
        values: dict[str, Any] = {}
        for key, raw in data.items():
            where = f"{prefix}{key}"
            if key in SERVER_KEYS:
                continue
            if key == "project":
                if raw is not None and not isinstance(raw, str):
                    raise InvalidInput(f"{where}: expected a project name", {"path": where})
                values["project"] = raw
                continue
            field = model.field(key)
            if field is not None:
                values[field.name] = coerce_field(field, raw, where, strict=True)
                continue
            relation = model.relation(key)
            if relation is not None:
                values[relation.column] = self._parent_id(conn, model, key, raw, where, refs)
                continue
            known = sorted([f.name for f in model.fields] + [r.name for r in model.relations])
            raise InvalidInput(
                f"{where}: {model.key} has no field {key!r}",
                {"path": where, "known": known},
            )
        if not partial:
            for field in model.fields:
                if field.name not in values:
                    values[field.name] = field.default
            for relation in model.relations:
                values.setdefault(relation.column, None)
        self._check_required(model, values, prefix, partial=partial)
        return values

    def _check_required(
        self, model: Model, values: dict[str, Any], prefix: str, *, partial: bool
    ) -> None:
        names = [(f.name, f.name) for f in model.fields if f.required]
        names += [(r.name, r.column) for r in model.relations if r.required]
        for name, column in names:
            if (not partial or column in values) and values.get(column) is None:
                raise InvalidInput(
                    f"{prefix}{name}: required by {model.key}", {"path": f"{prefix}{name}"}
                )

    def _parent_id(
        self,
        conn: Connection,
        model: Model,
        name: str,
        raw: Any,
        where: str,
        refs: RefResolver | None,
    ) -> str | None:
        if raw is None:
            return None
        parent = self.registry.parent(model, name)
        if isinstance(raw, Mapping) and "ref" in raw:
            if refs is None:
                raise InvalidInput(
                    f"{where}: batch references only work in /api/batch", {"path": where}
                )
            referenced = refs(str(raw["ref"]), where)
            if not referenced.startswith(parent.key + "/"):
                raise InvalidInput(
                    f"{where}: reference {raw['ref']!r} is a {referenced.rsplit('/', 1)[0]}, "
                    f"not a {parent.key}",
                    {"path": where, "expected": parent.key},
                )
            return referenced.rsplit("/", 1)[1]
        ident = relation_id(self.registry, model, name, raw, where)
        if (parent.key, ident) in self._parents_seen:
            return ident
        try:
            self.reader.row(conn, parent, ident)
        except NotFound:
            raise InvalidInput(
                f"{where}: no {parent.key} with id {ident!r}", {"path": where}
            ) from None
        # A batch names the same parent many times: check it once. (Deleting it later in
        # the same transaction would still fail on the foreign key.)
        self._parents_seen.add((parent.key, ident))
        return ident

    def create(
        self,
        conn: Connection,
        model: Model,
        data: Any,
        *,
        path: str = "",
        refs: RefResolver | None = None,
        default_project: str | None = None,
    ) -> dict[str, Any]:
        """Store a new object; returns its JSON form."""
        self._check_model(model)
        values = self.clean(conn, model, data, partial=False, path=path, refs=refs)
        blob_refs = self.blobs.check_references(conn, model, values, _prefix(path))
        ident = new_id()
        owner = self._owning_parent(conn, model, values)
        if owner is not None:  # joins its parent's access group, project and safety level
            values.setdefault("project", owner["project"])
            values.update(access_group=owner["access_group"], safety_level=owner["safety_level"])
        else:
            values.update(access_group=ident, safety_level=DEFAULT_SAFETY_LEVEL)
        values.setdefault("project", default_project)
        check_project(self.principal, values["project"])
        _apply_checks(model, values)
        stamp = utcnow()
        values.update(
            id=ident, version=1, owner=self.principal.username, created=stamp, modified=stamp
        )
        table = self.db.tables(model)
        self._check_unique(conn, model, values, path)
        self._execute(conn, model, table.insert().values(**values))
        self.blobs.set_references(conn, model, ident, blob_refs)
        changes.record(conn, model.key, [ident])
        return self.reader.to_json(model, values)

    def update(
        self,
        conn: Connection,
        model: Model,
        ident: str,
        data: Any,
        *,
        partial: bool,
        if_match: int | None,
        path: str = "",
        refs: RefResolver | None = None,
    ) -> dict[str, Any]:
        """Change an object (all fields, or only those given when ``partial``)."""
        self._check_model(model)
        current = dict(self.reader.row(conn, model, ident)._mapping)
        require(conn, self.shares, self.principal, model, current, "write")
        if if_match is not None and if_match != current["version"]:
            raise VersionConflict(
                f"{model.key}/{ident} is at version {current['version']}, not {if_match}: "
                "fetch it again and reapply your change",
                {"current_version": current["version"], "location": f"{model.key}/{ident}"},
            )
        values = self.clean(conn, model, data, partial=partial, path=path, refs=refs)
        blob_refs = self.blobs.check_references(conn, model, values, _prefix(path))
        if "project" in values and values["project"] != current["project"]:
            # Moving to another project changes who sees it: that is sharing, not writing.
            require(conn, self.shares, self.principal, model, current, "share")
            check_project(self.principal, values["project"])
        merged = {**current, **values}
        _apply_checks(model, merged)
        self._check_unique(conn, model, merged, path, exclude=ident)
        values.update(version=current["version"] + 1, modified=utcnow())
        table = self.db.tables(model)
        result = self._execute(
            conn,
            model,
            update(table)
            .where(table.c.id == ident, table.c.version == current["version"])
            .values(**values),
        )
        if result.rowcount != 1:  # a concurrent writer got in first (PostgreSQL)
            raise VersionConflict(
                f"{model.key}/{ident} changed while it was being updated: try again",
                {"location": f"{model.key}/{ident}"},
            )
        self.blobs.set_references(conn, model, ident, blob_refs)
        changes.record(conn, model.key, [ident])
        self._follow_new_owner(conn, model, current, {**current, **values})
        return self.reader.to_json(model, {**current, **values})

    def _owning_parent(
        self, conn: Connection, model: Model, values: Mapping[str, Any]
    ) -> Mapping[Any, Any] | None:
        """The row of the parent that owns an object (its first set ``cascade`` relation)."""
        for rel in model.relations:
            if rel.on_delete == "cascade" and values.get(rel.column):
                parent = self.registry.parent(model, rel.name)
                return self.reader.row(conn, parent, values[rel.column])._mapping
        return None

    def _follow_new_owner(
        self, conn: Connection, model: Model, before: Mapping[str, Any], after: Mapping[str, Any]
    ) -> None:
        """An object moved to another owning parent takes that parent's access, if it was
        inheriting its old parent's (its own access, once set, stays)."""
        old_owner = self._owning_parent(conn, model, before)
        new_owner = self._owning_parent(conn, model, after)
        if old_owner is None or new_owner is None or old_owner["id"] == new_owner["id"]:
            return
        if before["access_group"] != old_owner["access_group"]:
            return
        # Taking the new parent's access may widen who sees it: that needs "share".
        require(conn, self.shares, self.principal, model, before, "share")
        regroup(
            conn,
            self.db,
            model,
            [after["id"]],
            before["access_group"],
            new_owner["access_group"],
            new_owner["safety_level"],
        )

    def delete(self, conn: Connection, model: Model, ident: str, *, if_match: int | None) -> None:
        """Delete an object, applying each child relation's ``on_delete`` rule."""
        self._check_model(model)
        current = self.reader.row(conn, model, ident)._mapping
        require(conn, self.shares, self.principal, model, current, "delete")
        if if_match is not None and if_match != current["version"]:
            raise VersionConflict(
                f"{model.key}/{ident} is at version {current['version']}, not {if_match}",
                {"current_version": current["version"], "location": f"{model.key}/{ident}"},
            )
        self._delete_tree(conn, model, [ident])

    def _delete_tree(self, conn: Connection, model: Model, ids: list[str]) -> None:
        for link in self.registry.children(model).values():
            child_table = self.db.tables(link.child)
            fk = child_table.c[link.relation.column]
            rule = link.relation.on_delete
            if rule == "protect":
                if conn.execute(select(exists().where(fk.in_(ids)))).scalar():
                    raise Conflict(
                        f"{model.key} {', '.join(ids[:3])} still has {link.plural}: "
                        "delete them first",
                        {"children": link.child.key},
                    )
            elif rule == "set_null":
                orphans = conn.execute(select(child_table.c.id).where(fk.in_(ids))).scalars()
                changes.record(conn, link.child.key, list(orphans))
                conn.execute(
                    update(child_table)
                    .where(fk.in_(ids))
                    .values(
                        {fk.name: None, "version": child_table.c.version + 1, "modified": utcnow()}
                    )
                )
            else:
                child_ids = list(
                    conn.execute(select(child_table.c.id).where(fk.in_(ids))).scalars()
                )
                if child_ids:
                    self._delete_tree(conn, link.child, child_ids)
        table = self.db.tables(model)
        conn.execute(delete(table).where(table.c.id.in_(ids)))
        changes.record(conn, model.key, ids)
        # Tags, paths and blob references go with their object.
        for name in ("object_tag", "path_entry", "blob_ref"):
            extra = self.db.table(name)
            conn.execute(
                delete(extra).where(extra.c.model == model.key, extra.c.object_id.in_(ids))
            )

    def _check_unique(
        self,
        conn: Connection,
        model: Model,
        values: Mapping[str, Any],
        path: str,
        exclude: str | None = None,
    ) -> None:
        table = self.db.tables(model)
        groups = [(f.name,) for f in model.fields if f.unique] + list(model.unique_together)
        for group in groups:
            columns = [column_name(model, n) for n in group]
            if any(values.get(c) is None for c in columns):
                continue  # NULLs never collide, as in SQL
            clause = and_(*(table.c[c] == values[c] for c in columns))
            if exclude is not None:
                clause = and_(clause, table.c.id != exclude)
            if conn.execute(select(exists().where(clause))).scalar():
                shown = ", ".join(f"{n}={values[column_name(model, n)]!r}" for n in group)
                raise Conflict(
                    f"{path + ': ' if path else ''}a {model.key} with {shown} exists already",
                    {"fields": list(group), "path": path},
                )

    def _execute(self, conn: Connection, model: Model, statement: Any) -> Any:
        # No savepoint: any failure aborts the request's whole transaction (all or nothing).
        try:
            return conn.execute(statement)
        except IntegrityError as exc:
            # The database's own words may quote other users' values: log them, do not send.
            log.info("integrity error on %s: %s", model.key, exc.orig)
            raise Conflict(
                f"the change breaks a rule of {model.key} (a duplicate, or a missing parent)"
            ) from None


def _prefix(path: str) -> str:
    return f"{path}." if path else ""
