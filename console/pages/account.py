"""The staff member's own password, and the administrator's view of sessions and
sign-in throttles (``odekake.access.staff``, ``odekake.access.staff_sessions``; audited)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.web import (
    action,
    actor,
    client_address,
    console_of,
    href,
    page,
    render,
)
from odekake.access.staff import MIN_PASSWORD, change_own_password, clear_throttle, list_throttles
from odekake.access.staff_sessions import end_session_by_id, list_sessions, start_session
from odekake.errors import OdekakeError


def _field(form: FormData, name: str, limit: int = 1024) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


async def _password_page(request: Request, *, error: str = "", status: int = 200) -> Response:
    return render(
        request,
        "account_password.html",
        {"error": error, "min_password": MIN_PASSWORD, "done": request.query_params.get("done")},
        status=status,
    )


@page("console.home")
async def password_page(request: Request) -> Response:
    """The form to change one's own password (the current one asked first)."""
    return await _password_page(request)


@action("console.home")
async def password_change(request: Request, form: FormData) -> Response:
    """Change one's own password: every session of the account ends, this browser
    gets a fresh one."""
    login = str(request.state.staff)
    current, new = _field(form, "current"), _field(form, "password")
    if new != _field(form, "confirm"):
        return await _password_page(
            request, error="新しいパスワードが確認欄と一致しません", status=400
        )
    address = client_address(request)
    con = console_of(request)
    try:
        await con.call_kdf(lambda db: change_own_password(db, login, current, new, address=address))
    except OdekakeError as exc:
        return await _password_page(request, error=str(exc), status=400)
    token = await con.call(lambda db: start_session(db, login, address))
    request.session["sid"] = token
    return RedirectResponse(href(request, "/account/password?done=1"), status_code=303)


@page("staff.manage")
async def sessions_page(request: Request) -> Response:
    """Open sessions (who, from where, since, last seen) and sign-in throttles."""

    def run(db: Any) -> tuple[Any, Any]:
        return list_sessions(db), list_throttles(db)

    sessions, throttles = await console_of(request).call(run)
    return render(
        request,
        "sessions.html",
        {
            "sessions": sessions,
            "throttles": throttles,
            "done": request.query_params.get("done", ""),
        },
    )


@action("staff.manage")
async def session_end(request: Request, form: FormData) -> Response:
    """End one session (audited)."""
    sid, who = _field(form, "id", 64), actor(request)
    await console_of(request).call(lambda db: end_session_by_id(db, sid, actor=who))
    return RedirectResponse(href(request, "/sessions?done=end"), status_code=303)


@action("staff.manage")
async def throttle_clear(request: Request, form: FormData) -> Response:
    """Forget one (login, address)'s failed sign-ins (audited)."""
    login, address, who = _field(form, "login", 64), _field(form, "address", 64), actor(request)
    await console_of(request).call(lambda db: clear_throttle(db, login, address, actor=who))
    return RedirectResponse(href(request, "/sessions?done=clear"), status_code=303)


def routes() -> list[BaseRoute]:
    """パスワード変更 and セッション."""
    return [
        Route("/account/password", password_page, methods=["GET"]),
        Route("/account/password", password_change, methods=["POST"]),
        Route("/sessions", sessions_page, methods=["GET"]),
        Route("/sessions/end", session_end, methods=["POST"]),
        Route("/sessions/throttles/clear", throttle_clear, methods=["POST"]),
    ]
