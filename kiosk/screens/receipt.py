"""After a save: 「保存しました」, the number, and the receipt PDF made in a worker."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from odekake.receipt_pdf import ReceiptFiles, receipt_number, write_receipt
from odekake.records import Record


class ReceiptScreen(KioskScreen):
    """Shown only after the record has committed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "done", t("next")),
        Binding("escape", "done", t("back"), show=False),
        Binding("p", "print", "再作成"),
    ]

    def __init__(self, record: Record) -> None:
        super().__init__()
        self.record = record
        self.files: ReceiptFiles | None = None
        try:
            self.number: str | None = receipt_number(record)
        except ValueError:
            self.number = None

    def body(self) -> ComposeResult:
        p = self.record.payload or {}
        yield Static(f"{t('saved')}", id="saved", classes="title ok")
        lines = []
        if self.number:
            lines.append(f"{t('receipt_no')}: {self.number}")
        if "amount" in p:
            lines.append(f"{t('amount')}: {int(p['amount']):,}{t('yen')}")
        yield Static("\n".join(lines), id="receipt-info")
        yield Static(t("pdf_writing") if self.number else "", id="pdf-status")

    def on_mount(self) -> None:
        if self.number:
            self.make_pdf()

    @work(thread=True, exclusive=True, group="pdf")
    def make_pdf(self) -> None:
        """Write the PDF off the UI thread."""
        try:
            files = write_receipt(self.record, self.kiosk.receipts_dir)
        except Exception as exc:  # any failure is shown; the record is already saved
            self.app.call_from_thread(self.pdf_failed, str(exc))
            return
        self.app.call_from_thread(self.pdf_done, files)

    def pdf_done(self, files: ReceiptFiles) -> None:
        self.files = files
        self.query_one("#pdf-status", Static).update(
            f"{t('pdf_done')}\n{t('receipts_folder')}: {_short(files.pdf)}"
        )

    def pdf_failed(self, message: str) -> None:
        self.query_one("#pdf-status", Static).update(f"{t('pdf_failed')}: {message}")

    def action_print(self) -> None:
        if self.number:
            self.query_one("#pdf-status", Static).update(t("pdf_writing"))
            self.make_pdf()

    def action_done(self) -> None:
        self.app.pop_screen()


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 70 else "…" + text[-69:]
