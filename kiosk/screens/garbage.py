"""ごみ納付券の販売: kind, quantity, fee, payment."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input, Static

from kiosk.labels import PAYMENT_LABELS, t
from kiosk.screens.base import FormScreen, inp, sel
from kiosk.widgets.choice import Choice
from odekake.errors import OdekakeError
from odekake.masterdata import catalog
from odekake.services import garbage
from odekake.storage.records import Record


class GarbageScreen(FormScreen):
    """One ticket sale."""

    TITLE_KEY = "svc_garbage"
    PREFILL_SERVICE = "garbage"

    def fields(self) -> ComposeResult:
        kinds = garbage.ticket_kinds(self.kiosk.db)
        yield self.row(
            "service_code", "ticket_kind", sel([(k.name, k.code) for k in kinds], kinds[0].code)
        )
        yield self.row("quantity", "quantity", inp("1"))
        yield Static("", id="fee")
        yield self.row(
            "payment", "payment", sel([(v, k) for k, v in PAYMENT_LABELS.items()], "cash")
        )
        yield self.row("addressee", "addressee", inp(placeholder=t("addressee_hint")))

    def on_mount(self) -> None:
        super().on_mount()
        self.update_fee()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.update_fee()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        self.update_fee()

    def update_fee(self) -> None:
        """Fee × quantity from the dated fee table."""
        fee = self.query_one("#fee", Static)
        try:
            each = catalog.fee_for(self.kiosk.db, self.value("service_code"), self.today())
        except OdekakeError as exc:
            fee.update(str(exc))
            return
        raw = str(self.value("quantity")).strip()
        n = int(raw) if raw.isdigit() else 0
        fee.update(f"  {t('fee')} {each:,}{t('yen')} × {n} = {each * n:,}{t('yen')}")

    def submit(self, values: dict[str, Any]) -> Record:
        return garbage.sell(self.kiosk.db, values, self.actor())
