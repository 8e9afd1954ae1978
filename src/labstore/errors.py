"""The one exception tree of labstore, shared by the client and the server.

::

    LabstoreError
     ├── ConfigError            bad or missing client options, unreadable config file
     ├── InvalidInput           400: a request or argument the schema rejects
     │    ├── QueryValidationError   400: a filter or query naming an unknown model, field or lookup
     │    └── IdempotencyKeyReused   422: an Idempotency-Key sent again with a different request
     ├── AuthenticationError    401: no, bad, expired or revoked credentials
     ├── PermissionDenied       403: authenticated, but not allowed to do this
     ├── NotFound               404: no such object, or one the caller may not see
     ├── Conflict               409: the object collides with the server's state
     │    ├── VersionConflict   412: If-Match named a version the server has moved past
     │    ├── RequestInProgress 409: the first request with this Idempotency-Key still runs
     │    └── AnswerLost        409: that request's write went through but its answer was lost
     ├── ForbiddenRequest       a request from a session that may not make any
     ├── OfflineError           the server cannot be reached
     ├── TransportError         the HTTP exchange itself failed (timeouts, resets, bad answers)
     └── ServerError            500: the server failed; the message says what it could

Every error that crosses HTTP is sent as one JSON envelope,
``{"error": {"code", "message", "status", "details"}}``; :func:`error_from_envelope` turns it
back into the same class on the client, so ``except labstore.errors.NotFound`` works whether
the object is missing locally or on the server.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AnswerLost",
    "AuthenticationError",
    "ConfigError",
    "Conflict",
    "ForbiddenRequest",
    "IdempotencyKeyReused",
    "InvalidInput",
    "LabstoreError",
    "NotFound",
    "OfflineError",
    "PermissionDenied",
    "QueryValidationError",
    "RequestInProgress",
    "ServerError",
    "TransportError",
    "VersionConflict",
    "error_from_envelope",
]


class LabstoreError(Exception):
    """Base of every labstore error.

    Attributes:
        message: What went wrong, in words a user can act on.
        details: Machine-readable facts about the error (a JSON path, the current version, ...).
    """

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def envelope(self) -> dict[str, Any]:
        """The JSON body the server sends for this error."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "details": self.details,
            }
        }


class ConfigError(LabstoreError):
    code = "config_error"
    status = 400


class InvalidInput(LabstoreError):
    code = "invalid_input"
    status = 400


class QueryValidationError(InvalidInput):
    """A filter or query the schema rejects; ``details["path"]`` names where."""

    code = "invalid_query"

    @property
    def path(self) -> str:
        return str(self.details.get("path", ""))


class IdempotencyKeyReused(InvalidInput):
    """The key was first used for another request (method, path or body); a new request needs a
    new key."""

    code = "idempotency_key_reused"
    status = 422


class AuthenticationError(LabstoreError):
    code = "authentication_failed"
    status = 401


class PermissionDenied(LabstoreError):
    code = "permission_denied"
    status = 403


class NotFound(LabstoreError):
    code = "not_found"
    status = 404


class Conflict(LabstoreError):
    code = "conflict"
    status = 409


class VersionConflict(Conflict):
    """The server's version moved on; ``details["current_version"]`` says to what."""

    code = "version_conflict"
    status = 412


class RequestInProgress(Conflict):
    """A retry arrived while the first request with its key was still running; retry later
    (the answer carries ``Retry-After``). The client's transport does so by itself."""

    code = "request_in_progress"
    status = 409


class AnswerLost(Conflict):
    """The first request with this Idempotency-Key wrote everything it was to write, but its
    answer was never stored (the server stopped in between). Do not send the request again,
    under this key or a new one: read the objects it wrote instead. Never retried by itself;
    ``details["written_at"]`` says when the write went through."""

    code = "answer_lost"
    status = 409


class ForbiddenRequest(LabstoreError):
    code = "forbidden_request"
    status = 400


class OfflineError(LabstoreError):
    code = "offline"
    status = 503


class TransportError(LabstoreError):
    code = "transport_error"
    status = 502


class ServerError(LabstoreError):
    code = "server_error"
    status = 500


def _all_subclasses(cls: type[LabstoreError]) -> list[type[LabstoreError]]:
    found: list[type[LabstoreError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


# What an answer means when its code is not one we know (an older or newer server, a proxy).
_BY_STATUS: dict[int, type[LabstoreError]] = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: VersionConflict,
    502: TransportError,
    503: OfflineError,
    504: TransportError,
}


def error_class_for(code: str, status: int) -> type[LabstoreError]:
    """The most specific class for an envelope's code, falling back on its HTTP status."""
    for cls in _all_subclasses(LabstoreError):
        if cls.code == code:
            return cls
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else InvalidInput


def error_from_envelope(body: Any, status: int) -> LabstoreError:
    """Rebuild the error a server sent; tolerate bodies that are not our envelope."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        cls = error_class_for(str(err.get("code", "")), status)
        details = err.get("details") if isinstance(err.get("details"), dict) else {}
        return cls(str(err.get("message", "")), details)
    cls = error_class_for("", status)
    return cls(f"HTTP {status}: {str(body)[:200]}")
