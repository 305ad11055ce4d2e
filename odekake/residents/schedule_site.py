"""The van's schedule for residents: static pages by district, part of the residents'
site that ``odekake prefill site`` writes (and that every ``plan publish`` rebuilds).

For each district: the next visits in force (published, not superseded) from today on —
date (Western and 和暦, weekday), hours, place, the services offered, and early voting
where the stop is an early-voting station — plus an iCalendar file of the same visits.
The pages are plain HTML and CSS: no script, no web font, no request anywhere, readable
on a phone (16 px and up, high contrast, large links). Each page says when it was built
and where to check for changes.

Shown: regular rounds, early-voting stations and disaster-certificate sessions.
Reservations (a group's booked visit) and "other" stops are not public.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

import sqlite_utils

from odekake.masterdata import master
from odekake.masterdata.wareki import wareki_date
from odekake.plans import IN_FORCE, JST, today_jst

FOLDER = "schedule"
SHOWN_ACTIVITIES = ("regular", "voting", "disaster")
MAX_VISITS = 12  # per district: the next visits, not the whole year
WEEKDAYS = "月火水木金土日"
CONTACT_SETTING = "schedule_contact"
DEFAULT_CONTACT = (
    "予定は天候や災害などで変わることがあります。変更はこのページと回覧板でお知らせします。"
    "お問い合わせは いわき市役所 お出かけ市役所担当 へ。"
)
# What residents read for each service (the catalogue's names are for staff).
RESIDENT_SERVICES: dict[str, str] = {
    "certificate": "住民票の写しなどの証明書の発行",
    "mynumber": "マイナンバーカードの申請のお手伝い",
    "garbage": "ごみ処理券(納付券)の販売",
    "consultation": "困りごとの相談",
    "frailty": "フレイル(虚弱)予防の相談・体操",
    "disaster": "り災証明書の申請受付",
    "voting": "期日前投票",
}
ACTIVITY_NOTES: dict[str, str] = {
    "voting": "期日前投票ができます(移動期日前投票所)。入場券をお持ちください。",
    "disaster": "り災証明書の申請を受け付けます。",
}


@dataclass(frozen=True)
class PublicVisit:
    """One visit as residents see it."""

    day: date
    start: str
    end: str
    place: str
    activity: str
    services: tuple[str, ...]

    @property
    def day_text(self) -> str:
        """``12月8日(火)``."""
        return f"{self.day.month}月{self.day.day}日({WEEKDAYS[self.day.weekday()]})"


def public_visits(db: sqlite_utils.Database, today: date) -> dict[str, list[PublicVisit]]:
    """The visits in force from ``today`` on, by district id (date and time order)."""
    sites = {s["id"]: s["name"] for s in master.sites(db)}
    marks = ",".join("?" * len(SHOWN_ACTIVITIES))
    rows = db.execute(
        f'SELECT date, start, "end", site_id, district_id, activity, services FROM plan_visits'
        f" WHERE {IN_FORCE} AND date >= ? AND activity IN ({marks}) ORDER BY date, start",
        [today.isoformat(), *SHOWN_ACTIVITIES],
    ).fetchall()
    out: dict[str, list[PublicVisit]] = {}
    for d, start, end, site_id, district_id, activity, services in rows:
        try:
            offered = tuple(str(s) for s in json.loads(services or "[]"))
        except ValueError:
            offered = ()
        visits = out.setdefault(district_id, [])
        if len(visits) < MAX_VISITS:
            visits.append(
                PublicVisit(
                    date.fromisoformat(d),
                    start,
                    end,
                    sites.get(site_id, site_id),
                    activity,
                    offered,
                )
            )
    return out


def _built_text(built: datetime) -> str:
    t = built.astimezone(JST)
    return f"{t.year}年{t.month}月{t.day}日({wareki_date(t.date())}){t.hour}時{t.minute:02d}分"


def _page(title: str, body: str, built: datetime, contact: str) -> str:
    return f"""<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="schedule.css">
</head>
<body>
<header><p class="site">いわき市 お出かけ市役所(移動市役所)</p><h1>{escape(title)}</h1></header>
<main>
{body}
</main>
<footer>
<p class="built">この予定は <strong>{escape(_built_text(built))}</strong> 時点のものです。</p>
<p class="contact">{escape(contact)}</p>
</footer>
</body>
</html>
"""


def _district_body(name: str, district_id: str, visits: list[PublicVisit]) -> str:
    parts = ['<p class="back"><a href="index.html">地区の一覧にもどる</a></p>']
    if not visits:
        parts.append(
            f'<p class="none">{escape(name)}への訪問は、いま決まっている予定にはありません。</p>'
        )
    else:
        parts.append(f'<p class="lead">{escape(name)}に車両が来る日です(近い順)。</p>')
        parts.append('<ol class="visits">')
        for v in visits:
            services = [RESIDENT_SERVICES.get(s, s) for s in v.services]
            note = ACTIVITY_NOTES.get(v.activity, "")
            items = "".join(f"<li>{escape(s)}</li>" for s in services)
            parts.append(
                '<li class="visit">'
                f'<p class="day">{escape(v.day_text)}</p>'
                f'<p class="era">{escape(wareki_date(v.day))}</p>'
                f'<p class="time">{escape(v.start)}〜{escape(v.end)}</p>'
                f'<p class="place">場所: {escape(v.place)}</p>'
                + (f'<p class="note">{escape(note)}</p>' if note else "")
                + (
                    f'<p class="svc-head">できること</p><ul class="services">{items}</ul>'
                    if items
                    else ""
                )
                + "</li>"
            )
        parts.append("</ol>")
    parts.append(
        f'<p class="ics"><a class="button" href="{escape(district_id)}.ics" download>'
        "この予定をカレンダーに入れる(.ics)</a></p>"
    )
    return "\n".join(parts)


def _index_body(districts: list[tuple[str, str, int]]) -> str:
    items = "".join(
        f'<li><a class="district" href="{escape(did)}.html">{escape(name)}'
        f'<span class="count">{"次の予定 " + str(n) + "件" if n else "予定なし"}</span></a></li>'
        for did, name, n in districts
    )
    return (
        '<p class="lead">お住まいの地区を選ぶと、移動市役所の車両が来る日・時間・場所が出ます。</p>'
        f'<ul class="districts">{items}</ul>'
        '<p class="back"><a href="../index.html">事前記入(QRコードを作る)ページへ</a></p>'
    )


def ics_for(name: str, district_id: str, visits: list[PublicVisit], built: datetime) -> str:
    """One VCALENDAR of a district's visits (TZID Asia/Tokyo)."""
    from odekake.residents.ical import VTIMEZONE, ics_escape, ics_fold

    stamp = built.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//odekake//residents schedule//JA",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{ics_escape(f'お出かけ市役所 {name}')}",
        *VTIMEZONE,
    ]
    for v in visits:
        day = v.day.strftime("%Y%m%d")
        services = "、".join(RESIDENT_SERVICES.get(s, s) for s in v.services)
        desc = ACTIVITY_NOTES.get(v.activity, "") + "\n" if v.activity in ACTIVITY_NOTES else ""
        desc += f"できること: {services}" if services else ""
        lines += [
            "BEGIN:VEVENT",
            f"UID:{district_id}-{day}-{v.start.replace(':', '')}@odekake",
            f"DTSTAMP:{stamp}",
            f"DTSTART;TZID=Asia/Tokyo:{day}T{v.start.replace(':', '')}00",
            f"DTEND;TZID=Asia/Tokyo:{day}T{v.end.replace(':', '')}00",
            f"SUMMARY:{ics_escape(f'お出かけ市役所 {name}({v.place})')}",
            f"LOCATION:{ics_escape(v.place)}",
            f"DESCRIPTION:{ics_escape(desc)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in ics_fold(line))


def contact_text(db: sqlite_utils.Database) -> str:
    """Where residents check for changes (settings ``schedule_contact``)."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [CONTACT_SETTING]).fetchone()
    return str(row[0]).strip() if row and str(row[0]).strip() else DEFAULT_CONTACT


def build_schedule(
    db: sqlite_utils.Database, out: Path, *, now: datetime | None = None
) -> list[Path]:
    """Write ``out/schedule/``: an index of districts, a page and an ``.ics`` per district."""
    built = now or datetime.now(JST)
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    visits = public_visits(db, today_jst(built))
    contact = contact_text(db)
    files: list[tuple[str, str]] = []
    listed: list[tuple[str, str, int]] = []
    for d in master.districts(db):
        mine = visits.get(d.id, [])
        listed.append((d.id, d.name, len(mine)))
        title = f"{d.name}の移動市役所の予定"
        files.append(
            (f"{d.id}.html", _page(title, _district_body(d.name, d.id, mine), built, contact))
        )
        files.append((f"{d.id}.ics", ics_for(d.name, d.id, mine, built)))
    files.append(
        ("index.html", _page("移動市役所の予定(地区別)", _index_body(listed), built, contact))
    )
    css = (Path(__file__).parent / "prefill_site" / "schedule.css").read_text(encoding="utf-8")
    files.append(("schedule.css", css))
    written = []
    for name, text in files:
        target = folder / name
        tmp = target.with_name(target.name + ".part")
        tmp.write_bytes(text.encode("utf-8"))
        shutil.move(tmp, target)
        written.append(target)
    return written
