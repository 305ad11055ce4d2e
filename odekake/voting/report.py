"""The early-voting report: hourly table per station, turnout, incidents (PDF and CSV)."""

from __future__ import annotations

import io
from pathlib import Path

import sqlite_utils
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from odekake.documents.pdf import register_fonts
from odekake.documents.spreadsheet import csv_writer
from odekake.voting.checkin.incidents import incidents
from odekake.voting.elections import STATION_KINDS
from odekake.voting.tally import ElectionTally, StationTally, tally

CSV_HEADER = (
    "投票所ID",
    "投票所",
    "日付",
    "時間帯",
    "男",
    "女",
    "計",
    "累計",
    "名簿対照",
    "仮投票",
    "交付",
    "差(交付−名簿対照)",
    "選挙人数",
    "投票率",
    "取りやめ",
    "仮投票(数えない)",
)
TABLE_HEADER = ("日付", "時間帯", "男", "女", "計", "累計", "名簿対照", "仮投票", "交付", "差")


def _date_label(iso: str) -> str:
    _, m, d = (int(x) for x in iso.split("-"))
    return f"{m}/{d}"


def wareki(iso: str) -> str:
    """``2023-11-12`` → ``令和5年11月12日`` (平成 before 2019-05-01)."""
    y, m, d = (int(x) for x in iso.split("-"))
    if (y, m, d) >= (2019, 5, 1):
        era, year = "令和", y - 2018
    else:
        era, year = "平成", y - 1988
    return f"{era}{'元' if year == 1 else year}年{m}月{d}日"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def csv_text(t: ElectionTally) -> str:
    """The tally as CSV text (add a BOM when saving, for Excel)."""
    out = io.StringIO(newline="")
    w = csv_writer(out)
    w.writerow(CSV_HEADER)
    for st in t.stations:
        s = st.station
        for r in st.rows:
            w.writerow(
                [
                    s.id,
                    s.name,
                    r.day,
                    r.label,
                    r.men,
                    r.women,
                    r.total,
                    r.cumulative,
                    r.roll_checks,
                    r.provisional,
                    r.handed_out,
                    _signed(r.diff),
                    "",
                    "",
                    r.released,
                    r.provisional_uncounted,
                ]
            )
        w.writerow(
            [
                s.id,
                s.name,
                "",
                "計",
                st.men,
                st.women,
                st.total,
                st.total,
                st.roll_checks,
                st.provisional,
                st.handed_out,
                _signed(st.diff),
                "" if st.electors is None else st.electors,
                st.turnout_label,
                st.released,
                st.provisional_uncounted,
            ]
        )
    w.writerow(
        [
            "",
            "全体(重複を除く)",
            "",
            "計",
            sum(st.men for st in t.stations),
            sum(st.women for st in t.stations),
            t.voters,
            t.voters,
            sum(st.roll_checks for st in t.stations),
            sum(st.provisional for st in t.stations),
            sum(st.handed_out for st in t.stations),
            _signed(sum(st.diff for st in t.stations)),
            "" if t.electors is None else t.electors,
            t.turnout_label,
            sum(st.released for st in t.stations),
            sum(st.provisional_uncounted for st in t.stations),
        ]
    )
    return out.getvalue()


def _station_block(st: StationTally, font: str) -> list[object]:
    s = st.station
    head = ParagraphStyle("h", fontName=font, fontSize=11, leading=15, spaceBefore=6)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=13)
    days = s.date_from if s.date_from == s.date_to else f"{s.date_from}〜{s.date_to}"
    flow: list[object] = [
        Paragraph(f"{s.name}({STATION_KINDS[s.kind]}) {days} {s.opens}〜{s.closes}", head)
    ]
    data: list[list[str]] = [list(TABLE_HEADER)]
    for r in st.rows:
        data.append(
            [
                _date_label(r.day),
                r.label,
                str(r.men),
                str(r.women),
                str(r.total),
                str(r.cumulative),
                str(r.roll_checks),
                str(r.provisional),
                str(r.handed_out),
                _signed(r.diff) + (" 要確認" if r.diff else ""),
            ]
        )
    diff = st.diff
    data.append(
        [
            "計",
            "",
            str(st.men),
            str(st.women),
            str(st.total),
            str(st.total),
            str(st.roll_checks),
            str(st.provisional),
            str(st.handed_out),
            _signed(diff),
        ]
    )
    table = Table(data, repeatRows=1, hAlign="LEFT")
    style = [
        ("FONT", (0, 0), (-1, -1), font, 8.5),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f3f3")),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
    ]
    for i, r in enumerate(st.rows, start=1):
        if r.diff:
            style.append(("TEXTCOLOR", (9, i), (9, i), colors.red))
    table.setStyle(TableStyle(style))
    flow.append(table)
    electors = "—" if st.electors is None else f"{st.electors}人"
    flow.append(
        Paragraph(
            f"選挙人数 {electors} / 投票者数 {st.total}人(男 {st.men}人・女 {st.women}人) / "
            f"投票率 {st.turnout_label}",
            body,
        )
    )
    flow.append(Paragraph(reconciliation(st), body))
    return flow


def reconciliation(st: StationTally) -> str:
    """One line: 交付 / 名簿対照 / 仮投票 of a station against its voters."""
    counted = st.provisional - st.provisional_uncounted
    line = (
        f"照合: 投票者 {st.total}人 = 名簿対照 {st.roll_checks} − 取りやめ {st.released} "
        f"+ 仮投票 {counted}(仮投票 {st.provisional}件のうち重複・無効 "
        f"{st.provisional_uncounted}件は数えない) / 交付 {st.handed_out}(差 {_signed(st.diff)})"
    )
    return line if st.reconciled else line + " 要確認(件数が合いません)"


def write_pdf(db: sqlite_utils.Database, election_id: str, out: str | Path) -> ElectionTally:
    """Write the report PDF (Japanese, embedded font) and return the tally it shows."""
    t = tally(db, election_id)
    font = register_fonts()
    title = ParagraphStyle("t", fontName=font, fontSize=14, leading=20)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=13)
    e = t.election
    flow: list[object] = [
        Paragraph(f"{e.name} 期日前投票 時間別投票者数", title),
        Paragraph(
            f"期日前投票期間 {wareki(e.early_from)}〜{wareki(e.early_to)} / "
            f"投票日 {wareki(e.election_day)}({e.election_day}) / "
            f"交付する投票用紙: {'・'.join(b.label for b in e.ballots)}",
            body,
        ),
        Paragraph(
            "計 = 投票者(同じ人は1回だけ)。差 = 交付 − (名簿対照 − 取りやめ)(0 以外は要確認)。",
            body,
        ),
        Spacer(1, 3 * mm),
    ]
    for st in t.stations:
        flow.extend(_station_block(st, font))
        flow.append(Spacer(1, 3 * mm))
    flow.append(
        Paragraph(
            f"全体(同じ人は1回だけ数える): 投票者数 {t.voters}人 / 選挙人名簿 "
            f"{'—' if t.electors is None else f'{t.electors}人'} / 投票率 {t.turnout_label}",
            title,
        )
    )
    found = incidents(db, election_id)
    flow.append(Paragraph(f"重複・不整合(インシデント) {len(found)}件", title))
    flow.append(Paragraph("インシデントの選挙人は上の投票者数に二重には数えていません。", body))
    for inc in found:
        first = inc["first_event"]
        second = inc["second_event"]
        flow.append(
            Paragraph(
                f"{inc['label']}: 選挙人番号 {inc['voter_no']} / 1件目 {first.get('type')} "
                f"({first.get('device_id')} {first.get('wall_time')}) / 2件目 "
                f"{second.get('type', '—')} ({second.get('device_id', '')} "
                f"{second.get('wall_time', '')})",
                body,
            )
        )
    doc = SimpleDocTemplate(
        str(out),
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"{e.name} 期日前投票 時間別投票者数",
    )
    doc.build(flow)  # type: ignore[arg-type]
    return t


def write_csv(db: sqlite_utils.Database, election_id: str, out: str | Path) -> None:
    """Write the CSV (UTF-8 with BOM, CRLF) for Excel."""
    Path(out).write_text(csv_text(tally(db, election_id)), encoding="utf-8-sig", newline="")
