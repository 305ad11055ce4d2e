"""利用実績: the usage table laid out as its PDF prints it, its charts, downloads,
and the import of past tallies (preview, then all or nothing)."""

from __future__ import annotations

import base64
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.web import (
    action,
    actor,
    audit_change,
    console_of,
    href,
    page,
    render,
    render_reused,
)
from odekake.errors import ImportRejected, OdekakeError, ValidationError
from odekake.reports.counting import Period
from odekake.reports.export import to_csv, write_xlsx
from odekake.reports.layout import (
    EXPLANATION_HEAD,
    FLAG_MARK,
    MONTHLY_KEY,
    PEOPLE_HEAD,
    category_heads,
    cell_text,
    months_across,
    summary_texts,
    table_lines,
)
from odekake.reports.model import Report
from odekake.reports.svg import chart_svgs
from odekake.reports.table import build_report
from odekake.reports.tallies import parse_fiscal_year
from odekake.reports.tally_store import import_tallies, load_sheets, preview_tallies
from odekake.storage.data_cache import BuildOnce, data_stamp

MAX_UPLOAD = 2 * 1024 * 1024


def fiscal_year_of(day: date) -> int:
    """The fiscal year (April to March) a day falls in."""
    return day.year if day.month >= 4 else day.year - 1


def period_of(params: dict[str, str], today: date) -> tuple[Period, dict[str, str]]:
    """The period the form asks for (month, fiscal year or a range) and the form's values.

    Raises:
        ValidationError: A value that is not a month, a fiscal year or a date.
    """
    kind = params.get("kind") or "fy"
    values = {
        "kind": kind,
        "month": params.get("month", "") or f"{today.year:04d}-{today.month:02d}",
        "fy": params.get("fy", "") or str(fiscal_year_of(today)),
        "from": params.get("from", ""),
        "to": params.get("to", ""),
    }
    if kind == "month":
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", values["month"].strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValidationError(f"月は YYYY-MM で指定してください: {values['month']}", "month")
        return Period.month(int(m.group(1)), int(m.group(2))), values
    if kind == "range":
        try:
            start, end = date.fromisoformat(values["from"]), date.fromisoformat(values["to"])
        except ValueError:
            raise ValidationError(
                f"日付は YYYY-MM-DD で指定してください: {values['from']} / {values['to']}", "from"
            ) from None
        try:
            return Period(start, end), values
        except ValueError as exc:
            raise ValidationError(str(exc), "from") from None
    try:
        return Period.fiscal_year(parse_fiscal_year(values["fy"])), values
    except ValueError as exc:
        raise ValidationError(str(exc), "fy") from None


def _query(values: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in values.items() if v})


# Reports by (period, today, data stamp): building one scans a year of records and
# drawing its charts takes longer still (~0.3 s together); staff look at the same few
# periods all day. The stamp (odekake.storage.data_cache) moves with every record synced and
# every audited change, never with a sign-in or a download; twenty sessions asking
# for a report that is not built yet wait for one build. Bounded to a few reports.
_REPORTS: BuildOnce[tuple[Report, Any]] = BuildOnce(16)


def _report_and_charts(db: Any, period: Period, today: date) -> tuple[Report, Any]:
    key = (data_stamp(db), repr(period), today.isoformat())

    def build() -> tuple[Report, Any]:
        report = build_report(db, period, today=today)
        return report, chart_svgs(report)

    return _REPORTS.get(key, build)


def cached_report(db: Any, period: Period, today: date) -> Report:
    """:func:`build_report`, reused until the hub's data moves (``data_stamp``)."""
    return _report_and_charts(db, period, today)[0]


def charts_of(report: Report) -> Any:
    """The report's charts, drawn once with the cached report (drawing takes 0.2-0.3 s)."""
    for cached, charts in _REPORTS.values():
        if cached is report:
            return charts
    return chart_svgs(report)


async def _report(request: Request) -> tuple[Report | None, dict[str, str], str]:
    con = console_of(request)
    params = dict(request.query_params)
    try:
        period, values = period_of(params, con.today())
    except ValidationError as exc:
        return None, {**params, "kind": params.get("kind", "fy")}, str(exc)
    today = con.today()
    report = await con.call(lambda db: cached_report(db, period, today))
    return report, values, ""


def table_view(report: Report) -> dict[str, Any]:
    """What the page draws, as the PDF prints it (:mod:`odekake.reports.layout`)."""
    return {
        "lines": table_lines(report),
        "regular_lines": sum(1 for line in table_lines(report) if line.activity == "regular"),
        "heads": category_heads(report),
        "summary": summary_texts(report),
        "months": months_across(report),
        "details": [t for t in report.council if t.key != MONTHLY_KEY],
        "cell_text": cell_text,
        "flag_mark": FLAG_MARK,
        "people_head": PEOPLE_HEAD,
        "explanation_head": EXPLANATION_HEAD,
    }


@page("report.view")
async def usage(request: Request) -> Response:
    """The usage report of a month, a fiscal year or a range, as HTML with its charts."""
    report, values, error = await _report(request)
    context: dict[str, Any] = {
        "values": values,
        "error": error,
        "report": report,
        "query": _query(values),
        "imported": request.query_params.get("imported", ""),
    }
    if report is not None:
        context.update(table_view(report))
        context["charts"] = charts_of(report)
        return render_reused(request, "usage.html", context, report)
    return render(request, "usage.html", context, status=400 if error else 200)


MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A download drawn once per built report (a report stays the same object until the
# hub's data moves): the PDF takes 0.1-0.2 s to draw. The entry holds its report, so
# the id in the key is never reused while the entry lives.
_FILES: BuildOnce[tuple[Report, bytes]] = BuildOnce(12)


def _file_bytes(report: Report, kind: str, name: str) -> bytes:
    if kind == "csv":
        return ("\ufeff" + to_csv(report)).encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        if kind == "pdf":
            from odekake.reports.pdf import render_report

            render_report(report, path)
        else:
            write_xlsx(report, path)
        return path.read_bytes()


async def _download(request: Request, kind: str) -> Response:
    report, values, error = await _report(request)
    if report is None:
        return render(request, "usage.html", {"values": values, "error": error}, status=400)
    stem = f"riyou_{report.period.start.isoformat()}_{report.period.end.isoformat()}"
    name = f"{stem}.{kind}"
    held, body = await run_in_threadpool(  # drawing a PDF must not hold up the event loop
        _FILES.get, (id(report), kind), lambda: (report, _file_bytes(report, kind, name))
    )
    if held is not report:  # cannot happen while the entry holds its report; draw afresh
        body = await run_in_threadpool(_file_bytes, report, kind, name)
    await audit_change(request, "export", name, {"kind": "usage_report", "files": [name]})
    return Response(
        body,
        media_type=MEDIA[kind],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@page("report.view")
async def usage_pdf(request: Request) -> Response:
    """The report as PDF (the same function as ``odekake report --out``)."""
    return await _download(request, "pdf")


@page("report.view")
async def usage_csv(request: Request) -> Response:
    """The report as CSV (UTF-8 with BOM, as ``odekake report --csv``)."""
    return await _download(request, "csv")


@page("report.view")
async def usage_xlsx(request: Request) -> Response:
    """The report as XLSX (as ``odekake report --xlsx``)."""
    return await _download(request, "xlsx")


@page("report.import")
async def import_page(request: Request) -> Response:
    """The upload form and the sheets imported so far."""
    sheets = await console_of(request).call(load_sheets)
    return render(request, "usage_import.html", {"sheets": sheets, "stage": "form"})


async def _text_of(form: FormData) -> tuple[str, str]:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise OdekakeError("取り込むCSVファイルを選んでください")
    raw = await upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise OdekakeError("ファイルが大きすぎます(2MBまで)")
    try:
        return raw.decode("utf-8-sig"), Path(upload.filename).name
    except UnicodeDecodeError:
        raise OdekakeError(
            f"{upload.filename} は UTF-8 ではありません(Excel では「CSV UTF-8」で保存してください)"
        ) from None


@action("report.import")
async def import_preview(request: Request, form: FormData) -> Response:
    """Check the uploaded CSV with the import's own checks; show what it would do."""
    con = console_of(request)
    sheets = await con.call(load_sheets)
    try:
        text, source = await _text_of(form)
        preview = await con.call(lambda db: preview_tallies(db, text))
    except ImportRejected as exc:
        return render(
            request,
            "usage_import.html",
            {"sheets": sheets, "stage": "form", "problems": exc.problems, "error": str(exc)},
            status=400,
        )
    except OdekakeError as exc:
        return render(
            request,
            "usage_import.html",
            {"sheets": sheets, "stage": "form", "error": str(exc)},
            status=400,
        )
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return render(
        request,
        "usage_import.html",
        {
            "sheets": sheets,
            "stage": "preview",
            "preview": preview,
            "payload": payload,
            "source": source,
        },
    )


@action("report.import")
async def import_commit(request: Request, form: FormData) -> Response:
    """Import the previewed CSV (``import_tallies``: checked again, all or nothing, audited)."""
    con = console_of(request)
    try:
        text = base64.b64decode(str(form.get("payload", "")), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        text = ""
    source = str(form.get("source", ""))[:200]
    who = actor(request)
    try:
        if not text:
            raise OdekakeError("取り込む内容がありません。ファイルを選び直してください")
        result = await con.call(lambda db: import_tallies(db, text, source=source, actor=who))
    except ImportRejected as exc:
        sheets = await con.call(load_sheets)
        return render(
            request,
            "usage_import.html",
            {"sheets": sheets, "stage": "form", "problems": exc.problems, "error": str(exc)},
            status=400,
        )
    except OdekakeError as exc:
        sheets = await con.call(load_sheets)
        return render(
            request,
            "usage_import.html",
            {"sheets": sheets, "stage": "form", "error": str(exc)},
            status=400,
        )
    first = result.sheets[0].period
    fy = fiscal_year_of(first.start)
    return RedirectResponse(href(request, f"/usage?kind=fy&fy={fy}&imported=1"), status_code=303)


def routes() -> list[BaseRoute]:
    """The 利用実績 routes."""
    return [
        Route("/usage", usage, methods=["GET"]),
        Route("/usage/report.pdf", usage_pdf, methods=["GET"]),
        Route("/usage/report.csv", usage_csv, methods=["GET"]),
        Route("/usage/report.xlsx", usage_xlsx, methods=["GET"]),
        Route("/usage/import", import_page, methods=["GET"]),
        Route("/usage/import/preview", import_preview, methods=["POST"]),
        Route("/usage/import", import_commit, methods=["POST"]),
    ]
