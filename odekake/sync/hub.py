"""The hub service (Starlette on uvicorn).

Endpoints (all but ``/health`` and ``/openapi.json`` signed by the device):

- ``GET  /v1/ack``       the acknowledged high-water mark for the calling device
- ``POST /v1/push``      a record bundle (the same format as a USB file)
- ``GET  /v1/snapshot``  master data and this van's plan (``?have=<sha256>``)
- ``GET  /v1/status``    the calling device's status at the hub

A request is signed by the device in its headers (see :mod:`odekake.sync.wire`):
the hub checks the signature before it reads the body, then streams the body up to
the route's cap (:data:`ROUTE_CAPS`), hashing it, and refuses it when the hash is
not the signed one. Every answer is signed with the hub's own key, bound to the
request it answers (:class:`SignAnswers`).
Every database call runs in a worker thread on that thread's own connection;
a locked database is retried with backoff and never reaches the caller as
"database is locked".
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from odekake.errors import OdekakeError
from odekake.operations.backup import backup_mark
from odekake.operations.hubapps import mounted_apps
from odekake.storage import strictjson
from odekake.storage.db import connect, write
from odekake.sync.bundle import BundleRefused
from odekake.sync.connections import (
    GuardedH11Protocol,
    RequestsInFlight,
    max_connections,
    raise_open_file_limit,
)
from odekake.sync.enrol_codes import EnrolRefused, EnrolThrottled, parse_redemption, redeem
from odekake.sync.ingest import HubBusy, hub_mark, ingest_bytes, with_retry
from odekake.sync.keys import (
    device_id_problem,
    device_key_status,
    now_iso,
    parse_public_key,
    public_key_text,
    verify,
)
from odekake.sync.openapi import OPENAPI
from odekake.sync.snapshot import HubNotReady, deliver_snapshot
from odekake.sync.status import hub_health, hub_status
from odekake.sync.wire import (
    HEADER_BODY_SHA256,
    HEADER_DEVICE,
    HEADER_HUB_SIGNATURE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    NONCE_RE,
    SHA256_RE,
    TIMESTAMP_RE,
    ensure_hub_key,
    request_message,
    sign_answer,
)
from odekake.voting.checkin import reconcile
from odekake.voting.http import routes as voting_routes

MAX_SKEW_SECONDS = 900
MAX_CONCURRENCY = 64
"""Requests the hub serves at once; more are answered 503 at once (idle connections
are bounded apart, see :mod:`odekake.sync.connections`)."""
ROUTE_CAPS: dict[str, int] = {
    "/v1/push": 64 * 1024 * 1024,
    "/vote/checkin": 16 * 1024,
    "/vote/release": 16 * 1024,
    "/v1/enrol": 4 * 1024,
}
"""Largest body each route reads (bytes); every other route takes no body at all."""
MAX_BODY_BYTES = ROUTE_CAPS["/v1/push"]
MAX_PUSHES_IN_FLIGHT = 2
"""Signed push bodies read at the same time; more are answered 503 (the van retries)."""
MAX_JSON_DEPTH = 32
MAX_ENROLS_IN_FLIGHT = 4
"""Unsigned enrolment requests read at the same time; more are answered 503 at once, so
slow enrolment uploads can never take the hub's other request slots."""
ENROL_BODY_SECONDS = 10.0
"""An enrolment body (at most 4 KiB) must arrive whole within this many seconds."""
ANSWER_TO = "odekake_answer_to"
"""Request-state key set once a request's signature verified: ``(device, signature)``.
Only such a request's answer is signed (:class:`SignAnswers`)."""
T = TypeVar("T")
log = logging.getLogger("odekake.hub")


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": "2"} if status == 503 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def make_app(
    db_path: str | Path, *, max_skew: int = MAX_SKEW_SECONDS, only_voting: bool = False
) -> Starlette:
    """The hub application over an existing hub database (migrated once here).

    The hub's signing key (``<hub.db>.sign.key``) is made here if it is missing.
    With ``only_voting`` it serves just the voting routes, behind the same device
    signatures, caps and signed answers (for a stand-alone check-in service).
    """
    path = Path(db_path)
    hub_key = ensure_hub_key(path)
    first = connect(path, role="hub")
    first.close()
    local = threading.local()

    def db() -> sqlite_utils.Database:
        conn = getattr(local, "db", None)
        if conn is None:
            conn = connect(path, role="hub")
            local.db = conn
        return conn

    async def call(fn: Callable[[sqlite_utils.Database], T]) -> T:
        return await run_in_threadpool(lambda: with_retry(lambda: fn(db())))

    def touch(conn: sqlite_utils.Database, device: str) -> None:
        at = now_iso()
        mark, mark_hash = hub_mark(conn, device)
        with write(conn):
            conn.execute(
                "INSERT INTO sync_acks(device_id, acked_seq, acked_hash, last_seen) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET last_seen = excluded.last_seen",
                [device, mark, mark_hash, at],
            )

    pushes = asyncio.Semaphore(MAX_PUSHES_IN_FLIGHT)

    def fresh_nonce(conn: sqlite_utils.Database, device: str, nonce: str, stamp: int) -> bool:
        """Remember (device, nonce) for the skew window; False when it was seen before.

        Kept in the hub database (``sync_nonces``), so a request captured before a
        restart is still refused after it.
        """
        now = time.time()
        with write(conn):
            conn.execute("DELETE FROM sync_nonces WHERE expires < ?", [now])
            cur = conn.execute(
                "INSERT OR IGNORE INTO sync_nonces(device_id, nonce, expires) VALUES (?, ?, ?)",
                [device, nonce, max(now, stamp) + max_skew],
            )
            return cur.rowcount == 1

    async def authenticate(request: Request) -> str:
        """Check the signed headers; nothing of the body has been read yet."""
        headers = request.headers
        device = headers.get(HEADER_DEVICE)
        stamp = headers.get(HEADER_TIMESTAMP)
        nonce = headers.get(HEADER_NONCE)
        digest = headers.get(HEADER_BODY_SHA256)
        signature = headers.get(HEADER_SIGNATURE)
        if not device or not stamp or not signature or not nonce or not digest:
            raise _Refused(
                401, "署名のない要求です。端末を登録して odekake sync で送信してください"
            )
        problem = device_id_problem(device)
        if problem:
            raise _Refused(401, problem)
        if not TIMESTAMP_RE.fullmatch(stamp):
            raise _Refused(400, "要求の時刻の形式が正しくありません(整数の秒で送ってください)")
        if not NONCE_RE.fullmatch(nonce) or not SHA256_RE.fullmatch(digest):
            raise _Refused(400, "要求の署名ヘッダの形式が正しくありません")
        skew = abs(time.time() - int(stamp))
        if skew > max_skew:
            raise _Refused(
                401, f"端末の時計がハブと {int(skew)} 秒ずれています。時計を合わせてください"
            )
        known = await call(lambda conn: device_key_status(conn, device))
        if known is None:
            raise _Refused(
                401, f"未登録の端末です: {device}。ハブで odekake device enroll を実行してください"
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        message = request_message(request.method, target, stamp, nonce, device, digest)
        if not verify(parse_public_key(known[0]), message, signature):
            raise _Refused(401, f"端末 {device} の署名が正しくありません")
        if not await call(lambda conn: fresh_nonce(conn, device, nonce, int(stamp))):
            raise _Refused(401, "同じ要求がもう一度届きました(再送された古い要求は受け付けません)")
        # Authenticated: from here on the answer is signed, bound to this request.
        request.scope.setdefault("state", {})[ANSWER_TO] = (device, signature)
        if known[1] != "active":
            raise _Refused(403, f"端末 {device} は失効しています。ハブの管理者に連絡してください")
        return device

    async def read_body(request: Request) -> bytes:
        """Stream the body up to the route's cap, then check it against the signed hash."""
        body = await read_capped(
            request,
            ROUTE_CAPS.get(request.url.path, 0),
            too_big="送信データが大きすぎます。件数を減らして送ってください",
        )
        if hashlib.sha256(body).hexdigest() != request.headers.get(HEADER_BODY_SHA256):
            raise _Refused(400, "送信データが署名と一致しません(途中で変わった可能性があります)")
        if request.url.path.startswith("/vote/") and strictjson.too_deep(body, MAX_JSON_DEPTH):
            raise _Refused(400, "送信データの入れ子が深すぎます")
        return body

    async def admit(request: Request) -> tuple[str, bytes]:
        """Authenticate from the headers, then read the body (capped, hashed)."""
        cap = ROUTE_CAPS.get(request.url.path, 0)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            raise _Refused(413, "送信データが大きすぎます。件数を減らして送ってください")
        device = await authenticate(request)
        if request.url.path != "/v1/push":
            return device, await read_body(request)
        if pushes.locked():
            raise HubBusy("ハブが混み合っています。しばらくしてから送り直してください")
        async with pushes:
            return device, await read_body(request)

    def guarded(
        handler: Callable[[Request, str, bytes], Any],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                device, body = await admit(request)
                return await handler(request, device, body)  # type: ignore[no-any-return]
            except ClientDisconnect:
                # The van went away mid-upload: nothing was stored; it will retry.
                log.info("送信の途中で接続が切れました(何も登録していません)")
                return _error(400, "送信が途中で切れました")
            except _Refused as exc:
                log.info("拒否 (%s): %s", exc.status, exc.message)
                return _error(exc.status, exc.message)
            except BundleRefused as exc:
                log.info("%s", exc)
                return _error(422, str(exc), reason=exc.reason)
            except HubBusy as exc:
                return _error(503, str(exc))
            except OdekakeError as exc:
                return _error(400, str(exc))
            except RecursionError:
                return _error(400, "送信データの入れ子が深すぎます")
            except Exception:
                log.exception("hub: unexpected error")
                return _error(500, "ハブで想定外のエラーが起きました。管理者に連絡してください")

        return endpoint

    async def ack(request: Request, device: str, body: bytes) -> JSONResponse:
        def run(conn: sqlite_utils.Database) -> dict[str, Any]:
            touch(conn, device)
            mark, mark_hash = hub_mark(conn, device)
            return {
                "device_id": device,
                "acked_seq": mark,
                "acked_hash": mark_hash,
                "backup_seq": backup_mark(conn, device),
            }

        return JSONResponse(await call(run))

    async def push(request: Request, device: str, body: bytes) -> JSONResponse:
        result = await call(lambda conn: ingest_bytes(conn, body, expected_device=device))
        log.info("%s", result.describe())
        if result.stored or result.released:
            # Provisional votes and ballots that arrive by sync are checked against
            # the hub's check-ins; a duplicate becomes an incident keeping both.
            incidents = await call(reconcile)
            for incident in incidents:
                log.warning("投票の重複を検出しました: %s", incident.id)
        answer = result.to_json()
        answer["backup_seq"] = await call(lambda conn: backup_mark(conn, device))
        return JSONResponse(answer)

    async def snapshot(request: Request, device: str, body: bytes) -> JSONResponse:
        have = request.query_params.get("have")

        def run(conn: sqlite_utils.Database) -> dict[str, Any]:
            touch(conn, device)
            return deliver_snapshot(conn, device, have)

        try:
            return JSONResponse(await call(run))
        except HubNotReady as exc:
            # Fail closed: no master data (and so no intake) until city hall's
            # sealing key exists. 503: the van retries later and changes nothing.
            return _error(503, str(exc), reason="no_sealing_key")

    async def status(request: Request, device: str, body: bytes) -> JSONResponse:
        def run(conn: sqlite_utils.Database) -> dict[str, Any]:
            for s in hub_status(conn):
                if s.device_id == device:
                    return {
                        "device_id": s.device_id,
                        "status": s.status,
                        "last_seen": s.last_seen,
                        "acked_seq": s.acked_seq,
                        "held": s.held,
                        "quarantined": s.quarantined,
                        "gaps": [list(g) for g in s.gaps],
                    }
            return {"device_id": device}

        return JSONResponse(await call(run))

    async def health(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await call(hub_health))
        except Exception:
            log.exception("hub: health check failed")
            return JSONResponse(
                {"status": "error", "warnings": ["データベースを読めません"]}, status_code=503
            )

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(OPENAPI)

    hub_public = public_key_text(hub_key)

    enrol_slots = asyncio.Semaphore(MAX_ENROLS_IN_FLIGHT)

    async def enrol(request: Request) -> JSONResponse:
        """Redeem a one-time enrolment code (unsigned: the van has no key here yet).

        Unsigned, so bounded apart: at most :data:`MAX_ENROLS_IN_FLIGHT` at once (more are
        answered 503 at once) and the body whole within :data:`ENROL_BODY_SECONDS`.
        """
        if enrol_slots.locked():
            return _error(503, "登録の要求が混み合っています。しばらくしてから試してください")
        async with enrol_slots:
            return await enrol_one(request)

    async def enrol_one(request: Request) -> JSONResponse:
        try:
            try:
                async with asyncio.timeout(ENROL_BODY_SECONDS):
                    body = await read_capped(request, ROUTE_CAPS["/v1/enrol"])
            except TimeoutError:
                raise _Refused(
                    408, "送信に時間がかかりすぎました。もう一度試してください"
                ) from None
            try:
                data = strictjson.loads(body)
            except (ValueError, RecursionError) as exc:
                raise _Refused(400, "登録の要求が JSON として読めません") from exc
            redemption = parse_redemption(data)
            address = request.client.host if request.client else ""
            answer = await call(lambda conn: redeem(conn, redemption, hub_public, address=address))
            log.info("登録コードで端末 %s を登録しました", answer["device_id"])
            return JSONResponse(answer)
        except ClientDisconnect:
            return _error(400, "送信が途中で切れました")
        except _Refused as exc:
            return _error(exc.status, exc.message)
        except EnrolRefused as exc:
            log.info("登録コードを拒否 (%s): %s", exc.reason, exc)
            # An unknown code id answers as a wrong proof: the answer never tells which
            # code ids exist (the audit log keeps the difference).
            reason = "wrong" if exc.reason == "unknown" else exc.reason
            refusal = _error(exc.status, str(exc), reason=reason)
            if isinstance(exc, EnrolThrottled):
                refusal.headers["Retry-After"] = str(exc.seconds)
            return refusal
        except HubBusy as exc:
            return _error(503, str(exc))
        except OdekakeError as exc:
            return _error(400, str(exc), reason="refused")
        except Exception:
            log.exception("hub: unexpected error in enrol")
            return _error(503, "ハブで登録を処理できませんでした。しばらくしてから試してください")

    async def voting_guard(request: Request) -> Response | None:
        """The early-voting routes sit behind the same device signature check."""
        try:
            device, body = await admit(request)
        except ClientDisconnect:
            return _error(400, "送信が途中で切れました")
        except _Refused as exc:
            log.info("拒否 (%s): %s", exc.status, exc.message)
            return _error(exc.status, exc.message)
        except HubBusy as exc:
            return _error(503, str(exc))
        request.state.device_id = device
        request._body = body  # the endpoint's request.body() returns what was checked
        return None

    routes = [
        *voting_routes(path, guard=voting_guard),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/ack", guarded(ack), methods=["GET"]),
        Route("/v1/push", guarded(push), methods=["POST"]),
        Route("/v1/snapshot", guarded(snapshot), methods=["GET"]),
        Route("/v1/status", guarded(status), methods=["GET"]),
        Route("/v1/enrol", enrol, methods=["POST"]),
        *mounted_apps(path),  # the console at /console/: staff sessions, no device auth
    ]
    if only_voting:
        routes = [*voting_routes(path, guard=voting_guard), Route("/health", health)]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestsInFlight, limit=MAX_CONCURRENCY),
            Middleware(SignAnswers, key=hub_key),
        ],
        exception_handlers={HTTPException: http_refusal},
    )


async def http_refusal(request: Request, exc: Exception) -> Response:
    """A route or method the hub does not have: a named Japanese answer, never plain text
    (the console, mounted below, draws its own pages)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 400
    if status == 405:
        return _error(405, "このアドレスはその方法(GET・POST など)では使えません")
    if status == 404:
        return _error(404, "このアドレスはハブにありません")
    return _error(status, "要求を処理できませんでした")


async def read_capped(
    request: Request, cap: int, *, too_big: str = "送信データが大きすぎます"
) -> bytes:
    """A request's body, streamed and refused with 413 (``too_big``) past ``cap`` bytes,
    declared or sent."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > cap):
        raise _Refused(413, too_big)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _Refused(413, too_big)
        chunks.append(chunk)
    return b"".join(chunks)


class SignAnswers:
    """ASGI middleware: sign the answer to an authenticated request, bound to it.

    Only a request whose device signature verified (the route put ``ANSWER_TO`` in
    the request state) gets ``X-Odekake-Hub-Signature``, over that device, that
    request's signature, the status and the SHA-256 of the answer body (see
    :func:`odekake.sync.wire.answer_message`). Anything else (``/health``, the
    console, an unknown device, a bad signature) is answered unsigned: the hub's key
    signs nothing a caller merely claims.
    """

    def __init__(self, app: ASGIApp, key: Ed25519PrivateKey) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = {k.lower(): v for k, v in scope["headers"]}
        state = scope.setdefault("state", {})
        state.pop(ANSWER_TO, None)
        # A body the app did not read to its end (a refusal, or a route that takes
        # none) is not drained: the connection closes after the answer.
        unread = b"transfer-encoding" in found or found.get(b"content-length", b"0") not in (
            b"0",
            b"",
        )
        start: Message = {}
        chunks: list[bytes] = []

        async def reading_receive() -> Message:
            nonlocal unread
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                unread = False
            return message

        async def signing_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = list(start.get("headers", []))
            bound = state.get(ANSWER_TO)
            if bound is not None:
                device, req_sig = bound
                sig = sign_answer(self.key, device, req_sig, int(start["status"]), body)
                headers.append((HEADER_HUB_SIGNATURE.lower().encode(), sig.encode()))
            if unread:
                headers.append((b"connection", b"close"))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, reading_receive, signing_send)


def serve(
    db_path: Path,
    host: str,
    port: int,
    *,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    log_file: Path | None = None,
) -> None:
    """Run the hub until interrupted (HTTPS when a certificate and key are given).

    With ``log_file`` the hub's lines go to that file, reopened when logrotate moves
    it (``WatchedFileHandler``); without it, to standard error (the journal).
    """
    import logging.handlers

    fmt = "%(asctime)s %(levelname)s %(message)s"
    if log_file is not None:
        handler: logging.Handler = logging.handlers.WatchedFileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter(fmt))
        logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    else:
        logging.basicConfig(level=logging.INFO, format=fmt)
    run_bounded(
        make_app(db_path),
        host,
        port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
    )


def run_bounded(app: ASGIApp, host: str, port: int, **options: Any) -> None:
    """Serve ``app`` with uvicorn under the hub's connection limits
    (:class:`~odekake.sync.connections.GuardedH11Protocol`), the open-file limit
    raised first so that the connection cap fits in it."""
    import uvicorn

    raise_open_file_limit()
    GuardedH11Protocol.cap = max_connections()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=GuardedH11Protocol,
        timeout_keep_alive=30,
        limit_concurrency=None,
        proxy_headers=False,  # no proxy assumed: the peer's own address counts
        **options,
    )
