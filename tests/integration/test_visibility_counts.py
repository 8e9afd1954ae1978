"""Counts under the visibility rule: the plan follows the data, the answer stays exact.

A count adds up parts of the rule (``Visibility.parts``). When a user has few objects visible
without a share, it counts the shared rows, adds the direct ones found through the owner and
safety indexes, and takes back those that are both; otherwise it adds two disjoint parts.
These tests lower the threshold so a handful of objects crosses it, and check both sides of it
on every database.
"""

from __future__ import annotations

from typing import Any

import pytest

from labstore.query.jsonquery import parse_query
from labstore.server import access
from labstore.server.auth import Principal
from labstore.server.reads import Reader
from labstore.store.order_walk import query_plan
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
    """olive owns 8 samples named "p" (4 shared with viewer, one of them public) and 2 "q";
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
            if owner == "olive" and i <= 3:
                _set_access(api, heads[owner], where, shared_with={"viewer": 1})
            if owner == "olive" and i == 3:  # public and shared: a count must take it once
                _set_access(api, heads[owner], where, safety_level=access.PUBLIC)
    return heads


@pytest.mark.parametrize("few", [0, 5, 1000], ids=["all-many", "threshold-5", "all-few"])
def test_counts_are_exact_on_both_sides_of_the_threshold(api, samples, monkeypatch, few):
    # With 5: viewer has 3 own + 1 public = 4 direct rows (few: shared + direct - both),
    # olive 10 (many: direct + shared-not-direct). 0 and 1000 put everybody on one side.
    monkeypatch.setattr(access, "FEW_DIRECT_ROWS", few)
    assert _count(api, samples["viewer"], name="p") == 2 + 3 + 1
    assert _count(api, samples["viewer"], name="q") == 1
    assert _count(api, samples["viewer"]) == 3 + 3 + 1
    assert _count(api, samples["olive"], name="p") == 8
    assert _count(api, samples["olive"]) == 10
    assert _count(api, samples["boss"], name="p") == 10
    assert _count(api, {}, name="p") == 1  # anonymous: the public one


def _plan(state: Any, user: str, query: dict[str, Any], stats: dict[str, str] | None = None) -> str:
    """SQLite's plan of ``user``'s count, after replacing the statistics of ``stats``'s
    indexes (``sqlite_stat1`` rows) when given."""
    reader = Reader(state.db, Principal(id=user, username=user))
    model = state.registry.model("inventory/sample")
    parsed = parse_query(state.registry, {"__model__": "Sample", "__query__": query})
    with state.db.engine.connect() as conn:
        if stats:
            conn.exec_driver_sql("ANALYZE")
            for index, stat in stats.items():
                conn.exec_driver_sql(
                    "UPDATE sqlite_stat1 SET stat = ? WHERE idx = ?", (stat, index)
                )
            conn.exec_driver_sql("ANALYZE sqlite_schema")  # reload them
        statement = count_statement(reader.compiler, model, parsed.node, conn)
        return "\n".join(query_plan(conn, statement))


# PostgreSQL chooses from its per-value statistics: there is nothing to steer there.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_finds_a_few_own_rows_through_the_owner_index(state, samples):
    few = _plan(state, "viewer", {"name": "p"})
    many = _plan(state, "olive", {"name": "p"})
    assert "ix_inventory_sample_owner" in few, few
    assert "ix_inventory_sample_owner" not in many, many


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_seeks_them_even_when_statistics_say_the_owner_has_every_row(state, samples):
    # A big table of one owner: SQLite's statistics (rows per value, on average) then make
    # "owner = ?" look as if it matched every row, and it would scan a whole index for a
    # user who owns nothing. The parts marked rare must still be sought.
    everything = {
        "ix_inventory_sample_owner": "1000000 1000000",
        "ix_inventory_sample_safety_level_project_acl": "1000000 1000000 1000000 1 1",
    }
    plan = _plan(state, "viewer", {"name": "p"}, stats=everything)
    assert "SEARCH inventory_sample USING INDEX ix_inventory_sample_owner (owner=?)" in plan, plan
    assert "SCAN inventory_sample" not in plan, plan
