"""The one way the client speaks HTTP.

Every request of a Session goes through :class:`Transport`: base URL, the bearer token,
timeouts, and turning error answers into :mod:`labstore.errors` classes. Tests plug the real
app in here (``Session(..., transport=<an httpx transport serving the app in-process>)``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from labstore import __version__
from labstore.errors import (
    ForbiddenRequest,
    LabstoreError,
    OfflineError,
    TransportError,
    error_from_envelope,
)

log = logging.getLogger("labstore.client.transport")


class Transport:
    """HTTP to one labstore server.

    Args:
        base_url: The server's location, e.g. ``http://127.0.0.1:8000``.
        timeout: Seconds for each request.
        transport: An httpx transport to use instead of the network (tests, proxies).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token: str | None = None
        self.timeout = timeout
        # Why requests are refused, or None when they are allowed.
        self.refusal: str | None = None
        self.verbose = False
        self._owner = True
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": f"labstore/{__version__}"},
        )

    @property
    def allow_requests(self) -> bool:
        return self.refusal is None

    def derive(self, *, timeout: float | None = None, refusal: str | None = None) -> Transport:
        """A transport sharing this one's connections and token, with its own settings."""
        twin = Transport.__new__(Transport)
        twin.__dict__.update(self.__dict__)
        twin._owner = False
        if timeout is not None:
            twin.timeout = timeout
        twin.refusal = refusal if refusal is not None else self.refusal
        return twin

    def set_timeout(self, seconds: float) -> None:
        self.timeout = seconds

    def close(self) -> None:
        if self._owner:
            self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        content: bytes | Iterable[bytes] | None = None,
    ) -> httpx.Response:
        """Send one request; answers of 400 and above raise the matching labstore error.

        Raises:
            ForbiddenRequest: This session may not make requests.
            OfflineError: The server cannot be reached.
            TransportError: The exchange failed midway (timeout, reset, garbled answer).
            LabstoreError: The server's error, as its class (NotFound, Conflict, ...).
        """
        if self.refusal is not None:
            raise ForbiddenRequest(
                f"{method} {path}: this session makes no requests ({self.refusal})"
            )
        all_headers = dict(headers or {})
        if auth and self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self._client.request(
                method,
                path,
                params=params,
                json=json,
                content=content,
                headers=all_headers,
                timeout=self.timeout,
            )
        except httpx.ConnectError as exc:
            raise OfflineError(f"cannot reach {self.base_url}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise TransportError(f"{method} {path}: timed out ({exc})") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path}: {exc}") from exc
        if self.verbose:
            log.info(
                "%s %s -> %s (%d bytes)", method, path, response.status_code, len(response.content)
            )
        if response.status_code >= 400:
            raise self._error(response)
        return response

    @staticmethod
    def _error(response: httpx.Response) -> LabstoreError:
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        error = error_from_envelope(body, response.status_code)
        log.debug(
            "%s %s -> %s %s",
            response.request.method,
            response.request.url.path,
            response.status_code,
            error.message,
        )
        return error

    @contextmanager
    def stream(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """A response whose body is read as it arrives (``iter_bytes``), for large blobs.

        Raises:
            The same errors as :meth:`request`; the error body is read before raising.
        """
        if self.refusal is not None:
            raise ForbiddenRequest(
                f"{method} {path}: this session makes no requests ({self.refusal})"
            )
        all_headers = dict(headers or {})
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        try:
            with self._client.stream(
                method, path, headers=all_headers, timeout=self.timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response)
                yield response
        except httpx.ConnectError as exc:
            raise OfflineError(f"cannot reach {self.base_url}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise TransportError(f"{method} {path}: timed out ({exc})") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {path}: {exc}") from exc
