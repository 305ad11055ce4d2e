"""The city-hall console: a Starlette app the hub mounts at ``/console/``.

``make_console(db_path)`` builds it; ``mount(db_path)`` is the ``odekake.hub`` entry
point that :func:`odekake.operations.hubapps.mounted_apps` calls, so the hub serves the console
in the same process over the same database without importing this package.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Callable
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from console.guard import BodyLimit, with_security_headers
from console.pages import home
from console.pages.routes import routes as page_routes
from console.web import (
    CSRF_FIELD,
    HERE,
    IDLE_MINUTES,
    JST,
    Console,
    action,
    client_address,
    console_of,
    csrf_token,
    forbidden,
    href,
    html_error,
    render,
)
from odekake.access import audit
from odekake.access.staff import (
    LoginRefused,
    LoginThrottled,
    authenticate,
    refuse_if_throttled,
    session_secret,
)
from odekake.access.staff_sessions import end_session, start_session
from odekake.errors import NotFound, OdekakeError
from odekake.storage.db import connect

log = logging.getLogger("odekake.console")
COOKIE = "odekake_console"
SESSION_MAX_AGE = 12 * 3600


class _Sessions:
    """Starlette's signed-cookie sessions, with ``Secure`` set when served over TLS.

    The cookie is HttpOnly and SameSite=Strict; it carries only a random session
    token (the session itself is kept at the hub, :mod:`odekake.access.staff_sessions`), the
    last-seen time (for the idle notice) and the CSRF token, signed with the hub's secret.
    """

    def __init__(self, app: ASGIApp, secret: str, path: str) -> None:
        common: dict[str, Any] = {
            "secret_key": secret,
            "path": path,
            "session_cookie": COOKIE,
            "max_age": SESSION_MAX_AGE,
            "same_site": "strict",
        }
        self.plain = SessionMiddleware(app, https_only=False, **common)
        self.tls = SessionMiddleware(app, https_only=True, **common)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = self.tls if scope.get("scheme") in ("https", "wss") else self.plain
        await chosen(scope, receive, send)


def _safe_next(request: Request, target: str) -> str:
    root = href(request, "/")
    if target.startswith(root) and not target.startswith("//"):
        return target
    return root


async def login_page(request: Request) -> Response:
    """The sign-in form (also where every refused request without a session lands)."""
    note = request.query_params.get("note", "")
    message = (
        "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
        if note == "idle"
        else ""
    )
    return render(
        request,
        "login.html",
        {"next": request.query_params.get("next", ""), "error": "", "message": message},
    )


async def login_submit(request: Request) -> Response:
    """Check the password in the core (throttle per login and address, audit) and
    start a fresh session, kept at the hub."""
    form = await request.form()
    sent = str(form.get(CSRF_FIELD, ""))
    if not sent or not hmac.compare_digest(sent, csrf_token(request)):
        return forbidden(
            request, "フォームの確認用の値がありません。ログイン画面を開き直してください。"
        )
    login = str(form.get("login", "")).strip()[:64]
    password = str(form.get("password", ""))[:1024]
    target = str(form.get("next", ""))
    address = client_address(request)
    con = console_of(request)
    try:
        # a throttled attempt is answered without taking a password-check slot
        await con.call(lambda db: refuse_if_throttled(db, login, address))
        member = await con.call_kdf(lambda db: authenticate(db, login, password, address=address))
    except LoginRefused as exc:
        status = 429 if isinstance(exc, LoginThrottled) else 401
        response = render(
            request,
            "login.html",
            {"next": target, "error": str(exc), "message": "", "login": login},
            status=status,
        )
        if isinstance(exc, LoginThrottled):
            response.headers["Retry-After"] = str(exc.seconds)
        return response
    old = request.session.get("sid")
    if old:
        await con.call(lambda db: end_session(db, str(old)))
    request.session.clear()  # a new session: nothing carries over from before
    token = await con.call(lambda db: start_session(db, member.login, address))
    request.session["sid"] = token
    request.session["seen"] = datetime.now().timestamp()
    csrf_token(request)
    return RedirectResponse(_safe_next(request, target), status_code=303)


@action("console.home")
async def logout(request: Request, form: Any) -> Response:
    """End the session, at the hub too: the cookie is worthless afterwards (audited)."""
    who = f"staff:{request.state.staff}"
    token = str(request.session.get("sid", ""))

    def run(db: Any) -> None:
        end_session(db, token)
        audit.log(db, who, "logout", "console")

    await console_of(request).call(run)
    request.session.clear()
    return RedirectResponse(href(request, "/login"), status_code=303)


ERROR_MESSAGES: dict[int, str] = {
    400: "送られた値が正しくありません。画面を開き直して、もう一度操作してください。",
    403: "この操作はできません。",
    404: "ページが見つかりません。アドレスを確認してください。",
    405: "この画面はその方法では使えません。リンクやボタンから開き直してください。",
    413: "送信データが大きすぎます。",
    429: "混み合っています。少し待ってからもう一度操作してください。",
    500: "管理画面で想定外のエラーが起きました。システム管理者に連絡してください。",
}


async def not_found(request: Request, exc: Exception) -> Response:
    """404 in Japanese."""
    return render(request, "404.html", {}, status=404)


async def http_error(request: Request, exc: Exception) -> Response:
    """Other HTTP errors in Japanese (Starlette's English phrases replaced)."""
    status = int(getattr(exc, "status_code", 500))
    if status == 404:
        return await not_found(request, exc)
    detail = str(getattr(exc, "detail", "") or "")
    try:
        english = HTTPStatus(status).phrase
    except ValueError:
        english = ""
    if not detail or detail == english:
        detail = ERROR_MESSAGES.get(status, ERROR_MESSAGES[400 if status < 500 else 500])
    response = render(request, "error.html", {"message": detail, "status": status}, status=status)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)
    return response


async def refused(request: Request, exc: Exception) -> Response:
    """A refusal of the core that a page did not catch: its Japanese line, 404 for
    something that does not exist, 400 otherwise."""
    status = 404 if isinstance(exc, NotFound) else 400
    return await http_error(request, HTTPException(status, str(exc)))


async def server_error(request: Request, exc: Exception) -> Response:
    """An unexpected error: a Japanese page (the traceback goes to the hub's log only)."""
    log.error("console: unexpected error on %s %s", request.method, request.url.path)
    try:
        return render(request, "error.html", {"message": ERROR_MESSAGES[500]}, status=500)
    except Exception:
        return html_error(ERROR_MESSAGES[500], 500)


class ConsoleApp(Starlette):
    """The console's Starlette app: every answer, errors and 500s included, carries
    the security headers (:mod:`console.guard`)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, with_security_headers(send))


TEST_TODAY_ENV = "ODEKAKE_CONSOLE_TEST_TODAY"
"""Tests only: the console's date (YYYY-MM-DD) in a real ``hub serve`` subprocess, so
a journey over a fixed planning month does not depend on the day it runs."""


def _test_clock() -> Callable[[], datetime] | None:
    value = os.environ.get(TEST_TODAY_ENV)
    if not value:
        return None
    from datetime import date as _date
    from datetime import time as _time

    from odekake.operations.overview import JST

    day = _date.fromisoformat(value)
    return lambda: datetime.combine(day, _time(10, 0), JST)


def make_console(
    db_path: str | Path,
    *,
    clock: Callable[[], datetime] | None = None,
    idle_minutes: int = IDLE_MINUTES,
    cookie_path: str = "/console",
) -> Starlette:
    """The console over an existing hub database."""
    path = Path(db_path)
    first = connect(path, role="hub")
    secret = session_secret(first)
    first.close()
    state = Console(path, idle_minutes=idle_minutes)
    if clock is None:
        clock = _test_clock()
    if clock is not None:
        state.clock = clock
    routes: list[BaseRoute] = [
        Route("/", home.home, methods=["GET"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        *page_routes(),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = ConsoleApp(
        routes=routes,
        middleware=[
            Middleware(_Sessions, secret=secret, path=cookie_path),
            Middleware(BodyLimit, error_page=http_error),
        ],
        exception_handlers={
            HTTPException: http_error,
            OdekakeError: refused,
            Exception: server_error,
        },
    )
    app.state.console = state
    return app


def mount(db_path: Path) -> BaseRoute:
    """The ``odekake.hub`` entry point: the console under ``/console``."""
    return Mount("/console", app=make_console(db_path), name="console")


__all__ = ["JST", "make_console", "mount"]
