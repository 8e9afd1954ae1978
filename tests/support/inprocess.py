"""Serve the real app in-process behind an httpx transport: the client's test seam.

Starlette's TestClient runs the ASGI app in a background event loop; this adapter lets a
``labstore.Session`` send its requests through it without a network or a server process.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from starlette.testclient import TestClient


class AppTransport(httpx.BaseTransport):
    """An httpx transport whose every request is handled by ``app`` in this process."""

    def __init__(self, app: FastAPI) -> None:
        self.client = TestClient(app, base_url="http://testserver")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.client.request(
            request.method,
            str(request.url),
            headers=[(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"],
            content=request.read(),
        )
        return httpx.Response(
            answer.status_code,
            headers=list(answer.headers.multi_items()),
            content=answer.content,
        )

    def close(self) -> None:
        self.client.close()


class CountingTransport(AppTransport):
    """An :class:`AppTransport` that records each request's method and path."""

    def __init__(self, app: FastAPI) -> None:
        super().__init__(app)
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return super().handle_request(request)
