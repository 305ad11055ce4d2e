"""The hub's voting endpoints (Starlette).

``routes(db_path)`` gives the routes for the sync hub app to mount (behind its device
signature check); ``make_app(db_path)`` serves them alone (``odekake vote serve``,
tests, demo).

- ``POST /vote/checkin`` — body: :class:`~odekake.voting.checkin.kinds.CheckinRequest` JSON;
  answer: the stored :class:`~odekake.voting.checkin.kinds.Answer` (200 confirmed /
  200 already_voted / 422 refused / 409 request id reused / 400 bad body).
- ``POST /vote/release`` — body: :class:`~odekake.voting.checkin.kinds.ReleaseRequest` JSON
  (交付取りやめ); answer: 200 released / 422 refused / 400 bad body.
- ``GET /vote/status?election_id=…[&voter_no=…]`` — a voter's status, or the
  election's counts per station.
- ``GET /vote/health`` — ``{"ok": true}``.

Test hook: when the environment variable ``ODEKAKE_VOTE_TEST_DELAY`` is set (seconds),
the check-in endpoint waits that long AFTER the decision has committed and before
answering, which is how tests lose an answer in transit (client timeout, or killing
the hub between request and answer).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import sqlite_utils
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odekake.errors import OdekakeError
from odekake.storage import strictjson
from odekake.storage.db import connect
from odekake.voting import checkin as ck

TEST_DELAY_ENV = "ODEKAKE_VOTE_TEST_DELAY"

Guard = Callable[[Request], Awaitable[Response | None]]
"""Runs before every voting endpoint (the hub's device-signature check). It returns a
response to reject the request, or None to let it through; it may set
``request.state.device_id`` to the verified device, which the check-in body must match."""


class _Hub:
    """Opens the hub database once, on first use, from the worker threads."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self._db: sqlite_utils.Database | None = None
        self._lock = threading.Lock()

    def db(self) -> sqlite_utils.Database:
        with self._lock:
            if self._db is None:
                self._db = connect(self.db_path, role="hub")
            return self._db


def _json(body: dict[str, object], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def routes(db_path: str | Path, *, guard: Guard | None = None) -> list[Route]:
    """The voting routes, bound to one hub database file.

    Args:
        db_path: The hub database.
        guard: Optional check run before each endpoint (see :data:`Guard`).
    """
    hub = _Hub(db_path)

    def guarded(
        endpoint: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            if guard is not None:
                rejected = await guard(request)
                if rejected is not None:
                    return rejected
            return await endpoint(request)

        return run

    async def request_of(
        request: Request, parse: Callable[[Any], Any], what: str
    ) -> tuple[Any, Response | None]:
        """The van's request read from the body (repeated keys refused), and the refusal
        when it cannot be read or names another device than the one that signed it."""
        try:
            req = parse(strictjson.loads(await request.body()))
        except (ValueError, OdekakeError) as exc:
            return None, _json({"status": "error", "code": "bad_request", "message": str(exc)}, 400)
        verified = getattr(request.state, "device_id", None)
        if verified is not None and verified != req.device_id:
            message = f"署名した端末と{what}の端末IDが一致しません"
            return None, _json(
                {"status": "error", "code": "device_mismatch", "message": message}, 403
            )
        return req, None

    async def checkin_endpoint(request: Request) -> Response:
        req, refused = await request_of(request, ck.CheckinRequest.from_json, "照会")
        if refused is not None:
            return refused
        answer = await run_in_threadpool(lambda: ck.checkin(hub.db(), req))
        delay = os.environ.get(TEST_DELAY_ENV)
        if delay:
            await asyncio.sleep(float(delay))
        return _json(answer.body, answer.status_code)

    async def release_endpoint(request: Request) -> Response:
        req, refused = await request_of(request, ck.ReleaseRequest.from_json, "取りやめ")
        if refused is not None:
            return refused
        answer = await run_in_threadpool(lambda: ck.release(hub.db(), req))
        return _json(answer.body, answer.status_code)

    async def status_endpoint(request: Request) -> Response:
        election_id = request.query_params.get("election_id", "")
        voter_no = request.query_params.get("voter_no")
        if not election_id:
            return _json({"status": "error", "message": "election_id がありません"}, 400)
        if voter_no:
            body = await run_in_threadpool(lambda: ck.voter_status(hub.db(), election_id, voter_no))
        else:
            body = await run_in_threadpool(lambda: ck.election_status(hub.db(), election_id))
        return _json(body)

    async def health_endpoint(request: Request) -> Response:
        return _json({"ok": True})

    return [
        Route("/vote/checkin", guarded(checkin_endpoint), methods=["POST"]),
        Route("/vote/release", guarded(release_endpoint), methods=["POST"]),
        Route("/vote/status", guarded(status_endpoint), methods=["GET"]),
        Route("/vote/health", health_endpoint, methods=["GET"]),
    ]


def make_app(db_path: str | Path, *, guard: Guard | None = None) -> Starlette:
    """A standalone app serving only the voting routes."""
    connect(db_path, role="hub").close()  # fail fast on a wrong or missing file
    return Starlette(routes=routes(db_path, guard=guard))
