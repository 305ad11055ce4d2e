"""マイナンバーカード申請支援: 申請書ID (a scanner types it), route, photo, identity."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input

from kiosk.labels import t
from kiosk.screens.base import FormScreen, chk, inp, sel
from kiosk.screens.certificate import id_select
from odekake.services import mynumber
from odekake.storage.records import Record


class MyNumberScreen(FormScreen):
    """One application support."""

    TITLE_KEY = "svc_mynumber"
    PREFILL_SERVICE = "mynumber"
    TAKES_PERSONAL_DATA = True
    TAKES_CARD = True

    def fields(self) -> ComposeResult:
        yield self.row(
            "application_id", "application_id", inp(placeholder=t("application_id_hint"))
        )
        yield self.row("name", "name", inp())
        yield self.row("kana", "kana", inp())
        yield self.row("birth_date", "birth_date", inp(placeholder=t("date_hint")))
        yield self.row("route", "route", sel([(r, r) for r in mynumber.ROUTES], mynumber.ROUTES[0]))
        yield self.row("photo_taken", "photo_taken_row", chk(t("photo_taken")))
        yield self.row("id_doc1", "id_doc1", id_select())
        yield self.row("id_doc2", "id_doc2", id_select())

    def on_mount(self) -> None:
        super().on_mount()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        # A scanner ends the 申請書ID with Enter: move on instead of saving.
        if event.input.id == "f-application_id":
            self.focus_next()

    def submit(self, values: dict[str, Any]) -> Record:
        return mynumber.apply(self.kiosk.db, values, self.actor())
