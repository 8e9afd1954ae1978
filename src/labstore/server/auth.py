"""Users, passwords and tokens.

Passwords are hashed with argon2. Tokens are 256 random bits given to the client once and
stored only as their sha256 (a token is already unguessable, so a fast hash is enough and
lets every request find its token with one indexed lookup); they expire and are revoked on
logout.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select, update

from labstore.errors import AuthenticationError, Conflict, InvalidInput
from labstore.schema.types import check_name
from labstore.server import changes
from labstore.server.database import Database
from labstore.store.records import fresh_row, new_id, utcnow


@dataclass(frozen=True)
class Principal:
    """Who a request acts for."""

    id: str
    username: str
    is_admin: bool = False
    projects: frozenset[str] = field(default_factory=frozenset)
    admin_of: frozenset[str] = field(default_factory=frozenset)
    anonymous: bool = False


# A request without credentials: it may read public objects and nothing else.
ANONYMOUS = Principal(id="", username="", anonymous=True)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Creates users, checks passwords, issues and resolves tokens."""

    def __init__(self, db: Database, *, time_cost: int, memory_kib: int, lifetime_hours: float):
        self.db = db
        self.hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self.lifetime = dt.timedelta(hours=lifetime_hours)

    @functools.cached_property
    def _dummy_hash(self) -> str:
        """Verified against when the user does not exist, so timing does not reveal user
        names; made on first use, not at start-up (one argon2 hash costs ~0.3 s)."""
        return self.hasher.hash(secrets.token_hex(8))

    def create_user(
        self,
        conn: Connection,
        username: str,
        password: str,
        *,
        is_admin: bool = False,
        full_name: str = "",
        email: str = "",
    ) -> str:
        """Add a user; returns its id.

        Raises:
            InvalidInput: The name or password is unusable.
            Conflict: The name is taken.
        """
        try:
            check_name(username.replace("-", "_").replace(".", "_"), "user")
        except ValueError as exc:
            raise InvalidInput(f"username: {exc}", {"path": "username"}) from None
        if len(password) < 4:
            raise InvalidInput("password: use at least 4 characters", {"path": "password"})
        users = self.db.tables(self.db.registry.model("core/user"))
        if conn.execute(select(users.c.id).where(users.c.username == username)).first():
            raise Conflict(f"user {username!r} exists already", {"username": username})
        user_id = new_id()
        conn.execute(
            users.insert().values(
                fresh_row(
                    user_id,
                    username,
                    None,
                    username=username,
                    full_name=full_name,
                    email=email,
                    is_admin=is_admin,
                )
            )
        )
        changes.record(conn, "core/user", [user_id])
        conn.execute(
            self.db.table("auth_credential")
            .insert()
            .values(user_id=user_id, password_hash=self.hasher.hash(password))
        )
        return user_id

    def set_password(self, conn: Connection, username: str, password: str) -> None:
        user_id = self._user_id(conn, username)
        if user_id is None:
            raise InvalidInput(f"no user {username!r}", {"path": "username"})
        creds = self.db.table("auth_credential")
        conn.execute(
            update(creds)
            .where(creds.c.user_id == user_id)
            .values(password_hash=self.hasher.hash(password))
        )

    def _user_id(self, conn: Connection, username: str) -> str | None:
        users = self.db.tables(self.db.registry.model("core/user"))
        row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
        return None if row is None else str(row.id)

    def login(self, conn: Connection, username: str, password: str) -> tuple[str, dt.datetime]:
        """A new token for a correct user name and password.

        Raises:
            AuthenticationError: The name or password is wrong (the message does not say which).
        """
        creds = self.db.table("auth_credential")
        user_id = None if "\x00" in username else self._user_id(conn, username)
        stored = None
        if user_id is not None:
            stored = conn.execute(
                select(creds.c.password_hash).where(creds.c.user_id == user_id)
            ).scalar()
        try:
            self.hasher.verify(stored or self._dummy_hash, password)
            ok = stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or user_id is None:
            raise AuthenticationError("wrong user name or password")
        token = secrets.token_urlsafe(32)
        expires = utcnow() + self.lifetime
        conn.execute(
            self.db.table("auth_token")
            .insert()
            .values(
                token_hash=_token_hash(token),
                user_id=user_id,
                created=utcnow(),
                expires=expires,
                revoked=False,
            )
        )
        return token, expires

    def resolve(self, conn: Connection, token: str) -> Principal:
        """The user a token belongs to.

        Raises:
            AuthenticationError: Unknown, expired or revoked token.
        """
        tokens = self.db.table("auth_token")
        users = self.db.tables(self.db.registry.model("core/user"))
        row = conn.execute(
            select(
                tokens.c.expires, tokens.c.revoked, users.c.id, users.c.username, users.c.is_admin
            )
            .join(users, users.c.id == tokens.c.user_id)
            .where(tokens.c.token_hash == _token_hash(token))
        ).first()
        if row is None or row.revoked:
            raise AuthenticationError("invalid or revoked token: log in again")
        if row.expires <= utcnow():
            raise AuthenticationError("the token has expired: log in again")
        return self.principal(conn, row.id, row.username, bool(row.is_admin))

    def principal(self, conn: Connection, user_id: str, username: str, is_admin: bool) -> Principal:
        members = self.db.table("project_member")
        rows = conn.execute(
            select(members.c.project, members.c.role).where(members.c.username == username)
        ).all()
        return Principal(
            id=user_id,
            username=username,
            is_admin=is_admin,
            projects=frozenset(r.project for r in rows),
            admin_of=frozenset(r.project for r in rows if r.role == "admin"),
        )

    def revoke(self, conn: Connection, token: str) -> None:
        tokens = self.db.table("auth_token")
        conn.execute(
            update(tokens).where(tokens.c.token_hash == _token_hash(token)).values(revoked=True)
        )
