"""One plan: calendar, map, districts, checks; hand edits, re-solve, compare, publish, files."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console import svg
from console.web import action, actor, console_of, href, is_iso_date, page, render
from odekake.errors import OdekakeError
from planner import compare as cmp
from planner import lifecycle, workbench
from planner.jobs import solver_words
from planner.mapdata import map_data
from planner.output import csv_text, date_ja, ics_text


def _back(request: Request, plan_id: str, note: str = "", day: str = "") -> Response:
    q = []
    if note:
        q.append(f"note={note}")
    if day:
        q.append(f"day={day}")
    return RedirectResponse(
        href(request, f"/plans/{plan_id}" + ("?" + "&".join(q) if q else "")), status_code=303
    )


@page("plan.view")
async def plan_page(request: Request) -> Response:
    """A plan: the solver in words, checks, month calendar, map of a day, districts."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    try:
        view = await con.call(lambda db: workbench.plan_view(db, plan_id, con.today()))
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=404)
    plan = view.plan
    days = sorted({v.date for v in plan.visits})
    day = request.query_params.get("day") or (days[0] if days else plan.horizon_start)
    if not plan.horizon_start <= day <= plan.horizon_end or not is_iso_date(day):
        raise HTTPException(400, f"日付 {day[:20]} はこの計画の期間にありません")
    places = await con.call(map_data)
    month = date.fromisoformat(plan.horizon_start).replace(day=1)
    context = {
        "view": view,
        "plan": plan,
        "s": view.summary,
        "words": solver_words(plan.solver),
        "calendar": svg.calendar_svg(plan, month, link="?day=", selected=day),
        "map": svg.map_svg(plan, places, day),
        "day": day,
        "day_label": date_ja(date.fromisoformat(day)),
        "day_visits": [v for v in plan.visits if v.date == day],
        "sites": places.sites,
        "note": request.query_params.get("note", ""),
    }
    return render(request, "plan.html", context)


@action("plan.edit")
async def plan_edit(request: Request, form: FormData) -> Response:
    """A hand edit (pin, forbid, move, remove); the result is checked by the core."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    who = actor(request)
    try:
        new_id = await con.call(lambda db: workbench.apply_edit(db, plan_id, fields, actor=who))
    except OdekakeError as exc:
        view = await con.call(lambda db: workbench.plan_view(db, plan_id, con.today()))
        return render(
            request,
            "error.html",
            {"message": str(exc), "back": href(request, f"/plans/{view.plan.id}")},
            status=400,
        )
    return _back(request, new_id, "edited", fields.get("day", ""))


@action("plan.edit")
async def plan_resolve(request: Request, form: FormData) -> Response:
    """固定を守って再計算: solve again with the pins and forbids, moving as little as possible."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    who = actor(request)
    today = con.today()
    try:
        job_id = await con.call(
            lambda db: workbench.resolve(db, con.db_path, plan_id, actor=who, today=today)
        )
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=400)
    return RedirectResponse(href(request, f"/plans/jobs/{job_id}"), status_code=303)


@action("plan.edit")
async def plan_replan(request: Request, form: FormData) -> Response:
    """Re-plan after a disaster: a disaster window from a date; the draft lists moved visits."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    who = actor(request)
    today = con.today()
    try:
        job_id = await con.call(
            lambda db: workbench.replan_disaster(
                db, con.db_path, plan_id, fields, actor=who, today=today
            )
        )
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=400)
    return RedirectResponse(href(request, f"/plans/jobs/{job_id}"), status_code=303)


@action("plan.publish")
async def plan_publish(request: Request, form: FormData) -> Response:
    """公開: the vans receive this plan at their next pull."""
    plan_id = request.path_params["plan_id"]
    who = actor(request)
    try:
        await console_of(request).call(lambda db: lifecycle.publish(db, plan_id, actor=who))
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=400)
    return _back(request, plan_id, "published")


@action("plan.edit")
async def plan_discard(request: Request, form: FormData) -> Response:
    """Discard a draft."""
    plan_id = request.path_params["plan_id"]
    who = actor(request)
    try:
        await console_of(request).call(lambda db: lifecycle.discard(db, plan_id, actor=who))
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=400)
    return _back(request, plan_id, "discarded")


@page("plan.view")
async def plans_compare(request: Request) -> Response:
    """Two plans side by side."""
    ids = request.query_params.getlist("id")
    if len(ids) != 2:
        return render(
            request, "error.html", {"message": "比較する計画を2つ選んでください"}, status=400
        )
    con = console_of(request)

    def load(db: Any) -> cmp.Comparison:
        return cmp.compare(lifecycle.load_plan(db, ids[0]), lifecycle.load_plan(db, ids[1]))

    try:
        result = await con.call(load)
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=404)
    return render(request, "compare.html", {"c": result})


async def _plan(request: Request) -> Any:
    plan_id = request.path_params["plan_id"]
    return await console_of(request).call(lambda db: lifecycle.load_plan(db, plan_id))


def _file(body: bytes, media: str, name: str) -> Response:
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@page("plan.view")
async def download_csv(request: Request) -> Response:
    """The plan as CSV (UTF-8 with BOM, as ``odekake plan --csv``)."""
    plan = await _plan(request)
    return _file(csv_text(plan).encode("utf-8-sig"), "text/csv; charset=utf-8", "plan.csv")


@page("plan.view")
async def download_ics(request: Request) -> Response:
    """One van's stops as iCalendar."""
    plan = await _plan(request)
    van = request.path_params["van_id"]
    return _file(ics_text(plan, van).encode("utf-8"), "text/calendar; charset=utf-8", f"{van}.ics")


@page("plan.view")
async def download_pdf(request: Request) -> Response:
    """The calendar PDF."""
    from starlette.concurrency import run_in_threadpool

    plan = await _plan(request)
    body = await run_in_threadpool(cmp.calendar_pdf, plan)
    return _file(body, "application/pdf", "calendar.pdf")


@page("plan.view")
async def download_notices(request: Request) -> Response:
    """The 回覧板 notices, one PDF per district, in a zip."""
    from starlette.concurrency import run_in_threadpool

    plan = await _plan(request)
    body = await run_in_threadpool(cmp.notices_zip, plan)
    return _file(body, "application/zip", "notices.zip")


def routes() -> list[BaseRoute]:
    """The routes of one plan."""
    return [
        Route("/plans/compare", plans_compare, methods=["GET"]),
        Route("/plans/{plan_id}", plan_page, methods=["GET"]),
        Route("/plans/{plan_id}/edit", plan_edit, methods=["POST"]),
        Route("/plans/{plan_id}/resolve", plan_resolve, methods=["POST"]),
        Route("/plans/{plan_id}/replan", plan_replan, methods=["POST"]),
        Route("/plans/{plan_id}/publish", plan_publish, methods=["POST"]),
        Route("/plans/{plan_id}/discard", plan_discard, methods=["POST"]),
        Route("/plans/{plan_id}/plan.csv", download_csv, methods=["GET"]),
        Route("/plans/{plan_id}/calendar.pdf", download_pdf, methods=["GET"]),
        Route("/plans/{plan_id}/notices.zip", download_notices, methods=["GET"]),
        Route("/plans/{plan_id}/ics/{van_id}.ics", download_ics, methods=["GET"]),
    ]
