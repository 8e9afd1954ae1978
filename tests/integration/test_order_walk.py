"""Pages of a filter many rows match: SQLite walks the order instead of sorting, same rows.

``store.order_walk`` chooses between two plans of one page on SQLite; these tests lower its
thresholds so a handful of samples counts as many, and check that every way of asking (the
sorting plan, the walk, a walk cut short by its budget) gives the very same pages, on both
databases (PostgreSQL always takes its own plan).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from labstore.store import order_walk

SAMPLES = "/api/inventory/sample"


@pytest.fixture
def samples(api, make_user, token_for) -> dict[str, dict[str, str]]:
    """olive owns 9 samples named "common" and 2 "rare"; viewer is shared 5 of the commons."""
    heads = {name: token_for(make_user(name)) for name in ("olive", "viewer")}
    heads["boss"] = token_for(make_user("boss", admin=True))
    for i, name in enumerate(["common"] * 9 + ["rare"] * 2):
        kind = api.post(
            "/api/inventory/sample_type", json={"name": f"T{i}"}, headers=heads["olive"]
        )
        assert kind.status_code == 201, kind.text
        body = {"name": name, "sample_type": kind.json()["location"].rsplit("/", 1)[1]}
        made = api.post(SAMPLES, json=body, headers=heads["olive"])
        assert made.status_code == 201, made.text
        access: dict[str, Any] = {"safety_level": 1}
        if name == "common" and i % 2 == 0:
            access["shared_with"] = {"viewer": 1}
        where = made.json()["location"]
        answer = api.put(f"/api/{where}/permissions", json=access, headers=heads["olive"])
        assert answer.status_code == 200, answer.text
    return heads


def _pages(api: Any, headers: dict[str, str], name: str) -> list[list[str]]:
    """Every page of 2 samples named ``name``, following the cursors: their ids."""
    pages, cursor = [], None
    while True:
        params = {"name": name, "limit": "2", **({"cursor": cursor} if cursor else {})}
        answer = api.get(SAMPLES, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        pages.append([item["id"] for item in answer.json()["items"]])
        cursor = answer.json().get("next")
        if not cursor:
            return pages


@pytest.fixture
def statements(state) -> Iterator[list[str]]:
    """The SELECTs the server runs meanwhile."""
    seen: list[str] = []

    def hook(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    event.listen(state.db.engine, "before_cursor_execute", hook)
    yield seen
    event.remove(state.db.engine, "before_cursor_execute", hook)


def _walked(statements: list[str]) -> bool:
    return any("+(inventory_sample.name" in s for s in statements)


@pytest.mark.parametrize("user", ["boss", "olive", "viewer"])
def test_walking_and_sorting_give_the_same_pages(
    api, state, samples, statements, monkeypatch, user
):
    monkeypatch.setattr(order_walk, "WALK_WHEN_MATCHING", 10**9)  # never walk
    sorted_pages = _pages(api, samples[user], "common")
    assert not _walked(statements)
    monkeypatch.setattr(order_walk, "WALK_WHEN_MATCHING", 3)  # a page's worth is "many"
    walked_pages = _pages(api, samples[user], "common")
    assert walked_pages == sorted_pages
    expected = 5 if user == "viewer" else 9
    assert sum(len(page) for page in sorted_pages) == expected
    assert _walked(statements) == (state.db.engine.dialect.name == "sqlite")


def test_a_walk_cut_short_falls_back_to_sorting(api, state, samples, monkeypatch):
    monkeypatch.setattr(order_walk, "WALK_WHEN_MATCHING", 3)
    whole = _pages(api, samples["viewer"], "common")
    cut: list[bool] = []
    interrupted = order_walk._interrupted

    def spy(error: Any) -> bool:
        cut.append(interrupted(error))
        return cut[-1]

    monkeypatch.setattr(order_walk, "_interrupted", spy)
    monkeypatch.setattr(order_walk, "WALK_BUDGET_STEPS", 0)
    monkeypatch.setattr(order_walk, "_CHECK_EVERY", 1)  # interrupted at its first step
    assert _pages(api, samples["viewer"], "common") == whole
    assert cut == ([True] * len(whole) if state.db.engine.dialect.name == "sqlite" else [])
    # The connection is usable after the interruption, and a few rows never walk.
    assert sum(len(page) for page in _pages(api, samples["viewer"], "rare")) == 0
    assert sum(len(page) for page in _pages(api, samples["olive"], "rare")) == 2
