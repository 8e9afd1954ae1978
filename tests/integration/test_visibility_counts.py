"""Counts under the visibility rule: the plan follows the data, the answer stays exact.

A count adds up disjoint parts of the rule (``Visibility.parts``). On SQLite, when a user has
few objects visible without a share, the direct part is found through the owner and safety
indexes instead of walking the filter's index; these tests lower the threshold so a handful of
objects crosses it, and check both sides of it on every database.
"""

from __future__ import annotations

from typing import Any

import pytest

from labstore.query.jsonquery import parse_query
from labstore.server import access
from labstore.server.auth import Principal
from labstore.server.reads import Reader
from labstore.store.engine import read_transaction
from labstore.store.select import count_statement

SAMPLES = "/api/inventory/sample"


def _create(api: Any, headers: dict[str, str], path: str, body: dict[str, Any]) -> str:
    answer = api.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    location: str = answer.json()["location"]
    return location


def _set_access(api: Any, headers: dict[str, str], location: str, **body: Any) -> None:
    answer = api.put(f"/api/{location}/permissions", json=body, headers=headers)
    assert answer.status_code == 200, answer.text


def _count(api: Any, headers: dict[str, str], **params: str) -> int:
    answer = api.get(f"{SAMPLES}/count", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


@pytest.fixture
def samples(api, make_user, token_for, monkeypatch):
    """olive owns 8 samples named "p" (3 shared with viewer, 1 public) and 2 named "q";
    viewer owns 2 named "p" and 1 named "q". Five or more direct rows count as many."""
    monkeypatch.setattr(access, "FEW_DIRECT_ROWS", 5)
    heads = {name: token_for(make_user(name)) for name in ("olive", "viewer")}
    heads["boss"] = token_for(make_user("boss", admin=True))
    kinds = []  # a sample's name is unique per sample type: one type per sample of a user
    for i in range(10):
        kind = _create(api, heads["olive"], "/api/inventory/sample_type", {"name": f"T{i}"})
        _set_access(api, heads["olive"], kind, safety_level=access.PUBLIC)
        kinds.append(kind.rsplit("/", 1)[1])
    for owner, names, first in (("olive", "p" * 8 + "qq", 0), ("viewer", "ppq", 8)):
        for i, name in enumerate(names):
            kind = kinds[(first + i) % len(kinds)]  # viewer's "p"s where olive has "q"s
            where = _create(api, heads[owner], SAMPLES, {"name": name, "sample_type": kind})
            _set_access(api, heads[owner], where, safety_level=access.PRIVATE)
            if owner == "olive" and i < 3:
                _set_access(api, heads[owner], where, shared_with={"viewer": 1})
            if owner == "olive" and i == 3:
                _set_access(api, heads[owner], where, safety_level=access.PUBLIC)
    return heads


def test_counts_are_exact_on_both_sides_of_the_threshold(api, samples):
    # viewer: 3 own + 1 public = 4 direct (few: they drive), olive: 10 (many: the filter drives).
    assert _count(api, samples["viewer"], name="p") == 2 + 3 + 1
    assert _count(api, samples["viewer"], name="q") == 1
    assert _count(api, samples["viewer"]) == 3 + 3 + 1
    assert _count(api, samples["olive"], name="p") == 8
    assert _count(api, samples["olive"]) == 10
    assert _count(api, samples["boss"], name="p") == 10
    assert _count(api, {}, name="p") == 1  # anonymous: the public one


def _plan(state: Any, user: str, query: dict[str, Any]) -> str:
    reader = Reader(state.db, Principal(id=user, username=user))
    model = state.registry.model("inventory/sample")
    parsed = parse_query(state.registry, {"__model__": "Sample", "__query__": query})
    with read_transaction(state.db.engine) as conn:
        statement = count_statement(reader.compiler, model, parsed.node, conn)
        compiled = statement.compile(conn)
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
    return "\n".join(str(row[3]) for row in rows)


# PostgreSQL chooses from its per-value statistics: there is nothing to steer there.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_finds_a_few_own_rows_through_the_owner_index(state, samples):
    few = _plan(state, "viewer", {"name": "p"})
    many = _plan(state, "olive", {"name": "p"})
    assert "ix_inventory_sample_owner" in few, few
    assert "ix_inventory_sample_owner" not in many, many
