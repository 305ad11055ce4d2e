"""地点・地区: sites with filters, edit a site, CSV import (preview, all or nothing) and
export (the same functions as ``odekake sites``), a map by district, vans and depots."""

from __future__ import annotations

import base64
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from console.pages.uploads import as_file
from console.pages.usage import MAX_UPLOAD
from console.svg_sites import district_colors, sites_map_svg
from console.web import action, actor, audit_change, console_of, href, page, render
from odekake.errors import ImportRejected, NotFound, OdekakeError
from odekake.masterdata import master, site_files
from odekake.masterdata import vans as van_master
from planner.mapdata import map_data


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: q.get(k, "") for k in ("district", "text", "kind")}


async def _page(
    request: Request,
    *,
    error: str = "",
    problems: list[tuple[int, str]] | None = None,
    preview: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    f = _filters(request)

    def load(db: Any) -> dict[str, Any]:
        places = map_data(db)
        found = master.search_sites(db, district_id=f["district"], text=f["text"], kind=f["kind"])
        return {
            "sites": found,
            "districts": master.districts(db),
            "map": sites_map_svg(places, {s["id"] for s in found}),
            "colors": district_colors(places),
            "vans": van_master.vans(db),
        }

    data = await console_of(request).call(load)
    names = {d.id: d.name for d in data["districts"]}
    return render(
        request,
        "sites.html",
        {
            **data,
            "names": names,
            "filters": f,
            "kinds": master.SITE_KINDS,
            "error": error,
            "problems": problems or [],
            "preview": preview,
            "done": request.query_params.get("done", ""),
        },
        status=status,
    )


@page("site.edit")
async def sites_page(request: Request) -> Response:
    """Sites (filtered), the map by district, vans and depots, the CSV forms."""
    return await _page(request)


@page("site.edit")
async def site_form(request: Request) -> Response:
    """One site as a form (``/sites/edit?id=…``; without an id, a new site)."""
    sid = request.query_params.get("id", "")

    def load(db: Any) -> dict[str, Any]:
        row = master.site(db, sid) if sid else {}
        return {"site": row, "districts": master.districts(db)}

    try:
        data = await console_of(request).call(load)
    except NotFound as exc:
        return render(request, "404.html", {"message": str(exc)}, status=404)
    s = data["site"]
    values = {k: str(s.get(k, "")) for k in master.SITE_FIELDS if k != "district"}
    values["district"] = str(s.get("district_id", ""))
    return render(
        request,
        "site_edit.html",
        {"values": values, "districts": data["districts"], "kinds": master.SITE_KINDS, "error": ""},
    )


@action("site.edit")
async def site_save(request: Request, form: FormData) -> Response:
    """Check the site with the CSV import's rules and save it (audited), or show why not."""
    values = {k: str(form.get(k, "")) for k in master.SITE_FIELDS}
    who = actor(request)
    con = console_of(request)
    try:
        await con.call(lambda db: site_files.save_site(db, values, actor=who))
    except OdekakeError as exc:
        districts = await con.call(master.districts)
        return render(
            request,
            "site_edit.html",
            {
                "values": values,
                "districts": districts,
                "kinds": master.SITE_KINDS,
                "error": str(exc),
            },
            status=400,
        )
    return RedirectResponse(
        href(request, f"/sites?done=saved&text={values['id']}"), status_code=303
    )


@page("site.edit")
async def sites_csv(request: Request) -> Response:
    """All sites as CSV (UTF-8 with BOM), as ``odekake sites export``; audited."""
    text = await console_of(request).call(site_files.export_sites)
    await audit_change(request, "export", "sites")
    return Response(
        ("\ufeff" + text).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="sites.csv"'},
    )


@action("site.edit")
async def sites_preview(request: Request, form: FormData) -> Response:
    """Check an uploaded sites CSV (``site_files.check_sites``): every bad line named, nothing written."""
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, error="取り込むCSVファイルを選んでください", status=400)
    raw = await upload.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        return await _page(request, error="ファイルが大きすぎます(2MBまで)", status=400)
    con = console_of(request)

    def check(db: Any) -> dict[str, Any]:
        rows = as_file(raw, "sites.csv", lambda p: site_files.check_sites(db, p))
        have = {s["id"] for s in master.sites(db)}
        return {
            "rows": rows,
            "new": sum(1 for r in rows if r["id"] not in have),
            "changed": sum(1 for r in rows if r["id"] in have),
        }

    try:
        result = await con.call(check)
    except ImportRejected as exc:
        return await _page(request, error=str(exc), problems=exc.problems, status=400)
    except OdekakeError as exc:
        return await _page(request, error=str(exc), status=400)
    result["payload"] = base64.b64encode(raw).decode("ascii")
    return await _page(request, preview=result)


@action("site.edit")
async def sites_import(request: Request, form: FormData) -> Response:
    """Import the previewed CSV (``site_files.import_sites``: checked again, all or nothing)."""
    try:
        raw = base64.b64decode(str(form.get("payload", "")), validate=True)
    except ValueError:
        raw = b""
    who = actor(request)
    try:
        if not raw:
            raise OdekakeError("取り込む内容がありません。ファイルを選び直してください")
        n = await console_of(request).call(
            lambda db: as_file(
                raw, "sites.csv", lambda p: site_files.import_sites(db, p, actor=who)
            )
        )
    except ImportRejected as exc:
        return await _page(request, error=str(exc), problems=exc.problems, status=400)
    except OdekakeError as exc:
        return await _page(request, error=str(exc), status=400)
    return RedirectResponse(href(request, f"/sites?done=imported&n={n}"), status_code=303)


def _number(text: str, label: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise OdekakeError(f"{label}は数値で入力してください({text!r})") from None


@action("site.edit")
async def van_save(request: Request, form: FormData) -> Response:
    """Change a van's name, depot or shift (``odekake vans set``; audited ``van.change``)."""
    fields = {
        k: str(form.get(k, "")).strip() for k in ("id", "name", "depot_name", "lat", "lon", "shift")
    }
    who = actor(request)

    def run(db: Any) -> None:
        van_master.update(
            db,
            fields["id"],
            name=fields["name"],
            depot_name=fields["depot_name"],
            depot_lat=_number(fields["lat"], "車庫の緯度"),
            depot_lon=_number(fields["lon"], "車庫の経度"),
            shift=fields["shift"],
            actor=who,
        )

    try:
        await console_of(request).call(run)
    except NotFound as exc:
        return await _page(request, error=str(exc), status=404)
    except OdekakeError as exc:
        return await _page(request, error=f"車両 {fields['id']}: {exc}", status=400)
    return RedirectResponse(href(request, "/sites?done=van"), status_code=303)


def routes() -> list[BaseRoute]:
    """The 地点・地区 routes."""
    return [
        Route("/sites", sites_page, methods=["GET"]),
        Route("/sites/edit", site_form, methods=["GET"]),
        Route("/sites/edit", site_save, methods=["POST"]),
        Route("/sites.csv", sites_csv, methods=["GET"]),
        Route("/sites/import/preview", sites_preview, methods=["POST"]),
        Route("/sites/import", sites_import, methods=["POST"]),
        Route("/sites/vans", van_save, methods=["POST"]),
    ]
