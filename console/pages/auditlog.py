"""監査ログ: the audit log filtered by actor, action and date; the chain verified."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from console.web import console_of, page, render
from odekake.access import audit
from odekake.access.audit_search import AuditQuery, describe, known_actions, search


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


@page("audit.view")
async def audit_page(request: Request) -> Response:
    """The newest entries matching the filter; ``?verify=1`` checks the whole chain."""
    q = request.query_params
    values = {k: q.get(k, "") for k in ("actor", "action", "since", "until")}
    errors = [
        f"日付は YYYY-MM-DD で指定してください: {values[k]}"
        for k in ("since", "until")
        if values[k].strip() and _day(values[k]) is None
    ]
    query = AuditQuery(
        actor=values["actor"],
        action=values["action"],
        since=_day(values["since"]),
        until=_day(values["until"]),
    )
    check = q.get("verify") == "1"

    def load(db: Any) -> dict[str, Any]:
        found, total = search(db, query)
        return {
            "entries": found,
            "total": total,
            "actions": known_actions(db),
            "problems": audit.verify(db) if check else None,
        }

    data = await console_of(request).call(load)
    return render(
        request,
        "audit.html",
        {
            **data,
            "values": values,
            "errors": errors,
            "labels": audit.ACTIONS,
            "verified": check,
            "describe": describe,
        },
        status=400 if errors else 200,
    )


def routes() -> list[BaseRoute]:
    """The 監査ログ routes."""
    return [Route("/audit", audit_page, methods=["GET"])]
