"""Plan outputs: plan.json, the hub database, CSV, iCalendar, calendar PDF, 回覧板 notices."""

from __future__ import annotations

import calendar as pycal
import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import qrcode
import sqlite_utils
from PIL import Image
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from odekake.documents.pdf import register_fonts
from odekake.documents.spreadsheet import csv_writer
from odekake.residents.ical import VTIMEZONE as _VTIMEZONE
from odekake.residents.ical import ics_escape, ics_fold
from planner.plan import Plan, PlanVisit

WEEKDAYS_JA = "月火水木金土日"
CSV_HEADERS = (
    "日付",
    "曜日",
    "車両",
    "順番",
    "開始",
    "終了",
    "到着",
    "出発",
    "会場ID",
    "会場",
    "地区",
    "種別",
    "サービス",
    "見込み利用者",
    "休日稼働",
    "予定ID",
)


def wareki(d: date) -> str:
    """令和 date, e.g. ``令和8年12月1日`` (令和元年 for 2019)."""
    year = d.year - 2018
    y = "元" if year == 1 else str(year)
    return f"令和{y}年{d.month}月{d.day}日"


def date_ja(d: date) -> str:
    """Western and Japanese era together: ``2026年12月1日(令和8年12月1日)(火)``."""
    return f"{d.year}年{d.month}月{d.day}日({wareki(d)})({WEEKDAYS_JA[d.weekday()]})"


def write_json(plan: Plan, path: Path) -> None:
    """``plan.json`` (UTF-8, indented)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(plan.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")


def store(
    db: sqlite_utils.Database,
    plan: Plan,
    policy_text: str = "",
    *,
    van_ids: list[str] | tuple[str, ...] | None = None,
    parent_id: str | None = None,
    label: str = "",
    actor: str = "",
) -> str:
    """Save the plan in the hub database as a draft (see :mod:`planner.lifecycle`)."""
    from planner.plan_store import save_draft

    return save_draft(
        db,
        plan,
        policy_text=policy_text,
        van_ids=van_ids,
        parent_id=parent_id,
        label=label,
        actor=actor,
    )


def csv_text(plan: Plan) -> str:
    """The visits as CSV text (Japanese headers); save with a BOM for Excel."""
    out = io.StringIO(newline="")
    w = csv_writer(out)
    w.writerow(CSV_HEADERS)
    for v in plan.visits:
        d = date.fromisoformat(v.date)
        w.writerow(
            [
                v.date,
                WEEKDAYS_JA[d.weekday()],
                v.van_id,
                v.order,
                v.start,
                v.end,
                v.arrive,
                v.depart,
                v.site_id,
                v.site_name,
                v.district_name,
                v.activity_label,
                v.services_label,
                f"{v.expected_users:.1f}",
                "○" if v.opened_day else "",
                v.event_id,
            ]
        )
    return out.getvalue()


def write_csv(plan: Plan, path: Path) -> None:
    """CSV in UTF-8 with BOM (opens directly in Excel on a Japanese PC)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(plan), encoding="utf-8-sig", newline="")


# --- iCalendar (RFC 5545), written by hand -------------------------------------------


def ics_text(plan: Plan, van_id: str, stamp: datetime | None = None) -> str:
    """One VCALENDAR for a van: one VEVENT per stop (TZID Asia/Tokyo)."""
    now = (stamp or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//odekake//tour planner//JA",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{ics_escape(f'お出かけ市役所 {van_id}')}",
        *_VTIMEZONE,
    ]
    for v in plan.visits:
        if v.van_id != van_id:
            continue
        day = v.date.replace("-", "")
        summary = f"{v.activity_label} {v.district_name} {v.site_name}"
        desc = f"{v.start}〜{v.end} 到着{v.arrive} 出発{v.depart}\nサービス: {v.services_label}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{plan.id}-{v.date}-{v.van_id}-{v.start.replace(':', '')}@odekake",
            f"DTSTAMP:{now}",
            f"DTSTART;TZID=Asia/Tokyo:{day}T{v.start.replace(':', '')}00",
            f"DTEND;TZID=Asia/Tokyo:{day}T{v.end.replace(':', '')}00",
            f"SUMMARY:{ics_escape(summary)}",
            f"LOCATION:{ics_escape(v.site_name)}",
            f"DESCRIPTION:{ics_escape(desc)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in ics_fold(line))


def write_ics(plan: Plan, directory: Path) -> list[Path]:
    """One ``.ics`` file per van that has stops."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for van_id in sorted({v.van_id for v in plan.visits}):
        p = directory / f"{van_id}.ics"
        p.write_bytes(ics_text(plan, van_id).encode("utf-8"))
        out.append(p)
    return out


# --- PDFs --------------------------------------------------------------------------------


def _months(plan: Plan) -> list[tuple[int, int]]:
    a, b = date.fromisoformat(plan.horizon_start), date.fromisoformat(plan.horizon_end)
    out, y, m = [], a.year, a.month
    while (y, m) <= (b.year, b.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points (Japanese has no spaces:
    any character may end a line; a line never starts with 、。)・ when avoidable)."""
    lines: list[str] = []
    current = ""
    for ch in text:
        if current and stringWidth(current + ch, font, size) > width:
            if ch in "、。)」・" and len(current) > 1:
                lines.append(current[:-1])
                current = current[-1]
            else:
                lines.append(current)
                current = ""
        current += ch
    if current:
        lines.append(current)
    return lines


def _day_lines(
    visits: list[PlanVisit], font: str, size: float, width: float, many_vans: bool
) -> list[tuple[str, float]]:
    """(text, indent) lines of one calendar cell: per stop its time and district, then
    the full site name wrapped beneath (never cut)."""
    out: list[tuple[str, float]] = []
    indent = size * 0.8
    for v in visits:
        tag = "" if v.activity == "regular" else f"[{v.activity_label}]"
        head = f"{v.van_id} " if many_vans else ""
        head += f"{v.start} {v.district_name}{tag}"
        out += [(line, 0.0) for line in wrap(head, font, size, width)]
        out += [(line, indent) for line in wrap(v.site_name, font, size, width - indent)]
    return out


def _draw_day(
    c: canvas.Canvas,
    font: str,
    visits: list[PlanVisit],
    x: float,
    top: float,
    bottom: float,
    width: float,
    many_vans: bool,
) -> None:
    """Draw a day's stops from ``top`` down, shrinking the type until every line fits."""
    size = 6.5
    while True:
        lines = _day_lines(visits, font, size, width, many_vans)
        leading = size * 1.2
        if top - leading * (len(lines) - 1) >= bottom or size <= 3.5:
            break
        size -= 0.5
    c.setFont(font, size)
    y = top
    for text, indent in lines:
        c.drawString(x + indent, y, text)
        y -= leading


def write_calendar_pdf(plan: Plan, path: Path) -> None:
    """A monthly calendar (one landscape A4 page per month) listing each day's stops."""
    font = register_fonts()
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=landscape(A4))
    c.setTitle("巡回計画カレンダー")
    width, height = landscape(A4)
    by_day: dict[str, list[PlanVisit]] = defaultdict(list)
    for v in plan.visits:
        by_day[v.date].append(v)
    margin, top = 28.0, height - 60
    col_w = (width - 2 * margin) / 7
    many_vans = len({v.van_id for v in plan.visits}) > 1
    for y, m in _months(plan):
        c.setFont(font, 16)
        first = date(y, m, 1)
        c.drawString(
            margin, height - 40, f"お出かけ市役所 巡回計画 {y}年{m}月({wareki(first)[:-2]})"
        )
        c.setFont(font, 8)
        c.drawRightString(
            width - margin,
            height - 40,
            f"計画ID {plan.id[:8]} / 解の状態 {plan.solver.status} / 作成 {plan.created_at[:10]}",
        )
        weeks = pycal.Calendar(firstweekday=0).monthdatescalendar(y, m)
        row_h = (top - margin - 16) / len(weeks)
        c.setFont(font, 10)
        for i, wd in enumerate(WEEKDAYS_JA):
            c.drawCentredString(margin + col_w * (i + 0.5), top - 12, wd)
        for r, week in enumerate(weeks):
            y0 = top - 16 - (r + 1) * row_h
            for i, d in enumerate(week):
                x0 = margin + i * col_w
                c.rect(x0, y0, col_w, row_h)
                if d.month != m:
                    continue
                c.setFont(font, 9)
                c.drawString(x0 + 3, y0 + row_h - 11, str(d.day))
                visits = sorted(by_day.get(d.isoformat(), []), key=lambda v: (v.van_id, v.order))
                _draw_day(c, font, visits, x0 + 3, y0 + row_h - 21, y0 + 3, col_w - 6, many_vans)
        c.showPage()
    c.save()


def notice_qr_text(district_name: str, visits: list[PlanVisit]) -> str:
    """The text in a notice's QR code: the district's schedule, one line per stop."""
    lines = [f"お出かけ市役所 {district_name} 巡回日程"]
    for v in visits:
        lines.append(f"{v.date} {v.start}-{v.end} {v.site_name} ({v.services_label})")
    return "\n".join(lines)


def qr_image(text: str) -> Image.Image:
    """A QR code image of ``text`` (UTF-8, error correction M)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=6, border=4)
    qr.add_data(text.encode("utf-8"))
    qr.make(fit=True)
    img = qr.make_image(fill_color="black", back_color="white")
    return img.get_image() if hasattr(img, "get_image") else img  # type: ignore[no-any-return]


def write_notice(plan: Plan, district_id: str, path: Path) -> bool:
    """A printable 回覧板 notice (A4 portrait) for one district; False if it has no visits."""
    visits = [v for v in plan.visits if v.district_id == district_id]
    if not visits:
        return False
    font = register_fonts()
    name = visits[0].district_name
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(f"お出かけ市役所 {name}地区 巡回のお知らせ")
    width, height = A4
    c.setFont(font, 11)
    c.drawString(50, height - 50, "回覧")
    c.setFont(font, 20)
    c.drawCentredString(width / 2, height - 90, "お出かけ市役所がやってきます")
    c.setFont(font, 14)
    c.drawCentredString(width / 2, height - 115, f"{name}地区 巡回のお知らせ")
    c.setFont(font, 10.5)
    c.drawString(
        50,
        height - 150,
        "市役所の窓口サービスを積んだ車両が、次の日時と場所にうかがいます。お気軽にお越しください。",
    )
    y = height - 185
    for v in visits:
        d = date.fromisoformat(v.date)
        c.setFont(font, 12)
        c.drawString(60, y, f"■ {date_ja(d)}  {v.start}〜{v.end}")
        c.setFont(font, 11)
        c.drawString(80, y - 17, f"場所: {v.site_name}")
        kind = "" if v.activity == "regular" else f"({v.activity_label})"
        c.drawString(80, y - 33, f"内容: {v.services_label}{kind}")
        y -= 55
        if y < 260:
            c.showPage()
            y = height - 60
    c.setFont(font, 9.5)
    notes = [
        "・証明書の交付には本人確認書類(マイナンバーカード、運転免許証など)が必要です。",
        "・マイナンバーカードの申請では、その場で顔写真を撮影できます。",
        "・天候や災害対応のため、日時を変更することがあります。",
        "・右のQRコードを読み取ると、この日程をスマートフォンに保存できます。",
    ]
    for i, line in enumerate(notes):
        c.drawString(50, 190 - 15 * i, line)
    img = qr_image(notice_qr_text(name, visits))
    c.drawImage(ImageReader(img), width - 170, 40, 120, 120)
    c.setFont(font, 9)
    c.drawString(50, 60, "問い合わせ: いわき市役所 お出かけ市役所担当")
    c.showPage()
    c.save()
    return True


def write_notices(plan: Plan, directory: Path) -> list[Path]:
    """One notice PDF per district that has visits (``notice-<district>.pdf``)."""
    out = []
    for did in dict.fromkeys(v.district_id for v in plan.visits):
        p = directory / f"notice-{did}.pdf"
        if write_notice(plan, did, p):
            out.append(p)
    return out
