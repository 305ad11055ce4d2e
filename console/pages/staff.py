"""職員: staff accounts (add, role, password reset, disable) — ``odekake.access.staff``, audited."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.web import action, actor, console_of, href, page, render
from odekake.access.staff import (
    STAFF_ROLES,
    add_staff,
    confirm_admin_password,
    disable_staff,
    get_staff,
    list_staff,
    reset_password,
    set_role,
)
from odekake.errors import OdekakeError


async def _page(
    request: Request, *, error: str = "", typed: dict[str, str] | None = None, status: int = 200
) -> Response:
    members = await console_of(request).call(list_staff)
    return render(
        request,
        "staff.html",
        {
            "members": members,
            "roles": STAFF_ROLES,
            "error": error,
            "typed": typed or {},
            "done": request.query_params.get("done", ""),
        },
        status=status,
    )


@page("staff.manage")
async def staff_page(request: Request) -> Response:
    """Every account with its role and state, and the forms that change them."""
    return await _page(request)


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


@action("staff.manage")
async def staff_change(request: Request, form: FormData) -> Response:
    """One change (``op`` = add, role, reset or disable) through ``odekake.access.staff``."""
    op = _field(form, "op")
    login = _field(form, "login").strip()
    who = actor(request)

    def grants_admin(db: Any) -> bool:
        """Adding or promoting an admin, or resetting an admin's password."""
        if op in ("add", "role"):
            return _field(form, "role") == "admin"
        if op == "reset":
            try:
                return get_staff(db, login).role == "admin"
            except OdekakeError:
                return False
        return False

    def run(db: Any) -> None:
        if grants_admin(db):
            confirm_admin_password(
                db,
                str(request.state.staff),
                _field(form, "confirm_password"),
                purpose=f"staff.{op}",
            )
        if op == "add":
            add_staff(
                db,
                login,
                _field(form, "name"),
                _field(form, "role"),
                _field(form, "password"),
                actor=who,
            )
        elif op == "role":
            set_role(db, login, _field(form, "role"), actor=who)
        elif op == "reset":
            reset_password(db, login, _field(form, "password"), actor=who)
        elif op == "disable":
            if login == request.state.staff:
                raise OdekakeError("自分のアカウントは無効にできません")
            disable_staff(db, login, actor=who)
        else:
            raise OdekakeError("操作が分かりません")

    try:
        await console_of(request).call(run)
    except OdekakeError as exc:
        typed = {k: _field(form, k) for k in ("op", "login", "name", "role")}
        return await _page(request, error=f"{login}: {exc}", typed=typed, status=400)
    return RedirectResponse(href(request, f"/staff?done={op}"), status_code=303)


def routes() -> list[BaseRoute]:
    """The 職員 routes."""
    return [
        Route("/staff", staff_page, methods=["GET"]),
        Route("/staff", staff_change, methods=["POST"]),
    ]
