"""巡回計画: the month's policy as a form, solving with progress, drafts, edits, publishing."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.web import action, actor, console_of, href, page, render
from odekake.errors import OdekakeError
from odekake.operations import actual
from planner import jobs, lifecycle, policy_form
from planner.inputs import PolicyError


def _month(request: Request, form: FormData | None = None) -> str:
    raw = ""
    if form is not None:
        raw = str(form.get("month", ""))
    raw = raw or request.query_params.get("month", "")
    if raw:
        try:
            policy_form.month_of(raw)
            return raw
        except PolicyError:
            pass
    return policy_form.next_month(console_of(request).today())


def _months_around(today: date) -> list[str]:
    out = []
    y, m = today.year, today.month
    for _ in range(4):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@page("plan.view")
async def plans_index(request: Request) -> Response:
    """The month picker, its plans and the running solve."""
    con = console_of(request)
    month = _month(request)
    start, end = policy_form.month_of(month)

    def load(db: Any) -> dict[str, Any]:
        plans = [
            p
            for p in lifecycle.list_plans(db)
            if p.horizon_start <= end.isoformat() and p.horizon_end >= start.isoformat()
        ]
        return {
            "plans": plans,
            "force": lifecycle.force_lines(db, [p.id for p in plans]),
            "job": jobs.running_job(db, month),
            "saved": policy_form.saved_policy(db, month) is not None,
        }

    data = await con.call(load)
    return render(
        request,
        "plans.html",
        {
            "month": month,
            "months": _months_around(con.today()),
            "start": start,
            "end": end,
            **data,
        },
    )


@page("plan.view")
async def policy_page(request: Request) -> Response:
    """The month's policy as a form (the same TOML underneath)."""
    con = console_of(request)
    month = _month(request)
    view = await con.call(
        lambda db: policy_form.form_view(db, month, policy_form.policy_text(db, month))
    )
    return render(request, "policy.html", {"view": view, "month": month, "saved": False})


@action("plan.edit")
async def policy_save(request: Request, form: FormData) -> Response:
    """Check the form with the planner's parser; save it, or show each message by its field."""
    con = console_of(request)
    month = _month(request, form)
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    today = con.today()
    who = actor(request)

    def run(db: Any) -> tuple[Any, dict[str, str]]:
        old = policy_form.policy_text(db, month)
        text, errors = policy_form.apply_form(db, old, fields, today)
        if not errors:
            policy_form.save_policy(db, month, text, actor=who)
        view = policy_form.form_view(db, month, text)
        view.errors = errors
        if errors:
            view.typed = fields
        return view, errors

    view, errors = await con.call(run)
    if errors:
        return render(request, "policy.html", {"view": view, "month": month}, status=400)
    return RedirectResponse(href(request, f"/plans?month={month}&saved=1"), status_code=303)


@page("plan.view")
async def policy_download(request: Request) -> Response:
    """The month's policy as a TOML file."""
    month = _month(request)
    text = await console_of(request).call(lambda db: policy_form.policy_text(db, month))
    return Response(
        text,
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="plan-{month}.toml"'},
    )


@action("plan.edit")
async def policy_upload(request: Request, form: FormData) -> Response:
    """Replace the month's policy by an uploaded TOML file, if the parser accepts it."""
    con = console_of(request)
    month = _month(request, form)
    upload = form.get("file")
    raw = await upload.read() if isinstance(upload, UploadFile) else b""
    today = con.today()
    who = actor(request)

    def run(db: Any) -> tuple[Any, str]:
        try:
            text = raw.decode("utf-8-sig")
            doc = policy_form.parse_text(text)
            policy_form.check_policy(db, doc, today)
        except UnicodeDecodeError:
            return policy_form.form_view(db, month, policy_form.policy_text(db, month)), (
                "ファイルは UTF-8 の TOML にしてください"
            )
        except PolicyError as exc:
            return policy_form.form_view(db, month, policy_form.policy_text(db, month)), str(exc)
        policy_form.save_policy(db, month, text, actor=who)
        return None, ""

    view, error = await con.call(run)
    if error:
        view.errors = {policy_form.GENERAL: error}
        return render(request, "policy.html", {"view": view, "month": month}, status=400)
    return RedirectResponse(href(request, f"/plans?month={month}&saved=1"), status_code=303)


@action("plan.edit")
async def solve_start(request: Request, form: FormData) -> Response:
    """計画を作成: start the solver in a worker process and go to its progress page."""
    con = console_of(request)
    month = _month(request, form)
    today = con.today()
    who = actor(request)

    def run(db: Any) -> str:
        running = jobs.running_job(db, month)
        if running:
            return running
        text = policy_form.policy_text(db, month)
        replan_from = policy_form.replan_from_today(text, month, today)
        return jobs.start_solve(
            db, con.db_path, month, text, actor=who, today=today, replan_from=replan_from
        )

    job_id = await con.call(run)
    return RedirectResponse(href(request, f"/plans/jobs/{job_id}"), status_code=303)


def _progress_json(request: Request, p: jobs.Progress) -> dict[str, Any]:
    nxt = ""
    if p.status == "done" and p.plan_id:
        nxt = href(request, f"/plans/{p.plan_id}")
    return {"done": p.done, "status": p.status, "fields": p.fields(), "next": nxt}


@page("plan.view")
async def job_page(request: Request) -> Response:
    """Live progress of a solve: elapsed time, phase, objective, bound, gap; a cancel button."""
    job_id = request.path_params["job_id"]
    try:
        p = await console_of(request).call(lambda db: jobs.progress(db, job_id))
    except OdekakeError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=404)
    return render(request, "plan_job.html", {"p": p, "f": p.fields(), "month": p.month})


@page("plan.view")
async def job_json(request: Request) -> Response:
    """The progress figures for the page's script."""
    job_id = request.path_params["job_id"]
    try:
        p = await console_of(request).call(lambda db: jobs.progress(db, job_id))
    except OdekakeError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return JSONResponse(_progress_json(request, p))


@action("plan.edit")
async def job_cancel(request: Request, form: FormData) -> Response:
    """Stop the solver; a cancelled solve stores no draft."""
    job_id = request.path_params["job_id"]
    who = actor(request)
    await console_of(request).call(lambda db: jobs.cancel(db, job_id, actor=who))
    return RedirectResponse(href(request, f"/plans/jobs/{job_id}"), status_code=303)


@page("plan.view")
async def actual_page(request: Request) -> Response:
    """計画と実績: a day's visits against the vans' records, or a month's days."""
    con = console_of(request)
    raw_day = request.query_params.get("day", "")
    if raw_day:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            return render(
                request, "error.html", {"message": "日付は 2026-12-08 の形で指定してください"}, 400
            )
        today = con.today()
        found = await con.call(lambda db: actual.day_actual(db, day, today))
        return render(request, "actual.html", {"day": found, "days": None, "month": raw_day[:7]})
    month = request.query_params.get("month", "") or con.today().strftime("%Y-%m")
    try:
        start, _end = policy_form.month_of(month)
    except PolicyError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=400)
    today = con.today()
    days = await con.call(lambda db: actual.month_actual(db, start.year, start.month, today))
    return render(
        request,
        "actual.html",
        {"day": None, "days": [d for d in days if d.stops], "month": month, "today": con.today()},
    )


def routes() -> list[BaseRoute]:
    """The plan pages."""
    return [
        Route("/plans/actual", actual_page, methods=["GET"]),
        Route("/plans", plans_index, methods=["GET"]),
        Route("/plans/policy", policy_page, methods=["GET"]),
        Route("/plans/policy", policy_save, methods=["POST"]),
        Route("/plans/policy.toml", policy_download, methods=["GET"]),
        Route("/plans/policy/upload", policy_upload, methods=["POST"]),
        Route("/plans/solve", solve_start, methods=["POST"]),
        Route("/plans/jobs/{job_id}", job_page, methods=["GET"]),
        Route("/plans/jobs/{job_id}/progress", job_json, methods=["GET"]),
        Route("/plans/jobs/{job_id}/cancel", job_cancel, methods=["POST"]),
    ]
