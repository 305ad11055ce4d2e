"""Helpers for the report tests: records written as the kiosk writes them, and readers
for the three outputs (CSV, XLSX, PDF text)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pypdf
import sqlite_utils
from openpyxl import load_workbook

from odekake.storage.records import Record, append

JST = timezone(timedelta(hours=9), "JST")
DASH = "–"


def at(day: str, hhmm: str) -> datetime:
    """A local (JST) day and time as an aware UTC datetime (what the van's clock stamps)."""
    h, m = (int(x) for x in hhmm.split(":"))
    y, mo, d = (int(x) for x in day.split("-"))
    return datetime(y, mo, d, h, m, tzinfo=JST).astimezone(UTC)


def open_stop(
    db: sqlite_utils.Database,
    stop_id: str,
    activity: str,
    district: str,
    when: datetime,
    services: list[str],
    *,
    supersedes: str | None = None,
) -> Record:
    """``stop.open`` with the payload of docs/records.md; ``date`` is the local JST day."""
    local = when.astimezone(JST)
    payload = {
        "stop_id": stop_id,
        "activity": activity,
        "site_id": f"{district}-01",
        "site_name": f"{district} 公民館",
        "district_id": district,
        "van_id": "van-1",
        "date": local.date().isoformat(),
        "window": f"{local:%H:%M}-{(local + timedelta(hours=2)):%H:%M}",
        "operator_id": "op001",
        "services": services,
        "planned": True,
    }
    return append(db, "stop.open", payload, now=when, supersedes=supersedes)


def close_stop(db: sqlite_utils.Database, stop_id: str, when: datetime) -> Record:
    """``stop.close``."""
    return append(
        db,
        "stop.close",
        {"stop_id": stop_id, "closed_at": f"{when.astimezone(JST):%H:%M}"},
        now=when,
    )


def _resident() -> dict[str, str]:
    return {
        "name": "試験 花子",
        "kana": "シケン ハナコ",
        "address": "いわき市テスト町1-1",
        "birth_date": "1945-01-02",
        "phone": "0246-00-0000",
    }


def certificate(
    db: sqlite_utils.Database,
    stop_id: str,
    when: datetime,
    *,
    copies: int = 1,
    payment: str = "cash",
    supersedes: str | None = None,
) -> Record:
    """``certificate.issue`` (住民票の写し)."""
    payload = {
        "stop_id": stop_id,
        "people": 1,
        "service_code": "cert.juminhyo",
        "service_name": "住民票の写し",
        "copies": copies,
        "fee_each": 300,
        "amount": 300 * copies,
        "payment": payment,
        "receipt_no": f"R2023-van-1-{when.minute:06d}",
        "requester": _resident(),
        "relation": "本人",
        "id_check": {"kind": "photo", "documents": ["運転免許証"]},
        "optional_items": [],
        "purpose": "年金手続き",
    }
    return append(db, "certificate.issue", payload, now=when, supersedes=supersedes)


def mynumber(db: sqlite_utils.Database, stop_id: str, when: datetime) -> Record:
    """``mynumber.apply`` (never the 12-digit number, only the 申請書ID)."""
    payload = {
        "stop_id": stop_id,
        "people": 1,
        "application_id": "12345678901234567890123",
        "route": "申請時来庁方式",
        "photo_taken": True,
        "applicant": {"name": "試験 太郎", "kana": "シケン タロウ", "birth_date": "1950-05-05"},
        "id_check": {"kind": "two", "documents": ["資格確認書", "年金手帳"]},
    }
    return append(db, "mynumber.apply", payload, now=when)


def garbage(db: sqlite_utils.Database, stop_id: str, when: datetime, quantity: int = 1) -> Record:
    """``garbage.sell``."""
    payload = {
        "stop_id": stop_id,
        "people": 1,
        "service_code": "garbage.large_s",
        "quantity": quantity,
        "fee_each": 520,
        "amount": 520 * quantity,
        "payment": "cashless",
        "receipt_no": f"R2023-van-1-9{when.minute:05d}",
    }
    return append(db, "garbage.sell", payload, now=when)


def consultation(db: sqlite_utils.Database, stop_id: str, when: datetime) -> Record:
    """``consultation.hold``."""
    payload = {"stop_id": stop_id, "people": 1, "topic": "介護", "remote": False, "referral": None}
    return append(db, "consultation.hold", payload, now=when)


def frailty(
    db: sqlite_utils.Database,
    stop_id: str,
    when: datetime,
    people: int,
    *,
    supersedes: str | None = None,
) -> Record:
    """``frailty.check`` for a group session of ``people`` participants."""
    payload = {"stop_id": stop_id, "people": people, "sheet": None}
    return append(db, "frailty.check", payload, now=when, supersedes=supersedes)


def disaster(db: sqlite_utils.Database, stop_id: str, when: datetime, n: int = 1) -> Record:
    """``disaster.apply`` (り災証明書 申請)."""
    payload: dict[str, Any] = {
        "stop_id": stop_id,
        "people": 1,
        "application_no": f"D2023-van-1-{n:05d}",
        "disaster_id": "flood-2023",
        "applicant": _resident(),
        "building_address": "いわき市テスト町1-1",
        "cause": "浸水",
    }
    return append(db, "disaster.apply", payload, now=when)


def vote(db: sqlite_utils.Database, stop_id: str, when: datetime) -> Record:
    """``vote.cast`` (one elector voted)."""
    return append(db, "vote.cast", {"stop_id": stop_id, "people": 1}, now=when)


def explanation(db: sqlite_utils.Database, stop_id: str, when: datetime, people: int) -> Record:
    """``explanation.visit`` (visitors the service was explained to)."""
    return append(db, "explanation.visit", {"stop_id": stop_id, "people": people}, now=when)


# ------------------------------------------------------------------ readers

Row = list[Any]


def csv_sections(path: Path) -> dict[str, list[Row]]:
    """Split the report CSV: ``table`` (header + rows), ``summary``, ``flags``, ``notes``."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 BOM"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    return _sections(rows)


def xlsx_sections(path: Path) -> dict[str, list[Row]]:
    """The same sections, read from the XLSX (values keep their types)."""
    wb = load_workbook(path)
    rows: list[Row] = []
    for n, ws in enumerate(wb.worksheets):
        sheet: list[Row] = []
        for row in ws.iter_rows(values_only=True):
            cells = list(row)
            while cells and cells[-1] is None:
                cells.pop()
            sheet.append(["" if c is None else c for c in cells])
        if n:  # the council sheet: its tables, after its own title lines
            first = next(i for i, r in enumerate(sheet) if r and str(r[0]).startswith("■ "))
            sheet = [[], *sheet[first:]]
        rows += sheet
    out = _sections(rows)
    if out["table"]:
        width = len(out["table"][0])
        out["table"] = [r + [""] * (width - len(r)) for r in out["table"]]
    return out


def _sections(rows: list[Row]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {
        "head": [],
        "table": [],
        "summary": [],
        "flags": [],
        "notes": [],
        "council": [],
    }
    current = "head"
    for row in rows:
        if not row:
            current = "gap"
            continue
        first = row[0]
        if isinstance(first, str) and first.startswith("■ "):
            current = "council"  # the council tables (title row, header, rows, notes)
        elif current == "council":
            pass
        elif first == "活動":
            current = "table"
        elif first == "項目":
            current = "summary"
            continue
        elif isinstance(first, str) and first.startswith("注意"):
            current = "flags"
            continue
        elif first == "備考" and len(row) == 1:
            current = "notes"
            continue
        if current in out:
            out[current].append(row)
    return out


def unflag(row: Row) -> Row:
    """The XLSX form of an expected row: ``"▲46"`` (CSV) is the number 46 (▲ by format)."""
    return [int(v[1:]) if isinstance(v, str) and v.startswith("▲") else v for v in row]


def as_csv_text(row: Row) -> list[str]:
    """A row of expected values as the CSV writes them."""
    return [str(v) for v in row]


def pdf_lines(path: Path) -> list[list[str]]:
    """Text of each page, one stripped line per entry."""
    reader = pypdf.PdfReader(str(path))
    return [[x.strip() for x in p.extract_text().splitlines() if x.strip()] for p in reader.pages]


def pdf_tokens_for_rows(rows: list[Row]) -> list[str]:
    """The cell texts the PDF table shows for table rows, in drawing order.

    Numbers carry their unit (回 for 回数, 人 for people); the activity name is drawn
    once for all 地区定期巡回 rows.
    """
    out: list[str] = []
    regular_seen = False
    for row in rows:
        activity, district, *values, note = row
        if activity == "地区定期巡回":
            if not regular_seen:
                out.append(activity)
                regular_seen = True
            out.append(district)
        else:
            out.append(activity)
        for i, v in enumerate(values):
            if isinstance(v, int):
                out.append(f"{v}{'回' if i == 0 else '人'}")
            elif v != "":
                out.append(str(v))
        if note:
            out.append(note)
    return out


def contains_run(haystack: list[str], needle: list[str]) -> bool:
    """True when ``needle`` occurs as a contiguous run in ``haystack``."""
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def merge_wrapped(lines: list[str], texts: list[str]) -> list[str]:
    """Join consecutive PDF lines that together spell one of ``texts`` (a wrapped note)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        done = False
        for t in texts:
            if not t or lines[i] == t or not t.startswith(lines[i]):
                continue
            acc, j = lines[i], i + 1
            while j < len(lines) and len(acc) < len(t):
                acc = acc + lines[j] if t.startswith(acc + lines[j]) else acc + " " + lines[j]
                j += 1
                if acc == t:
                    out.append(t)
                    i, done = j, True
                    break
            if done:
                break
        if not done:
            out.append(lines[i])
            i += 1
    return out


def load_comment(path: Path, *, row_label: str, column: str) -> str | None:
    """The comment on one table cell of the XLSX (flagged cells carry one)."""
    wb = load_workbook(path)
    ws = wb.active
    assert ws is not None
    header_row = next(r for r in ws.iter_rows() if r[0].value == "活動")
    col = next(c.column for c in header_row if c.value == column)
    for r in ws.iter_rows(min_row=header_row[0].row + 1):
        if r[1].value == row_label:
            comment = ws.cell(row=r[0].row, column=col).comment
            return None if comment is None else comment.text
    return None
