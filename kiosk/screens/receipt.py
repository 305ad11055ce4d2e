"""After a save: 「保存しました」, the number, the PDF made in a worker, and printing.

A fee takes a 領収書, other services a 受付控. The PDF is the record; when a CUPS
printer is configured (``KioskSettings.printer``) it is then printed with ``lp``.
The same screen reprints any of today's receipts (再発行, beside the original).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from odekake.errors import OdekakeError
from odekake.receipts.printing import print_pdf
from odekake.receipts.receipt_pdf import FEE_TYPES, ReceiptFiles, receipt_number, write_receipt
from odekake.services.receipt_book import issued_at, void_of
from odekake.storage.records import Record

log = logging.getLogger("kiosk")


class ReceiptScreen(KioskScreen):
    """Shown only after the record has committed (or to reprint one of today's)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "done", t("next")),
        Binding("escape", "done", t("back"), show=False),
        Binding("p", "print", t("reprint")),
    ]

    def __init__(self, record: Record, *, addressee: str = "", reprint: bool = False) -> None:
        super().__init__()
        self.record = record
        self.addressee = addressee
        self.reprint = reprint
        self.files: ReceiptFiles | None = None
        self.job: str | None = None
        self.kind = t("kind_receipt") if record.type in FEE_TYPES else t("kind_slip")
        try:
            self.number: str | None = receipt_number(record)
        except ValueError:
            self.number = None

    def body(self) -> ComposeResult:
        p = self.record.payload or {}
        title = f"{self.kind} {t('reprinted')}" if self.reprint else t("saved")
        yield Static(title, id="saved", classes="title ok")
        lines = []
        if self.number:
            lines.append(f"{t('receipt_no')}: {self.number}")
        if "amount" in p:
            lines.append(f"{t('amount')}: {int(p['amount']):,}{t('yen')}")
        if p.get("next_step"):
            lines.append(f"{t('next_step')}: {p['next_step']}")
        yield Static("\n".join(lines), id="receipt-info")
        writing = t("pdf_writing").format(kind=self.kind)
        yield Static(writing if self.number else "", id="pdf-status")

    def on_mount(self) -> None:
        if self.number:
            self.make_pdf()

    @work(thread=True, exclusive=True, group="pdf")
    def make_pdf(self) -> None:
        """Write the PDF off the UI thread, then print it when a printer is set."""
        app = self.kiosk
        try:
            where = issued_at(app.db, self.record)
            voided = void_of(app.db, self.record)
            files = write_receipt(
                self.record,
                app.receipts_dir,
                site=where.site,
                issuer=where.issuer,
                addressee=self.addressee,
                reprint=self.reprint,
                reprinted_at=app.now() if self.reprint else None,
                void=voided.describe() if voided is not None else None,
            )
        except Exception as exc:  # any failure is shown and logged; the record is saved
            log.exception("receipt PDF failed for %s", self.number)
            app.call_from_thread(self.pdf_failed, str(exc))
            return
        app.call_from_thread(self.pdf_done, files)
        printer = app.settings.printer
        if not printer:
            return
        try:
            job = print_pdf(files.pdf, printer)
        except OdekakeError as exc:
            cause = getattr(exc, "detail", "") or str(exc)
            log.error("printing %s on %s failed: %s (%s)", files.pdf.name, printer, exc, cause)
            app.call_from_thread(self.print_result, str(exc), None)
            return
        log.info("printed %s on %s (job %s)", files.pdf.name, printer, job)
        app.call_from_thread(self.print_result, "", job)

    def status(self, text: str) -> None:
        """The PDF/printing line; nothing when the operator has already moved on."""
        if self.is_mounted:
            self.query_one("#pdf-status", Static).update(text)

    def pdf_done(self, files: ReceiptFiles) -> None:
        self.files = files
        lines = [
            t("pdf_done").format(kind=self.kind),
            f"{t('receipts_folder')}: {_short(files.pdf)}",
        ]
        printer = self.kiosk.settings.printer
        lines.append(t("printing").format(printer=printer) if printer else t("no_printer"))
        self.status("\n".join(lines))

    def print_result(self, error: str, job: str | None) -> None:
        """Replace the printing line with what CUPS said."""
        assert self.files is not None
        printer = self.kiosk.settings.printer or ""
        self.job = job
        last = (
            t("print_failed").format(error=error) if error else t("printed").format(printer=printer)
        )
        self.status(
            f"{t('pdf_done').format(kind=self.kind)}\n"
            f"{t('receipts_folder')}: {_short(self.files.pdf)}\n{last}"
        )

    def pdf_failed(self, message: str) -> None:
        self.status(f"{t('pdf_failed')}: {message}")

    def action_print(self) -> None:
        """P: print again: always a 再発行 (dated), never the original a second time."""
        if self.number:
            self.reprint = True
            self.query_one("#saved", Static).update(f"{self.kind} {t('reprinted')}")
            self.status(t("pdf_writing").format(kind=self.kind))
            self.make_pdf()

    def action_done(self) -> None:
        self.app.pop_screen()


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 70 else "…" + text[-69:]
