"""One plan: calendar, map, districts, checks; hand edits, re-solve, compare, publish, files."""

from __future__ import annotations

from datetime import date, timedelta
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
from planner import lifecycle, publishing, workbench
from planner.jobs import solver_words
from planner.mapdata import map_data
from planner.output import csv_text, date_ja, ics_text
from planner.plan import Plan


def _back(request: Request, plan_id: str, note: str = "", day: str = "") -> Response:
    q = []
    if note:
        q.append(f"note={note}")
    if day:
        q.append(f"day={day}")
    return RedirectResponse(
        href(request, f"/plans/{plan_id}" + ("?" + "&".join(q) if q else "")), status_code=303
    )


async def _plan_response(
    request: Request, plan_id: str, extra: dict[str, Any] | None = None, status: int = 200
) -> Response:
    con = console_of(request)
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
    month = date.fromisoformat(day).replace(day=1)
    context = {
        "month_label": f"{month.year}年{month.month}月",
        "month_links": _month_links(plan, month, days),
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
        "replan": {"errors": {}, "typed": {}},
        **(extra or {}),
    }
    return render(request, "plan.html", context, status=status)


def _month_links(plan: Plan, month: date, days: list[str]) -> dict[str, str]:
    """The day to open for the month before and after ``month`` inside the plan's period
    (its first planned day, else its first day in the period); none past the period."""
    links: dict[str, str] = {}
    before = (month - timedelta(days=1)).replace(day=1)
    after = (month + timedelta(days=32)).replace(day=1)
    for key, first in (("prev", before), ("next", after)):
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        lo = max(first.isoformat(), plan.horizon_start)
        hi = min(last.isoformat(), plan.horizon_end)
        if lo > hi:
            continue
        links[key] = next((d for d in days if lo <= d <= hi), lo)
    return links


@page("plan.view")
async def plan_page(request: Request) -> Response:
    """A plan: the solver in words, checks, month calendar, map of a day, districts."""
    return await _plan_response(request, request.path_params["plan_id"])


def _confirm(
    request: Request,
    heading: str,
    lines: list[str],
    action_path: str,
    button: str,
    *,
    hidden: dict[str, str] | None = None,
    cancel: str = "",
    danger: bool = False,
    template: str = "confirm.html",
    status: int = 200,
    **extra: Any,
) -> Response:
    """A confirmation step: what will happen, in numbers, and one button to do it."""
    return render(
        request,
        template,
        {
            "heading": heading,
            "lines": lines,
            "action": href(request, action_path),
            "button": button,
            "button_class": "danger" if danger else "",
            "hidden": hidden or {},
            "cancel": cancel,
            **extra,
        },
        status=status,
    )


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


def _fields(form: FormData) -> dict[str, str]:
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


async def _replan_checked(
    request: Request, plan_id: str, fields: dict[str, str]
) -> tuple[Response | None, Any]:
    """The re-plan form checked; on an error the plan page again, with what was typed."""
    errors, scope = await console_of(request).call(
        lambda db: workbench.replan_scope(db, plan_id, fields)
    )
    if errors:
        typed = {k: fields.get(k, "") for k in ("from", "to", "sites")}
        page = await _plan_response(
            request, plan_id, {"replan": {"errors": errors, "typed": typed}}, status=400
        )
        return page, None
    return None, scope


@page("plan.edit")
async def replan_confirm(request: Request) -> Response:
    """計画し直す, first step: how many visits from which day may move."""
    plan_id = request.path_params["plan_id"]
    fields = dict(request.query_params)
    refused, scope = await _replan_checked(request, plan_id, fields)
    if refused is not None:
        return refused
    lines = [
        f"{scope.start.isoformat()}〜{scope.end.isoformat()} に災害対応(り災証明書の出張申請受付)を"
        f"{'、'.join(scope.site_names)} で行う設定を、この月の設定に加えます。",
        f"{scope.start.isoformat()} から {scope.horizon_end} までの訪問 {scope.visits_from} 件"
        f"({scope.days_from} 日、{scope.districts_from} 地区)を計画し直します。"
        "告知済みの訪問はできるだけ動かしません。",
        "結果は新しい下書きになります。公開するまで車両と住民には届きません。",
    ]
    return _confirm(
        request,
        "災害のあとの計画し直し",
        lines,
        f"/plans/{plan_id}/replan",
        "計画し直す",
        hidden={k: fields.get(k, "") for k in ("from", "to", "sites")},
        cancel=href(request, f"/plans/{plan_id}"),
        danger=True,
    )


@action("plan.edit")
async def plan_replan(request: Request, form: FormData) -> Response:
    """Re-plan after a disaster: a disaster window from a date; the draft lists moved visits."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    fields = _fields(form)
    refused, _scope = await _replan_checked(request, plan_id, fields)
    if refused is not None:
        return refused
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


def _publish_page(
    request: Request, p: publishing.PublishPreview, reason: str = "", error: str = ""
) -> Response:
    lines = [
        f"この計画の訪問 {p.visits} 件が公開中になり、各車両は次回の同期でこれを受け取ります"
        f"(いま公開中の訪問と同じもの {p.unchanged} 件を含みます)。",
        (
            f"いま公開中の訪問のうち {p.superseded_visits} 件が差し替えられ、車両から消えます"
            f"({len(p.superseded)} つの計画の訪問)。"
            if p.superseded_visits
            else "いま公開中の訪問で差し替えられるものはありません。"
        ),
        (
            f"回覧板のお知らせを配る地区: {len(p.notices)} 地区。"
            if p.first_publish
            else f"回覧板のお知らせを配り直す地区: {len(p.notices)} 地区。"
        ),
    ]
    if p.violations:
        lines.append(f"ルール違反 {len(p.violations)} 件があるまま公開されます(理由が必要です)。")
    return _confirm(
        request,
        "計画の公開",
        lines,
        f"/plans/{p.plan_id}/publish",
        "違反を承知で公開する" if p.violations else "公開する",
        cancel=href(request, f"/plans/{p.plan_id}"),
        danger=bool(p.violations),
        template="publish_confirm.html",
        status=400 if error else 200,
        p=p,
        reason=reason,
        reason_error=error,
    )


@page("plan.publish")
async def publish_confirm(request: Request) -> Response:
    """公開する, first step: the rule check and what changes for residents."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    try:
        p = await con.call(lambda db: publishing.preview(db, plan_id, con.today()))
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=404)
    if p.status != "draft":
        return render(
            request, "error.html", {"message": "公開できるのは下書きの計画だけです"}, status=400
        )
    return _publish_page(request, p)


@action("plan.publish")
async def plan_publish(request: Request, form: FormData) -> Response:
    """公開: the vans receive this plan at their next pull (refused with violations and
    no reason; the reason and the violations are audited)."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    reason = str(form.get("override_reason", ""))
    who = actor(request)
    today = con.today()
    try:
        await con.call(
            lambda db: publishing.publish_checked(
                db, plan_id, actor=who, today=today, override_reason=reason
            )
        )
    except publishing.PublishRefused:
        p = await con.call(lambda db: publishing.preview(db, plan_id, today))
        return _publish_page(
            request,
            p,
            reason,
            "公開する理由を書いてください。違反したまま公開する理由は監査ログに残ります。",
        )
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=400)
    return _back(request, plan_id, "published")


@page("plan.edit")
async def discard_confirm(request: Request) -> Response:
    """下書きを破棄, first step."""
    plan_id = request.path_params["plan_id"]
    try:
        s = await console_of(request).call(lambda db: lifecycle.summary(db, plan_id))
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=404)
    lines = [
        f"下書き {s.id[:8]}({s.horizon_start}〜{s.horizon_end}、訪問 {s.visits} 件)を破棄します。",
        "破棄した下書きは一覧に「破棄」として残りますが、公開も編集もできなくなります。",
        "公開中の計画と車両の予定は変わりません(0 件)。",
    ]
    return _confirm(
        request,
        "下書きの破棄",
        lines,
        f"/plans/{s.id}/discard",
        "破棄する",
        cancel=href(request, f"/plans/{s.id}"),
        danger=True,
    )


@page("plan.edit")
async def remove_confirm(request: Request) -> Response:
    """訪問の削除, first step: which visit, and that a new draft is made."""
    con = console_of(request)
    plan_id = request.path_params["plan_id"]
    visit_id = request.query_params.get("visit_id", "")
    try:
        plan = await con.call(lambda db: lifecycle.load_plan(db, plan_id))
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=404)
    v = next((x for x in plan.visits if x.id == visit_id), None)
    if v is None:
        return render(
            request, "error.html", {"message": "指定された訪問がこの計画にありません"}, status=404
        )
    same_district = sum(1 for x in plan.visits if x.district_id == v.district_id)
    lines = [
        f"{date_ja(date.fromisoformat(v.date))} {v.start}-{v.end} {v.site_name}"
        f"({v.district_name})の訪問 1 件を除いた新しい下書きを作ります。",
        f"{v.district_name} の訪問は {same_district} 件から {same_district - 1} 件になります。",
        "この下書きはそのまま残ります。公開するまで車両と住民には届きません。",
    ]
    return _confirm(
        request,
        "訪問の削除",
        lines,
        f"/plans/{plan.id}/edit",
        "削除する",
        hidden={"op": "remove", "visit_id": v.id, "day": v.date},
        cancel=href(request, f"/plans/{plan.id}?day={v.date}"),
        danger=True,
    )


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
            request,
            "error.html",
            {
                "heading": "計画の比較",
                "message": "比較する計画を一覧で2つ選んでから「比較」を押してください",
                "back": "/plans",
                "back_label": "巡回計画の一覧へ戻る",
            },
            status=400,
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
        Route("/plans/{plan_id}/replan", replan_confirm, methods=["GET"]),
        Route("/plans/{plan_id}/replan", plan_replan, methods=["POST"]),
        Route("/plans/{plan_id}/publish", publish_confirm, methods=["GET"]),
        Route("/plans/{plan_id}/publish", plan_publish, methods=["POST"]),
        Route("/plans/{plan_id}/discard", discard_confirm, methods=["GET"]),
        Route("/plans/{plan_id}/discard", plan_discard, methods=["POST"]),
        Route("/plans/{plan_id}/remove", remove_confirm, methods=["GET"]),
        Route("/plans/{plan_id}/plan.csv", download_csv, methods=["GET"]),
        Route("/plans/{plan_id}/calendar.pdf", download_pdf, methods=["GET"]),
        Route("/plans/{plan_id}/notices.zip", download_notices, methods=["GET"]),
        Route("/plans/{plan_id}/ics/{van_id}.ics", download_ics, methods=["GET"]),
    ]
