"""One receipt, opened by scanning its QR code: what it was for and whether it stands.

A voided receipt says 書損(無効), when and by whom; P reprints a standing one as a
再発行 (a voided one prints only with its 書損(無効) mark).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from kiosk import navigation
from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from odekake.services.common import JST, PAYMENTS
from odekake.services.receipt_book import ReceiptStatus


class ReceiptDetailScreen(KioskScreen):
    """A scanned receipt's detail and void state."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", t("back")),
        Binding("enter", "back", show=False),
        Binding("p", "reprint", t("reprint")),
    ]

    def __init__(self, status: ReceiptStatus) -> None:
        super().__init__()
        self.status = status

    def body(self) -> ComposeResult:
        s = self.status
        p = s.record.payload or {}
        issued = s.record.wall_datetime.astimezone(JST).strftime("%Y-%m-%d %H:%M")
        payment = PAYMENTS.get(str(p.get("payment", "")), str(p.get("payment", "")))
        lines = [
            f"{t('receipt_no')}: {s.number}",
            f"{t('time')}: {issued}",
            f"{t('service')}: {s.service}",
            f"{t('amount')}: {s.amount:,}{t('yen')}" + (f"({payment})" if payment else ""),
        ]
        yield Static(t("receipt_detail_title"), classes="title")
        yield Static("\n".join(lines), id="receipt-detail")
        if s.void is not None:
            yield Static(s.void.describe(), id="receipt-state", classes="-error")
        else:
            yield Static(t("receipt_valid"), id="receipt-state")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reprint(self) -> None:
        self.app.push_screen(navigation.make("receipt", self.status.record, reprint=True))
