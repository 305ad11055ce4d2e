"""Receipt PDFs (領収書・受付控) with a QR code, and the day-close 日計表.

The QR code holds ``ODEKAKE|<number>|<amount>|<check>`` where ``check`` is the
record's 確認コード, a keyed MAC (HMAC-SHA256 under the van's receipt key, see
:mod:`odekake.storage.receipt_mac`) stamped at intake: city hall can verify it, and a
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

from odekake.documents.pdf import register_fonts
from odekake.storage.private_files import private_dir, touch_private
from odekake.storage.records import Record

_JST = timezone(timedelta(hours=9), "JST")
CITY = "いわき市 お出かけ市役所"
KIND_TITLES = {
    "certificate.issue": "領収書(証明書交付手数料)",
    "garbage.sell": "領収書(ごみ納付券)",
    "mynumber.apply": "受付控(マイナンバーカード申請支援)",
    "disaster.apply": "受付控(り災・被災証明書 交付申請)",
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


#: How the text of a receipt's QR code starts.
QR_PREFIX = "ODEKAKE|"


def qr_text(number: str, amount: int, check: str) -> str:
    """What the QR code holds."""
    return f"{QR_PREFIX}{number}|{amount}|{check if check != NO_CODE else ''}"


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
    # and the stored record has them sealed anyway (odekake.storage.sealing). The number and
    # its QR code are what tie the receipt to the application at city hall.
    p = record.payload or {}
    t = record.type
    if t == "certificate.issue":
        return [
            ("証明書", str(p["service_name"])),
            ("部数", f"{p['copies']} 通 × {p['fee_each']:,} 円"),
            ("支払方法", PAYMENT_LABELS.get(p["payment"], p["payment"])),
        ]
    if t == "garbage.sell":
        return [
            ("券の種類", str(p["service_name"])),
            ("枚数", f"{p['quantity']} 枚 × {p['fee_each']:,} 円"),
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
        out = [
            ("申請", str(p.get("service_name", "り災証明書"))),
            ("災害", str(p.get("disaster_name", p["disaster_id"]))),
        ]
        if p.get("damage_date"):
            out.append(("被害日", str(p["damage_date"])))
        out.append(("必要枚数", f"{int(p.get('copies', 1))} 枚"))
        # What really happens next on this path, wrapped to the slip's width.
        step = str(p.get("next_step") or "現地調査の日程を後日ご連絡します")
        out.append(("この後", step[:20]))
        for i in range(20, len(step), 20):
            out.append(("", step[i : i + 20]))
        return out
    return []


# Records that take a fee get a 領収書 (amount, 但し書き, 「上記の金額を領収しました」);
# the others get a 受付控.
FEE_TYPES = frozenset({"certificate.issue", "garbage.sell"})


def proviso(record: Record) -> str:
    """The 但し書き of a fee receipt, e.g. 「住民票の写し 交付手数料として」."""
    p = record.payload or {}
    if record.type == "certificate.issue":
        return f"{p['service_name']} 交付手数料として"
    if record.type == "garbage.sell":
        return f"{p['service_name']} 代金として"
    return ""


def pdf_name(number: str, reprint: bool = False, voided: bool = False) -> str:
    """``<number>.pdf``, ``<number>-再発行.pdf`` for a reprint (the original stays), or
    ``<number>-書損.pdf`` for the copy of a voided one."""
    if voided:
        return f"{number}-書損.pdf"
    return f"{number}-再発行.pdf" if reprint else f"{number}.pdf"


#: What a voided receipt says wherever it is printed.
VOID_STAMP = "書損(無効)"


def _stamp(c: Canvas, font: str, text: str, width: float, height: float) -> None:
    """A large red stamp across the slip (a voided receipt)."""
    c.saveState()
    c.setFillColorRGB(0.8, 0, 0)
    c.setStrokeColorRGB(0.8, 0, 0)
    c.translate(width / 2, height / 2)
    c.rotate(30)
    c.setFont(font, 30)
    c.drawCentredString(0, -10, text)
    c.setLineWidth(2)
    c.rect(-62 * mm / 2 - 6, -18, 62 * mm + 12, 44, stroke=1, fill=0)
    c.restoreState()


def write_receipt(
    record: Record,
    out_dir: Path,
    *,
    site: str = "",
    issuer: str = "",
    addressee: str = "",
    reprint: bool = False,
    reprinted_at: datetime | None = None,
    void: str | None = None,
) -> ReceiptFiles:
    """Write ``<number>.pdf`` (A6) and the QR image ``<number>.png``.

    Args:
        record: A ``certificate.issue``, ``garbage.sell``, ``mynumber.apply`` or
            ``disaster.apply`` record.
        out_dir: The ``receipts/`` folder (created when missing).
        site: Where it was issued (the stop's site name).
        issuer: Who issued it (the operator's name).
        addressee: The 宛名, only when the operator entered one. The record holds
            it sealed, so it is passed in from the form; a reprint leaves a blank
            line to write it by hand.
        reprint: A reprint: marked 再発行 (with ``reprinted_at``, its date) and
            written beside the original.
        void: The receipt was voided: this line (when and by whom) is printed
            with a large 書損(無効) stamp across the slip, and no 「領収しました」.
    """
    font = register_fonts()
    p = record.payload or {}
    number = receipt_number(record)
    amount = int(p.get("amount", 0))
    check = check_value(record)
    text = qr_text(number, amount, check)
    private_dir(out_dir)
    png = touch_private(out_dir / f"{number}.png")
    qrcode.make(text, box_size=8, border=4).save(str(png))
    pdf = touch_private(
        out_dir / pdf_name(number, reprint, voided=void is not None)
    )  # it prints the 宛名: 0600
    width, height = A6
    c = Canvas(str(pdf), pagesize=A6)
    title = KIND_TITLES.get(record.type, "控え") + ("(再発行)" if reprint else "")
    if void is not None:
        title = f"{KIND_TITLES.get(record.type, '控え')} {VOID_STAMP}"
    c.setTitle(f"{title} {number}")
    when = datetime.fromisoformat(record.wall_time).astimezone(_JST)
    day = when.date()
    y = height - 12 * mm
    c.setFont(font, 12)
    c.drawCentredString(width / 2, y, title)
    y -= 8 * mm
    c.setFont(font, 9)
    if addressee:
        c.drawString(8 * mm, y, f"{addressee[:20]} 様")
        y -= 6 * mm
    elif p.get("addressee"):
        c.drawString(8 * mm, y, "                          様")
        y -= 6 * mm
    c.setFont(font, 8)
    c.drawString(8 * mm, y, f"番号: {number}")
    y -= 5 * mm
    c.drawString(8 * mm, y, f"日時: {wareki(day)}({day.isoformat()}) {when:%H:%M}")
    y -= 5 * mm
    if reprint and reprinted_at is not None:
        again = reprinted_at.astimezone(_JST)
        c.drawString(8 * mm, y, f"再発行: {wareki(again.date())}({again:%Y-%m-%d %H:%M})")
        y -= 5 * mm
    if void is not None:
        c.setFont(font, 8)
        c.drawString(8 * mm, y, void[:40])
        y -= 5 * mm
    y -= 1 * mm
    if record.type in FEE_TYPES:
        c.setFont(font, 13)
        c.drawString(8 * mm, y, f"金額  ¥{amount:,}-")
        y -= 6 * mm
        c.setFont(font, 8)
        c.drawString(8 * mm, y, f"但し {proviso(record)}"[:40])
        y -= 5 * mm
        if void is None:
            c.drawString(8 * mm, y, "上記の金額を領収しました")
        else:
            c.drawString(8 * mm, y, "この領収書は書損のため無効です")
        y -= 6 * mm
    c.setFont(font, 9)
    for label, value in _lines(record):
        c.drawString(8 * mm, y, f"{label}:" if label else "")
        c.drawString(30 * mm, y, value[:28])
        y -= 5.5 * mm
    c.setFont(font, 8)
    if site:
        c.drawString(8 * mm, 29 * mm, f"会場: {site[:16]}")
    if issuer:
        c.drawString(8 * mm, 24 * mm, f"発行: {issuer[:16]}")
    size = 30 * mm
    c.drawImage(str(png), width - size - 6 * mm, 8 * mm, size, size)
    c.setFont(font, 8)
    c.drawString(8 * mm, 14 * mm, CITY)  # the issuing office
    c.drawString(8 * mm, 9 * mm, f"確認コード {check}")
    if void is not None:
        _stamp(c, font, VOID_STAMP, width, height)
    c.showPage()
    c.save()
    return ReceiptFiles(number=number, pdf=pdf, qr_png=png, qr_text=text)


def day_close_pdf_name(day: str, close_no: int = 1) -> str:
    """``日計表-<date>.pdf`` for a day's first close, ``日計表-<date>-<n>.pdf`` after a
    re-opening (each close keeps its own PDF)."""
    return f"日計表-{day}.pdf" if close_no <= 1 else f"日計表-{day}-{close_no}.pdf"


def write_day_close(
    record: Record, out_dir: Path, labels: dict[str, str], *, close_no: int = 1
) -> Path:
    """Write the 日計表 PDF (A4) for a ``day.close`` record.

    Args:
        record: The ``day.close`` record.
        out_dir: The ``receipts/`` folder.
        labels: Category key → Japanese column name.
        close_no: Which close of its day this is (1 for the first; a later one
            follows a re-opening and is written beside the earlier ones).
    """
    font = register_fonts()
    p: dict[str, Any] = record.payload or {}
    private_dir(out_dir)
    pdf = touch_private(out_dir / day_close_pdf_name(str(p["date"]), close_no))
    c = Canvas(str(pdf), pagesize=A4)
    height = A4[1]
    day = date.fromisoformat(p["date"])
    c.setTitle(f"日計表 {p['date']}")
    y = height - 25 * mm
    c.setFont(font, 16)
    again = f"(第{close_no}回の締め)" if close_no > 1 else ""
    c.drawString(20 * mm, y, f"日計表 {wareki(day)}({p['date']}){again}")
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
    # By value, largest first (the stored dict's keys are strings: "10" < "500").
    for denom, n in sorted(p["counted"].items(), key=lambda kv: -int(kv[0])):
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
    amounts = p.get("voided_amounts") or {}
    for no in p.get("voided_receipts") or []:
        row(f"書損(取消) {no}", f"{int(amounts.get(no, 0)):,} 円")
    for r in p.get("reopenings") or []:
        row(f"日計の再開 {r.get('at', '')} 承認 {r.get('supervisor_id', '')}", "")
        row(f"  理由: {str(r.get('reason', ''))[:40]}", "")
    c.showPage()
    c.save()
    return pdf
