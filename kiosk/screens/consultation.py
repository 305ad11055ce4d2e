"""相談: category, remote yes/no, referral from master data (no free text)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult

from kiosk.labels import t
from kiosk.screens.base import FormScreen, chk, sel
from odekake.services import consultation
from odekake.storage.records import Record


class ConsultationScreen(FormScreen):
    """One consultation."""

    TITLE_KEY = "svc_consultation"

    def fields(self) -> ComposeResult:
        refs = consultation.referrals(self.kiosk.db)
        yield self.row("topic", "topic", sel([(c, c) for c in consultation.TOPICS], blank=True))
        yield self.row("remote", "remote_row", chk(t("remote")))
        yield self.row(
            "referral_id",
            "referral",
            sel([(t("no_referral"), "")] + [(r.name, r.id) for r in refs], ""),
        )

    def on_mount(self) -> None:
        super().on_mount()

    def submit(self, values: dict[str, Any]) -> Record:
        return consultation.hold(self.kiosk.db, values, self.actor())

    def after_save(self, record: Record) -> None:
        self.notify(t("saved"))
        self.app.pop_screen()
