"""What every console request passes through: bounded bodies and security headers.

Body caps, per route (:func:`body_cap`), checked before anything is read: a
``Content-Length`` over the cap is answered 413 at once (the body is never read,
and the connection closes); a body without a length is counted as it is read and
refused with 413 as soon as it passes the cap. Uploaded files are spooled to a
temporary file (mode 0600) by the form parser once they pass 1 MiB, never held
whole in memory beyond the cap.

======================================  =====================================
route                                    largest body
======================================  =====================================
``POST /login``                          :data:`LOGIN_BYTES` (4 KiB)
file uploads (:data:`UPLOAD_ROUTES`)     :data:`UPLOAD_BYTES` (2 MiB file + 64 KiB)
import confirmations (:data:`PAYLOAD_ROUTES`)  :data:`PAYLOAD_BYTES` (4 MiB: the
                                         previewed file, base64 in the form)
every other ``POST``                     :data:`FORM_BYTES` (32 KiB)
``GET`` / ``HEAD`` / other methods       none (0 bytes)
======================================  =====================================

Every answer of the console — pages, files, redirects and errors, 500 included —
carries :data:`SECURITY_HEADERS` (:func:`with_security_headers`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_UPLOAD = 2 * 1024 * 1024
"""Largest uploaded file (sites CSV, usage tallies, roll, policy, election TOML)."""
LOGIN_BYTES = 4 * 1024
FORM_BYTES = 32 * 1024
UPLOAD_BYTES = MAX_UPLOAD + 64 * 1024
PAYLOAD_BYTES = 4 * 1024 * 1024
UPLOAD_ROUTES = (
    r"/sites/import/preview",
    r"/usage/import/preview",
    r"/plans/policy/upload",
    r"/elections",
    r"/elections/[^/]+/roll/preview",
)
PAYLOAD_ROUTES = (r"/sites/import", r"/usage/import", r"/elections/[^/]+/roll")
_UPLOADS = re.compile("|".join(f"(?:{p})" for p in UPLOAD_ROUTES))
_PAYLOADS = re.compile("|".join(f"(?:{p})" for p in PAYLOAD_ROUTES))

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def body_cap(method: str, path: str) -> int:
    """The largest body (bytes) the console reads for ``method`` on ``path`` (the
    path inside the console, e.g. ``/login``)."""
    if method != "POST":
        return 0
    if path == "/login":
        return LOGIN_BYTES
    if _UPLOADS.fullmatch(path):
        return UPLOAD_BYTES
    if _PAYLOADS.fullmatch(path):
        return PAYLOAD_BYTES
    return FORM_BYTES


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)}MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)}KB"


class BodyTooLarge(HTTPException):
    """A request body over its route's cap (answered 413 with the console's page)."""

    def __init__(self, cap: int) -> None:
        limit = (
            "この画面はデータを受け付けません"
            if cap == 0
            else f"この画面で送れるのは {_size(cap)} までです"
        )
        super().__init__(
            413, f"送信データが大きすぎます({limit})。ファイルを分けるか、内容を減らしてください。"
        )


ErrorPage = Callable[[Request, Exception], Awaitable[Response]]


class BodyLimit:
    """ASGI middleware (inside the session middleware): each route's body cap."""

    def __init__(self, app: ASGIApp, error_page: ErrorPage) -> None:
        self.app = app
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        root = str(scope.get("root_path", ""))
        if root and path.startswith(root):
            path = path[len(root) :]
        cap = body_cap(str(scope["method"]), path)
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        chunked = b"transfer-encoding" in headers
        if (length is not None and (not length.isdigit() or int(length) > cap)) or (
            chunked and cap == 0
        ):
            response = await self.error_page(Request(scope, receive), BodyTooLarge(cap))
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        seen = 0
        answering = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    if answering:  # a streaming answer listening for a disconnect
                        return {"type": "http.disconnect"}
                    raise BodyTooLarge(cap)
            return message

        async def sending(message: Message) -> None:
            nonlocal answering
            if message["type"] == "http.response.start":
                answering = True
            await send(message)

        await self.app(scope, counted, sending)


def with_security_headers(send: Send) -> Send:
    """``send`` adding :data:`SECURITY_HEADERS` to the answer's start."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending
