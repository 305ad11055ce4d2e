"""The hub service (Starlette on uvicorn).

Endpoints (all but ``/health`` and ``/openapi.json`` signed by the device):

- ``GET  /v1/ack``       the acknowledged high-water mark for the calling device
- ``POST /v1/push``      a record bundle (the same format as a USB file)
- ``GET  /v1/snapshot``  master data and this van's plan (``?have=<sha256>``)
- ``GET  /v1/status``    the calling device's status at the hub

A request carries ``X-Odekake-Device``, ``X-Odekake-Timestamp`` (Unix seconds)
and ``X-Odekake-Signature``: Ed25519 over
``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nSHA256(BODY)`` (see :func:`request_message`).
Every database call runs in a worker thread on that thread's own connection;
a locked database is retried with backoff and never reaches the caller as
"database is locked".
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odekake.db import connect, write
from odekake.errors import OdekakeError
from odekake.hubapps import mounted_apps
from odekake.sync.bundle import BundleRefused
from odekake.sync.ingest import HubBusy, hub_mark, ingest_bytes, with_retry
from odekake.sync.keys import (
    RevokedDevice,
    UnknownDevice,
    device_public_key,
    now_iso,
    verify,
)
from odekake.sync.snapshot import snapshot_for
from odekake.sync.status import hub_status
from odekake.voting.checkin import reconcile
from odekake.voting.http import routes as voting_routes

HEADER_DEVICE = "X-Odekake-Device"
HEADER_TIMESTAMP = "X-Odekake-Timestamp"
HEADER_SIGNATURE = "X-Odekake-Signature"
MAX_SKEW_SECONDS = 900
MAX_BODY_BYTES = 256 * 1024 * 1024
T = TypeVar("T")
log = logging.getLogger("odekake.hub")


def request_message(method: str, target: str, timestamp: str, body: bytes) -> bytes:
    """What a device signs for one request (``target`` = path plus ``?query``)."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{target}\n{timestamp}\n{digest}".encode()


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": "2"} if status == 503 else None
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "odekake hub",
        "version": "1",
        "description": (
            "Sync service of the mobile city hall. Every /v1 request is signed by an "
            "enrolled device: headers X-Odekake-Device, X-Odekake-Timestamp (Unix seconds) "
            "and X-Odekake-Signature = base64 Ed25519 over "
            "'METHOD\\nPATH?QUERY\\nTIMESTAMP\\nhex SHA-256 of the body'. Errors are "
            'JSON {"error": <one Japanese line>}: 401 unknown device or bad signature, '
            "403 revoked device, 422 bundle refused (nothing stored), 503 hub busy (retry)."
        ),
    },
    "paths": {
        "/health": {
            "get": {
                "summary": "Readiness probe (unsigned)",
                "responses": {"200": {"description": "ok"}},
            }
        },
        "/v1/ack": {
            "get": {
                "summary": "Acknowledged high-water mark of the calling device",
                "responses": {
                    "200": {
                        "description": "mark",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "device_id": {"type": "string"},
                                        "acked_seq": {"type": "integer"},
                                        "acked_hash": {"type": "string"},
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/v1/push": {
            "post": {
                "summary": "Ingest one record bundle (JSON lines, signed trailer)",
                "requestBody": {
                    "required": True,
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "200": {
                        "description": "Ingest result: stored, duplicates, held, quarantined, acked_seq, gaps",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "422": {"description": "Bundle refused; nothing stored"},
                },
            }
        },
        "/v1/snapshot": {
            "get": {
                "summary": "Versioned master data and this van's plan",
                "parameters": [
                    {
                        "name": "have",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "SHA-256 of the snapshot the van already has",
                    }
                ],
                "responses": {"200": {"description": "snapshot or {unchanged: true}"}},
            }
        },
        "/v1/status": {
            "get": {
                "summary": "The calling device's status at the hub",
                "responses": {"200": {"description": "status"}},
            }
        },
    },
}


_ERROR = {"content": {"application/json": {"schema": {"type": "object"}}}}
_ERRORS = {
    "400": {"description": "Bad request (one Japanese line in error/message)", **_ERROR},
    "401": {"description": "Unknown device or bad signature", **_ERROR},
    "403": {"description": "Revoked device, or body signed by another device", **_ERROR},
    "409": {"description": "Request id reused with different content", **_ERROR},
    "413": {"description": "Body too large", **_ERROR},
    "503": {"description": "Hub busy: retry later", **_ERROR},
}
_VOTE_PATHS: dict[str, Any] = {
    "/vote/checkin": {
        "post": {
            "summary": "Atomic roll check-in (idempotent per request_id)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [
                                "request_id",
                                "election_id",
                                "voter_no",
                                "station_id",
                                "clerk_id",
                                "device_id",
                                "reason",
                            ],
                            "properties": {
                                k: {"type": "string"}
                                for k in (
                                    "request_id",
                                    "election_id",
                                    "voter_no",
                                    "station_id",
                                    "clerk_id",
                                    "device_id",
                                    "reason",
                                )
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {"description": "confirmed, already_voted or refused", **_ERROR},
                "422": {"description": "Refused (not on the roll, station closed …)", **_ERROR},
            },
        }
    },
    "/vote/status": {
        "get": {
            "summary": "A voter's or an election's check-in status",
            "parameters": [
                {
                    "name": "election_id",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                },
                {
                    "name": "voter_no",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ],
            "responses": {"200": {"description": "status", **_ERROR}},
        }
    },
    "/vote/health": {
        "get": {
            "summary": "Readiness of the voting routes",
            "responses": {"200": {"description": "ok"}},
        }
    },
}
OPENAPI["paths"].update(_VOTE_PATHS)
for _path, _item in OPENAPI["paths"].items():
    if _path.startswith(("/v1/", "/vote/")) and _path != "/vote/health":
        for _op in _item.values():
            for _code, _resp in _ERRORS.items():
                _op["responses"].setdefault(_code, _resp)


def make_app(db_path: str | Path, *, max_skew: int = MAX_SKEW_SECONDS) -> Starlette:
    """The hub application over an existing hub database (migrated once here)."""
    path = Path(db_path)
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

    async def authenticate(request: Request, body: bytes) -> str:
        device = request.headers.get(HEADER_DEVICE)
        stamp = request.headers.get(HEADER_TIMESTAMP)
        signature = request.headers.get(HEADER_SIGNATURE)
        if not device or not stamp or not signature:
            raise _Refused(
                401, "署名のない要求です。端末を登録して odekake sync で送信してください"
            )
        try:
            skew = abs(time.time() - float(stamp))
        except ValueError as exc:
            raise _Refused(401, "要求の時刻の形式が正しくありません") from exc
        if skew > max_skew:
            raise _Refused(
                401, f"端末の時計がハブと {int(skew)} 秒ずれています。時計を合わせてください"
            )
        try:
            public = await call(lambda conn: device_public_key(conn, device))
        except UnknownDevice as exc:
            raise _Refused(401, str(exc)) from exc
        except RevokedDevice as exc:
            raise _Refused(403, str(exc)) from exc
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if not verify(public, request_message(request.method, target, stamp, body), signature):
            raise _Refused(401, f"端末 {device} の署名が正しくありません")
        return device

    def guarded(
        handler: Callable[[Request, str, bytes], Any],
    ) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            try:
                length = int(request.headers.get("content-length") or 0)
                if length > MAX_BODY_BYTES:
                    return _error(413, "送信データが大きすぎます。件数を減らして送ってください")
                body = await request.body()
                device = await authenticate(request, body)
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
            except Exception:
                log.exception("hub: unexpected error")
                return _error(500, "ハブで想定外のエラーが起きました。管理者に連絡してください")

        return endpoint

    async def ack(request: Request, device: str, body: bytes) -> JSONResponse:
        def run(conn: sqlite_utils.Database) -> dict[str, Any]:
            touch(conn, device)
            mark, mark_hash = hub_mark(conn, device)
            return {"device_id": device, "acked_seq": mark, "acked_hash": mark_hash}

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
        return JSONResponse(result.to_json())

    async def snapshot(request: Request, device: str, body: bytes) -> JSONResponse:
        have = request.query_params.get("have")

        def run(conn: sqlite_utils.Database) -> dict[str, Any]:
            touch(conn, device)
            snap = snapshot_for(conn, device)
            if have and have == snap["sha256"]:
                return {"unchanged": True, "version": snap["version"], "sha256": snap["sha256"]}
            return snap

        return JSONResponse(await call(run))

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
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(OPENAPI)

    async def voting_guard(request: Request) -> Response | None:
        """The early-voting routes sit behind the same device signature check."""
        try:
            body = await request.body()
            request.state.device_id = await authenticate(request, body)
        except _Refused as exc:
            return _error(exc.status, exc.message)
        return None

    routes = [
        *voting_routes(path, guard=voting_guard),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/v1/ack", guarded(ack), methods=["GET"]),
        Route("/v1/push", guarded(push), methods=["POST"]),
        Route("/v1/snapshot", guarded(snapshot), methods=["GET"]),
        Route("/v1/status", guarded(status), methods=["GET"]),
        *mounted_apps(path),  # the console at /console/: staff sessions, no device auth
    ]
    return Starlette(routes=routes)


def serve(db_path: Path, host: str, port: int) -> None:
    """Run the hub until interrupted."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    app = make_app(db_path)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_keep_alive=30)
