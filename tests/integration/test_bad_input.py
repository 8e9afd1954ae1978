"""Every bad input gets a clear 4xx and changes nothing.

Each check takes a snapshot of every table of the database (all rows, ordered by primary key)
before the bad request and again after it, and checks the error envelope: the HTTP status, the
shape ``{"error": {"code", "message", "status", "details"}}``, a specific ``code``, a message
that names the problem and, for input errors, ``details.path``.

Tables of cases run as loops inside one test (one database each, which keeps the suite fast);
every case is checked and the failures are reported together, each naming its case.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from starlette.testclient import TestClient

from labstore.server.state import AppState
from labstore.store.engine import read_transaction, write_transaction
from tests.conftest import PASSWORD

Headers = dict[str, str]
Snapshot = dict[str, list[tuple[Any, ...]]]

# --------------------------------------------------------------------------------------------
# Helpers


def snapshot(state: AppState) -> Snapshot:
    """Every row of every table the app knows (model tables and the server's own)."""
    out: Snapshot = {}
    with read_transaction(state.db.engine) as conn:
        for table in state.db.tables.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(row) for row in rows]
    return out


def assert_same(before: Snapshot, after: Snapshot) -> None:
    changed = {
        name: {"before": before[name], "after": after.get(name)}
        for name in before
        if before[name] != after.get(name)
    }
    assert not changed, f"the database changed: {changed}"


@contextmanager
def unchanged(state: AppState) -> Iterator[None]:
    """Assert the database holds exactly the same rows after the block as before it."""
    before = snapshot(state)
    yield
    assert_same(before, snapshot(state))


def expect_error(
    response: Any, status: int, code: str, *words: str, path: str | None = None
) -> dict[str, Any]:
    """Check an error answer; returns its ``error`` object."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "status", "details"}, error
    assert error["status"] == status, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    assert isinstance(error["details"], dict), error
    for word in words:
        assert word.lower() in error["message"].lower(), (word, error["message"])
    if path is not None:
        assert error["details"].get("path") == path, error
    result: dict[str, Any] = error
    return result


class Cases:
    """Run every case of a table, collecting failures so one bad case hides no other."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.failures: list[str] = []

    @contextmanager
    def case(self, name: Any, *, check_unchanged: bool = True) -> Iterator[None]:
        before = snapshot(self.state) if check_unchanged else None
        try:
            yield
            if before is not None:
                assert_same(before, snapshot(self.state))
        except AssertionError as exc:
            self.failures.append(f"{name!r}: {exc}")

    def check(self) -> None:
        if self.failures:
            pytest.fail(
                f"{len(self.failures)} case(s) failed:\n" + "\n".join(self.failures),
                pytrace=False,
            )


def count(state: AppState, model: str) -> int:
    table = state.db.tables(state.registry.model(model))
    with read_transaction(state.db.engine) as conn:
        return len(conn.execute(select(table.c.id)).all())


def ident(obj: dict[str, Any]) -> str:
    return str(obj["location"]).rsplit("/", 1)[1]


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """The real app, answering a server failure with its 500 envelope instead of raising.

    Overrides the conftest ``api`` so a 500 is an assertion about a status (naming the case)
    rather than an exception that stops a table of cases at its first failure.
    """
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def cases(state: AppState) -> Cases:
    return Cases(state)


@pytest.fixture
def alice(make_user: Any, token_for: Any) -> Headers:
    make_user("alice", projects=("lab",))
    headers: Headers = token_for("alice")
    return headers


@pytest.fixture
def world(api: TestClient, alice: Headers) -> dict[str, dict[str, Any]]:
    """A lab, a subject in it and an experiment of the subject, all alice's."""

    def post(model: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = api.post(f"/api/{model}", json=data, headers=alice)
        assert answer.status_code == 201, answer.text
        result: dict[str, Any] = answer.json()
        return result

    lab = post("experiment/lab", {"name": "cortexlab", "institution": "UCL", "project": "lab"})
    subject = post(
        "experiment/subject",
        {"nickname": "ZM_1", "lab": lab["location"], "sex": "M", "project": "lab"},
    )
    experiment = post(
        "experiment/experiment",
        {"subject": subject["location"], "date": "2024-01-02", "number": 1, "project": "lab"},
    )
    return {"lab": lab, "subject": subject, "experiment": experiment}


# --------------------------------------------------------------------------------------------
# Unknown models and objects


def test_unknown_model_is_404(api: TestClient, cases: Cases, alice: Headers) -> None:
    for method, url in [
        ("GET", "/api/experiment/nope"),
        ("GET", "/api/experiment/nope/count"),
        ("GET", "/api/nope/lab/ABC"),
        ("POST", "/api/experiment/nope"),
        ("PUT", "/api/experiment/nope/ABC"),
        ("PATCH", "/api/nope/nope/ABC"),
        ("DELETE", "/api/experiment/nope/ABC"),
    ]:
        with cases.case((method, url)):
            model = "/".join(url.split("/")[2:4])
            answer = api.request(method, url, headers=alice, json={"name": "x"})
            error = expect_error(answer, 404, "not_found", model)
            assert "experiment/lab" in error["details"].get("known", []), error
    cases.check()


def test_unknown_object_is_404(api: TestClient, cases: Cases, alice: Headers, world: Any) -> None:
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        with cases.case(method):
            answer = api.request(
                method, "/api/experiment/lab/NOSUCH0000", headers=alice, json={"name": "renamed"}
            )
            expect_error(answer, 404, "not_found", "NOSUCH0000")
    cases.check()


# --------------------------------------------------------------------------------------------
# Filters, ordering, paging

BAD_FILTER_KEYS: list[tuple[str, dict[str, Any], str, list[str]]] = [
    # (model, query parameters, details.path, words the message must contain)
    ("experiment/subject", {"colour": "red"}, "colour", ["colour"]),
    ("experiment/subject", {"nickname__near": "x"}, "nickname__near", ["near", "nickname"]),
    (
        "experiment/experiment",
        {"number__icontains": "1"},
        "number__icontains",
        ["icontains", "number"],
    ),
    ("experiment/subject", {"sex__gt__lt": "M"}, "sex__gt__lt", ["gt__lt"]),
    ("experiment/subject", {"cage__name": "x"}, "cage__name", ["cage"]),
    (
        "experiment/subject",
        {"lab__building__icontains": "x"},
        "lab__building__icontains",
        ["building", "experiment/lab"],
    ),
    ("experiment/experiment", {"subject__lab__colour": "x"}, "subject__lab__colour", ["colour"]),
    ("experiment/subject", {"lab__icontains": "x"}, "lab__icontains", ["icontains", "lab"]),
    ("experiment/subject", {"experiments": "x"}, "experiments", ["experiments"]),
    ("experiment/subject", {"nickname__": "x"}, "nickname__", ["malformed"]),
    ("experiment/subject", {"nickname": ["a", "b"]}, "nickname", ["more than once"]),
    ("experiment/subject", {"nickname__in": ""}, "nickname__in", ["in"]),
    ("experiment/experiment", {"number__range": "1"}, "number__range", ["range"]),
]


def test_bad_filter_key_is_invalid_query(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    for model, params, path, words in BAD_FILTER_KEYS:
        for endpoint in ("", "/count"):
            with cases.case((endpoint, params)):
                answer = api.get(f"/api/{model}{endpoint}", params=params, headers=alice)
                error = expect_error(answer, 400, "invalid_query", *words, path=path)
                if "has no field" in error["message"]:
                    assert error["details"]["known"], error
    cases.check()


BAD_FILTER_VALUES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("experiment/experiment", {"number": "abc"}, "number", ["integer", "abc"]),
    ("experiment/experiment", {"number__gt": "1.5"}, "number__gt", ["integer"]),
    ("experiment/experiment", {"date__gt": "not-a-date"}, "date__gt", ["date", "not-a-date"]),
    ("experiment/experiment", {"date": "2024-02-30"}, "date", ["date"]),
    ("experiment/experiment", {"start_time__lt": "yesterday"}, "start_time__lt", ["date-time"]),
    ("experiment/experiment", {"number__in": "1,x"}, "number__in[1]", ["integer"]),
    ("experiment/experiment", {"created__gte": "2024-13-01"}, "created__gte", ["date-time"]),
    (
        "experiment/subject",
        {"birth_date__isnull": "maybe"},
        "birth_date__isnull",
        ["true or false"],
    ),
    ("experiment/subject", {"lab": "experiment/subject/ABC"}, "lab", ["experiment/lab"]),
]


def test_malformed_filter_value_is_400(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    for model, params, path, words in BAD_FILTER_VALUES:
        for endpoint in ("", "/count"):
            with cases.case((endpoint, params)):
                answer = api.get(f"/api/{model}{endpoint}", params=params, headers=alice)
                expect_error(answer, 400, "invalid_input", *words, path=path)
    cases.check()


def test_bad_limit_is_400(api: TestClient, cases: Cases, alice: Headers, world: Any) -> None:
    for limit in ("0", "-1", "1001", "1000000", "x", "1.5", "", "9" * 5000):
        with cases.case(limit[:20]):
            answer = api.get("/api/experiment/subject", params={"limit": limit}, headers=alice)
            expect_error(answer, 400, "invalid_input", "limit", path="limit")
    cases.check()


def test_bad_order_by_is_invalid_query(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    for model, order_by, bad in [
        ("experiment/subject", "colour", "colour"),
        ("experiment/subject", "-colour", "colour"),
        ("experiment/subject", "nickname,-weight", "weight"),
        ("experiment/subject", "experiments", "experiments"),
        ("experiment/subject", "lab__name", "lab__name"),
        ("experiment/experiment", "-projects", "projects"),  # a JSON field
    ]:
        with cases.case(order_by):
            answer = api.get(f"/api/{model}", params={"order_by": order_by}, headers=alice)
            expect_error(answer, 400, "invalid_query", bad, path=f"order_by.{bad}")
    cases.check()


def _cursor(payload: Any) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_bogus_cursor_is_400(api: TestClient, cases: Cases, alice: Headers) -> None:
    for i in range(3):
        created = api.post("/api/experiment/lab", json={"name": f"lab-{i}"}, headers=alice)
        assert created.status_code == 201, created.text
    first = api.get("/api/experiment/lab", params={"limit": 1}, headers=alice).json()
    real = first["next"]
    assert real
    payload = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    bogus = [
        "nonsense",
        "!!!",
        "e30",  # {}
        _cursor([1, 2]),
        _cursor("text"),
        _cursor({"o": payload["o"], "v": payload["v"][:1]}),
        _cursor({"o": "000000000000", "v": payload["v"]}),
        _cursor({"o": payload["o"], "v": ["not-a-time", payload["v"][1]]}),
        _cursor({"o": payload["o"], "v": [payload["v"][0], {"an": "object"}]}),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ]
    for cursor in bogus:
        with cases.case(cursor):
            answer = api.get(
                "/api/experiment/lab", params={"limit": 1, "cursor": cursor}, headers=alice
            )
            expect_error(answer, 400, "invalid_input", "cursor", path="cursor")
    # A cursor of one listing is refused by another order and by another model.
    for url, params in [
        ("/api/experiment/lab", {"limit": 1, "cursor": real, "order_by": "-name"}),
        ("/api/experiment/subject", {"limit": 1, "cursor": real}),
    ]:
        with cases.case((url, params)):
            answer = api.get(url, params=params, headers=alice)
            expect_error(answer, 400, "invalid_input", "cursor", path="cursor")
    cases.check()


def test_out_of_range_integer_filter_is_not_a_server_error(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    """An integer no column can hold matches nothing or is refused (400), never a 500."""
    everything = [world["experiment"]["location"]]  # its number is 1
    for value in (2**31, 2**63, 10**30, -(10**30)):
        for params, matches in [
            ({"number": value}, []),
            ({"number__gt": value}, everything if value < 0 else []),
            ({"number__in": f"1,{value}"}, everything),
        ]:
            with cases.case(params):
                answer = api.get("/api/experiment/experiment", params=params, headers=alice)
                assert answer.status_code in (200, 400), (answer.status_code, answer.text)
                if answer.status_code == 400:
                    expect_error(answer, 400, "invalid_input", "number")
                else:
                    found = [item["location"] for item in answer.json()["items"]]
                    assert found == matches, found
    cases.check()


def test_unrepresentable_datetime_filter_is_400(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    """A date-time whose UTC form falls outside years 1-9999 is bad input, not a 500."""
    for value in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"):
        with cases.case(value):
            answer = api.get(
                "/api/experiment/experiment", params={"start_time__lt": value}, headers=alice
            )
            expect_error(answer, 400, "invalid_input", "start_time", path="start_time__lt")
    cases.check()


# --------------------------------------------------------------------------------------------
# Creating objects


def test_create_with_unknown_field(api: TestClient, state: AppState, alice: Headers) -> None:
    with unchanged(state):
        answer = api.post("/api/experiment/lab", json={"name": "x", "colour": "red"}, headers=alice)
        error = expect_error(answer, 400, "invalid_input", "colour", path="colour")
    assert "institution" in error["details"]["known"]


WRONG_TYPES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    ("experiment/experiment", {"number": "three"}, "number", ["integer", "three"]),
    ("experiment/experiment", {"number": "3"}, "number", ["integer"]),
    ("experiment/experiment", {"number": 1.5}, "number", ["integer"]),
    ("experiment/experiment", {"number": True}, "number", ["integer"]),
    ("experiment/experiment", {"task_protocol": 12}, "task_protocol", ["string"]),
    ("experiment/experiment", {"date": "2024-02-30"}, "date", ["date"]),
    ("experiment/experiment", {"date": "02/01/2024"}, "date", ["date"]),
    ("experiment/experiment", {"date": 20240102}, "date", ["date"]),
    ("experiment/experiment", {"start_time": "noon"}, "start_time", ["date-time"]),
    ("experiment/experiment", {"qc": "GREAT"}, "qc", ["GREAT", "PASS"]),
    ("experiment/dataset", {"default_revision": "yes"}, "default_revision", ["true or false"]),
    ("experiment/dataset", {"default_revision": 1}, "default_revision", ["true or false"]),
    ("experiment/dataset", {"size": "big"}, "size", ["integer"]),
    ("experiment/dataset", {"name": ["a.npy"]}, "name", ["string"]),
    ("experiment/subject", {"nickname": {"a": 1}}, "nickname", ["string"]),
]


def test_create_with_wrong_type(api: TestClient, cases: Cases, alice: Headers, world: Any) -> None:
    for model, data, path, words in WRONG_TYPES:
        base: dict[str, Any] = {
            "experiment/experiment": {
                "date": "2024-03-01",
                "subject": world["subject"]["location"],
            },
            "experiment/dataset": {"name": "a.npy", "experiment": world["experiment"]["location"]},
            "experiment/subject": {},
        }[model]
        with cases.case((model, data)):
            answer = api.post(f"/api/{model}", json={**base, **data}, headers=alice)
            expect_error(answer, 400, "invalid_input", path, *words, path=path)
    cases.check()


def test_create_without_a_required_field(api: TestClient, cases: Cases, alice: Headers) -> None:
    for model, data, path in [
        ("experiment/lab", {"institution": "UCL"}, "name"),
        ("experiment/lab", {"name": None}, "name"),
        ("experiment/lab", {}, "name"),
        ("experiment/subject", {"sex": "M"}, "nickname"),
        ("experiment/experiment", {"date": "2024-01-02"}, "subject"),
        ("experiment/dataset", {"name": "x.npy"}, "experiment"),
    ]:
        with cases.case((model, data)):
            answer = api.post(f"/api/{model}", json=data, headers=alice)
            expect_error(answer, 400, "invalid_input", path, "required", path=path)
    cases.check()


def test_patch_cannot_clear_a_required_field(
    api: TestClient, state: AppState, alice: Headers, world: Any
) -> None:
    with unchanged(state):
        answer = api.patch(f"/api/{world['lab']['location']}", json={"name": None}, headers=alice)
        expect_error(answer, 400, "invalid_input", "name", "required", path="name")


def test_create_with_value_not_in_choices(api: TestClient, state: AppState, alice: Headers) -> None:
    with unchanged(state):
        answer = api.post(
            "/api/experiment/subject", json={"nickname": "a", "sex": "X"}, headers=alice
        )
        error = expect_error(answer, 400, "invalid_input", "'X'", "'M'", path="sex")
    assert list(error["details"]["choices"]) == ["M", "F", "U"]


def test_create_with_too_long_string(api: TestClient, state: AppState, alice: Headers) -> None:
    with unchanged(state):
        answer = api.post("/api/experiment/lab", json={"name": "x" * 256}, headers=alice)
        expect_error(answer, 400, "invalid_input", "name", "255", path="name")
    ok = api.post("/api/experiment/lab", json={"name": "x" * 255}, headers=alice)
    assert ok.status_code == 201, ok.text


def test_create_with_bad_relation(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    subject = ident(world["subject"])
    for lab, words in [
        ("experiment/lab/NOSUCH0000", ["no experiment/lab", "NOSUCH0000"]),
        ("NOSUCH0000", ["no experiment/lab"]),
        (f"experiment/subject/{subject}", ["not a experiment/lab"]),
        (f"core/file/{subject}", ["experiment/lab"]),
        ({"location": f"experiment/subject/{subject}"}, ["experiment/lab"]),
        (12, ["experiment/lab"]),
        ("", ["experiment/lab"]),
        (["experiment/lab/X"], ["experiment/lab"]),
        ({"ref": "l1"}, ["batch"]),  # references only work inside /api/batch
    ]:
        with cases.case(lab):
            answer = api.post(
                "/api/experiment/subject", json={"nickname": "n2", "lab": lab}, headers=alice
            )
            expect_error(answer, 400, "invalid_input", *words, path="lab")
    cases.check()


def test_create_with_bad_body(api: TestClient, cases: Cases, alice: Headers) -> None:
    for content, content_type, words in [
        (b"{bad", "application/json", ["malformed JSON"]),
        (b'{"name": "x",}', "application/json", ["malformed JSON"]),
        (b"", "application/json", ["body"]),
        (b"", None, ["body"]),
        (b"[]", "application/json", ["JSON object"]),
        (b'[{"name": "x"}]', "application/json", ["JSON object"]),
        (b'"x"', "application/json", ["JSON object"]),
        (b"42", "application/json", ["JSON object"]),
        (b'{"name": "x"}', "text/plain", ["body"]),
    ]:
        headers = dict(alice)
        if content_type:
            headers["Content-Type"] = content_type
        with cases.case((content, content_type)):
            answer = api.post("/api/experiment/lab", content=content, headers=headers)
            expect_error(answer, 400, "invalid_input", *words, path="body")
    cases.check()


def test_nan_and_infinity_in_a_json_field_are_400(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    """Python's JSON parser accepts NaN and Infinity, but no JSON answer can carry them."""
    subject = world["subject"]["location"]
    for day, bad in enumerate(("NaN", "Infinity", "[1, -Infinity]"), start=10):
        content = f'{{"subject": "{subject}", "date": "2024-05-{day}", "projects": {bad}}}'
        with cases.case(bad, check_unchanged=False):
            before = snapshot(cases.state)
            answer = api.post(
                "/api/experiment/experiment",
                content=content.encode(),
                headers={**alice, "Content-Type": "application/json"},
            )
            changed = snapshot(cases.state) != before
            assert answer.status_code == 400 and not changed, (
                answer.status_code,
                "database changed" if changed else "database unchanged",
                answer.text,
            )
            expect_error(answer, 400, "invalid_input", path="projects")
    cases.check()


def test_out_of_range_integer_is_not_a_server_error(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    """An integer the database cannot store is refused (400); one it stores comes back."""
    for day, value in enumerate((2**31, 2**63, 10**30, -(2**63) - 1), start=10):
        data = {"subject": world["subject"]["location"], "date": f"2024-06-{day}", "number": value}
        with cases.case(value, check_unchanged=False):
            before = snapshot(cases.state)
            answer = api.post("/api/experiment/experiment", json=data, headers=alice)
            assert answer.status_code in (201, 400), (answer.status_code, answer.text)
            if answer.status_code == 400:
                expect_error(answer, 400, "invalid_input", "number", path="number")
                assert_same(before, snapshot(cases.state))
            else:
                stored = api.get(f"/api/{answer.json()['location']}", headers=alice)
                assert stored.json()["number"] == value
    with cases.case("PATCH 2**31", check_unchanged=False):
        before = snapshot(cases.state)
        answer = api.patch(
            f"/api/{world['experiment']['location']}", json={"number": 2**31}, headers=alice
        )
        assert answer.status_code in (200, 400), (answer.status_code, answer.text)
        if answer.status_code == 400:
            assert_same(before, snapshot(cases.state))
    cases.check()


def test_unrepresentable_datetime_is_400(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    """A date-time whose UTC form falls outside years 1-9999 is bad input, not a 500."""
    for value in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"):
        with cases.case(value):
            data = {
                "subject": world["subject"]["location"],
                "date": "2024-06-01",
                "start_time": value,
            }
            answer = api.post("/api/experiment/experiment", json=data, headers=alice)
            expect_error(answer, 400, "invalid_input", "start_time", path="start_time")
    cases.check()


def test_nul_character_in_writes_is_stored_faithfully_or_refused(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    """PostgreSQL text cannot hold U+0000: the server must refuse it (400), not fail (500)."""
    for method, url, data, path in [
        ("POST", "/api/experiment/subject", {"nickname": "a\x00b"}, "nickname"),
        ("PATCH", f"/api/{world['subject']['location']}", {"description": "a\x00b"}, "description"),
    ]:
        with cases.case((method, path), check_unchanged=False):
            before = snapshot(cases.state)
            answer = api.request(method, url, json=data, headers=alice)
            assert answer.status_code in (200, 201, 400), (answer.status_code, answer.text)
            if answer.status_code == 400:
                expect_error(answer, 400, "invalid_input", path, path=path)
                assert_same(before, snapshot(cases.state))
            else:
                again = api.get(f"/api/{answer.json()['location']}", headers=alice)
                assert again.json()[path] == "a\x00b"
    cases.check()


def test_nul_character_in_reads_is_not_a_server_error(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    for params in ({"nickname": "a\x00b"}, {"lab": "A\x00B"}, {"nickname__in": "a,\x00"}):
        with cases.case(params):
            listing = api.get("/api/experiment/subject", params=params, headers=alice)
            assert listing.status_code in (200, 400), (listing.status_code, listing.text)
            if listing.status_code == 200:
                assert listing.json()["items"] == []
    with cases.case("GET one"):
        one = api.get("/api/experiment/subject/A%00B", headers=alice)
        assert one.status_code in (400, 404), (one.status_code, one.text)
    with cases.case("login"):
        login = api.post("/api/auth/token", json={"username": "al\x00ice", "password": "pw"})
        expect_error(login, 401, "authentication_failed")
    cases.check()


# --------------------------------------------------------------------------------------------
# Authentication


def test_bad_or_missing_token_is_401(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    calls = [
        ("GET", "/api/me"),
        ("GET", "/api/experiment/lab"),
        ("GET", "/api/experiment/lab/count"),
        ("GET", f"/api/{world['lab']['location']}"),
        ("POST", "/api/experiment/lab"),
        ("PATCH", f"/api/{world['lab']['location']}"),
        ("PUT", f"/api/{world['lab']['location']}"),
        ("DELETE", f"/api/{world['lab']['location']}"),
        ("POST", "/api/batch"),
        ("DELETE", "/api/auth/token"),
    ]
    for authorization in (
        None,
        "Bearer nonsense",
        "Bearer ",
        "Bearer",
        "Basic YWxpY2U6cHc=",
        "Token abc",
        "nonsense",
        alice["Authorization"] + "x",
    ):
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, url in calls:
            if authorization is None and method == "GET" and url != "/api/me":
                continue  # no credentials at all: an anonymous reader (see the next test)
            with cases.case((authorization, method, url)):
                answer = api.request(method, url, headers=headers, json={"name": "x"})
                error = expect_error(answer, 401, "authentication_failed")
                message = error["message"].lower()
                assert "token" in message or "log in" in message, error
    cases.check()


def test_anonymous_readers_see_only_public_objects(
    api: TestClient, alice: Headers, world: Any
) -> None:
    lab = world["lab"]["location"]
    assert api.get("/api/experiment/lab").json()["items"] == []
    assert api.get("/api/experiment/lab/count").json() == {"count": 0}
    expect_error(api.get(f"/api/{lab}"), 404, "not_found")
    made_public = api.put(f"/api/{lab}/permissions", json={"safety_level": 3}, headers=alice)
    assert made_public.status_code == 200, made_public.text
    assert api.get(f"/api/{lab}").json()["location"] == lab
    assert [i["location"] for i in api.get("/api/experiment/lab").json()["items"]] == [lab]
    expect_error(api.patch(f"/api/{lab}", json={"name": "x"}), 401, "authentication_failed")


def test_expired_token_is_401(api: TestClient, state: AppState, make_user: Any) -> None:
    make_user("alice")
    login = api.post("/api/auth/token", json={"username": "alice", "password": PASSWORD})
    token = login.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/me", headers=headers).status_code == 200
    tokens = state.db.table("auth_token")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with write_transaction(state.db.engine) as conn:
        changed = conn.execute(
            update(tokens)
            .where(tokens.c.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires=past)
        )
        assert changed.rowcount == 1
    with unchanged(state):
        expect_error(api.get("/api/me", headers=headers), 401, "authentication_failed", "expired")
        answer = api.post("/api/experiment/lab", json={"name": "x"}, headers=headers)
        expect_error(answer, 401, "authentication_failed", "expired")


def test_revoked_token_is_401(api: TestClient, state: AppState, make_user: Any) -> None:
    make_user("alice")
    token = api.post("/api/auth/token", json={"username": "alice", "password": PASSWORD}).json()[
        "token"
    ]
    other = api.post("/api/auth/token", json={"username": "alice", "password": PASSWORD}).json()[
        "token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    assert api.delete("/api/auth/token", headers=headers).status_code == 204
    with unchanged(state):
        expect_error(api.get("/api/me", headers=headers), 401, "authentication_failed", "revoked")
        answer = api.post("/api/experiment/lab", json={"name": "x"}, headers=headers)
        expect_error(answer, 401, "authentication_failed", "revoked")
        expect_error(api.delete("/api/auth/token", headers=headers), 401, "authentication_failed")
    # Logging out revokes that token only.
    assert api.get("/api/me", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_wrong_password_and_unknown_user_look_the_same(
    api: TestClient, state: AppState, make_user: Any
) -> None:
    make_user("alice")
    with unchanged(state):
        wrong = api.post("/api/auth/token", json={"username": "alice", "password": "wrong"})
        nobody = api.post("/api/auth/token", json={"username": "mallory", "password": "wrong"})
        first = expect_error(wrong, 401, "authentication_failed", "password")
        second = expect_error(nobody, 401, "authentication_failed", "password")
    assert first == second
    assert "mallory" not in second["message"] and "alice" not in first["message"]


def test_malformed_login_is_400(api: TestClient, cases: Cases, make_user: Any) -> None:
    make_user("alice")
    for body, path in [
        ({"username": "alice"}, "password"),
        ({"password": "x"}, "username"),
        ({"username": "alice", "password": ""}, "password"),
        ({"username": 5, "password": "x"}, "username"),
        ({"username": "alice", "password": ["x"]}, "password"),
        (["alice", "x"], "body"),
    ]:
        with cases.case(body):
            answer = api.post("/api/auth/token", json=body)
            expect_error(answer, 400, "invalid_input", path, path=path)
    cases.check()


# --------------------------------------------------------------------------------------------
# Versions: If-Match


def test_stale_if_match_is_412_and_changes_nothing(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    url = f"/api/{world['lab']['location']}"
    moved = api.patch(url, json={"institution": "UCL London"}, headers={**alice, "If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 2 and moved.headers["ETag"] == '"2"'
    for stale in ('"1"', "1", 'W/"1"', '"3"'):
        headers = {**alice, "If-Match": stale}
        for method, body in [
            ("PATCH", {"institution": "stale"}),
            ("PUT", {"name": "stale"}),
            ("DELETE", None),
        ]:
            with cases.case((stale, method)):
                answer = api.request(method, url, json=body, headers=headers)
                error = expect_error(answer, 412, "version_conflict", "version 2")
                assert error["details"]["current_version"] == 2, error
    cases.check()
    assert api.get(url, headers=alice).json()["institution"] == "UCL London"


def test_malformed_if_match_is_400(
    api: TestClient, cases: Cases, alice: Headers, world: Any
) -> None:
    url = f"/api/{world['lab']['location']}"
    for header in ("abc", '"v1"', '"1.5"', "W/", '""', '"1", "2"'):
        for method in ("PATCH", "PUT", "DELETE"):
            with cases.case((header, method)):
                answer = api.request(
                    method, url, json={"name": "x"}, headers={**alice, "If-Match": header}
                )
                expect_error(answer, 400, "invalid_input", "If-Match", path="If-Match")
    cases.check()


# --------------------------------------------------------------------------------------------
# Batches: all or nothing


def test_batch_with_one_bad_entry_stores_nothing(
    api: TestClient, state: AppState, alice: Headers, world: Any
) -> None:
    entries = [
        {"model": "experiment/lab", "ref": "l1", "data": {"name": "batch-lab"}},
        {
            "model": "experiment/subject",
            "ref": "s1",
            "data": {"nickname": "b1", "lab": {"ref": "l1"}},
        },
        {
            "model": "experiment/experiment",
            "data": {"subject": {"ref": "s1"}, "date": "2024-01-02", "number": "three"},
        },
    ]
    with unchanged(state):
        answer = api.post("/api/batch", json={"objects": entries}, headers=alice)
        expect_error(
            answer,
            400,
            "invalid_input",
            "objects[2].data.number",
            "integer",
            path="objects[2].data.number",
        )
    # The same batch, the bad entry listed first (it is still applied last).
    with unchanged(state):
        answer = api.post("/api/batch", json={"objects": entries[::-1]}, headers=alice)
        expect_error(answer, 400, "invalid_input", path="objects[0].data.number")
    # The good part alone goes through: the failure above was the bad entry's.
    good = api.post("/api/batch", json={"objects": entries[:2]}, headers=alice)
    assert good.status_code == 200, good.text
    assert set(good.json()["refs"]) == {"l1", "s1"}


def test_batch_failing_late_on_a_conflict_stores_nothing(
    api: TestClient, state: AppState, alice: Headers, world: Any
) -> None:
    entries = [
        {"model": "experiment/lab", "ref": "l1", "data": {"name": "fresh-lab"}},
        {"model": "experiment/subject", "data": {"nickname": "b1", "lab": {"ref": "l1"}}},
        {"location": world["lab"]["location"], "data": {"institution": "changed"}},
        {"model": "experiment/lab", "data": {"name": "cortexlab"}},  # taken by world
    ]
    with unchanged(state):
        answer = api.post("/api/batch", json={"objects": entries}, headers=alice)
        expect_error(answer, 409, "conflict", "cortexlab", "exists already")


def test_batch_with_stale_update_stores_nothing(
    api: TestClient, state: AppState, alice: Headers, world: Any
) -> None:
    lab = world["lab"]
    entries = [
        {"model": "experiment/lab", "data": {"name": "new-lab"}},
        {"location": lab["location"], "data": {"institution": "first"}, "if_match": 1},
        {"location": lab["location"], "data": {"institution": "second"}, "if_match": 1},
    ]
    with unchanged(state):
        answer = api.post("/api/batch", json={"objects": entries}, headers=alice)
        error = expect_error(answer, 412, "version_conflict")
    assert error["details"]["current_version"] == 2


MALFORMED_BATCHES: list[tuple[Any, str, list[str]]] = [
    ({"objects": {"a": 1}}, "objects", ["objects"]),
    ({"objects": "x"}, "objects", ["objects"]),
    ({"objects": None}, "objects", ["objects"]),
    ({}, "objects", ["objects"]),
    ([{"model": "experiment/lab", "data": {"name": "x"}}], "objects", ["objects"]),
    ({"objects": [1]}, "objects[0]", ["objects[0]"]),
    ({"objects": [{"data": {"name": "x"}}]}, "objects[0].model", ["model"]),
    (
        {"objects": [{"model": "experiment/nope", "data": {}}]},
        "objects[0].model",
        ["experiment/nope"],
    ),
    ({"objects": [{"model": "experiment/lab", "data": [1]}]}, "objects[0].data", ["JSON object"]),
    (
        {
            "objects": [
                {"model": "experiment/lab", "data": {"name": "a"}},
                {"model": "experiment/subject", "data": {"nickname": "s", "lab": {"ref": "l9"}}},
            ]
        },
        "objects[1].data",
        ["l9", "not defined"],
    ),
    (
        {
            "objects": [
                {"model": "experiment/lab", "ref": "l", "data": {"name": "a"}},
                {"model": "experiment/lab", "ref": "l", "data": {"name": "b"}},
            ]
        },
        "objects[1].ref",
        ["used twice"],
    ),
    (
        {
            "objects": [
                {
                    "model": "experiment/subject",
                    "ref": "a",
                    "data": {"nickname": "a", "lab": {"ref": "b"}},
                },
                {
                    "model": "experiment/subject",
                    "ref": "b",
                    "data": {"nickname": "b", "lab": {"ref": "a"}},
                },
            ]
        },
        "objects",
        ["cycle"],
    ),
    (
        {
            "objects": [
                {
                    "model": "experiment/subject",
                    "ref": "a",
                    "data": {"nickname": "a", "lab": {"ref": "a"}},
                }
            ]
        },
        "objects",
        ["cycle"],
    ),
    ({"objects": [{"location": "nope", "data": {}}]}, "objects[0].location", ["nope"]),
    (
        {"objects": [{"location": "experiment/lab/{lab}", "data": {}, "if_match": "1"}]},
        "objects[0].if_match",
        ["version"],
    ),
    (
        {"objects": [{"location": "experiment/lab/{lab}", "data": {"colour": "red"}}]},
        "objects[0].data.colour",
        ["colour"],
    ),
]


def test_malformed_batch_is_400(api: TestClient, cases: Cases, alice: Headers, world: Any) -> None:
    for body, path, words in MALFORMED_BATCHES:
        text = json.dumps(body).replace("{lab}", ident(world["lab"]))
        with cases.case(text[:120]):
            answer = api.post(
                "/api/batch",
                content=text.encode(),
                headers={**alice, "Content-Type": "application/json"},
            )
            expect_error(answer, 400, "invalid_input", *words, path=path)
    cases.check()


def test_batch_update_of_a_missing_object_is_404(
    api: TestClient, state: AppState, alice: Headers, world: Any
) -> None:
    entries = [
        {"model": "experiment/lab", "data": {"name": "new-lab"}},
        {"location": "experiment/lab/NOSUCH0000", "data": {"institution": "x"}},
    ]
    with unchanged(state):
        answer = api.post("/api/batch", json={"objects": entries}, headers=alice)
        expect_error(answer, 404, "not_found", "objects[1]", "NOSUCH0000", path="objects[1]")


def test_batch_reference_to_the_wrong_model_is_400(
    api: TestClient, state: AppState, alice: Headers
) -> None:
    """``lab: {"ref": ...}`` naming a new subject is as wrong as a subject's location."""
    entries = [
        {"model": "experiment/subject", "ref": "s1", "data": {"nickname": "b1"}},
        {"model": "experiment/subject", "data": {"nickname": "b2", "lab": {"ref": "s1"}}},
    ]
    with unchanged(state):
        answer = api.post("/api/batch", json={"objects": entries}, headers=alice)
        expect_error(answer, 400, "invalid_input", "experiment/lab", path="objects[1].data.lab")


def test_batch_into_a_foreign_project_is_403(
    api: TestClient, state: AppState, alice: Headers, make_user: Any
) -> None:
    make_user("bob", projects=("other",))
    entries = [{"model": "experiment/lab", "data": {"name": "x"}}]
    with unchanged(state):
        answer = api.post(
            "/api/batch", json={"objects": entries, "project": "other"}, headers=alice
        )
        expect_error(answer, 403, "permission_denied", "other")


# --------------------------------------------------------------------------------------------
# Read-only models, conflicts, protection, other users


def test_writes_to_users_and_projects_are_403(
    api: TestClient, cases: Cases, alice: Headers
) -> None:
    me = api.get("/api/me", headers=alice).json()
    me_url = f"/api/{me['location']}"
    project = api.get("/api/core/project", params={"name": "lab"}, headers=alice).json()
    project_url = f"/api/{project['items'][0]['location']}"
    for name, method, url, body in [
        ("create user", "POST", "/api/core/user", {"username": "eve"}),
        ("patch user", "PATCH", me_url, {"is_admin": True}),
        ("put user", "PUT", me_url, {"username": "alice", "is_admin": True}),
        ("delete user", "DELETE", me_url, None),
        ("create project", "POST", "/api/core/project", {"name": "mine"}),
        ("patch project", "PATCH", project_url, {"description": "x"}),
        ("delete project", "DELETE", project_url, None),
        (
            "batch create user",
            "POST",
            "/api/batch",
            {"objects": [{"model": "core/user", "data": {"username": "eve"}}]},
        ),
        (
            "batch patch user",
            "POST",
            "/api/batch",
            {"objects": [{"location": me["location"], "data": {"is_admin": True}}]},
        ),
    ]:
        with cases.case(name):
            answer = api.request(method, url, json=body, headers=alice)
            expect_error(answer, 403, "permission_denied", "read-only")
    cases.check()
    assert api.get("/api/me", headers=alice).json()["is_admin"] is False


def test_duplicate_unique_value_is_409(
    api: TestClient, state: AppState, alice: Headers, world: Any
) -> None:
    with unchanged(state):
        answer = api.post("/api/experiment/lab", json={"name": "cortexlab"}, headers=alice)
        error = expect_error(answer, 409, "conflict", "cortexlab", "exists already")
        assert error["details"]["fields"] == ["name"]
        # (nickname, lab) together
        answer = api.post(
            "/api/experiment/subject",
            json={"nickname": "ZM_1", "lab": world["lab"]["location"]},
            headers=alice,
        )
        expect_error(answer, 409, "conflict", "ZM_1", "exists already")
    # Renaming onto a taken name.
    second = api.post("/api/experiment/lab", json={"name": "churchlandlab"}, headers=alice)
    assert second.status_code == 201
    with unchanged(state):
        answer = api.patch(
            f"/api/{second.json()['location']}", json={"name": "cortexlab"}, headers=alice
        )
        expect_error(answer, 409, "conflict", "cortexlab")
    listed = api.get("/api/experiment/lab", params={"name": "cortexlab"}, headers=alice)
    assert len(listed.json()["items"]) == 1
    assert count(state, "experiment/lab") == 2


def test_duplicate_unique_value_of_an_invisible_object_is_409(
    api: TestClient, state: AppState, make_user: Any, token_for: Any, world: Any
) -> None:
    make_user("bob", projects=("other",))
    bob = token_for("bob")
    with unchanged(state):
        answer = api.post("/api/experiment/lab", json={"name": "cortexlab"}, headers=bob)
        expect_error(answer, 409, "conflict", "exists already")


def test_deleting_a_protected_parent_is_409(
    api: TestClient, state: AppState, alice: Headers, world: Any
) -> None:
    with unchanged(state):
        answer = api.delete(f"/api/{world['lab']['location']}", headers=alice)
        error = expect_error(answer, 409, "conflict", "subjects", "delete them first")
        assert error["details"]["children"] == "experiment/subject"
        answer = api.delete(f"/api/{world['subject']['location']}", headers=alice)
        expect_error(answer, 409, "conflict", "experiments")
    assert api.get(f"/api/{world['lab']['location']}", headers=alice).status_code == 200


def test_another_users_objects_are_404(
    api: TestClient, cases: Cases, make_user: Any, token_for: Any, world: Any
) -> None:
    make_user("bob", projects=("other",))
    bob = token_for("bob")
    for name in ("lab", "subject", "experiment"):
        url = f"/api/{world[name]['location']}"
        for method, params, body, extra in [
            ("GET", None, None, {}),
            ("GET", {"recursive": 1}, None, {}),
            ("PATCH", None, {"institution": "mine"}, {}),
            ("PATCH", None, {"institution": "mine"}, {"If-Match": '"1"'}),
            ("PUT", None, {"name": "mine"}, {}),
            ("DELETE", None, None, {}),
        ]:
            with cases.case((name, method, extra)):
                answer = api.request(
                    method, url, params=params, json=body, headers={**bob, **extra}
                )
                error = expect_error(answer, 404, "not_found", ident(world[name]))
                assert "alice" not in error["message"]
    # Nor can bob reach them through filters, counts, relations or batches.
    with cases.case("filter"):
        listed = api.get(
            "/api/experiment/subject", params={"lab": world["lab"]["location"]}, headers=bob
        )
        assert listed.status_code == 200 and listed.json()["items"] == [], listed.text
    with cases.case("count"):
        counted = api.get(
            "/api/experiment/subject/count", params={"lab__name": "cortexlab"}, headers=bob
        )
        assert counted.json() == {"count": 0}, counted.text
    with cases.case("relation"):
        answer = api.post(
            "/api/experiment/subject",
            json={"nickname": "b", "lab": world["lab"]["location"]},
            headers=bob,
        )
        expect_error(answer, 400, "invalid_input", "no experiment/lab", path="lab")
    with cases.case("batch"):
        answer = api.post(
            "/api/batch",
            headers=bob,
            json={
                "objects": [{"location": world["lab"]["location"], "data": {"institution": "x"}}]
            },
        )
        expect_error(answer, 404, "not_found", path="objects[0]")
    cases.check()


def test_create_in_a_foreign_project_is_403(
    api: TestClient, state: AppState, alice: Headers, make_user: Any
) -> None:
    make_user("bob", projects=("other",))
    with unchanged(state):
        answer = api.post(
            "/api/experiment/lab", json={"name": "x", "project": "other"}, headers=alice
        )
        expect_error(answer, 403, "permission_denied", "other")
        answer = api.post("/api/experiment/lab", json={"name": "x", "project": 7}, headers=alice)
        expect_error(answer, 400, "invalid_input", "project", path="project")


# --------------------------------------------------------------------------------------------
# Random input: never a 500, never a change on refusal

# Strings that have broken servers before, mixed in so 50 examples are likely to try them.
TRICKY_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "M",
        "2024-02-30",
        "0001-01-01",
        "experiment/lab/X",
        "x" * 300,
        "\u2603",
        "'; DROP TABLE experiment_subject; --",
        "%",
        "_",
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | TRICKY_STRINGS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
SUBJECT_KEYS = (
    "nickname",
    "species",
    "strain",
    "sex",
    "birth_date",
    "description",
    "lab",
    "project",
    "id",
    "location",
    "version",
)
SUBJECT_BODIES = st.one_of(
    JSON_VALUES,  # anything as the body
    st.fixed_dictionaries(  # anything as a field's value
        {"nickname": JSON_VALUES},
        optional={key: JSON_VALUES for key in SUBJECT_KEYS if key != "nickname"},
    ),
    st.fixed_dictionaries(  # plausible subjects, so some are stored
        {"nickname": st.text(min_size=1, max_size=20) | TRICKY_STRINGS},
        optional={
            "sex": st.sampled_from(["M", "F", "U", "X", ""]),
            "birth_date": st.dates().map(str) | st.text(max_size=12) | TRICKY_STRINGS,
            "description": st.text() | TRICKY_STRINGS,
        },
    ),
    st.dictionaries(st.sampled_from(SUBJECT_KEYS) | st.text(max_size=8), JSON_VALUES, max_size=5),
)


@settings(
    deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=SUBJECT_BODIES)
def test_random_json_bodies_never_fail_the_server(
    api: TestClient, state: AppState, alice: Headers, body: Any
) -> None:
    before = snapshot(state)
    answer = api.post("/api/experiment/subject", json=body, headers=alice)
    assert answer.status_code < 500, (body, answer.text)
    if answer.status_code >= 400:
        expect_error(answer, answer.status_code, answer.json()["error"]["code"])
        assert_same(before, snapshot(state))
    else:
        assert answer.status_code == 201, answer.text
        stored = api.get(f"/api/{answer.json()['location']}", headers=alice)
        assert stored.json() == answer.json()


FILTER_KEYS = st.sampled_from(
    [
        "nickname",
        "sex",
        "birth_date",
        "lab",
        "lab__name",
        "experiments__number",
        "experiments__date",
        "experiments__start_time",
        "created",
        "version",
        "id",
    ]
).flatmap(
    lambda name: st.sampled_from(
        ["", "__in", "__gt", "__icontains", "__isnull", "__range", "__startswith", "__exact"]
    ).map(lambda lookup: name + lookup)
)
FILTER_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers().map(str),
    st.dates().map(str),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
)


@settings(
    deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(FILTER_KEYS, FILTER_VALUES, max_size=3),
    order_by=st.none() | st.sampled_from(["nickname", "-birth_date", "lab", "-created"]),
)
def test_random_filters_never_fail_the_server(
    api: TestClient, alice: Headers, world: Any, params: dict[str, str], order_by: str | None
) -> None:
    query = dict(params)
    if order_by:
        query["order_by"] = order_by
    answer = api.get("/api/experiment/subject", params=query, headers=alice)
    assert answer.status_code < 500, (query, answer.text)
    if answer.status_code != 200:
        error = expect_error(answer, 400, answer.json()["error"]["code"])
        assert error["code"] in ("invalid_query", "invalid_input"), error
        assert error["details"].get("path"), error
