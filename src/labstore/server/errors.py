"""The one place errors become HTTP answers: ``{"error": {code, message, status, details}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from labstore.errors import Conflict, InvalidInput, LabstoreError, NotFound, ServerError

log = logging.getLogger("labstore.server")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "authentication_failed"}


def error_response(error: LabstoreError) -> JSONResponse:
    return JSONResponse(error.envelope(), status_code=error.status)


def _describe_validation(exc: RequestValidationError) -> InvalidInput:
    problems = exc.errors()
    first = problems[0] if problems else {}
    location = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    if first.get("type") == "json_invalid":
        message = f"body: malformed JSON ({first.get('ctx', {}).get('error', 'cannot parse')})"
        return InvalidInput(message, {"path": "body"})
    if first.get("type") == "missing" and location == "body":
        return InvalidInput("body: a JSON body is required", {"path": "body"})
    return InvalidInput(f"{location}: {first.get('msg', 'invalid')}", {"path": location})


def install_error_handlers(app: FastAPI) -> None:
    async def on_labstore_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LabstoreError)
        return error_response(exc)

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_describe_validation(exc))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            error: LabstoreError = NotFound(f"no endpoint {request.url.path}")
        else:
            error = InvalidInput(str(exc.detail))
        body = error.envelope()
        body["error"]["status"] = exc.status_code
        body["error"]["code"] = _HTTP_CODES.get(exc.status_code, error.code)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_data_error(request: Request, exc: Exception) -> JSONResponse:
        # Values the schema let through but the database refused (a backstop, not the plan).
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc)
        return error_response(InvalidInput("the database refused a value of this request"))

    async def on_integrity_error(request: Request, exc: Exception) -> JSONResponse:
        # A uniqueness or reference rule caught by the database, outside the writer's checks
        # (which name the fields); the database's own words may quote others' values.
        log.info("integrity error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(Conflict("the change breaks a uniqueness or reference rule"))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ServerError("the server failed; the error is in its log"))

    app.add_exception_handler(LabstoreError, on_labstore_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(Exception, on_unexpected)
