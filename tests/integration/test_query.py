"""The JSON query language through the Session and POST /api/query, on every database."""

from __future__ import annotations

import jsonschema
import pytest

import labstore
from labstore.errors import QueryValidationError
from tests.conftest import PASSWORD
from tests.support.inprocess import CountingTransport


@pytest.fixture
def counting(app, make_user, tmp_path):
    """A session for alice whose requests are counted, with a little inventory."""
    make_user("alice", projects=("lab",))
    transport = CountingTransport(app)
    s = labstore.Session(
        {"location": "http://testserver", "username": "alice", "password": PASSWORD},
        file_name=tmp_path / "c.toml",
        transport=transport,
    )
    primer = s.set(s.SampleType.new(name="Primer"))
    plasmid = s.set(s.SampleType.new(name="Plasmid"))
    tube = s.set(s.ObjectType.new(name="Tube", sample_type=primer))
    for i in range(6):
        sample = s.set(s.Sample.new(name=f"p{i}", sample_type=primer if i < 4 else plasmid))
        s.set(s.Item.new(sample=sample, object_type=tube, storage="discard" if i == 0 else f"M{i}"))
    s.clear_cache()
    transport.requests.clear()
    yield s, transport
    s.close()


def test_the_aquarium_example_means_what_it_says(counting):
    s, _ = counting
    query = {
        "__model__": "Item",
        "__description__": "Primer items of the last 7 days, not discarded",
        "__query__": {
            "object_type": {"__query__": {"sample_type": {"__query__": {"name": "Primer"}}}},
            "sample": {"sample_type": {"name": "Primer"}},
            "created": {"__time__": {"__days__": -7}},
            "storage": {"__not__": "discard"},
        },
        "__options__": {"limit": 10, "order": "storage"},
    }
    items = s.query(query)
    assert [i.storage for i in items] == ["M1", "M2", "M3"]
    older = {**query, "__query__": {"created": {"__lt__": {"__time__": {"__days__": -7}}}}}
    assert s.query(older) == []


def test_return_preloads_relations_in_the_same_answer(counting):
    s, transport = counting
    items = s.query({"__model__": "Item", "__return__": {"sample": {"sample_type": {}}}})
    assert len(items) == 6
    assert transport.requests == [("POST", "/api/query")]
    names = sorted(i.sample.sample_type.name for i in items)
    assert names == ["Plasmid"] * 2 + ["Primer"] * 4
    assert transport.requests == [("POST", "/api/query")]  # relations came from the cache


def test_children_preloaded_by_plural(counting):
    s, transport = counting
    types = s.query({"__model__": "SampleType", "__return__": {"samples": {"items": {}}}})
    assert transport.requests == [("POST", "/api/query")]
    counts = {t.name: len(t.samples) for t in types}
    storages = sorted(i.storage for t in types for smp in t.samples for i in smp.items)
    assert counts == {"Primer": 4, "Plasmid": 2}
    assert storages == ["M1", "M2", "M3", "M4", "M5", "discard"]
    assert transport.requests == [("POST", "/api/query")]


def test_prefetch_loads_relations_of_many_objects_in_one_request(counting):
    s, transport = counting
    items = s.Item.all()
    items = list(items)
    transport.requests.clear()
    s.prefetch(items, ["sample", "object_type"])
    assert transport.requests == [("POST", "/api/query")]
    assert sorted(i.sample.name for i in items) == [f"p{i}" for i in range(6)]
    assert {i.object_type.name for i in items} == {"Tube"}
    assert transport.requests == [("POST", "/api/query")]


def test_lazy_children_are_cached_and_refreshed_after_a_write(counting):
    s, transport = counting
    primer = s.SampleType.one({"name": "Primer"})
    transport.requests.clear()
    assert len(primer.samples) == 4
    assert len(primer.samples) == 4
    assert len(transport.requests) == 1  # the second read came from the cache
    s.set(s.Sample.new(name="p-new", sample_type=primer))
    assert len(primer.samples) == 5  # storing a child dropped the cached list


def test_json_results_and_dataframes(counting):
    s, _ = counting
    rows = s.query(
        {"__model__": "Sample", "__query__": {"name__in": ["p1", "p2"]}, "__json__": True}
    )
    assert [r["name"] for r in rows] == ["p1", "p2"]
    assert all(isinstance(r, dict) and r["model"] == "inventory/sample" for r in rows)
    frame = s.Sample.where({"sample_type": {"name": "Primer"}}).to_dataframe()
    assert list(frame["name"]) == ["p0", "p1", "p2", "p3"]
    assert {"location", "created", "sample_type"} <= set(frame.columns)
    assert s.query({"__model__": "Item", "__json__": True}).to_dataframe().shape[0] == 6


def test_model_interfaces_take_json_queries_and_django_keys(counting):
    s, _ = counting
    assert s.Sample.count({"sample_type": {"name": "Primer"}}) == 4
    assert s.Sample.count({"sample_type__name": "Primer"}) == 4
    assert [x.name for x in s.Sample.first(2, {"name": {"__ge__": "p2"}})] == ["p2", "p3"]
    assert [x.name for x in s.Sample.last(2, {"__or__": [{"name": "p0"}, {"name": "p5"}]})] == [
        "p0",
        "p5",
    ]
    assert s.Sample.one({"items": {"storage": "discard"}}).name == "p0"
    assert s.SampleType.where({"samples": {"__isnull__": True}}) == []


def test_invalid_queries_name_the_json_path_before_any_request(counting):
    s, transport = counting
    with pytest.raises(QueryValidationError) as caught:
        s.query({"__model__": "Item", "__query__": {"sample": {"sample_type": {"nam": "x"}}}})
    assert caught.value.path == "$.__query__.sample.sample_type.nam"
    assert transport.requests == []
    with pytest.raises(QueryValidationError) as caught:
        s.Sample.where({"__or__": {"name": "x"}})
    assert caught.value.path == "$.__query__.__or__"


def test_the_server_checks_queries_too(api, make_user, token_for):
    make_user("bob")
    headers = token_for("bob")
    bad = api.post(
        "/api/query", json={"__model__": "Item", "__options__": {"limit": 0}}, headers=headers
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_query"
    assert bad.json()["error"]["details"]["path"] == "$.__options__.limit"
    count = api.post("/api/query/count", json={"__model__": "Item"}, headers=headers)
    assert count.json() == {"count": 0}


def test_the_published_schema_describes_valid_queries(api, counting):
    s, _ = counting
    schema = api.get("/api/query/schema").json()
    assert schema == s.query_schema
    jsonschema.Draft202012Validator.check_schema(schema)
    good = {
        "__model__": "Item",
        "__query__": {
            "created": {"__time__": {"__days__": -7}},
            "__or__": [{"storage": ["a", None]}],
        },
        "__options__": {"limit": 1, "order": ["-created"]},
        "__return__": ["sample"],
    }
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"__model__": "Item", "__options__": {"limit": 0}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"__query__": {}}, schema)


def test_paging_follows_cursors_and_offsets(counting, monkeypatch):
    import labstore.client.session as session_module

    s, transport = counting
    monkeypatch.setattr(session_module, "_PAGE", 2)
    names = [x.name for x in s.query({"__model__": "Sample", "__options__": {"offset": 1}})]
    assert names == [f"p{i}" for i in range(1, 6)]
    assert len([r for r in transport.requests if r == ("POST", "/api/query")]) == 3
