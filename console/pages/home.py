"""Home: today's vans at a glance."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.web import console_of, page, render
from odekake.overview import vans_today
from planner.output import date_ja


@page("console.home")
async def home(request: Request) -> Response:
    """Each van's planned stops today, last sync, records at the hub and alerts."""
    con = console_of(request)
    today = con.today()
    vans = await con.call(lambda db: vans_today(db, today))
    return render(
        request,
        "home.html",
        {"vans": vans, "today": date_ja(today), "today_iso": today.isoformat()},
    )
