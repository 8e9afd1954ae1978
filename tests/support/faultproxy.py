"""A fault-injecting HTTP/1.1 proxy on loopback, in front of a real server.

Each request the proxy reads is, at the given rate (drawn from a seeded generator), met with
one of these faults instead of a clean relay:

- ``reset_before``: the connection is reset before the request reaches the server;
- ``reset_after``: the server handles the request, then the client's connection is reset
  before the answer reaches it (without idempotency keys, a retried create makes a second
  object: this is the fault that tests them);
- ``status_503`` / ``status_429``: the proxy answers itself, with ``Retry-After`` in seconds
  (503) or as an HTTP date (429);
- ``truncate``: the server's answer is cut in the middle, then the connection is closed;
- ``stall``: the server handles the request and the proxy holds the answer back for
  ``stall_seconds`` (longer than the client's request timeout), then drops the connection.

The proxy runs its own asyncio loop in a thread: ``with FaultProxy(port=...) as proxy:``.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

FAULTS = ("reset_before", "reset_after", "status_503", "status_429", "truncate", "stall")


@dataclass
class Message:
    """One HTTP message as read off the wire: its head (with the blank line) and raw body."""

    head: bytes
    body: bytes

    @property
    def start_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    @property
    def raw(self) -> bytes:
        return self.head + self.body


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
    }


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            parts.append(size_line)
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                parts.append(await reader.readuntil(b"\r\n"))  # no trailers from our peers
                return b"".join(parts)
            parts.append(await reader.readexactly(size + 2))
    return await reader.readexactly(int(headers.get("content-length", "0")))


async def read_message(
    reader: asyncio.StreamReader, *, request_method: str | None = None
) -> Message | None:
    """The next request (``request_method`` None) or the answer to one; None at a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    headers = _headers(head)
    if request_method is not None:
        status = int(head.split(b" ", 2)[1])
        if request_method == "HEAD" or status in (204, 304) or status < 200:
            return Message(head, b"")
    return Message(head, await _read_body(reader, headers))


def _unchunked(message: Message, headers: dict[str, str]) -> bytes:
    """The body's bytes without chunked framing."""
    if "chunked" not in headers.get("transfer-encoding", "").lower():
        return message.body
    out, rest = [], message.body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            return b"".join(out)
        out.append(rest[:size])
        rest = rest[size + 2 :]


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed peer or a middlebox would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class FaultProxy:
    """The proxy: ``url`` is where clients connect; ``injected`` counts faults by kind."""

    port: int
    rate: float = 0.3
    seed: int = 0
    faults: tuple[str, ...] = FAULTS
    stall_seconds: float = 1.0
    retry_after_seconds: int = 0
    host: str = "127.0.0.1"
    injected: Counter[str] = field(default_factory=Counter)
    relayed: int = 0
    # The head of every request read, in order (to check what clients sent, e.g. their keys).
    heads: list[bytes] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    listen_port: int = 0
    _rng: random.Random = field(init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _stop: asyncio.Event | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self._rng = random.Random(self.seed)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.listen_port}"

    @property
    def requests(self) -> int:
        return len(self.heads)

    def header_values(self, name: str) -> list[str | None]:
        """The value of one header in each request read (None where it was absent)."""
        return [_headers(head).get(name.lower()) for head in self.heads]

    def __enter__(self) -> FaultProxy:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._main(started))
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _main(self, started: threading.Event) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, self.host, 0)
        self.listen_port = server.sockets[0].getsockname()[1]
        started.set()
        await self._stop.wait()
        server.close()
        connections = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    def _draw(self) -> str | None:
        if self._rng.random() < self.rate:
            return self._rng.choice(self.faults)
        return None

    def _canned(self, status: int) -> bytes:
        reason = {503: "Service Unavailable", 429: "Too Many Requests"}[status]
        if status == 503:
            wait = str(self.retry_after_seconds)
        else:
            wait = email.utils.formatdate(time.time() + self.retry_after_seconds, usegmt=True)
        body = f"injected fault: {status} {reason}".encode()
        return (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: {wait}\r\n\r\n"
        ).encode() + body

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (request := await read_message(reader)) is not None:
                self.heads.append(request.head)
                self.bodies.append(_unchunked(request, _headers(request.head)))
                fault = self._draw()
                if fault is not None:
                    self.injected[fault] += 1
                if fault == "reset_before":
                    _reset(writer)
                    return
                if fault in ("status_503", "status_429"):
                    writer.write(self._canned(int(fault.rsplit("_", 1)[1])))
                    await writer.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection(self.host, self.port)
                upstream[1].write(request.raw)
                await upstream[1].drain()
                method = request.start_line.split(" ", 1)[0]
                answer = await read_message(upstream[0], request_method=method)
                if answer is None:
                    raise ConnectionError("the server closed the connection")
                if fault == "reset_after":
                    _reset(writer)
                    return
                if fault == "truncate":
                    # Half the body; for an empty body, half the head.
                    cut = answer.head + answer.body[: len(answer.body) // 2]
                    writer.write(cut if answer.body else answer.head[: len(answer.head) // 2])
                    await writer.drain()
                    writer.close()
                    return
                if fault == "stall":
                    await asyncio.sleep(self.stall_seconds)
                    _reset(writer)
                    return
                self.relayed += 1
                writer.write(answer.raw)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.transport.abort()
        except asyncio.CancelledError:
            # The proxy is stopping. Ending normally, not cancelled, spares asyncio's stream
            # callback a CancelledError it would print (Python 3.11).
            writer.transport.abort()
        finally:
            if upstream is not None:
                upstream[1].close()
            if not writer.is_closing():
                writer.close()
