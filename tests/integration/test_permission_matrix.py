"""Who may do what to which object: one table of actors, every endpoint, every safety level.

The expected outcome of every cell comes from :func:`permissions`, a transcription of the
access model in ``labstore.server.access`` (its docstring is the spec):

- owners and site administrators may do everything;
- a project's administrators may do everything to its friendly (2) and public (3) objects,
  and nothing more than anyone else to its private (1) ones;
- friendly objects are readable by every member of their project, public ones by everyone,
  anonymous readers included;
- a share grants a user, or every member of a project, a set of permissions (read always
  included) on the object's access group, which objects created under an owning parent join.

From those permissions, :func:`expected_status` derives the answer: a hidden object is 404
(never 403), a visible one the caller may not change is 403 ``permission_denied``, and every
write without credentials is 401. Reading an object's grants (GET permissions) needs read,
and an account: they name users, and anonymous readers do not see the user directory.

Listings, counts, queries, nested queries (both directions, ``__not__``, ``__return__``)
and recursive GETs must show exactly the visible objects: a visible dataset under a hidden
experiment (its own access, public) must not match a condition on that experiment, and a
visible experiment must not match, or send along, a hidden dataset.

The matrix runs as one test per database with one set of users: every cell is recorded and
compared at the end, so a failure lists every wrong cell (actor, level, object, action,
expected, got) at once. The focused tests after it check inheritance, project shares, who
may change access, the answer's G-Node form, bad input, the Session methods, and that a
writer cannot widen access without ``share``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from labstore.errors import InvalidInput, NotFound, PermissionDenied
from labstore.server.admin import add_member
from labstore.server.state import AppState
from labstore.store.engine import read_transaction, write_transaction

Headers = dict[str, str]

# --------------------------------------------------------------------------------------------
# The table: actors, the shares every protected object carries, and what each action needs

PROJECT = "proj"
OWNER = "olive"
PRIVATE, FRIENDLY, PUBLIC = 1, 2, 3
LEVELS = (PRIVATE, FRIENDLY, PUBLIC)
ALL = frozenset({"read", "write", "delete", "share"})


@dataclass(frozen=True)
class Actor:
    projects: frozenset[str] = frozenset()
    admin_of: frozenset[str] = frozenset()
    site_admin: bool = False
    anonymous: bool = False


ACTORS: dict[str, Actor] = {
    "olive": Actor(projects=frozenset({PROJECT})),  # the owner
    "rita": Actor(),  # user share: read
    "wes": Actor(),  # user share: read write
    "dan": Actor(),  # user share: read delete
    "sam": Actor(),  # user share: read share
    "mia": Actor(projects=frozenset({PROJECT})),  # project member
    "ada": Actor(projects=frozenset({PROJECT}), admin_of=frozenset({PROJECT})),  # its admin
    "otto": Actor(projects=frozenset({"elsewhere"})),  # another project's member
    "root": Actor(site_admin=True),  # site administrator
    "pia": Actor(projects=frozenset({"partner"})),  # member of a project shared with
    "anon": Actor(anonymous=True),  # no Authorization header
}

# The shares every protected object gets (G-Node levels where they can say it, else POST).
SHARES: dict[str, frozenset[str]] = {
    "rita": frozenset({"read"}),
    "wes": frozenset({"read", "write"}),
    "dan": frozenset({"read", "delete"}),
    "sam": frozenset({"read", "share"}),
    "project:partner": frozenset({"read"}),
}
GNODE_SHARES = {"rita": 1, "wes": 2, "project:partner": 1}
POSTED_SHARES = {"dan": ["read", "delete"], "sam": ["read", "share"]}

NEEDS = {
    "get": "read",
    "list": "read",
    "count": "read",
    "query": "read",
    "get_permissions": "read",
    "patch": "write",
    "batch": "write",
    "delete": "delete",
    "put_permissions": "share",
    "post_share": "share",
    "delete_share": "share",
}
# Actions that need an account whatever the object: every write, and reading an object's
# grants (they name users, and the user directory is hidden from anonymous readers).
NEEDS_ACCOUNT = frozenset(NEEDS) - {"get", "list", "count", "query"}
SUCCESS = {"delete": "204"}


def permissions(
    actor: str, level: int, shares: Mapping[str, frozenset[str]] = SHARES
) -> frozenset[str]:
    """What ``actor`` may do to an object of ``OWNER`` in ``PROJECT`` (the spec, as a table)."""
    who = ACTORS[actor]
    if who.anonymous:
        return frozenset({"read"}) if level == PUBLIC else frozenset()
    if who.site_admin or actor == OWNER:
        return ALL
    if level >= FRIENDLY and PROJECT in who.admin_of:
        return ALL
    granted: set[str] = set()
    if level == PUBLIC or (level >= FRIENDLY and PROJECT in who.projects):
        granted.add("read")
    for target, perms in shares.items():
        kind, _, name = target.rpartition(":")
        if (kind == "" and name == actor) or (kind == "project" and name in who.projects):
            granted |= perms | {"read"}
    return frozenset(granted)


def allowed(
    actor: str, level: int, action: str, shares: Mapping[str, frozenset[str]] = SHARES
) -> bool:
    if ACTORS[actor].anonymous and action in NEEDS_ACCOUNT:
        return False
    return NEEDS[action] in permissions(actor, level, shares)


def expected_status(
    actor: str, level: int, action: str, shares: Mapping[str, frozenset[str]] = SHARES
) -> str:
    """``"200"``/``"204"``, or ``"STATUS code"`` of the error envelope."""
    if allowed(actor, level, action, shares):
        return SUCCESS.get(action, "200")
    if ACTORS[actor].anonymous and action in NEEDS_ACCOUNT:
        return "401 authentication_failed"
    if "read" in permissions(actor, level, shares):
        return "403 permission_denied"
    return "404 not_found"


# --------------------------------------------------------------------------------------------
# The objects: per level, lab -> subject -> experiment -> datasets


@dataclass(frozen=True)
class Kind:
    model: str
    filter_field: str
    patch_field: str
    parent: str | None
    # None: the level and shares of the tree; else (level, shares) of its own
    own_access: tuple[int, dict[str, frozenset[str]]] | None = None


KINDS: dict[str, Kind] = {
    "lab": Kind("experiment/lab", "name", "institution", None),
    "subject": Kind("experiment/subject", "nickname", "description", "lab"),
    "experiment": Kind("experiment/experiment", "task_protocol", "narrative", "subject"),
    # inherits the experiment's access (dataset.experiment is an ownership relation)
    "dataset": Kind("experiment/dataset", "name", "hash", "experiment"),
    # datasets given their own access: private and unshared, and public
    "ds_private": Kind("experiment/dataset", "name", "hash", "experiment", (PRIVATE, {})),
    "ds_open": Kind("experiment/dataset", "name", "hash", "experiment", (PUBLIC, {})),
}
DATASETS = ("dataset", "ds_private", "ds_open")
# Every kind is read (GET, list, count, query, nested, recursive); these are also checked
# with GET permissions, every change and delete.
CHANGE_KINDS = ("lab", "experiment", "dataset")
MODELS = {
    m: tuple(k for k in KINDS if KINDS[k].model == m)
    for m in dict.fromkeys(spec.model for spec in KINDS.values())
}


def children(kind: str) -> list[str]:
    return [k for k, spec in KINDS.items() if spec.parent == kind]


def access_of(kind: str, level: int) -> tuple[int, Mapping[str, frozenset[str]]]:
    own = KINDS[kind].own_access
    return (level, SHARES) if own is None else own


def can_read(actor: str, kind: str, level: int) -> bool:
    own_level, shares = access_of(kind, level)
    return "read" in permissions(actor, own_level, shares)


def filter_value(kind: str, level: int) -> str:
    return f"{kind}-{level}"


# --------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """The app answering a server failure with its 500 envelope (a cell, not a crash)."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def make_actors(
    state: AppState, make_user: Callable[..., str], token_for: Callable[[str], Headers], *names: str
) -> dict[str, Headers]:
    """The named actors of ``ACTORS`` as users (projects and roles as the table says)."""
    headers: dict[str, Headers] = {}
    for name in names:
        who = ACTORS[name]
        if who.anonymous:
            headers[name] = {}
            continue
        make_user(name, admin=who.site_admin, projects=tuple(sorted(who.projects)))
        if who.admin_of:
            with write_transaction(state.db.engine) as conn:
                for project in who.admin_of:
                    add_member(state, conn, project, name, admin=True)
        headers[name] = token_for(name)
    return headers


def outcome(answer: Any) -> str:
    """An answer as ``"200"`` or ``"404 not_found"``, comparable with :func:`expected_status`."""
    if answer.status_code < 400:
        return str(answer.status_code)
    try:
        code = answer.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "?"
    return f"{answer.status_code} {code}"


def post(api: TestClient, headers: Headers, model: str, **data: Any) -> str:
    answer = api.post(f"/api/{model}", json=data, headers=headers)
    assert answer.status_code == 201, answer.text
    location: str = answer.json()["location"]
    return location


def protect(api: TestClient, headers: Headers, location: str, level: int) -> None:
    """Give an object ``level`` and the grants of ``SHARES``."""
    answer = api.put(
        f"/api/{location}/permissions",
        json={"safety_level": level, "shared_with": GNODE_SHARES},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    for name, perms in POSTED_SHARES.items():
        answer = api.post(
            f"/api/{location}/shares", json={"with": name, "permissions": perms}, headers=headers
        )
        assert answer.status_code == 200, answer.text


def set_own(api: TestClient, headers: Headers, location: str, level: int) -> None:
    answer = api.put(
        f"/api/{location}/permissions",
        json={"safety_level": level, "shared_with": {}},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text


def error_of(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text[:500])
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == code, error
    return error


def access_rows(state: AppState, *, versions: bool = True) -> list[tuple[Any, ...]]:
    """Every share row and every object's access columns: what a refused change must keep."""
    rows: list[tuple[Any, ...]] = []
    with read_transaction(state.db.engine) as conn:
        shares = state.db.table("access_share")
        rows += [("share", *r) for r in conn.execute(select(shares)).all()]
        for model in state.registry:
            table = state.db.tables(model)
            columns = [table.c.id, table.c.owner, table.c.project]
            columns += [table.c.safety_level, table.c.access_group]
            if versions:
                columns.append(table.c.version)
            rows += [(model.key, *r) for r in conn.execute(select(*columns)).all()]
    return sorted(rows, key=repr)


@dataclass
class Matrix:
    """Cells recorded as they are checked; :meth:`check` fails listing every wrong one."""

    cells: list[tuple[str, int, str, str, Any, Any]] = field(default_factory=list)

    def record(
        self, actor: str, level: int, what: str, action: str, expected: Any, got: Any
    ) -> None:
        """One cell; level 0 is a check covering every level at once."""
        self.cells.append((actor, level, what, action, expected, got))

    def check(self) -> None:
        wrong = [c for c in self.cells if c[4] != c[5]]
        if wrong:
            lines = [
                f"  {actor:<5} level {level or 'all'!s:<3}  {what:<21} {action:<42} "
                f"expected {exp!r}, got {got!r}"
                for actor, level, what, action, exp, got in wrong
            ]
            pytest.fail(
                f"{len(wrong)} of {len(self.cells)} permission cells are wrong:\n"
                + "\n".join(lines),
                pytrace=False,
            )


# --------------------------------------------------------------------------------------------
# The matrix


class World:
    """Per level, olive's tree in project ``proj``, protected as the table says."""

    def __init__(self, api: TestClient, owner: Headers) -> None:
        self.api = api
        self.owner = owner
        self.objects: dict[int, dict[str, str]] = {}
        self.where: dict[str, tuple[int, str]] = {}  # location -> (level, kind)
        self.counter = itertools.count(1)
        self.victims: dict[str, int] = {}  # kind -> how many were made

    def build(self, level: int) -> None:
        api, h = self.api, self.owner
        lab = post(api, h, "experiment/lab", name=filter_value("lab", level), project=PROJECT)
        subject = post(
            api,
            h,
            "experiment/subject",
            nickname=filter_value("subject", level),
            lab=lab,
            project=PROJECT,
        )
        experiment = post(
            api,
            h,
            "experiment/experiment",
            subject=subject,
            date=f"2024-01-0{level}",
            task_protocol=filter_value("experiment", level),
            project=PROJECT,
        )
        for location in (lab, subject, experiment):
            protect(api, h, location, level)
        objects = {"lab": lab, "subject": subject, "experiment": experiment}
        for kind in DATASETS:
            objects[kind] = post(
                api, h, "experiment/dataset", experiment=experiment, name=filter_value(kind, level)
            )
            own = KINDS[kind].own_access
            if own is not None:
                set_own(api, h, objects[kind], own[0])
        # The setup is what the table says it is.
        described = api.get(f"/api/{lab}/permissions", headers=h).json()
        assert {s["with"]: frozenset(s["permissions"]) for s in described["shares"]} == SHARES
        assert described["safety_level"] == level
        inherited = api.get(f"/api/{objects['dataset']}/permissions", headers=h).json()
        assert inherited["inherited_from"] == experiment, inherited
        assert inherited["safety_level"] == level
        self.objects[level] = objects
        self.where.update({loc: (level, kind) for kind, loc in objects.items()})

    def split(self, answer: Any, key: str = "items") -> Any:
        """Returned objects by level: ``{level: [kinds]}`` (``0``: objects of no level)."""
        if answer.status_code != 200:
            return outcome(answer)
        found: dict[int, list[str]] = {}
        for obj in answer.json()[key]:
            level, kind = self.where.get(obj["location"], (0, obj["location"]))
            found.setdefault(level, []).append(kind)
        return {level: sorted(kinds) for level, kinds in found.items()}

    def inheriting_dataset(self, level: int) -> str:
        """A new dataset in the level's experiment: it inherits the experiment's access."""
        n = next(self.counter)
        experiment = self.objects[level]["experiment"]
        location = post(
            self.api, self.owner, "experiment/dataset", experiment=experiment, name=f"inherits-{n}"
        )
        self.where[location] = (level, "dataset")
        return location

    def victim(self, kind: str, level: int) -> str:
        """A throwaway object of ``kind`` with the access of the level's tree."""
        api, h, n = self.api, self.owner, next(self.counter)
        self.victims[kind] = self.victims.get(kind, 0) + 1
        tree = self.objects[level]
        if kind == "dataset":  # joins the experiment's group, as the main dataset did
            return post(
                api, h, "experiment/dataset", experiment=tree["experiment"], name=f"victim-{n}"
            )
        if kind == "lab":
            location = post(api, h, "experiment/lab", name=f"victim-{n}", project=PROJECT)
        else:
            location = post(
                api,
                h,
                "experiment/experiment",
                subject=tree["subject"],
                date="2024-02-01",
                number=n,
                task_protocol=f"victim-{n}",
                project=PROJECT,
            )
        protect(api, h, location, level)
        return location


def record_split(
    m: Matrix, actor: str, what: str, action: str, expected: dict[int, list[str]], got: Any
) -> None:
    """Cells per level from one answer covering every level."""
    if not isinstance(got, dict):
        for level in LEVELS:
            m.record(actor, level, what, action, expected.get(level, []), got)
        return
    for level in sorted(set(LEVELS) | set(got)):
        m.record(actor, level, what, action, expected.get(level, []), got.get(level, []))


def visible_by_level(actor: str, kinds: tuple[str, ...]) -> dict[int, list[str]]:
    return {level: sorted(k for k in kinds if can_read(actor, k, level)) for level in LEVELS}


def check_reads(m: Matrix, w: World, actor: str, h: Headers) -> None:
    """GET, GET permissions, listings, counts and queries of every object."""
    api = w.api
    for level in LEVELS:
        for kind, location in w.objects[level].items():
            own_level, shares = access_of(kind, level)
            m.record(
                actor,
                level,
                kind,
                "get",
                expected_status(actor, own_level, "get", shares),
                outcome(api.get(f"/api/{location}", headers=h)),
            )
            if kind in CHANGE_KINDS:
                m.record(
                    actor,
                    level,
                    kind,
                    "get_permissions",
                    expected_status(actor, own_level, "get_permissions", shares),
                    outcome(api.get(f"/api/{location}/permissions", headers=h)),
                )
    for model, kinds in MODELS.items():
        spec = KINDS[kinds[0]]
        values = [filter_value(k, level) for k in kinds for level in LEVELS]
        expected = visible_by_level(actor, kinds)
        listed = api.get(
            f"/api/{model}", params={f"{spec.filter_field}__in": ",".join(values)}, headers=h
        )
        queried = api.post(
            "/api/query",
            json={"__model__": model, "__query__": {spec.filter_field: values}},
            headers=h,
        )
        for action, answer in (("list", listed), ("query", queried)):
            got = w.split(answer)
            for level, kind in itertools.product(LEVELS, kinds):
                m.record(
                    actor,
                    level,
                    kind,
                    action,
                    [kind] if kind in expected[level] else [],
                    got if isinstance(got, str) else [k for k in got.get(level, []) if k == kind],
                )
            if isinstance(got, dict) and 0 in got:
                m.record(actor, 0, model, f"{action}: unknown objects", [], got[0])
        counted = api.get(
            f"/api/{model}/count",
            params={f"{spec.filter_field}__in": ",".join(values)},
            headers=h,
        )
        m.record(
            actor,
            0,
            model,
            "count",
            {"count": sum(len(v) for v in expected.values())},
            counted.json(),
        )


def check_relations(m: Matrix, w: World, actor: str, h: Headers) -> None:
    """Nested conditions and recursive GETs reveal nothing of hidden objects."""
    api = w.api
    protocols = [filter_value("experiment", level) for level in LEVELS]
    names = [filter_value(k, level) for k in DATASETS for level in LEVELS]
    privates = [filter_value("ds_private", level) for level in LEVELS]

    def experiment_seen(level: int) -> bool:
        return can_read(actor, "experiment", level)

    through_parent = {
        level: sorted(k for k in DATASETS if can_read(actor, k, level) and experiment_seen(level))
        for level in LEVELS
    }
    not_through_parent = {
        level: sorted(
            k for k in DATASETS if can_read(actor, k, level) and not experiment_seen(level)
        )
        for level in LEVELS
    }

    def query(q: dict[str, Any], model: str = "experiment/dataset", **extra: Any) -> Any:
        body = {"__model__": model, "__query__": q, **extra}
        return api.post("/api/query", json=body, headers=h)

    def total(expected: dict[int, list[str]]) -> dict[str, int]:
        return {"count": sum(len(v) for v in expected.values())}

    by_protocol = {"experiment__task_protocol__in": ",".join(protocols)}
    nested = {"experiment": {"task_protocol": protocols}}
    for action, answer in (
        (
            "GET ?experiment__task_protocol",
            api.get("/api/experiment/dataset", params=by_protocol, headers=h),
        ),
        ("query {experiment: {task_protocol}}", query(nested)),
        ("query experiment__task_protocol", query({"experiment__task_protocol__in": protocols})),
    ):
        record_split(m, actor, "datasets", action, through_parent, w.split(answer))
    record_split(
        m,
        actor,
        "datasets",
        "query __not__ {experiment: {task_protocol}}",
        not_through_parent,
        w.split(query({"name": names, "__not__": nested})),
    )
    m.record(
        actor,
        0,
        "datasets",
        "GET /count ?experiment__task_protocol",
        total(through_parent),
        api.get("/api/experiment/dataset/count", params=by_protocol, headers=h).json(),
    )
    m.record(
        actor,
        0,
        "datasets",
        "query/count {experiment: {task_protocol}}",
        total(through_parent),
        api.post(
            "/api/query/count",
            json={"__model__": "experiment/dataset", "__query__": nested},
            headers=h,
        ).json(),
    )
    # Related objects sent along: the open dataset's experiment only to who may see it.
    returned = query(
        {"name": [filter_value("ds_open", level) for level in LEVELS]}, __return__=["experiment"]
    )
    record_split(
        m, actor, "ds_open", "query items", visible_by_level(actor, ("ds_open",)), w.split(returned)
    )
    record_split(
        m,
        actor,
        "ds_open",
        "query __return__ experiment",
        {
            level: ["experiment"]
            if can_read(actor, "ds_open", level) and experiment_seen(level)
            else []
            for level in LEVELS
        },
        w.split(returned, "included"),
    )
    # The other direction: a visible parent must not reveal a hidden child.
    with_children = query(
        {"task_protocol": protocols}, "experiment/experiment", __return__="datasets"
    )
    record_split(
        m,
        actor,
        "experiments",
        "query __return__ datasets",
        {
            level: sorted(k for k in DATASETS if can_read(actor, k, level))
            if experiment_seen(level)
            else []
            for level in LEVELS
        },
        w.split(with_children, "included"),
    )
    with_private = {
        level: ["experiment"]
        if experiment_seen(level) and can_read(actor, "ds_private", level)
        else []
        for level in LEVELS
    }
    record_split(
        m,
        actor,
        "experiments",
        "GET ?datasets__name=<private>",
        with_private,
        w.split(
            api.get(
                "/api/experiment/experiment",
                params={"datasets__name__in": ",".join(privates)},
                headers=h,
            )
        ),
    )
    record_split(
        m,
        actor,
        "experiments",
        "query {datasets: {name: <private>}}",
        with_private,
        w.split(query({"datasets": {"name": privates}}, "experiment/experiment")),
    )
    record_split(
        m,
        actor,
        "subjects",
        "GET ?experiments__task_protocol",
        {
            level: ["subject"]
            if can_read(actor, "subject", level) and experiment_seen(level)
            else []
            for level in LEVELS
        },
        w.split(
            api.get(
                "/api/experiment/subject",
                params={"experiments__task_protocol__in": ",".join(protocols)},
                headers=h,
            )
        ),
    )
    # Recursive GETs: the visible objects reachable through visible ones, nothing else.
    for level in LEVELS:
        for root in ("lab", "experiment"):
            expected: Any = "404 not_found"
            if can_read(actor, root, level):
                expected, frontier = [], [root]
                while frontier:
                    kind = frontier.pop()
                    expected.append(kind)
                    frontier += [c for c in children(kind) if can_read(actor, c, level)]
                expected = {level: sorted(expected)}
            answer = api.get(f"/api/{w.objects[level][root]}", params={"recursive": 1}, headers=h)
            m.record(actor, level, root, "GET ?recursive=1", expected, w.split(answer, "objects"))


def check_changes(m: Matrix, w: World, actors: dict[str, Headers]) -> None:
    """Writes (PATCH, batch) and access changes, each leaving the access as it was.

    Each action is tried by the actors it is denied to first, then by the others; access
    changes of the inheriting dataset are tried on a fresh one each, so the refusals meet
    an object that still inherits (and must leave it so) before an allowed change detaches it.
    """
    for level, kind in itertools.product(LEVELS, CHANGE_KINDS):
        location = w.objects[level][kind]
        for action in ("patch", "batch", "put_permissions", "post_share", "delete_share"):
            if kind == "dataset" and NEEDS[action] == "share":
                location = w.inheriting_dataset(level)
            data = {KINDS[kind].patch_field: f"by {action}"}
            method, url, body = {
                "patch": ("PATCH", f"/api/{location}", data),
                "batch": (
                    "POST",
                    "/api/batch",
                    {"objects": [{"location": location, "data": data}]},
                ),
                "put_permissions": ("PUT", f"/api/{location}/permissions", {"safety_level": level}),
                # Replaces rita's grant by the same one.
                "post_share": (
                    "POST",
                    f"/api/{location}/shares",
                    {"with": "rita", "permissions": ["read"]},
                ),
                # Withdraws a grant nobody has: no change either.
                "delete_share": ("DELETE", f"/api/{location}/shares/project:elsewhere", None),
            }[action]
            order = sorted(actors, key=lambda a: allowed(a, level, action))  # denied first
            refused = [a for a in order if not allowed(a, level, action)]
            for actor in order:
                if kind == "dataset" and NEEDS[action] == "share" and actor == order[len(refused)]:
                    described = w.api.get(f"/api/{location}/permissions", headers=w.owner).json()
                    m.record(
                        OWNER,
                        level,
                        kind,
                        f"still inherits after refused {action}",
                        w.objects[level]["experiment"],
                        described.get("inherited_from"),
                    )
                answer = w.api.request(method, url, json=body, headers=actors[actor])
                expected = expected_status(actor, level, action)
                m.record(actor, level, kind, action, expected, outcome(answer))


def check_access_unchanged(m: Matrix, w: World) -> None:
    """After every change of the matrix, each object's access is still the table's."""
    for level in LEVELS:
        for kind in CHANGE_KINDS:
            described = w.api.get(f"/api/{w.objects[level][kind]}/permissions", headers=w.owner)
            got = described.json()
            m.record(
                OWNER,
                level,
                kind,
                "access after the changes",
                (level, SHARES),
                (
                    got.get("safety_level"),
                    {s["with"]: frozenset(s["permissions"]) for s in got.get("shares", [])},
                ),
            )


def check_deletes(m: Matrix, w: World, actors: dict[str, Headers]) -> None:
    """Deletes on throwaway objects: a new one after each success."""
    deleted: dict[str, int] = {}
    for level in LEVELS:
        for kind in CHANGE_KINDS:
            victim = w.victim(kind, level)
            for actor, h in actors.items():
                answer = w.api.delete(f"/api/{victim}", headers=h)
                expected = expected_status(actor, level, "delete")
                m.record(actor, level, kind, "delete", expected, outcome(answer))
                if answer.status_code == 204:
                    deleted[kind] = deleted.get(kind, 0) + 1
                    victim = w.victim(kind, level)
    # What answered 204 is gone, and nothing else is.
    for kind in CHANGE_KINDS:
        spec = KINDS[kind]
        left = w.api.get(
            f"/api/{spec.model}/count",
            params={f"{spec.filter_field}__startswith": "victim-"},
            headers=w.owner,
        ).json()
        m.record(
            OWNER, 0, kind, "victims left", {"count": w.victims[kind] - deleted.get(kind, 0)}, left
        )


def test_permission_matrix(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    actors = make_actors(state, make_user, token_for, *ACTORS)
    world = World(api, actors[OWNER])
    for level in LEVELS:
        world.build(level)
    m = Matrix()
    for actor, h in actors.items():
        check_reads(m, world, actor, h)
        check_relations(m, world, actor, h)
    check_changes(m, world, actors)
    check_access_unchanged(m, world)
    check_deletes(m, world, actors)
    m.check()
    # Every (actor, level, kind, action) the table speaks of was checked.
    coverage_reads = ("get", "list", "count", "query")  # count: per model, all levels at once
    coverage = [(k, a) for k in KINDS for a in coverage_reads if a != "count"]
    coverage += [(k, a) for k in CHANGE_KINDS for a in NEEDS if a not in coverage_reads]
    checked = {(c[0], c[1], c[2], c[3]) for c in m.cells}
    for actor, level, (kind, action) in itertools.product(ACTORS, LEVELS, coverage):
        assert (actor, level, kind, action) in checked, (actor, level, kind, action)


# --------------------------------------------------------------------------------------------
# Focused tests


def tree(api: TestClient, h: Headers, name: str = "a") -> dict[str, str]:
    """A subject, an experiment (friendly, the default) and a dataset under it, in proj."""
    subject = post(api, h, "experiment/subject", nickname=f"s-{name}", project=PROJECT)
    experiment = post(
        api,
        h,
        "experiment/experiment",
        subject=subject,
        date="2024-03-01",
        task_protocol=f"p-{name}",
        project=PROJECT,
    )
    dataset = post(api, h, "experiment/dataset", experiment=experiment, name=f"d-{name}")
    return {"subject": subject, "experiment": experiment, "dataset": dataset}


def status(answer: Any) -> int:
    code: int = answer.status_code
    return code


def test_a_dataset_follows_its_experiment_until_its_own_access_is_set(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    h = make_actors(state, make_user, token_for, "olive", "rita", "anon")
    olive, rita, anon = h["olive"], h["rita"], h["anon"]
    t = tree(api, olive)
    experiment, dataset = t["experiment"], t["dataset"]
    set_own(api, olive, experiment, PRIVATE)
    assert status(api.get(f"/api/{dataset}", headers=rita)) == 404
    # Sharing the experiment shares the dataset created under it.
    shared = api.post(
        f"/api/{experiment}/shares", json={"with": "rita", "permissions": ["read"]}, headers=olive
    )
    assert shared.status_code == 200, shared.text
    assert status(api.get(f"/api/{dataset}", headers=rita)) == 200
    listed = api.get("/api/experiment/dataset", params={"name": "d-a"}, headers=rita).json()
    assert [i["location"] for i in listed["items"]] == [dataset]
    described = api.get(f"/api/{dataset}/permissions", headers=olive).json()
    assert described["inherited_from"] == experiment
    assert described["shared_with"] == {"rita": 1}
    # A dataset created after the share inherits it too.
    later = post(api, olive, "experiment/dataset", experiment=experiment, name="d-later")
    assert status(api.get(f"/api/{later}", headers=rita)) == 200
    # Unsharing the experiment hides both again.
    assert status(api.delete(f"/api/{experiment}/shares/rita", headers=olive)) == 200
    for location in (experiment, dataset, later):
        assert status(api.get(f"/api/{location}", headers=rita)) == 404, location
    # Share again, then give the dataset its own access: the grants are copied ...
    api.post(f"/api/{experiment}/shares", json={"with": "rita"}, headers=olive)
    own = api.put(f"/api/{dataset}/permissions", json={"safety_level": PRIVATE}, headers=olive)
    assert own.status_code == 200, own.text
    assert own.json()["inherited_from"] is None
    assert own.json()["shared_with"] == {"rita": 1}
    # ... and later changes to the experiment no longer reach it.
    assert status(api.delete(f"/api/{experiment}/shares/rita", headers=olive)) == 200
    assert status(api.get(f"/api/{experiment}", headers=rita)) == 404
    assert status(api.get(f"/api/{later}", headers=rita)) == 404  # still inherits
    assert status(api.get(f"/api/{dataset}", headers=rita)) == 200  # its own access
    made_public = api.put(
        f"/api/{experiment}/permissions", json={"safety_level": PUBLIC}, headers=olive
    )
    assert made_public.status_code == 200, made_public.text
    assert status(api.get(f"/api/{experiment}", headers=anon)) == 200
    assert status(api.get(f"/api/{later}", headers=anon)) == 200
    assert status(api.get(f"/api/{dataset}", headers=anon)) == 404
    assert api.get(f"/api/{dataset}/permissions", headers=olive).json()["safety_level"] == PRIVATE
    tree_as_anon = api.get(f"/api/{experiment}", params={"recursive": 1}, headers=anon).json()
    assert [o["location"] for o in tree_as_anon["objects"]] == [experiment, later]


def test_a_project_share_lets_every_member_read(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    h = make_actors(state, make_user, token_for, "olive", "pia", "otto")
    olive, pia, otto = h["olive"], h["pia"], h["otto"]
    t = tree(api, olive)
    experiment = t["experiment"]
    set_own(api, olive, experiment, PRIVATE)
    assert status(api.get(f"/api/{experiment}", headers=pia)) == 404
    shared = api.post(
        f"/api/{experiment}/shares",
        json={"with": "project:partner", "permissions": ["read"]},
        headers=olive,
    )
    assert shared.status_code == 200, shared.text
    assert shared.json()["shared_with"] == {"project:partner": 1}
    assert shared.json()["shares"] == [
        {"with": "project:partner", "kind": "project", "permissions": ["read"]}
    ]
    for location in (experiment, t["dataset"]):
        assert status(api.get(f"/api/{location}", headers=pia)) == 200
        assert status(api.get(f"/api/{location}", headers=otto)) == 404
    counted = api.get("/api/experiment/dataset/count", params={"name": "d-a"}, headers=pia)
    assert counted.json() == {"count": 1}
    error_of(
        api.patch(f"/api/{experiment}", json={"narrative": "x"}, headers=pia),
        403,
        "permission_denied",
    )
    # A bare name that is a project (and no user) names the project.
    assert status(api.delete(f"/api/{experiment}/shares/partner", headers=olive)) == 200
    assert status(api.get(f"/api/{experiment}", headers=pia)) == 404
    api.put(
        f"/api/{experiment}/permissions",
        json={"shared_with": {"project:partner": 2}},
        headers=olive,
    )
    assert status(api.patch(f"/api/{experiment}", json={"narrative": "p"}, headers=pia)) == 200
    assert status(api.get(f"/api/{experiment}", headers=otto)) == 404


def test_changing_access_needs_the_share_permission(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    h = make_actors(state, make_user, token_for, "olive", "rita", "sam", "wes", "anon")
    olive, rita, sam, wes = h["olive"], h["rita"], h["sam"], h["wes"]
    experiment = tree(api, olive)["experiment"]
    set_own(api, olive, experiment, PRIVATE)
    for name, perms in (("rita", ["read"]), ("sam", ["read", "share"]), ("wes", ["write"])):
        answer = api.post(
            f"/api/{experiment}/shares", json={"with": name, "permissions": perms}, headers=olive
        )
        assert answer.status_code == 200, answer.text
    url = f"/api/{experiment}"
    before = access_rows(state)
    for who in (rita, wes):
        for answer in (
            api.post(f"{url}/shares", json={"with": "rita", "permissions": ["write"]}, headers=who),
            api.put(f"{url}/permissions", json={"safety_level": PUBLIC}, headers=who),
            api.put(f"{url}/permissions", json={"shared_with": {"rita": 2}}, headers=who),
            api.delete(f"{url}/shares/sam", headers=who),
        ):
            error_of(answer, 403, "permission_denied")
    assert access_rows(state) == before
    unversioned = access_rows(state, versions=False)
    # Keys the server sets are ignored in a writer's PATCH and batch: no way around "share".
    for data in (
        {"safety_level": PUBLIC},
        {"access_group": experiment.rsplit("/", 1)[1] + "X"},
        {"owner": "wes"},
    ):
        assert status(api.patch(url, json=data, headers=wes)) == 200
        batch = {"objects": [{"location": experiment, "data": data}]}
        assert status(api.post("/api/batch", json=batch, headers=wes)) == 200
    assert access_rows(state, versions=False) == unversioned
    assert status(api.get(url, headers=h["anon"])) == 404
    # sam may pass on only what he holds (read and share), and those changes stick.
    escalating = api.post(
        f"{url}/shares", json={"with": "rita", "permissions": ["read", "write"]}, headers=sam
    )
    assert escalating.status_code == 403, escalating.text
    assert "do not hold" in escalating.json()["error"]["message"]
    granted = api.post(
        f"{url}/shares", json={"with": "rita", "permissions": ["read", "share"]}, headers=sam
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["shared_with"]["rita"] == 1
    assert status(api.patch(url, json={"narrative": "rita was here"}, headers=rita)) == 403
    leveled = api.put(f"{url}/permissions", json={"safety_level": FRIENDLY}, headers=sam)
    assert leveled.status_code == 200, leveled.text
    seen = api.get(f"{url}/permissions", headers=olive).json()
    assert seen["safety_level"] == FRIENDLY
    assert seen["shared_with"] == {"rita": 1, "sam": 1, "wes": 2}
    assert status(api.delete(f"{url}/shares/rita", headers=sam)) == 200
    assert status(api.get(url, headers=rita)) == 404


def test_the_owner_can_always_change_access(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    h = make_actors(state, make_user, token_for, "olive", "sam")
    olive, sam = h["olive"], h["sam"]
    lab = post(api, olive, "experiment/lab", name="lab", project=PROJECT)
    url = f"/api/{lab}"
    api.post(f"{url}/shares", json={"with": "sam", "permissions": sorted(ALL)}, headers=olive)
    # sam, with every permission, makes it private and leaves himself only read ...
    stripped = api.put(
        f"{url}/permissions", json={"safety_level": PRIVATE, "shared_with": {"sam": 1}}, headers=sam
    )
    assert stripped.status_code == 200, stripped.text
    assert stripped.json()["shared_with"] == {"sam": 1}
    error_of(api.patch(url, json={"institution": "x"}, headers=sam), 403, "permission_denied")
    # ... and olive, who holds no grant at all, still does everything.
    assert status(api.get(url, headers=olive)) == 200
    assert status(api.patch(url, json={"institution": "UCL"}, headers=olive)) == 200
    assert status(api.get(f"{url}/permissions", headers=olive)) == 200
    assert status(api.put(f"{url}/permissions", json={"safety_level": 3}, headers=olive)) == 200
    assert status(api.post(f"{url}/shares", json={"with": "sam"}, headers=olive)) == 200
    assert status(api.delete(f"{url}/shares/sam", headers=olive)) == 200
    assert status(api.put(f"{url}/permissions", json={"shared_with": {}}, headers=olive)) == 200
    assert status(api.delete(url, headers=olive)) == 204


def test_a_change_that_ends_the_callers_own_access_is_kept(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    """A sharer may withdraw their own grant, a project admin may make an object private:
    the change is allowed, so it must be stored (and answered), not refused as 404."""
    h = make_actors(state, make_user, token_for, "olive", "sam", "ada")
    olive = h["olive"]
    failures = []
    for who, method, suffix, body in (
        ("sam", "PUT", "permissions", {"safety_level": PRIVATE, "shared_with": {}}),
        ("sam", "DELETE", "shares/sam", None),
        ("ada", "PUT", "permissions", {"safety_level": PRIVATE}),
    ):
        lab = post(api, olive, "experiment/lab", name=f"lab-{who}-{method}", project=PROJECT)
        api.post(
            f"/api/{lab}/shares", json={"with": "sam", "permissions": ["share"]}, headers=olive
        )
        answer = api.request(method, f"/api/{lab}/{suffix}", json=body, headers=h[who])
        after = api.get(f"/api/{lab}/permissions", headers=olive).json()
        still_sees = status(api.get(f"/api/{lab}", headers=h[who]))
        if answer.status_code != 200 or still_sees != 404:
            failures.append(
                f"{who} {method} {suffix} {body}: answered {outcome(answer)}; the object is now "
                f"level {after['safety_level']} shared with {after['shared_with']}, "
                f"{who} GET -> {still_sees}"
            )
    assert not failures, "\n".join(failures)


def test_bad_share_requests_are_400_naming_the_path(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    h = make_actors(state, make_user, token_for, "olive", "rita")
    olive = h["olive"]
    dataset = tree(api, olive)["dataset"]  # inherits: a refused change must not detach it
    before = access_rows(state)
    cases: list[tuple[str, str, Any, str, str]] = [
        # unknown users and projects
        ("POST", "shares", {"with": "nobody"}, "with", "nobody"),
        ("POST", "shares", {"with": "project:nobody"}, "with", "nobody"),
        ("POST", "shares", {"with": "user:proj"}, "with", "proj"),  # a project, not a user
        ("POST", "shares", {"with": ""}, "with", "with"),
        ("POST", "shares", {"with": 7}, "with", "with"),
        ("POST", "shares", {"permissions": ["read"]}, "body", "with"),
        ("PUT", "permissions", {"shared_with": {"nobody": 1}}, "shared_with.nobody", "nobody"),
        (
            "PUT",
            "permissions",
            {"shared_with": {"rita": 1, "ghost": 2}},
            "shared_with.ghost",
            "ghost",
        ),
        ("DELETE", "shares/nobody", None, "with", "nobody"),
    ]
    # unknown permission names, and G-Node levels other than 1 and 2
    for perms in (["fly"], ["read", "fly"], "fly", ["READ"], [1], 5, {"read": True}):
        word = "fly" if "fly" in str(perms) else "permissions"
        body = {"with": "rita", "permissions": perms}
        cases.append(("POST", "shares", body, "permissions", word))
    for level in (0, 3, "read", True, None):
        body = {"shared_with": {"rita": level}}
        cases.append(("PUT", "permissions", body, "shared_with.rita", "shared_with.rita"))
    for body in ([], "x", {"safety_level": 1, "owner": "rita"}, {"shared_with": ["rita"]}):
        path = "shared_with" if isinstance(body, dict) and "owner" not in body else "body"
        cases.append(("PUT", "permissions", body, path, path))
    failures = []
    for method, suffix, body, path, word in cases:
        answer = api.request(method, f"/api/{dataset}/{suffix}", json=body, headers=olive)
        try:
            error = error_of(answer, 400, "invalid_input")
            assert error["details"].get("path") == path, error
            assert word.lower() in error["message"].lower(), error
        except AssertionError as exc:
            failures.append(f"{method} {suffix} {body!r}: {exc}")
    assert not failures, "\n".join(failures)
    assert access_rows(state) == before


def test_a_bad_safety_level_is_400_and_changes_nothing(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    h = make_actors(state, make_user, token_for, "olive")
    olive = h["olive"]
    t = tree(api, olive)
    before = access_rows(state)
    failures = []
    for target in ("experiment", "dataset"):  # the dataset inherits: it must stay so
        for level in (0, 4, -1, "x", "2", True, False, None, 1.5, [2], {"level": 2}):
            for body in ({"safety_level": level}, {"safety_level": level, "shared_with": {}}):
                answer = api.put(f"/api/{t[target]}/permissions", json=body, headers=olive)
                try:
                    error = error_of(answer, 400, "invalid_input")
                    assert error["details"].get("path") == "safety_level", error
                except AssertionError as exc:
                    failures.append(f"{target} {body!r}: {exc}")
    assert not failures, "\n".join(failures)
    assert access_rows(state) == before
    assert (
        api.get(f"/api/{t['dataset']}/permissions", headers=olive).json()["inherited_from"]
        == t["experiment"]
    )


def test_permissions_answer_in_gnode_form(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    h = make_actors(state, make_user, token_for, "olive", "rita", "wes", "pia", "otto", "anon")
    olive = h["olive"]
    t = tree(api, olive)
    experiment = t["experiment"]
    answer = api.put(
        f"/api/{experiment}/permissions",
        json={"safety_level": PRIVATE, "shared_with": GNODE_SHARES},
        headers=olive,
    )
    assert answer.status_code == 200, answer.text
    expected = {
        "location": experiment,
        "owner": "olive",
        "project": PROJECT,
        "safety_level": PRIVATE,
        "shared_with": {"rita": 1, "wes": 2, "project:partner": 1},
        "shares": [
            {"with": "project:partner", "kind": "project", "permissions": ["read"]},
            {"with": "rita", "kind": "user", "permissions": ["read"]},
            {"with": "wes", "kind": "user", "permissions": ["read", "write"]},
        ],
        "inherited_from": None,
    }
    assert answer.json() == expected
    assert set(expected) == {
        "location",
        "owner",
        "project",
        "safety_level",
        "shared_with",
        "shares",
        "inherited_from",
    }
    for reader in ("olive", "rita", "wes", "pia"):
        assert api.get(f"/api/{experiment}/permissions", headers=h[reader]).json() == expected
    error_of(api.get(f"/api/{experiment}/permissions", headers=h["otto"]), 404, "not_found")
    error_of(
        api.get(f"/api/{experiment}/permissions", headers=h["anon"]), 401, "authentication_failed"
    )
    inherited = api.get(f"/api/{t['dataset']}/permissions", headers=h["rita"]).json()
    assert inherited == {**expected, "location": t["dataset"], "inherited_from": experiment}
    # A share POSTed with delete/share shows in shares; G-Node's shared_with says 1 or 2.
    api.post(
        f"/api/{experiment}/shares",
        json={"with": "otto", "permissions": ["delete", "share"]},
        headers=olive,
    )
    described = api.get(f"/api/{experiment}/permissions", headers=olive).json()
    assert described["shared_with"]["otto"] == 1
    assert {"with": "otto", "kind": "user", "permissions": ["read", "delete", "share"]} in (
        described["shares"]
    )


def test_session_permissions_share_and_unshare(
    state: AppState, make_user: Any, make_session: Any
) -> None:
    for name in ("olive", "rita", "sam"):
        make_user(name, projects=tuple(sorted(ACTORS[name].projects)))
    olive, rita, sam = (make_session(n) for n in ("olive", "rita", "sam"))
    lab = olive.set(olive.Lab.new(name="cortexlab"))
    described = olive.permissions(lab)
    assert described["safety_level"] == FRIENDLY and described["shared_with"] == {}
    assert described["location"] == lab.location and described["owner"] == "olive"
    assert described["project"] == PROJECT and described["inherited_from"] is None
    assert set(described) == {
        "location",
        "owner",
        "project",
        "safety_level",
        "shared_with",
        "shares",
        "inherited_from",
    }
    with pytest.raises(NotFound):
        rita.get(lab.location)
    shared = olive.share(lab, "rita")
    assert shared["shared_with"] == {"rita": 1}
    assert rita.get(lab.location).name == "cortexlab"
    assert rita.permissions(lab.location) == olive.permissions(lab.location)
    with pytest.raises(PermissionDenied):
        rita.share(lab.location, "rita", ["read", "write"])
    with pytest.raises(PermissionDenied):
        rita.permissions(lab.location, {"safety_level": PUBLIC})
    with pytest.raises(PermissionDenied):
        rita.unshare(lab.location, "rita")
    with pytest.raises(InvalidInput):
        olive.share(lab, "nobody")
    with pytest.raises(InvalidInput):
        olive.share(lab, "rita", ["fly"])
    with pytest.raises(InvalidInput):
        olive.permissions(lab, {"safety_level": 4})
    assert olive.permissions(lab)["shared_with"] == {"rita": 1}
    olive.share(lab, "sam", ["share"])
    with pytest.raises(PermissionDenied, match="do not hold"):
        sam.share(lab.location, "rita", ["read", "write"])  # sam holds no write to pass on
    changed = sam.share(lab.location, "rita", ["read", "share"])
    assert changed["shared_with"] == {"rita": 1, "sam": 1}
    assert {s["with"]: s["permissions"] for s in changed["shares"]} == {
        "rita": ["read", "share"],
        "sam": ["read", "share"],
    }
    assert olive.permissions(lab) == changed  # sam's change sticks
    replaced = olive.permissions(lab, {"safety_level": PRIVATE, "shared_with": {"sam": 1}})
    assert replaced["safety_level"] == PRIVATE and replaced["shared_with"] == {"sam": 1}
    with pytest.raises(NotFound):
        rita.get(lab.location, refresh=True)
    olive.share(lab, "rita", ["read"])
    gone = olive.unshare(lab, "rita")
    assert gone["shared_with"] == {"sam": 1}
    assert olive.unshare(lab, "rita") == gone  # withdrawing an absent grant is no error
    with pytest.raises(NotFound):
        rita.permissions(lab.location)


def test_a_writer_cannot_widen_access_by_moving_an_object(
    api: TestClient, state: AppState, make_user: Any, token_for: Any
) -> None:
    """Who may see an object changes only with ``share``; ``write`` moves nothing into view."""
    h = make_actors(state, make_user, token_for, "olive", "wes", "otto", "anon")
    olive, wes, otto, anon = h["olive"], h["wes"], h["otto"], h["anon"]
    make_user("eli", projects=("elsewhere",))  # otto's fellow member of "elsewhere"
    eli = token_for("eli")
    failures = []
    # 1. A friendly lab moved into the writer's own project shows to that project.
    lab = post(api, olive, "experiment/lab", name="lab", project=PROJECT)
    api.post(f"/api/{lab}/shares", json={"with": "otto", "permissions": ["write"]}, headers=olive)
    moved = api.patch(f"/api/{lab}", json={"project": "elsewhere"}, headers=otto)
    seen = status(api.get(f"/api/{lab}", headers=eli))
    if seen != 404:
        failures.append(
            f"otto (read+write on olive's friendly lab in {PROJECT}) PATCH "
            f'{{"project": "elsewhere"}} -> {outcome(moved)}; eli (member of elsewhere, no '
            f"grant) GET -> {seen}"
        )
    # 2. A private dataset moved under a public experiment the writer can read becomes public.
    t = tree(api, olive)
    set_own(api, olive, t["experiment"], PRIVATE)
    api.post(
        f"/api/{t['experiment']}/shares",
        json={"with": "wes", "permissions": ["write"]},
        headers=olive,
    )
    public = tree(api, olive, "pub")["experiment"]
    set_own(api, olive, public, PUBLIC)
    moved = api.patch(f"/api/{t['dataset']}", json={"experiment": public}, headers=wes)
    seen = status(api.get(f"/api/{t['dataset']}", headers=anon))
    if seen != 404:
        failures.append(
            "wes (read+write on olive's private experiment, inherited by its dataset) PATCH "
            f'dataset {{"experiment": <olive\'s public experiment>}} -> {outcome(moved)}; '
            f"anonymous GET dataset -> {seen}"
        )
    assert not failures, "\n".join(failures)
