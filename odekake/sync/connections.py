"""Connection limits of ``odekake hub serve`` (uvicorn's h11 protocol, bounded).

uvicorn alone closes a keep-alive connection that stays idle *after* an answer,
but a connection that never finishes its first request head stays open for ever,
and ``limit_concurrency`` counts open connections: a few dozen idle sockets made
every route answer 503. :class:`GuardedH11Protocol` bounds what a client can hold:

- the request head (request line and headers) must be complete within
  :data:`HEAD_TIMEOUT` seconds of its first byte (of the connection, for the first
  request), however slowly it trickles in; otherwise the connection is closed;
- while a body is read, a pause of :data:`BODY_IDLE_TIMEOUT` seconds in the
  client's sending closes the connection (not when the hub itself stopped reading);
- one client address holds at most :data:`MAX_PER_ADDRESS` connections, and the
  hub at most :data:`max_connections` (from the open-file limit); a connection
  over either cap is closed at once, before anything is read.

Requests in progress are capped separately (:class:`RequestsInFlight`): only
requests count there, never idle sockets.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from typing import Any, ClassVar

import h11
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 5.0
"""Seconds a client has to send a whole request head."""
BODY_IDLE_TIMEOUT = 15.0
"""Seconds a client may pause while sending a body."""
MAX_PER_ADDRESS = 32
"""Open connections one client address may hold (a browser opens about six)."""
MAX_CONNECTIONS = 2048
"""Open connections in all, when the open-file limit allows (see :func:`max_connections`)."""
FILES_KEPT_FREE = 256
"""Descriptors left for the database, logs, uploads and the solver."""
WANTED_OPEN_FILES = 8192
log = logging.getLogger("odekake.hub")


def raise_open_file_limit(wanted: int = WANTED_OPEN_FILES) -> int:
    """Raise this process's soft open-file limit towards ``wanted`` (never above the
    hard limit); the soft limit in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft) if soft != resource.RLIM_INFINITY else wanted


def max_connections() -> int:
    """The connection cap this process can afford: :data:`MAX_CONNECTIONS`, or fewer
    when the open-file limit leaves less than :data:`FILES_KEPT_FREE` spare."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, int(soft) - FILES_KEPT_FREE))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a head deadline, a body pause limit and
    per-address / total connection caps (pass as ``uvicorn.run(http=...)``)."""

    per_address: ClassVar[Counter[str]] = Counter()
    refused_logged: ClassVar[dict[str, float]] = {}
    head_timeout = HEAD_TIMEOUT
    body_idle_timeout = BODY_IDLE_TIMEOUT
    max_per_address = MAX_PER_ADDRESS
    cap = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counted: str | None = None
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else ""
        if self.per_address[address] >= self.max_per_address or len(self.connections) > self.cap:
            self.refuse(address)
            return
        self.per_address[address] += 1
        self.counted = address
        self.head_timer = self.loop.call_later(self.head_timeout, self.head_expired)

    def refuse(self, address: str) -> None:
        now = time.monotonic()
        if now - self.refused_logged.get(address, 0.0) > 60:
            self.refused_logged[address] = now
            if len(self.refused_logged) > 1024:
                self.refused_logged.clear()
            log.warning(
                "接続を断りました(%s からの同時接続が上限 %d を超えました。全体 %d)",
                address,
                self.max_per_address,
                len(self.connections),
            )
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_timers()
        if self.counted is not None:
            self.per_address[self.counted] -= 1
            if self.per_address[self.counted] <= 0:
                del self.per_address[self.counted]
            self.counted = None
        super().connection_lost(exc)

    def cancel_timers(self) -> None:
        for timer in (self.head_timer, self.body_timer):
            if timer is not None:
                timer.cancel()
        self.head_timer = self.body_timer = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.watch()

    def watch(self) -> None:
        """Arm or clear the timers for what the client is sending now."""
        if self.transport.is_closing():
            self.cancel_timers()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self.body_timer is not None:
                self.body_timer.cancel()
                self.body_timer = None
            # A keep-alive wait (uvicorn's own timer) until the next head's first byte.
            if self.head_timer is None and self.conn.trailing_data[0]:
                self.head_timer = self.loop.call_later(self.head_timeout, self.head_expired)
            return
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None
        if state is h11.SEND_BODY:
            self.body_timer = self.loop.call_later(self.body_idle_timeout, self.body_expired)

    def head_expired(self) -> None:
        self.head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def body_expired(self) -> None:
        self.body_timer = None
        if self.conn.their_state is not h11.SEND_BODY or self.transport.is_closing():
            return
        if self.flow.read_paused:  # the hub is not reading: not the client's pause
            self.body_timer = self.loop.call_later(self.body_idle_timeout, self.body_expired)
            return
        self.transport.close()


class RequestsInFlight:
    """ASGI middleware: at most ``limit`` requests in progress; more get 503 at once."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.running = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.running >= self.limit:
            body = '{"error":"ハブが混み合っています。しばらくしてから送り直してください"}'
            data = body.encode("utf-8")
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(data)).encode()),
                        (b"retry-after", b"2"),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": data})
            return
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
