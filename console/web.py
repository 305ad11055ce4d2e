"""The console's plumbing: database calls off the event loop, templates, sessions,
CSRF, role checks and the audit helper. Pages are in ``console/pages/``.

A page handler is decorated with :func:`page` (GET) or :func:`action` (POST):

- no staff session (or an idle one) → the login page;
- a POST without the session's CSRF token → 403;
- a role that :func:`odekake.access.authz.require_staff` refuses → a 403 page in Japanese
  (the refusal is audited by the core).

The handler then calls one function of ``odekake``/``planner`` through
:meth:`Console.call` and renders a template.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import sqlite_utils
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from odekake.access import audit
from odekake.access.authz import PermissionDenied, require_staff, staff_may, staff_role
from odekake.access.staff import STAFF_ROLES
from odekake.access.staff_sessions import session_login
from odekake.storage.data_cache import BuildOnce
from odekake.storage.db import connect
from odekake.sync.ingest import with_retry

T = TypeVar("T")
HERE = Path(__file__).parent
JST = timezone(timedelta(hours=9), "JST")
IDLE_MINUTES = 30
CSRF_FIELD = "csrftoken"
PATH_ID = re.compile(r"[\w.-]{1,128}")
"""What an id in a console path may look like (anything else: 404, before any lookup)."""
KDF_SLOTS = max(1, min(2, (os.cpu_count() or 2) - 1))
"""Password checks (scrypt, 128 MiB and ~0.8 s of a core each) running at once: one
core is always left for sync and check-ins (1 on the hub's 2-core machine)."""
POOL_IDLE = 16
"""Idle database connections the console keeps open for its worker threads."""
KDF_WAIT_SECONDS = 3.0
"""How long a sign-in waits for a free slot before it is answered 429."""


class KdfBusy(HTTPException):
    """Every password-check slot is taken (answered 429 with a Japanese page)."""

    def __init__(self) -> None:
        super().__init__(
            429,
            "ログインが混み合っています。少し待ってからもう一度試してください。",
            headers={"Retry-After": "5"},
        )


NAV: list[tuple[str, str, str]] = [
    ("/", "ホーム", "console.home"),
    ("/plans", "巡回計画", "plan.view"),
    ("/usage", "利用実績", "report.view"),
    ("/devices", "車両・同期", "device.manage"),
    ("/sites", "地点・地区", "site.edit"),
    ("/elections", "選挙", "election.manage"),
    ("/staff", "職員", "staff.manage"),
    ("/sessions", "セッション", "staff.manage"),
    ("/audit", "監査ログ", "audit.view"),
]


@dataclass
class Console:
    """What every request of the console shares (``request.app.state.console``)."""

    db_path: Path
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(JST))
    idle_minutes: int = IDLE_MINUTES
    kdf_loop: asyncio.AbstractEventLoop | None = None
    kdf_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(KDF_SLOTS))
    pool: list[sqlite_utils.Database] = field(default_factory=list)
    pool_lock: threading.Lock = field(default_factory=threading.Lock)

    def _take(self) -> sqlite_utils.Database:
        with self.pool_lock:
            if self.pool:
                return self.pool.pop()
        return connect(self.db_path, role="hub")

    def _give(self, conn: sqlite_utils.Database) -> None:
        if not conn.conn.in_transaction:
            with self.pool_lock:
                if len(self.pool) < POOL_IDLE:
                    self.pool.append(conn)
                    return
        conn.close()

    def run(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        """``fn(db)`` on a pooled connection (in the calling thread), retrying a busy lock."""
        conn = self._take()
        try:
            return with_retry(lambda: fn(conn))
        finally:
            self._give(conn)

    async def call(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        """Run ``fn(db)`` in a worker thread (never on the event loop), retrying a busy lock.

        Connections come from a small pool, not one per worker thread: the thread pool
        lets idle threads go after a few seconds, and opening a connection (with its
        migration check) costs several milliseconds, paid again by every burst."""
        return await run_in_threadpool(self.run, fn)

    async def call_kdf(self, fn: Callable[[sqlite_utils.Database], T]) -> T:
        """:meth:`call` for work that runs the password KDF (scrypt, 128 MiB): at most
        :data:`KDF_SLOTS` at once; a caller waiting longer than
        :data:`KDF_WAIT_SECONDS` for a slot gets :class:`KdfBusy` (answered 429)."""
        loop = asyncio.get_running_loop()
        if self.kdf_loop is not loop:  # a semaphore belongs to one event loop
            self.kdf_loop, self.kdf_slots = loop, asyncio.Semaphore(KDF_SLOTS)
        slots = self.kdf_slots
        try:
            await asyncio.wait_for(slots.acquire(), KDF_WAIT_SECONDS)
        except TimeoutError as exc:
            raise KdfBusy() from exc
        try:
            return await self.call(fn)
        finally:
            slots.release()

    def today(self) -> Any:
        """Today's date in Japan."""
        return self.clock().date()


templates = Jinja2Templates(directory=str(HERE / "templates"))
# Templates are part of the installed package: no file-date check on every page.
templates.env.auto_reload = False


def _jst(value: str | None) -> str:
    """An ISO timestamp (UTC) as Japan time, ``2026-11-27 09:05``."""
    if not value:
        return "なし"
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return value
    if t.tzinfo is None:
        return value
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M")


templates.env.filters["jst"] = _jst
templates.env.globals["status_labels"] = {
    "draft": "下書き",
    "published": "公開中",
    "superseded": "置き換え済み",
    "discarded": "破棄",
}


def console_of(request: Request) -> Console:
    """The shared state of the app serving ``request``."""
    return request.app.state.console  # type: ignore[no-any-return]


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use); forms carry it as ``csrftoken``."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


def href(request: Request, path: str) -> str:
    """A console path (``/plans``) as the browser sees it (under the mount, ``/console``)."""
    return str(request.scope.get("root_path", "")) + path


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a page template with the common context (user, nav, CSRF token)."""
    user = getattr(request.state, "staff", None)
    role = getattr(request.state, "role", None)
    nav = [
        (href(request, path), label)
        for path, label, need in NAV
        if role is not None and staff_may(role, need)
    ]
    ctx = {
        "user": user,
        "role_label": STAFF_ROLES.get(role or "", ""),
        "nav": nav,
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "root": href(request, ""),
        # Links, buttons and forms are drawn from the same table the routes check.
        "may": lambda need: role is not None and staff_may(role, need),
        **context,
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


_PAGES: BuildOnce[tuple[object, bytes]] = BuildOnce(64)


def render_reused(request: Request, name: str, context: dict[str, Any], source: object) -> Response:
    """:func:`render` for a page drawn only from ``source`` (a cached object, e.g. a
    usage report) and the request's address: its HTML is kept per session, page
    address and ``source``, so a reload of a large table costs a lookup. A new
    ``source`` (the data moved) draws the page again."""
    key = (
        name,
        id(source),
        request.url.path,
        request.url.query,
        getattr(request.state, "staff", None),
        getattr(request.state, "role", None),
        csrf_token(request),
    )

    def draw() -> tuple[object, bytes]:
        return source, bytes(render(request, name, context).body)

    held, body = _PAGES.get(key, draw)
    if held is not source:  # the id of an object gone, reused by a newer one
        return render(request, name, context)
    return HTMLResponse(body, headers={"Cache-Control": "no-store"})


def forbidden(request: Request, message: str) -> Response:
    """The 403 page (Japanese)."""
    return render(request, "403.html", {"message": message}, status=403)


def _login_redirect(request: Request, note: str = "") -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    dest = href(request, "/login") + f"?next={quote(target)}"
    if note:
        dest += f"&note={note}"
    return RedirectResponse(dest, status_code=303)


@dataclass(frozen=True)
class StaffCheck:
    """Who is signed in and what the role allows (one trip to the database)."""

    login: str | None
    role: str | None = None
    denied: PermissionDenied | None = None


def check_staff(
    db: sqlite_utils.Database, token: str, need: str | None, *, idle_minutes: int, now: datetime
) -> StaffCheck:
    """The session's login and, when ``need`` is given, its role checked against it
    (a refusal audited by :func:`~odekake.access.authz.require_staff`)."""
    login = session_login(db, token, idle_minutes=idle_minutes, now=now)
    if login is None or need is None:
        return StaffCheck(login)
    return check_role(db, login, need)


def check_role(db: sqlite_utils.Database, login: str, need: str) -> StaffCheck:
    """:func:`check_staff` for a login already known to be signed in."""
    try:
        return StaffCheck(login, require_staff(db, login, need))
    except PermissionDenied as exc:
        return StaffCheck(login, staff_role(db, login), exc)


async def current_staff(request: Request, need: str | None = None) -> StaffCheck:
    """The signed-in login (None: no session, one ended at the hub — logout, password
    or role change, account disabled, ended by an administrator — or an idle one),
    with the role checked against ``need`` in the same call when it is given."""
    token = request.session.get("sid")
    if not token:
        return StaffCheck(None)
    con = console_of(request)
    now = time.time()
    at = datetime.fromtimestamp(now, UTC)
    check = await con.call(
        lambda db: check_staff(db, str(token), need, idle_minutes=con.idle_minutes, now=at)
    )
    if check.login is None:
        if now - float(request.session.get("seen", 0)) > con.idle_minutes * 60:
            request.state.idle = True
        request.session.pop("sid", None)
        return check
    request.session["seen"] = now
    return check


def client_address(request: Request) -> str:
    """The address the request came from (the TCP peer: no proxy header is trusted)."""
    return request.client.host if request.client else ""


Handler = Callable[..., Awaitable[Response]]


def _guarded(
    need: str, *, post: bool
) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            for value in request.path_params.values():
                if not PATH_ID.fullmatch(str(value)):
                    raise HTTPException(404)
            # A page checks the session and the role in one call; a form checks its
            # CSRF token between the two (a forged form is refused before any audit).
            check = await current_staff(request, None if post else need)
            login = check.login
            if login is None:
                idle = getattr(request.state, "idle", False)
                return _login_redirect(request, "idle" if idle else "")
            form: FormData | None = None
            if post:
                form = await request.form()
                sent = str(form.get(CSRF_FIELD, ""))
                if not sent or not hmac.compare_digest(sent, csrf_token(request)):
                    return forbidden(
                        request,
                        "フォームの確認用の値がありません(または古くなっています)。"
                        "画面を開き直してからもう一度操作してください。",
                    )
                con = console_of(request)
                who: str = login
                check = await con.call(lambda db: check_role(db, who, need))
            request.state.staff = login
            request.state.role = check.role
            if check.denied is not None:
                return forbidden(request, str(check.denied))
            if post:
                return await handler(request, form)
            return await handler(request)

        return endpoint

    return wrap


def page(need: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A GET page for staff whose role allows ``need`` (see ``odekake.access.authz``)."""
    return _guarded(need, post=False)


def action(need: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A POST that changes something: session, CSRF token and role checked first."""
    return _guarded(need, post=True)


def actor(request: Request) -> str:
    """The audit actor of the signed-in staff member."""
    return f"staff:{request.state.staff}"


async def audit_change(
    request: Request, action_name: str, target: str = "", detail: dict[str, Any] | None = None
) -> None:
    """Write one audit entry for a change made in the console (by the signed-in staff)."""
    who = actor(request)
    await console_of(request).call(lambda db: audit.log(db, who, action_name, target, detail))


def is_iso_date(text: str) -> bool:
    """True for a real calendar date written ``YYYY-MM-DD``."""
    if len(text) != 10:
        return False
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def html_error(message: str, status: int = 400) -> HTMLResponse:
    """A bare Japanese error page (for the rare case with no template context)."""
    return HTMLResponse(
        f'<!doctype html><html lang="ja"><meta charset="utf-8"><p>{message}</p></html>',
        status_code=status,
    )
