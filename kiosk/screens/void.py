"""書損: a supervisor voids a receipt; the number stays, marked 書損."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult

from kiosk.labels import t
from kiosk.screens.base import FormScreen, inp
from odekake.records import Record
from odekake.services import certificates


class VoidScreen(FormScreen):
    """Receipt number → ``record.void`` (監督者のみ)."""

    TITLE_KEY = "void_title"

    def fields(self) -> ComposeResult:
        yield self.row("receipt_no", "receipt_no", inp(placeholder="R2026-van-1-000001"))

    def submit(self, values: dict[str, Any]) -> Record:
        app = self.kiosk
        assert app.operator is not None
        return certificates.void_receipt(
            app.db,
            str(values["receipt_no"]).strip(),
            operator_id=app.operator.id,
            roles=app.operator.roles,
            now=app.now(),
        )

    def after_save(self, record: Record) -> None:
        self.notify(t("voided"))
        self.app.pop_screen()
