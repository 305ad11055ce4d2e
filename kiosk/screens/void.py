"""本日の領収書: today's receipts on this van, to void (書損) or reprint.

Search by number, service or time; ↑↓ pick a row; V voids it after a preview
and a confirmation (a supervisor's id and PIN when the operator is not one);
P reprints it (Enter in the search box, or ↓, moves to the list; Enter on a
row voids it). Another day's receipt is not in the list: that is a correction
at city hall (the core refuses it too).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from kiosk import navigation
from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from kiosk.widgets.approval import ApprovalAnswer, SupervisorApproval
from kiosk.widgets.confirm import Confirm
from odekake.access.authz import Approval
from odekake.errors import OdekakeError
from odekake.services import certificates
from odekake.services.common import local_date
from odekake.services.receipt_book import ReceiptEntry, receipts_on, search
from odekake.storage import records as rec

log = logging.getLogger("kiosk")


class VoidScreen(KioskScreen):
    """The list of today's receipts (書損 and 再印刷 start here)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", t("back")),
        # Letters act on the list (typed in the search box they are search text).
        Binding("v", "void", t("void_selected")),
        Binding("p", "reprint", t("reprint")),
        Binding("down", "to_list", show=False),
    ]

    def body(self) -> ComposeResult:
        yield Static(t("void_title"), classes="title")
        yield Static(t("void_hint"), classes="subtitle")
        yield Input(id="receipt-search", placeholder=t("receipt_search"), compact=True)
        yield DataTable(id="receipts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="void-message")

    def on_mount(self) -> None:
        table = self.query_one("#receipts", DataTable)
        table.add_columns(t("receipt_no"), t("time"), t("service"), t("amount"), "", "")
        self.reload()
        self.set_focus(self.query_one("#receipt-search", Input))

    def reload(self) -> None:
        """Re-read today's receipts and apply the search."""
        self.entries = receipts_on(self.kiosk.db, local_date(self.kiosk.now()))
        self.show(self.query_one("#receipt-search", Input).value)

    def show(self, query: str) -> None:
        """Fill the table with the receipts matching ``query``."""
        self.shown = search(self.entries, query)
        table = self.query_one("#receipts", DataTable)
        table.clear()
        for e in self.shown:
            table.add_row(
                e.number,
                e.time,
                e.service[:14],
                f"{e.amount:,}{t('yen')}",
                e.payment_label,
                t("voided_mark") if e.voided else "",
                key=e.number,
            )
        if not self.shown:
            self.message(t("no_receipts_today") if not self.entries else t("no_match"))
        else:
            self.message("")

    def message(self, text: str, *, error: bool = False) -> None:
        """One line under the list."""
        msg = self.query_one("#void-message", Static)
        msg.update(text)
        msg.set_class(error, "-error")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "receipt-search":
            self.show(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.shown:
            self.set_focus(self.query_one("#receipts", DataTable))

    def action_to_list(self) -> None:
        if self.shown:
            self.set_focus(self.query_one("#receipts", DataTable))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_void()

    def selected(self) -> ReceiptEntry | None:
        """The receipt under the cursor (the only one when the search left one)."""
        if not self.shown:
            return None
        row = self.query_one("#receipts", DataTable).cursor_row
        return self.shown[min(max(row, 0), len(self.shown) - 1)]

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_void(self) -> None:
        entry = self.selected()
        if entry is None:
            self.message(t("pick_receipt"), error=True)
            return
        if entry.voided:
            self.message(f"{entry.number} {t('already_voided')}", error=True)
            return
        preview = "\n".join(
            [
                t("void_q"),
                "",
                f"{t('receipt_no')}: {entry.number}",
                f"{t('time')}: {entry.time}   {entry.service}",
                f"{t('amount')}: {entry.amount:,}{t('yen')}({entry.payment_label})",
            ]
        )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.authorise(entry)

        self.app.push_screen(Confirm(preview, t("void_yes"), t("void_no")), confirmed)

    def authorise(self, entry: ReceiptEntry) -> None:
        """Void at once for a supervisor; otherwise ask for a supervisor's PIN first."""
        operator = self.kiosk.operator
        assert operator is not None
        if operator.is_supervisor:
            self.do_void(entry, None)
            return

        def answered(answer: ApprovalAnswer | None) -> None:
            if answer is not None:
                self.do_void(entry, answer.approval)

        self.app.push_screen(SupervisorApproval(t("approval_void"), need_pin=True), answered)

    def do_void(self, entry: ReceiptEntry, approval: Approval | None) -> None:
        """Ask the core to void; show what it says."""
        app = self.kiosk
        assert app.operator is not None
        try:
            certificates.void_receipt(
                app.db, entry.number, operator_id=app.operator.id, now=app.now(), approval=approval
            )
        except OdekakeError as exc:
            log.warning("void of %s by %s refused: %s", entry.number, app.operator.id, exc)
            self.message(str(exc), error=True)
            return
        approved = f" approved by {approval.supervisor_id}" if approval is not None else ""
        log.info("void %s by %s%s", entry.number, app.operator.id, approved)
        self.reload()
        self.message(f"{entry.number}: {t('voided')}")
        self.notify(t("voided"))

    def action_reprint(self) -> None:
        entry = self.selected()
        if entry is None:
            self.message(t("pick_receipt"), error=True)
            return
        record = rec.get(self.kiosk.db, entry.record_id)
        self.app.push_screen(navigation.make("receipt", record, reprint=True))
