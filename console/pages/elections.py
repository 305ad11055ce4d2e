"""選挙: elections (TOML from a form or a file), stations and their vans, the roll upload
(preview with counts, every bad line named, all or nothing), the live 速報 per station
and hour, incidents with their evidence, and the turnout report as PDF/CSV.

Each route calls the function the ``odekake election|roll|vote`` commands call.
"""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.pages.uploads import as_file
from console.pages.usage import MAX_UPLOAD
from console.svg_votes import hourly_svg
from console.web import action, actor, audit_change, console_of, href, page, render
from odekake.access import audit
from odekake.errors import ImportRejected, NotFound, OdekakeError
from odekake.masterdata.vans import vans as list_vans
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import report as vr
from odekake.voting import roll as rl
from odekake.voting.tally import tally

LIVE_SECONDS = 5

TEMPLATE_TOML = """id = "iwaki-2027"
name = "令和9年いわき市議会議員一般選挙"
election_day = "2027-09-12"
early_from = "2027-09-06"
early_to = "2027-09-11"

[[ballots]]
kind = "senkyoku"
label = "選挙区"

[[stations]]
id = "ogawa-van"
name = "移動期日前投票所(小川)"
kind = "mobile"
date = "2027-09-08"
opens = "10:00"
closes = "17:00"
district = "ogawa"
precincts = ["小川第3"]
vans = ["van-1"]
"""


async def _upload(form: FormData, field: str = "file") -> bytes | None:
    f = form.get(field)
    if not isinstance(f, UploadFile) or not f.filename:
        return None
    raw = await f.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise OdekakeError("ファイルが大きすぎます(2MBまで)")
    return raw


def _eid(request: Request) -> str:
    return str(request.path_params["eid"])


# ------------------------------------------------------------------ elections


async def _index(
    request: Request, *, error: str = "", toml: str = "", status: int = 200
) -> Response:
    def load(db: Any) -> list[tuple[el.Election, int]]:
        return [(e, rl.roll_size(db, e.id)) for e in el.list_elections(db)]

    elections = await console_of(request).call(load)
    return render(
        request,
        "elections.html",
        {"elections": elections, "error": error, "toml": toml or TEMPLATE_TOML},
        status=status,
    )


@page("election.manage")
async def elections_page(request: Request) -> Response:
    """Every election with its period and roll size; the form to add one."""
    return await _index(request)


@action("election.manage")
async def election_add(request: Request, form: FormData) -> Response:
    """Register an election from the TOML typed in the form or a file (``election add``)."""
    try:
        raw = await _upload(form)
    except OdekakeError as exc:
        return await _index(request, error=str(exc), status=400)
    text = str(form.get("toml", ""))
    data = raw if raw is not None else text.encode("utf-8")
    who = actor(request)

    def run(db: Any) -> el.Election:
        election = as_file(data, "election.toml", el.load_toml)
        el.save_election(db, election)
        audit.log(
            db,
            who,
            "election.add",
            election.id,
            {"stations": {s.id: list(s.vans) for s in election.stations}},
        )
        return election

    try:
        election = await console_of(request).call(run)
    except OdekakeError as exc:
        shown = raw.decode("utf-8", "replace") if raw is not None else text
        return await _index(request, error=str(exc), toml=shown, status=400)
    return RedirectResponse(href(request, f"/elections/{election.id}?done=saved"), status_code=303)


# ------------------------------------------------------------------ one election


async def _election(
    request: Request,
    *,
    error: str = "",
    problems: list[tuple[int, str]] | None = None,
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    eid = _eid(request)

    def load(db: Any) -> dict[str, Any]:
        e = el.get_election(db, eid)
        return {
            "e": e,
            "roll": rl.roll_size(db, eid),
            "vans": [(v.id, v.name) for v in list_vans(db)],
        }

    try:
        data = await console_of(request).call(load)
    except NotFound as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)
    return render(
        request,
        "election.html",
        {
            **data,
            "kinds": el.STATION_KINDS,
            "error": error,
            "problems": problems or [],
            "preview": preview,
            "done": request.query_params.get("done", ""),
        },
        status=status,
    )


@page("election.manage")
async def election_page(request: Request) -> Response:
    """Stations and their vans, the roll (size, upload), links to 速報, incidents, report."""
    return await _election(request)


@action("election.manage")
async def assign(request: Request, form: FormData) -> Response:
    """Assign a van to a station or remove it (``election assign``), audited."""
    eid = _eid(request)
    station = str(form.get("station", ""))
    van = str(form.get("van", "")).strip()
    remove = str(form.get("remove", "")) == "1"
    who = actor(request)

    def run(db: Any) -> None:
        el.assign_van(db, eid, station, van, on=not remove)
        audit.log(
            db, who, "election.assign", eid, {"station": station, "van": van, "remove": remove}
        )

    try:
        await console_of(request).call(run)
    except NotFound as exc:
        return await _election(request, error=str(exc), status=404)
    except OdekakeError as exc:
        return await _election(request, error=str(exc), status=400)
    return RedirectResponse(href(request, f"/elections/{eid}?done=assigned"), status_code=303)


@action("election.manage")
async def roll_preview(request: Request, form: FormData) -> Response:
    """Check an uploaded roll (``roll.read_roll_csv``): counts, or every bad line; nothing stored."""
    eid = _eid(request)
    try:
        raw = await _upload(form)
        if raw is None:
            raise OdekakeError("取り込む名簿のCSVファイルを選んでください")
        voters = await console_of(request).call(
            lambda db: (
                el.get_election(db, eid),
                as_file(raw, "roll.csv", lambda p: rl.read_roll_csv(p, eid)),
            )[1]
        )
    except ImportRejected as exc:
        return await _election(request, error=str(exc), problems=exc.problems, status=400)
    except NotFound as exc:
        return await _election(request, error=str(exc), status=404)
    except OdekakeError as exc:
        return await _election(request, error=str(exc), status=400)
    sexes = Counter(v.sex for v in voters)
    precincts = sorted(Counter(v.precinct or "(なし)" for v in voters).items())
    preview = {
        "count": len(voters),
        "men": sexes.get("M", 0),
        "women": sexes.get("F", 0),
        "precincts": precincts,
        "payload": base64.b64encode(raw).decode("ascii"),
    }
    return await _election(request, preview=preview)


@action("election.manage")
async def roll_import(request: Request, form: FormData) -> Response:
    """Replace the roll with the previewed CSV (``roll.import_roll``: checked again, all or nothing)."""
    eid = _eid(request)
    try:
        raw = base64.b64decode(str(form.get("payload", "")), validate=True)
    except ValueError:
        raw = b""
    try:
        if not raw:
            raise OdekakeError("取り込む内容がありません。ファイルを選び直してください")
        n = await console_of(request).call(
            lambda db: as_file(raw, "roll.csv", lambda p: rl.import_roll(db, eid, p))
        )
    except ImportRejected as exc:
        return await _election(request, error=str(exc), problems=exc.problems, status=400)
    except OdekakeError as exc:
        return await _election(request, error=str(exc), status=400)
    await audit_change(request, "roll.import", eid, {"voters": n})
    return RedirectResponse(href(request, f"/elections/{eid}?done=roll&n={n}"), status_code=303)


# ------------------------------------------------------------------ 速報, incidents, report


@page("election.manage")
async def live(request: Request) -> Response:
    """速報: check-ins per station and hour (``tally``, as the report), refreshing itself."""
    eid = _eid(request)
    try:
        t = await console_of(request).call(lambda db: tally(db, eid))
    except NotFound as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)
    now = console_of(request).clock()
    local = now.astimezone(el.JST)
    charts = {st.station.id: hourly_svg(st, local) for st in t.stations}
    return render(
        request,
        "election_live.html",
        {
            "t": t,
            "charts": charts,
            "seconds": LIVE_SECONDS,
            "now": now.strftime("%H:%M:%S"),
            # hours still to come are left blank (not the running total carried forward)
            "until": (local.date().isoformat(), local.hour),
        },
    )


@page("election.manage")
async def incidents(request: Request) -> Response:
    """Incidents with both events (voter numbers: a view of personal data, audited)."""
    eid = _eid(request)
    who = actor(request)

    def load(db: Any) -> tuple[el.Election, list[dict[str, Any]]]:
        e = el.get_election(db, eid)
        found = ck.incidents(db, eid)
        audit.log(db, who, "view.personal", f"incidents:{eid}", {"incidents": len(found)})
        return e, found

    try:
        e, found = await console_of(request).call(load)
    except NotFound as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)
    return render(request, "election_incidents.html", {"e": e, "incidents": found})


async def _report(request: Request, kind: str) -> Response:
    eid = _eid(request)
    name = f"vote_{eid}.{kind}"

    def build(db: Any) -> bytes:
        def write(p: Path) -> bytes:
            if kind == "pdf":
                vr.write_pdf(db, eid, p)
            else:
                vr.write_csv(db, eid, p)
            return p.read_bytes()

        return as_file(b"", name, write)

    try:
        body = await console_of(request).call(build)
    except NotFound as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)
    await audit_change(request, "export", name, {"kind": "vote_report", "election": eid})
    media = "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@page("election.manage")
async def report_pdf(request: Request) -> Response:
    """The turnout report as PDF (``vote report --out``)."""
    return await _report(request, "pdf")


@page("election.manage")
async def report_csv(request: Request) -> Response:
    """The turnout report as CSV (``vote report --csv``)."""
    return await _report(request, "csv")


def routes() -> list[BaseRoute]:
    """The 選挙 routes."""
    return [
        Route("/elections", elections_page, methods=["GET"]),
        Route("/elections", election_add, methods=["POST"]),
        Route("/elections/{eid}", election_page, methods=["GET"]),
        Route("/elections/{eid}/assign", assign, methods=["POST"]),
        Route("/elections/{eid}/roll/preview", roll_preview, methods=["POST"]),
        Route("/elections/{eid}/roll", roll_import, methods=["POST"]),
        Route("/elections/{eid}/live", live, methods=["GET"]),
        Route("/elections/{eid}/incidents", incidents, methods=["GET"]),
        Route("/elections/{eid}/report.pdf", report_pdf, methods=["GET"]),
        Route("/elections/{eid}/report.csv", report_csv, methods=["GET"]),
    ]
