"""The one way the client speaks HTTP.

Every request of a Session goes through :class:`Transport`: base URL, the bearer token,
timeouts, retries, idempotency keys, and turning error answers into :mod:`labstore.errors`
classes. Tests plug the real app in here (``Session(..., transport=<an httpx transport serving
the app in-process>)``).

Retries (see :mod:`labstore.client.retries` for the policy): a request that got no answer
(refused, reset, cut short, timed out) or an answer whose status the policy names is sent
again after a backoff, within ``retry_timeout`` for all attempts together. Reads are safe to
repeat. Writes (POST, PUT, PATCH, DELETE) carry an ``Idempotency-Key``, the same on every
attempt, which the server remembers with its answer: a retried create gets the first answer
instead of making a second object, and a retried DELETE whose first attempt went through gets
that attempt's 204 instead of a 404.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from labstore import __version__
from labstore.client.retries import NO_ANSWER, RetryPolicy, retry_after
from labstore.errors import (
    ForbiddenRequest,
    LabstoreError,
    OfflineError,
    RequestInProgress,
    TransportError,
    error_from_envelope,
)

log = logging.getLogger("labstore.client.transport")

KEY_HEADER = "Idempotency-Key"
KEYED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Header values never written to a log.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
# The server answers 409 request_in_progress while the first attempt with the same key still
# runs: that is "busy, come back", so it is retried as a 503 would be.
_BUSY = 503
# A request body: bytes; a function giving the body's pieces afresh for each attempt (a file
# sent again from its start); or pieces that can be sent once only, so are never retried.
Body = bytes | Callable[[], Iterable[bytes]] | Iterable[bytes]
# One attempt: given its timeout, send the request and return the answer.
Attempt = Callable[[float], httpx.Response]


class Transport:
    """HTTP to one labstore server.

    Args:
        base_url: The server's location, e.g. ``http://127.0.0.1:8000``.
        timeout: Seconds for each request (the policy's ``request_timeout`` when omitted).
        transport: An httpx transport to use instead of the network (tests, proxies).
        policy: Retries and timeouts (the defaults of :class:`RetryPolicy` when omitted).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token: str | None = None
        self.policy = policy or RetryPolicy()
        if timeout is not None:
            self.policy = self.policy.with_request_timeout(timeout)
        # Why requests are refused, or None when they are allowed.
        self.refusal: str | None = None
        self.verbose = False
        # Seams for tests of the retry schedule: a clock and a sleep that go together.
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], None] = time.sleep
        self._owner = True
        self._client_options: dict[str, Any] = {
            "base_url": self.base_url,
            "timeout": self.policy.request_timeout,
            "transport": transport,
            "headers": {"User-Agent": f"labstore/{__version__}"},
        }
        # The httpx client, made on first use and shared with derived transports: a local
        # session never sends a request, and making one costs ~0.1 s (its HTTP stack, the
        # certificate bundle) of opening an offline session.
        self._clients: list[httpx.Client] = []
        self._making = threading.Lock()

    @property
    def _client(self) -> httpx.Client:
        with self._making:
            if not self._clients:
                self._clients.append(httpx.Client(**self._client_options))
            return self._clients[0]

    @property
    def timeout(self) -> float:
        """Seconds for each attempt of a request."""
        return self.policy.request_timeout

    @property
    def allow_requests(self) -> bool:
        return self.refusal is None

    def derive(self, *, timeout: float | None = None, refusal: str | None = None) -> Transport:
        """A transport sharing this one's connections and token, with its own settings."""
        twin = Transport.__new__(Transport)
        twin.__dict__.update(self.__dict__)
        twin._owner = False
        if timeout is not None:
            twin.policy = self.policy.with_request_timeout(timeout)
        twin.refusal = refusal if refusal is not None else self.refusal
        return twin

    def set_timeout(self, seconds: float) -> None:
        self.policy = self.policy.with_request_timeout(seconds)

    def close(self) -> None:
        if self._owner and self._clients:
            self._clients[0].close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        content: Body | None = None,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send one request, retrying as the policy says; answers of 400 and above raise the
        matching labstore error.

        Raises:
            ForbiddenRequest: This session may not make requests.
            OfflineError: The server cannot be reached.
            TransportError: The exchange failed midway (timeout, reset, garbled answer).
            LabstoreError: The server's error, as its class (NotFound, Conflict, ...).
        """
        all_headers = self._headers(method, path, headers, auth)
        once = content is not None and not isinstance(content, bytes) and not callable(content)

        def attempt(timeout: float) -> httpx.Response:
            body = content() if callable(content) else content
            return self._client.request(
                method,
                path,
                params=params,
                json=json,
                content=body,
                headers=all_headers,
                timeout=timeout,
                follow_redirects=follow_redirects,
            )

        response = self._send(method, path, all_headers, attempt, retry=not once)
        if self.verbose:
            log.info(
                "%s %s -> %s (%d bytes)", method, path, response.status_code, len(response.content)
            )
        return response

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
    ) -> Iterator[httpx.Response]:
        """A response whose body is read as it arrives (``iter_bytes``), for large blobs.

        Redirects to another host (presigned object-storage URLs) drop the token.

        Getting the answer is retried as :meth:`request` is; a failure while its body is
        being read is not (the caller has consumed part of it).

        Raises:
            The same errors as :meth:`request`; the error body is read before raising.
        """
        all_headers = self._headers(method, path, headers, True)

        def attempt(timeout: float) -> httpx.Response:
            request = self._client.build_request(method, path, headers=all_headers, timeout=timeout)
            return self._client.send(request, stream=True, follow_redirects=follow_redirects)

        response = self._send(method, path, all_headers, attempt, retry=True)
        try:
            yield response
        except httpx.HTTPError as exc:
            raise self._no_answer(method, path, exc) from exc
        finally:
            response.close()

    def _headers(
        self, method: str, path: str, headers: Mapping[str, str] | None, auth: bool
    ) -> dict[str, str]:
        """The headers of every attempt: the caller's, the token, and a write's key."""
        if self.refusal is not None:
            raise ForbiddenRequest(
                f"{method} {path}: this session makes no requests ({self.refusal})"
            )
        all_headers = dict(headers or {})
        if auth and self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if method.upper() in KEYED_METHODS and not any(
            k.lower() == KEY_HEADER.lower() for k in all_headers
        ):
            all_headers[KEY_HEADER] = uuid.uuid4().hex
        return all_headers

    def _send(
        self, method: str, path: str, sent: Mapping[str, str], attempt: Attempt, *, retry: bool
    ) -> httpx.Response:
        """Make attempts until one is answered below 400, the policy's retries for what went
        wrong are spent, or the next wait would pass ``retry_timeout``."""
        deadline = self.clock() + self.policy.retry_timeout
        retries: dict[int, int] = {}
        attempts = 0
        while True:
            attempts += 1
            timeout = min(self.policy.request_timeout, max(deadline - self.clock(), 0.001))
            try:
                response = attempt(timeout)
            except httpx.HTTPError as exc:
                self._log_failure(method, path, attempts, sent, exc)
                failure: LabstoreError = self._no_answer(method, path, exc)
                cause: BaseException | None = exc
                status, what, wait = NO_ANSWER, "no answer", None
            else:
                if response.status_code < 400:
                    return response
                try:
                    response.read()  # a streamed answer: its error body
                finally:
                    response.close()
                self._log_failure(method, path, attempts, sent, response)
                failure, cause = self._error(response), None
                status = _BUSY if isinstance(failure, RequestInProgress) else response.status_code
                what = f"HTTP {response.status_code}"
                wait = retry_after(response.headers.get("Retry-After"))
            retries[status] = retries.get(status, 0) + 1
            if not retry or retries[status] > self.policy.retries_for(status):
                raise _after(failure, attempts) from cause
            if wait is None:
                wait = self.policy.backoff(status, retries[status])
            if self.clock() + wait >= deadline:
                log.info(
                    "%s %s: not retrying, the wait of %.1f s would pass retry_timeout (%.0f s)",
                    method,
                    path,
                    wait,
                    self.policy.retry_timeout,
                )
                raise _after(failure, attempts) from cause
            log.info("%s %s: %s; retry %d in %.2f s", method, path, what, retries[status], wait)
            self.sleep(wait)

    def _no_answer(self, method: str, path: str, exc: httpx.HTTPError) -> LabstoreError:
        if isinstance(exc, httpx.ConnectError):
            return OfflineError(f"cannot reach {self.base_url}: {exc}")
        if isinstance(exc, httpx.TimeoutException):
            return TransportError(f"{method} {path}: timed out ({exc or type(exc).__name__})")
        return TransportError(f"{method} {path}: {exc or type(exc).__name__}")

    def _log_failure(
        self,
        method: str,
        path: str,
        attempt: int,
        sent: Mapping[str, str],
        outcome: httpx.Response | httpx.HTTPError,
    ) -> None:
        """Log a failed attempt with its headers (secrets masked): at INFO when the session
        is verbose, at DEBUG otherwise."""
        level = logging.INFO if self.verbose else logging.DEBUG
        if not log.isEnabledFor(level):
            return
        if isinstance(outcome, httpx.Response):
            what = f"HTTP {outcome.status_code}"
            request_headers: Mapping[str, str] = outcome.request.headers
            answer = masked_headers(outcome.headers)
        else:
            what = f"{type(outcome).__name__}: {outcome}"
            request_headers = sent
            answer = {}
        log.log(
            level,
            "%s %s failed (attempt %d): %s; request headers %s; response headers %s",
            method,
            path,
            attempt,
            what,
            masked_headers(request_headers),
            answer,
        )

    @staticmethod
    def _error(response: httpx.Response) -> LabstoreError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        return error_from_envelope(body, response.status_code)


def masked_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers as a dict for a log, with credentials replaced by their scheme and ``***``."""
    out = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme, _, secret = value.partition(" ")
            value = f"{scheme} ***" if secret else "***"
        out[name] = value
    return out


def _after(error: LabstoreError, attempts: int) -> LabstoreError:
    """The error of the last attempt, saying how many were made."""
    if attempts > 1:
        error.details.setdefault("attempts", attempts)
        error.message = f"{error.message} (after {attempts} attempts)"
        error.args = (error.message,)
    return error
