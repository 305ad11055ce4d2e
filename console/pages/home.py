"""Home: today's vans at a glance."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.web import console_of, page, render
from odekake.operations.actual import day_actual
from odekake.operations.backup import backup_warnings
from odekake.operations.overview import vans_today
from planner.output import date_ja


@page("console.home")
async def home(request: Request) -> Response:
    """Each van's planned stops today, last sync, records at the hub and alerts."""
    con = console_of(request)
    today = con.today()
    vans, actual, backups = await con.call(
        lambda db: (vans_today(db, today), day_actual(db, today), backup_warnings(db))
    )
    return render(
        request,
        "home.html",
        {
            "vans": vans,
            "today": date_ja(today),
            "today_iso": today.isoformat(),
            "backup_warnings": backups,
            # today's stops against the plan, per van, as the synced records show them
            "actual": {v.van_id: [s for s in actual.stops if s.van_id == v.van_id] for v in vans},
        },
    )
