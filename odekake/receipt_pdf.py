"""Receipt PDFs (領収書・受付控) with a QR code, and the day-close 日計表.

The QR code holds ``ODEKAKE|<number>|<amount>|<check>`` where ``check`` is the
record's 確認コード, a keyed MAC (HMAC-SHA256 under the van's receipt key, see
:mod:`odekake.receipt_mac`) stamped at intake: city hall can verify it, and a
stranger cannot compute it. Files go to a ``receipts/``
folder next to the database. Pure functions of the record: no database access,
so they run in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import qrcode
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from odekake.pdf import register_fonts
from odekake.records import Record

_JST = timezone(timedelta(hours=9), "JST")
CITY = "いわき市 お出かけ市役所"
KIND_TITLES = {
    "certificate.issue": "領収書(証明書交付手数料)",
    "garbage.sell": "領収書(ごみ処理券)",
    "mynumber.apply": "受付控(マイナンバーカード申請支援)",
    "disaster.apply": "受付控(り災証明書 交付申請)",
}
PAYMENT_LABELS = {"cash": "現金", "cashless": "キャッシュレス"}


@dataclass(frozen=True)
class ReceiptFiles:
    """The files written for one receipt."""

    number: str
    pdf: Path
    qr_png: Path
    qr_text: str


NO_CODE = "なし(鍵の受信前)"


def check_value(record: Record) -> str:
    """The record's 確認コード (stamped at intake), or :data:`NO_CODE`."""
    return str((record.payload or {}).get("check_code") or NO_CODE)


def qr_text(number: str, amount: int, check: str) -> str:
    """What the QR code holds."""
    return f"ODEKAKE|{number}|{amount}|{check if check != NO_CODE else ''}"


def receipt_number(record: Record) -> str:
    """The receipt or application number a record carries."""
    p = record.payload or {}
    for key in ("receipt_no", "application_no", "acceptance_no"):
        if p.get(key):
            return str(p[key])
    raise ValueError(f"record {record.id} has no receipt or application number")


def wareki(day: date) -> str:
    """A date in 和暦 (令和 era from 2019-05-01), e.g. 令和8年11月24日."""
    if day >= date(2019, 5, 1):
        y = day.year - 2018
        era = f"令和{'元' if y == 1 else y}年"
    else:
        era = f"平成{day.year - 1988}年"
    return f"{era}{day.month}月{day.day}日"


def _lines(record: Record) -> list[tuple[str, str]]:
    # No name, address or birth date on a receipt: the PDF stays on the van's disk,
    # and the stored record has them sealed anyway (odekake.sealing). The number and
    # its QR code are what tie the receipt to the application at city hall.
    p = record.payload or {}
    t = record.type
    if t == "certificate.issue":
        return [
            ("証明書", str(p["service_name"])),
            ("部数", f"{p['copies']} 通 × {p['fee_each']:,} 円"),
            ("金額", f"{p['amount']:,} 円"),
            ("支払方法", PAYMENT_LABELS.get(p["payment"], p["payment"])),
        ]
    if t == "garbage.sell":
        return [
            ("券の種類", str(p["service_name"])),
            ("枚数", f"{p['quantity']} 枚 × {p['fee_each']:,} 円"),
            ("金額", f"{p['amount']:,} 円"),
            ("支払方法", PAYMENT_LABELS.get(p["payment"], p["payment"])),
        ]
    if t == "mynumber.apply":
        # The 申請書ID is sealed in the record; the resident's own slip, made at
        # intake, shows it from the typed value (``Record.typed``, memory only).
        typed = record.typed or {}
        return [
            (
                "申請書ID",
                str(p.get("application_id") or typed.get("application_id") or "(封印済み)"),
            ),
            ("受取方法", str(p["route"])),
        ]
    if t == "disaster.apply":
        return [
            ("災害", str(p.get("disaster_name", p["disaster_id"]))),
            ("この後", "現地調査の日程を後日ご連絡します"),
        ]
    return []


def write_receipt(record: Record, out_dir: Path) -> ReceiptFiles:
    """Write ``<number>.pdf`` (A6) and the QR image ``<number>.png``.

    Args:
        record: A ``certificate.issue``, ``garbage.sell``, ``mynumber.apply`` or
            ``disaster.apply`` record.
        out_dir: The ``receipts/`` folder (created when missing).
    """
    font = register_fonts()
    number = receipt_number(record)
    amount = int((record.payload or {}).get("amount", 0))
    check = check_value(record)
    text = qr_text(number, amount, check)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{number}.png"
    qrcode.make(text, box_size=8, border=4).save(str(png))
    pdf = out_dir / f"{number}.pdf"
    width, height = A6
    c = Canvas(str(pdf), pagesize=A6)
    c.setTitle(f"{KIND_TITLES.get(record.type, '控え')} {number}")
    day = datetime.fromisoformat(record.wall_time).astimezone(_JST).date()
    y = height - 14 * mm
    c.setFont(font, 12)
    c.drawCentredString(width / 2, y, KIND_TITLES.get(record.type, "控え"))
    y -= 8 * mm
    c.setFont(font, 8)
    c.drawString(8 * mm, y, f"番号: {number}")
    y -= 5 * mm
    c.drawString(8 * mm, y, f"日付: {wareki(day)}({day.isoformat()})")
    y -= 7 * mm
    c.setFont(font, 9)
    for label, value in _lines(record):
        c.drawString(8 * mm, y, f"{label}:")
        c.drawString(30 * mm, y, value[:28])
        y -= 6 * mm
    size = 30 * mm
    c.drawImage(str(png), width - size - 6 * mm, 8 * mm, size, size)
    c.setFont(font, 8)
    c.drawString(8 * mm, 14 * mm, CITY)
    c.drawString(8 * mm, 9 * mm, f"確認コード {check}")
    c.showPage()
    c.save()
    return ReceiptFiles(number=number, pdf=pdf, qr_png=png, qr_text=text)


def write_day_close(record: Record, out_dir: Path, labels: dict[str, str]) -> Path:
    """Write the 日計表 PDF (A4) for a ``day.close`` record.

    Args:
        record: The ``day.close`` record.
        out_dir: The ``receipts/`` folder.
        labels: Category key → Japanese column name.
    """
    font = register_fonts()
    p: dict[str, Any] = record.payload or {}
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / f"日計表-{p['date']}.pdf"
    c = Canvas(str(pdf), pagesize=A4)
    height = A4[1]
    day = date.fromisoformat(p["date"])
    c.setTitle(f"日計表 {p['date']}")
    y = height - 25 * mm
    c.setFont(font, 16)
    c.drawString(20 * mm, y, f"日計表 {wareki(day)}({p['date']})")
    y -= 8 * mm
    c.setFont(font, 10)
    c.drawString(20 * mm, y, f"{CITY}  担当 {p['operator_id']}  会場数 {p['stops']}")
    y -= 12 * mm

    def row(label: str, value: str) -> None:
        nonlocal y
        c.drawString(25 * mm, y, label)
        c.drawRightString(120 * mm, y, value)
        y -= 6 * mm

    c.setFont(font, 11)
    c.drawString(20 * mm, y, "現金")
    y -= 7 * mm
    c.setFont(font, 10)
    row("釣銭準備金", f"{p['change_float']:,} 円")
    row("現金収納額(手数料)", f"{p['cash_fees']:,} 円")
    row("あるべき現金", f"{p['expected_cash']:,} 円")
    for denom, n in p["counted"].items():
        if n:
            row(f"  {int(denom):,}円 × {n}", f"{int(denom) * n:,} 円")
    row("実査した現金", f"{p['counted_total']:,} 円")
    row("差額", f"{p['cash_difference']:+,} 円")
    y -= 4 * mm
    c.setFont(font, 11)
    c.drawString(20 * mm, y, "キャッシュレス")
    y -= 7 * mm
    c.setFont(font, 10)
    row("収納額(記録)", f"{p['cashless_fees']:,} 円")
    row("端末の合計", f"{p['cashless_terminal']:,} 円")
    row("差額", f"{p['cashless_difference']:+,} 円")
    if p.get("reason"):
        row("差額の理由", str(p["reason"])[:40])
    y -= 4 * mm
    c.setFont(font, 11)
    c.drawString(20 * mm, y, "利用者数(分類別)")
    y -= 7 * mm
    c.setFont(font, 10)
    for cat, n in sorted(p["by_category"].items()):
        row(labels.get(cat, cat), f"{n} 人")
    y -= 4 * mm
    row("領収番号", f"{len(p['receipts'])} 件")
    if p.get("voided_receipts"):
        row("書損(取消)", "、".join(p["voided_receipts"])[:40])
    c.showPage()
    c.save()
    return pdf
