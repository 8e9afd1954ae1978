"""labstore.errors: one tree, drawn in the docstring, and envelopes that survive HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import labstore.errors as errors
from labstore.errors import (
    InvalidInput,
    LabstoreError,
    NotFound,
    ServerError,
    error_from_envelope,
)

ERROR_CLASSES: list[type[LabstoreError]] = [
    obj
    for name in errors.__all__
    if isinstance(obj := getattr(errors, name), type) and issubclass(obj, BaseException)
]
# Every concrete error the server may send (the base class is never sent by itself).
WIRE_CLASSES = [cls for cls in ERROR_CLASSES if cls is not LabstoreError]


def test_all_names_resolve() -> None:
    for name in errors.__all__:
        assert hasattr(errors, name), name
    assert errors.__all__ == sorted(errors.__all__)


def test_the_documented_classes_are_exported() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert names >= {
        "LabstoreError",
        "ConfigError",
        "InvalidInput",
        "QueryValidationError",
        "AuthenticationError",
        "PermissionDenied",
        "NotFound",
        "Conflict",
        "VersionConflict",
        "ForbiddenRequest",
        "OfflineError",
        "TransportError",
        "ServerError",
    }


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_exception_is_a_labstore_error(cls: type[Exception]) -> None:
    assert issubclass(cls, LabstoreError)


def test_every_labstore_error_subclass_is_exported() -> None:
    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        for sub in cls.__subclasses__():
            found |= subclasses(sub)
        return {c for c in found if c.__module__ == errors.__name__}

    assert subclasses(LabstoreError) <= set(ERROR_CLASSES)


@pytest.mark.parametrize("cls", WIRE_CLASSES, ids=lambda c: c.__name__)
def test_codes_are_unique_and_statuses_are_http(cls: type[LabstoreError]) -> None:
    others = [c for c in ERROR_CLASSES if c is not cls and c.code == cls.code]
    assert others == []
    assert 400 <= cls.status <= 599


def test_documented_inheritance() -> None:
    assert issubclass(errors.QueryValidationError, errors.InvalidInput)
    assert issubclass(errors.VersionConflict, errors.Conflict)
    assert errors.VersionConflict.status == 412
    assert errors.NotFound.status == 404
    assert errors.PermissionDenied.status == 403
    assert errors.AuthenticationError.status == 401
    assert errors.Conflict.status == 409


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_envelope_shape(cls: type[LabstoreError]) -> None:
    err = cls("msg", {"k": 1})
    assert err.envelope() == {
        "error": {"code": cls.code, "message": "msg", "status": cls.status, "details": {"k": 1}}
    }
    assert json.loads(json.dumps(err.envelope())) == err.envelope()
    assert str(err) == "msg"
    assert err.message == "msg"


def test_details_are_copied_and_default_to_empty() -> None:
    given = {"k": 1}
    err = NotFound("gone", given)
    given["k"] = 2
    assert err.details == {"k": 1}
    assert NotFound("gone").details == {}


@pytest.mark.parametrize("cls", WIRE_CLASSES, ids=lambda c: c.__name__)
def test_envelope_round_trips_to_the_same_class(cls: type[LabstoreError]) -> None:
    sent = cls("msg", {"k": 1})
    body = json.loads(json.dumps(sent.envelope()))
    got = error_from_envelope(body, cls.status)
    assert type(got) is cls
    assert got.message == "msg"
    assert got.details == {"k": 1}


@pytest.mark.parametrize("cls", WIRE_CLASSES, ids=lambda c: c.__name__)
def test_the_code_wins_over_the_status(cls: type[LabstoreError]) -> None:
    """A proxy may change the status; the envelope's code still names the class."""
    got = error_from_envelope(cls("msg").envelope(), 500)
    assert type(got) is cls


def test_base_class_envelope_gives_a_labstore_error() -> None:
    got = error_from_envelope(LabstoreError("msg", {"k": 1}).envelope(), 500)
    assert isinstance(got, LabstoreError)
    assert got.message == "msg"
    assert got.details == {"k": 1}


def test_query_validation_error_keeps_its_path() -> None:
    sent = errors.QueryValidationError("bad", {"path": "__query__.name"})
    got = error_from_envelope(sent.envelope(), 400)
    assert isinstance(got, errors.QueryValidationError)
    assert got.path == "__query__.name"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (404, NotFound),
        (500, ServerError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDenied),
        (409, errors.Conflict),
    ],
)
def test_unknown_code_falls_back_on_the_status(status: int, cls: type[LabstoreError]) -> None:
    body = {"error": {"code": "brand_new_code", "message": "m", "status": status, "details": {}}}
    got = error_from_envelope(body, status)
    assert type(got) is cls
    assert got.message == "m"


@pytest.mark.parametrize("status", [418, 422, 429, 400])
def test_unknown_4xx_is_invalid_input(status: int) -> None:
    """A 4xx without a known code is bad input, never a client-side ConfigError."""
    body = {"error": {"code": "brand_new_code", "message": "m", "details": {}}}
    assert type(error_from_envelope(body, status)) is InvalidInput


@pytest.mark.parametrize("status", [500, 501, 599])
def test_unknown_5xx_is_a_server_error(status: int) -> None:
    body = {"error": {"code": "brand_new_code", "message": "m"}}
    assert isinstance(error_from_envelope(body, status), ServerError)


@pytest.mark.parametrize(
    "body",
    [
        "Bad Gateway",
        None,
        [1, 2],
        {"detail": "Not Found"},
        {"error": "flat string"},
        {"error": None},
        b"<html>",
        42,
        {"error": {"code": 5, "message": None, "details": "not a dict"}},
        {"error": {}},
    ],
)
@pytest.mark.parametrize("status", [400, 404, 418, 500, 502, 503])
def test_non_envelope_bodies_still_give_a_labstore_error(body: Any, status: int) -> None:
    got = error_from_envelope(body, status)
    assert isinstance(got, LabstoreError)
    assert isinstance(got.message, str)
    assert isinstance(got.details, dict)


def test_non_envelope_body_is_quoted_and_shortened() -> None:
    got = error_from_envelope("x" * 10_000, 502)
    assert "502" in got.message
    assert len(got.message) < 300
    assert type(error_from_envelope("Not Found", 404)) is NotFound


def test_docstring_draws_every_exception() -> None:
    doc = errors.__doc__ or ""
    for cls in ERROR_CLASSES:
        assert re.search(rf"\b{cls.__name__}\b", doc), cls.__name__


def test_docstring_tree_matches_the_class_tree() -> None:
    """Each class is drawn under its parent: the column of its ``├──``/``└──`` gives the depth."""
    doc = errors.__doc__ or ""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []  # (column of the name, name) from the root down
    for line in doc.splitlines():
        match = re.match(r"^([\s│]*(?:├──|└──)\s*|\s*)([A-Z][A-Za-z]+)(\s|$)", line)
        if not match or not hasattr(errors, match.group(2)):
            continue
        column, name = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= column:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    assert parents.get("LabstoreError", "missing") is None
    for cls in WIRE_CLASSES:
        assert parents.get(cls.__name__) == cls.__base__.__name__, cls.__name__
