"""車両・同期: every device, enrolment and revocation, quarantined records and their resolution."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.svg_qr import qr_svg
from console.web import action, actor, console_of, href, page, render
from odekake.access import audit
from odekake.access.staff import confirm_admin_password
from odekake.errors import NotFound, OdekakeError
from odekake.sync import fleet
from odekake.sync.enrol_codes import cancel_code, create_code, list_codes, qr_text
from odekake.sync.enrolment import enroll
from odekake.sync.keys import device_key_status, fingerprint

ENROL_LABELS = {
    "registered": "ハブに登録しました",
    "unchanged": "ハブに登録済みです(変更なし)",
    "replaced": "ハブの鍵を新しい鍵に置き換えました",
}


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


async def _page(
    request: Request,
    *,
    error: str = "",
    typed: dict[str, str] | None = None,
    enrolled: dict[str, str] | None = None,
    new_code: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    def load(db: Any) -> dict[str, Any]:
        return {
            "devices": fleet.devices(db),
            "quarantine": fleet.quarantined(db),
            "vans": fleet.van_names(db),
            "codes": list_codes(db),
        }

    data = await console_of(request).call(load)
    return render(
        request,
        "devices.html",
        {
            **data,
            "error": error,
            "typed": typed or {},
            "enrolled": enrolled,
            "new_code": new_code,
            "done": request.query_params.get("done", ""),
            "keep_labels": fleet.KEEP_LABELS,
        },
        status=status,
    )


@page("device.manage")
async def devices_page(request: Request) -> Response:
    """Devices, their sync state, quarantined records, the enrol form."""
    return await _page(request)


@action("device.manage")
async def enrol(request: Request, form: FormData) -> Response:
    """Register a van's public key (``odekake device enroll --hub-db``); show what the van needs."""
    con = console_of(request)
    device_id = _field(form, "device_id")
    public_key = _field(form, "public_key")
    van_id = _field(form, "van_id") or None
    replace = _field(form, "replace") == "1"  # re-admits a revoked device only
    password = form.get("confirm_password", "")
    who = actor(request)
    login = str(request.state.staff)

    def run(db: Any) -> tuple[str, str, str, str]:
        if not device_id or not public_key:
            raise OdekakeError("端末IDと公開鍵を入力してください")
        # A van's key is what the hub trusts: only an admin who proves it is them.
        confirm_admin_password(
            db, login, password if isinstance(password, str) else "", purpose="device.enrol"
        )
        known = device_key_status(db, device_id)
        old = known[0] if known else None
        if known is not None and known[1] == "active" and known[0] != public_key:
            # An active key is replaced only through a one-time code (made with the
            # password re-entered, redeemed by the van itself, audited old/new).
            raise OdekakeError(
                f"端末 {device_id} は別の鍵で登録済みです。鍵を置き換えるときは、"
                "「登録コードを作る」で作ったコードで車両から登録し直してください"
            )
        if known is not None and known[1] != "active" and not replace:
            raise OdekakeError(
                f"端末 {device_id} は失効済みです。新しい鍵で登録し直すときは"
                "「失効済みの端末を新しい鍵で登録し直す」に印を付けてください"
            )
        dev, pub, outcome, hub_pub = enroll(
            None,
            con.db_path,
            device_id=device_id,
            public_key=public_key,
            van_id=van_id,
            replace=replace,
        )
        if outcome != "unchanged":
            audit.log(
                db,
                who,
                "device.enrol",
                dev,
                {
                    "outcome": outcome,
                    "van": van_id or dev,
                    "old_key": fingerprint(old) if old else "",
                    "new_key": fingerprint(pub),
                },
            )
        return dev, pub, outcome, hub_pub or ""

    try:
        dev, pub, outcome, hub_pub = await con.call(run)
    except OdekakeError as exc:
        typed = {"device_id": device_id, "public_key": public_key, "van_id": van_id or ""}
        return await _page(request, error=str(exc), typed=typed, status=400)
    enrolled = {
        "device_id": dev,
        "outcome": ENROL_LABELS.get(outcome, outcome),
        "fingerprint": fingerprint(pub),
        "hub_key": hub_pub,
        "hub_fingerprint": fingerprint(hub_pub) if hub_pub else "",
        "hub_url": _hub_url(request),
    }
    return await _page(request, enrolled=enrolled)


def _hub_url(request: Request) -> str:
    """The hub's URL as this browser reaches it (what a van on the same network uses)."""
    return str(request.base_url).split("/console", 1)[0].rstrip("/")


@action("device.manage")
async def make_code(request: Request, form: FormData) -> Response:
    """A one-time enrolment code for a van (admin, password re-entered); shown once."""
    con = console_of(request)
    van_id = _field(form, "code_van_id") or _field(form, "code_new_van_id")
    password = form.get("confirm_password", "")
    who = actor(request)
    login = str(request.state.staff)

    def run(db: Any) -> Any:
        if not van_id:
            raise OdekakeError("登録コードを作る車両を選ぶか、新しい車両IDを入力してください")
        # A code lets a van register (or replace) the key the hub trusts.
        confirm_admin_password(
            db, login, password if isinstance(password, str) else "", purpose="enrol.code"
        )
        return create_code(db, van_id, actor=who)

    try:
        made = await con.call(run)
    except OdekakeError as exc:
        return await _page(request, error=str(exc), typed={"code_new_van_id": van_id}, status=400)
    hub_url = _hub_url(request)
    text = qr_text(hub_url, made.code)
    shown = {
        "code": made.code,
        "van_id": made.van_id,
        "expires_at": made.expires_at,
        "hub_url": hub_url,
        "replaces": made.replaces,
        "qr": qr_svg(text, label=f"車両 {made.van_id} の登録用QRコード"),
        "command": f"odekake device enroll --db van.db --hub {hub_url} --code {made.code}",
    }
    return await _page(request, new_code=shown)


@action("device.manage")
async def cancel(request: Request, form: FormData) -> Response:
    """Cancel a pending enrolment code (audited)."""
    code_id = _field(form, "code_id")
    who = actor(request)
    try:
        await console_of(request).call(lambda db: cancel_code(db, code_id, actor=who))
    except OdekakeError as exc:
        return await _page(request, error=str(exc), status=400)
    return RedirectResponse(href(request, "/devices?done=code-cancelled"), status_code=303)


@action("device.manage")
async def revoke(request: Request, form: FormData) -> Response:
    """Revoke a device (the hub refuses its requests from now on); audited."""
    device_id = _field(form, "device_id")
    who = actor(request)
    try:
        await console_of(request).call(lambda db: fleet.revoke(db, device_id, actor=who))
    except OdekakeError as exc:
        return await _page(request, error=str(exc), status=400)
    return RedirectResponse(href(request, "/devices?done=revoked"), status_code=303)


def _n(request: Request) -> int:
    try:
        return int(request.path_params["n"])
    except ValueError:
        return -1


@page("device.manage")
async def quarantine_page(request: Request) -> Response:
    """Both versions of a quarantined record (personal data: the look is audited)."""
    n = _n(request)
    who = actor(request)
    try:
        q, hub, van = await console_of(request).call(
            lambda db: fleet.open_quarantined(db, n, actor=who)
        )
    except NotFound as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)

    def pretty(version: dict[str, Any]) -> str:
        shown = dict(version)
        if isinstance(shown.get("payload"), str):
            with contextlib.suppress(ValueError):
                shown["payload"] = json.loads(shown["payload"])
        return json.dumps(shown, ensure_ascii=False, indent=2, sort_keys=True)

    return render(
        request,
        "quarantine.html",
        {
            "q": q,
            "hub": pretty(hub) if hub else "",
            "van": pretty(van),
            "keep_labels": fleet.KEEP_LABELS,
            "error": "",
        },
    )


@action("device.manage")
async def resolve(request: Request, form: FormData) -> Response:
    """Record which version counts, with a reason (a new row; audited)."""
    n = _n(request)
    keep = _field(form, "keep")
    reason = _field(form, "reason")
    who = actor(request)
    try:
        await console_of(request).call(
            lambda db: fleet.resolve_quarantined(db, n, keep, reason, actor=who)
        )
    except NotFound as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)
    except OdekakeError as exc:
        return await _page(request, error=f"隔離 {n} 番: {exc}", status=400)
    return RedirectResponse(href(request, "/devices?done=resolved"), status_code=303)


def routes() -> list[BaseRoute]:
    """The 車両・同期 routes."""
    return [
        Route("/devices", devices_page, methods=["GET"]),
        Route("/devices/enroll", enrol, methods=["POST"]),
        Route("/devices/revoke", revoke, methods=["POST"]),
        Route("/devices/codes", make_code, methods=["POST"]),
        Route("/devices/codes/cancel", cancel, methods=["POST"]),
        Route("/devices/quarantine/{n}", quarantine_page, methods=["GET"]),
        Route("/devices/quarantine/{n}/resolve", resolve, methods=["POST"]),
    ]
