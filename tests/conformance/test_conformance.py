"""Every conformance case runs on the server (SQLite), the server (PostgreSQL) and a local store.

The local store is a SQLite file with the client's tables, filled from the API's answers the
way a replica is; it runs queries with the same compiler and executor as the server. A
hypothesis test also generates queries and checks that all three agree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from labstore.client.store import LocalStore
from labstore.errors import QueryValidationError
from labstore.query.jsonquery import parse_query
from labstore.schema.packs import builtin_registry
from labstore.server import create_app
from labstore.store.engine import read_transaction, write_transaction
from labstore.store.select import select_page
from tests.conftest import PASSWORD, backend_database, fast_settings

HERE = Path(__file__).parent
FIXTURE = json.loads((HERE / "fixture.json").read_text())
CASES = sorted((HERE / "query").glob("*.json"))
REGISTRY = builtin_registry()
BACKENDS = ["sqlite", "postgresql", "local"]


def substitute(value: Any, locations: dict[str, str]) -> Any:
    """``"@key"`` strings become the location of that fixture object."""
    if isinstance(value, str) and value.startswith("@"):
        return locations[value[1:]]
    if isinstance(value, list):
        return [substitute(v, locations) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, locations) for k, v in value.items()}
    return value


@dataclass
class Backend:
    """Answers a query with a list of locations, or raises QueryValidationError."""

    name: str
    locations: dict[str, str]
    client: TestClient | None = None
    headers: dict[str, str] | None = None
    local: LocalStore | None = None

    def run(self, query: dict[str, Any]) -> list[str]:
        if self.client is not None:
            return self._server(query)
        return self._local(query)

    def _server(self, query: dict[str, Any]) -> list[str]:
        assert self.client is not None
        answer = self.client.post("/api/query", json=query, headers=self.headers)
        if answer.status_code == 400:
            error = answer.json()["error"]
            raise QueryValidationError(error["message"], error["details"])
        assert answer.status_code == 200, answer.text
        return [item["location"] for item in answer.json()["items"]]

    def _local(self, query: dict[str, Any]) -> list[str]:
        """As the client's local store answers: its fast path, checked against the shared
        ``select_page`` on the same file."""
        assert self.local is not None
        store = self.local
        parsed = parse_query(REGISTRY, query, max_limit=1000)
        ids = store.query_ids(parsed, limit=1000)
        with read_transaction(store.engine) as conn:
            page = select_page(
                conn,
                store.compiler,
                parsed.model,
                parsed.node,
                parsed.order,
                limit=min(parsed.limit or 1000, 1000),
                offset=parsed.offset,
                cursor=parsed.cursor,
            )
        assert list(ids) == [row["id"] for row in page.rows] and len(ids) == len(page.rows)
        return [f"{parsed.model.key}/{ident}" for ident in ids]


def load_server(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    locations: dict[str, str] = {}
    for entry in FIXTURE["objects"]:
        data = substitute(entry["data"], locations)
        answer = client.post(f"/api/{entry['model']}", json=data, headers=headers)
        assert answer.status_code == 201, (entry["key"], answer.text)
        locations[entry["key"]] = answer.json()["location"]
    return locations


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory, postgres_server) -> Iterator[Backend]:
    folder = tmp_path_factory.mktemp(request.param)
    server_kind = "postgresql" if request.param == "postgresql" else "sqlite"
    with backend_database(server_kind, folder, postgres_server) as url:
        app = create_app(fast_settings(folder / "data", url))
        state = app.state.labstore
        with write_transaction(state.db.engine) as conn:
            state.accounts.create_user(conn, "conformance", PASSWORD)
        with TestClient(app) as client:
            token = client.post(
                "/api/auth/token", json={"username": "conformance", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {token.json()['token']}"}
            locations = load_server(client, headers)
            if request.param != "local":
                yield Backend(request.param, locations, client=client, headers=headers)
            else:
                store = replica(client, headers, folder)
                yield Backend("local", locations, local=store)
                store.close()
        state.db.dispose()


def replica(client: TestClient, headers: dict[str, str], folder: Path) -> LocalStore:
    """The client's local store, filled from the API's JSON."""
    store = LocalStore.open(folder / "replica.sqlite3", REGISTRY)
    for model in REGISTRY:
        answer = client.post(
            "/api/query",
            json={"__model__": model.key, "__options__": {"limit": 1000}},
            headers=headers,
        ).json()
        store.put(answer["items"])
    return store


def expected_locations(case: dict[str, Any], locations: dict[str, str]) -> list[str]:
    return [locations[key] for key in case["expect"]]


@pytest.mark.parametrize("case_file", CASES, ids=[c.stem for c in CASES])
def test_case(backend: Backend, case_file: Path) -> None:
    case = json.loads(case_file.read_text())
    query = substitute(case["query"], backend.locations)
    if "error_path" in case:
        with pytest.raises(QueryValidationError) as caught:
            backend.run(query)
        assert caught.value.path == case["error_path"], caught.value.message
        return
    got = backend.run(query)
    want = expected_locations(case, backend.locations)
    if case.get("ordered"):
        assert got == want
    else:
        assert sorted(got) == sorted(want)


def test_there_are_enough_cases() -> None:
    errors = sum("error_path" in json.loads(c.read_text()) for c in CASES)
    assert len(CASES) >= 80 and errors >= 20


# Generated queries: all three backends must agree ------------------------------------------

VALUES: dict[str, dict[str, list[Any]]] = {}
for entry in FIXTURE["objects"]:
    for name, value in entry["data"].items():
        field = REGISTRY.model(entry["model"]).field(name)
        if field is not None and not isinstance(value, dict | list):
            VALUES.setdefault(entry["model"], {}).setdefault(name, []).append(value)

OPERATORS = [
    "__exact__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
    "__contains__",
    "__icontains__",
    "__startswith__",
    "__iendswith__",
    "__isnull__",
]


@st.composite
def conditions(draw: Any, model_key: str, depth: int = 0) -> dict[str, Any]:
    model = REGISTRY.model(model_key)
    fields = VALUES.get(model_key, {})
    out: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 2))):
        choice = draw(st.integers(0, 4))
        if choice <= 2 and fields:
            name = draw(st.sampled_from(sorted(fields)))
            field = REGISTRY.any_field(model, name)
            assert field is not None
            value = draw(st.sampled_from(fields[name]))
            ops = [op for op in OPERATORS if _suits(op, field.kind, value)]
            op = draw(st.sampled_from(ops))
            operand = True if op == "__isnull__" else value
            if draw(st.booleans()):
                out[name] = {"__not__": {op: operand}}
            else:
                out[name] = {op: operand}
        elif choice == 3 and model.relations and depth < 2:
            rel = draw(st.sampled_from(model.relations))
            out[rel.name] = draw(conditions(REGISTRY.parent(model, rel.name).key, depth + 1))
        elif depth < 2 and REGISTRY.children(model):
            plural = draw(st.sampled_from(sorted(REGISTRY.children(model))))
            child = REGISTRY.children(model)[plural].child.key
            out[plural] = draw(conditions(child, depth + 1))
    if draw(st.integers(0, 5)) == 0:
        return {"__or__": [out, draw(conditions(model_key, depth + 1))]}
    return out


def _suits(op: str, kind: str, value: Any) -> bool:
    if op == "__isnull__":
        return True
    if kind in ("json", "array"):
        return False  # only __isnull__ applies
    if value is None:
        return op == "__exact__"  # null is a value only for equality
    if isinstance(value, bool) or kind == "bool":
        return op == "__exact__"
    if op in ("__contains__", "__icontains__", "__startswith__", "__iendswith__"):
        return kind in ("str", "text")
    return True


MODELS = [
    "experiment/subject",
    "experiment/experiment",
    "experiment/dataset",
    "inventory/item",
    "inventory/sample",
]


@pytest.fixture(scope="module")
def all_backends(tmp_path_factory, postgres_server) -> Iterator[list[Backend]]:
    """The three backends at once (PostgreSQL only where a server is available)."""
    stack: list[Any] = []
    made: list[Backend] = []
    kinds = BACKENDS if postgres_server else ["sqlite", "local"]
    for kind in kinds:
        gen = backend.__wrapped__(  # type: ignore[attr-defined]
            type("R", (), {"param": kind})(), tmp_path_factory, postgres_server
        )
        made.append(next(gen))
        stack.append(gen)
    yield made
    for gen in stack:
        next(gen, None)


@settings(
    max_examples=int(os.environ.get("LABSTORE_CONFORMANCE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_queries_agree_everywhere(all_backends: list[Backend], data: Any) -> None:
    model = data.draw(st.sampled_from(MODELS))
    query = {
        "__model__": model,
        "__query__": data.draw(conditions(model)),
        "__options__": {"limit": 1000},
    }
    answers = []
    for b in all_backends:
        keys = {loc: key for key, loc in b.locations.items()}
        answers.append(sorted(keys[loc] for loc in b.run(query)))
    assert all(a == answers[0] for a in answers), (query, answers)
