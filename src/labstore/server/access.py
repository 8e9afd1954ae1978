"""Who may see and change which object.

Every object has an owner, a project, a safety level and an access group:

- safety level 1 (private): its owner and those it is shared with;
- 2 (friendly): also every member of its project (read);
- 3 (public): everyone, anonymous readers included (read).

Shares grant a user, or every member of a project, a subset of ``read write delete share``
(any share includes read) on a whole access group. An object created under a parent through
an ownership relation (one whose ``on_delete`` is ``cascade``: a dataset under its experiment,
a segment under its block) joins the parent's group, so it inherits the parent's access until
its own is set. Owners and site administrators may do everything; a project's administrators
may do everything to the friendly and public objects of their project.

Every read path builds its SQL through :func:`visibility`, so no query, join, count or nested
condition can reach a row that this module would hide; a hidden object answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from labstore.errors import PermissionDenied
from labstore.schema.types import Model
from labstore.server.auth import Principal
from labstore.store.hints import rare
from labstore.store.select import ScopePart

PRIVATE, FRIENDLY, PUBLIC = 1, 2, 3
DEFAULT_SAFETY_LEVEL = FRIENDLY
PERMISSION_BITS = {"read": 1, "write": 2, "delete": 4, "share": 8}
ALL_PERMISSIONS = frozenset(PERMISSION_BITS)
_DIRECTORY_MODELS = frozenset({"core/user", "core/project"})
FEW_DIRECT_ROWS = 1000
"""Below this many rows visible without a share, a count finds them one by one through the
owner and safety indexes (see :meth:`Visibility.parts`): at most ~1.5 ms."""


def bits(permissions: Iterable[str]) -> int:
    """The bit mask of a set of permission names; read is always included."""
    return PERMISSION_BITS["read"] | sum(PERMISSION_BITS[p] for p in set(permissions))


def names(mask: int) -> list[str]:
    return [name for name, bit in PERMISSION_BITS.items() if mask & bit]


def _share_filter(shares: Table, principal: Principal) -> ColumnElement[bool]:
    mine = and_(shares.c.kind == "user", shares.c.principal == principal.username)
    if principal.projects:
        return or_(
            mine,
            and_(shares.c.kind == "project", shares.c.principal.in_(sorted(principal.projects))),
        )
    return mine


class Visibility:
    """The condition restricting every table a query of one principal touches.

    Called as ``visible(model, table)`` (the compiler's ``Visible`` hook), it gives one
    condition; :meth:`parts` gives the same rule as mutually exclusive conditions, which lets a
    count add up an index-driven count of each instead of testing every row (see
    ``store.select.count_rows``). The server's indexes carry the columns read here
    (``store.tables.ACCESS_COLUMNS``), so either form is checked inside an index.
    """

    def __init__(self, principal: Principal, shares: Table) -> None:
        self.principal = principal
        self.shares = shares

    def _unrestricted(self, model: Model) -> bool:
        principal = self.principal
        return principal.is_admin or (model.key in _DIRECTORY_MODELS and not principal.anonymous)

    def _direct(self, table: Table) -> ColumnElement[bool]:
        """Visible without a share: owned, public, or friendly in one of the user's projects.

        Never NULL (a NULL project fails ``is_not(None)`` first), so ``not_`` of it is exact.
        """
        return or_(*self._direct_parts(table, hinted=False, disjoint=False))

    def _direct_parts(
        self, table: Table, *, hinted: bool, disjoint: bool
    ) -> list[ColumnElement[bool]]:
        """The direct rule's parts: owned, public, friendly in one of the user's projects.

        ``hinted`` marks the equality leading each part as :class:`rare`, so that SQLite finds
        the part through its index; ``disjoint`` takes the user's own rows out of the others.
        """
        username = self.principal.username
        hint: Callable[[ColumnElement[bool]], ColumnElement[bool]] = (
            rare if hinted else lambda condition: condition
        )
        not_owned = [table.c.owner != username] if disjoint else []
        parts = [
            hint(table.c.owner == username),
            and_(hint(table.c.safety_level == PUBLIC), *not_owned),
        ]
        if self.principal.projects:
            projects = sorted(self.principal.projects)
            friendly = [table.c.project.is_not(None), table.c.project.in_(projects)]
            parts.append(and_(hint(table.c.safety_level == FRIENDLY), *friendly, *not_owned))
        return parts

    def __call__(self, model: Model, table: Table) -> ColumnElement[bool]:
        if self._unrestricted(model):
            return true()
        if self.principal.anonymous:
            return false() if model.key in _DIRECTORY_MODELS else table.c.safety_level == PUBLIC
        # A correlated EXISTS: SQLite probes the share table's primary key for each row a page
        # looks at; PostgreSQL may hash the user's groups once instead. (Forcing probes with an
        # OFFSET saved ~1 ms on 100-row pages but cost 0.3 s on a page that scans 500,000 rows
        # before its first match: a hash's cost is bounded by the user's shares, probes' not.)
        return or_(self._direct(table), self._shared(table))

    def _shared(self, table: Table) -> ColumnElement[bool]:
        """The row's access group is shared with the user (a correlated ``EXISTS``)."""
        return exists().where(
            self.shares.c.access_group == table.c.access_group,
            _share_filter(self.shares, self.principal),
        )

    def parts(self, model: Model, table: Table, conn: Connection | None = None) -> list[ScopePart]:
        """The rule as disjoint parts a count adds up: what is visible directly, and through
        shares only.

        Without ``conn``: direct, and shared but not direct. With ``conn``, one bounded look
        first (at most :data:`FEW_DIRECT_ROWS` index entries for each part of the direct rule).
        When the user sees fewer rows directly: all shared rows, then each part of the direct
        rule without the shared rows, found through its own index (``drives``). Either split
        is exact whatever the look found (a write in between changes only which is faster):

        - testing ``NOT direct`` on every shared row cost ~2.5 ms of a 16 ms count on
          PostgreSQL (128,000 rows of a ``name=`` filter), while a few direct rows are found
          through the owner and safety indexes and tested one by one in microseconds;
        - SQLite has no per-value statistics and would walk a filter's whole index range to
          find a user's handful of own rows.
        With many direct rows (a big project), testing ``NOT direct`` on the shared rows is
        the cheaper way round.
        """
        if self._unrestricted(model) or self.principal.anonymous:
            return [ScopePart(self(model, table))]
        groups = select(self.shares.c.access_group).where(
            _share_filter(self.shares, self.principal)
        )
        shared = table.c.access_group.in_(groups)
        if conn is not None and self._few(conn, table):
            not_shared = not_(self._shared(table))
            parts = self._direct_parts(table, hinted=True, disjoint=True)
            direct_only = [and_(part, not_shared) for part in parts]
            return [ScopePart(shared), *(ScopePart(part, drives=True) for part in direct_only)]
        direct = self._direct(table)
        return [ScopePart(direct), ScopePart(and_(shared, not_(direct)))]

    def _few(self, conn: Connection, table: Table) -> bool:
        """Whether fewer than :data:`FEW_DIRECT_ROWS` rows are visible without a share.

        Each part of the direct rule is counted up to the limit through its own index, so the
        look reads at most that many entries per part, however the rows are spread. The parts
        overlap here (a public row of the user's counts twice): the sum can only overstate.
        """
        looks = [
            select(func.count())
            .select_from(select(table.c.id).where(part).limit(FEW_DIRECT_ROWS).subquery())
            .scalar_subquery()
            for part in self._direct_parts(table, hinted=True, disjoint=False)
        ]
        found = conn.execute(select(sum(looks[1:], looks[0]))).scalar_one()
        return int(found) < FEW_DIRECT_ROWS


def visibility(principal: Principal, shares: Table) -> Visibility:
    """The visibility rule of ``principal`` (see :class:`Visibility`)."""
    return Visibility(principal, shares)


def effective_permissions(
    conn: Connection, shares: Table, principal: Principal, row: Mapping[Any, Any]
) -> frozenset[str]:
    """What ``principal`` may do to the object in ``row``."""
    if principal.anonymous:
        return frozenset({"read"}) if row["safety_level"] == PUBLIC else frozenset()
    if principal.is_admin or row["owner"] == principal.username:
        return ALL_PERMISSIONS
    level, project = row["safety_level"], row["project"]
    if level >= FRIENDLY and project is not None and project in principal.admin_of:
        return ALL_PERMISSIONS
    mask = 0
    if level == PUBLIC or (level >= FRIENDLY and project in principal.projects):
        mask |= PERMISSION_BITS["read"]
    granted = conn.execute(
        select(shares.c.permissions).where(
            shares.c.access_group == row["access_group"], _share_filter(shares, principal)
        )
    ).scalars()
    for value in granted:
        mask |= int(value)
    return frozenset(names(mask))


def require(
    conn: Connection,
    shares: Table,
    principal: Principal,
    model: Model,
    row: Mapping[Any, Any],
    permission: str,
) -> None:
    """Raises PermissionDenied unless ``principal`` holds ``permission`` on ``row``."""
    if permission not in effective_permissions(conn, shares, principal, row):
        raise PermissionDenied(
            f"{principal.username or 'an anonymous reader'} may not {permission} "
            f"{model.key}/{row['id']}"
        )


def check_project(principal: Principal, project: str | None) -> None:
    """Raises PermissionDenied unless ``principal`` may put objects in ``project``."""
    if project is None or principal.is_admin or project in principal.projects:
        return
    raise PermissionDenied(f"{principal.username} is not a member of project {project!r}")
