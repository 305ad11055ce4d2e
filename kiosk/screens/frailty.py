"""フレイル予防チェック: participants, optionally the J-CHS sheet with its score."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Checkbox, Static

from kiosk.labels import t
from kiosk.screens.base import FormScreen, chk, inp
from kiosk.widgets.field import FormRow
from odekake.services import frailty
from odekake.storage.records import Record


class FrailtyScreen(FormScreen):
    """One session (participants) or one sheet."""

    TITLE_KEY = "svc_frailty"

    def fields(self) -> ComposeResult:
        yield self.row("people", "people", inp("1"))
        yield self.row("with_sheet", "with_sheet_row", chk(t("with_sheet")))
        for key, label in frailty.JCHS_ITEMS:
            control = chk(label)
            control.id = f"f-{key}"
            yield FormRow(key, "", control)
        yield Static("", id="score")

    def on_mount(self) -> None:
        super().on_mount()
        self.update_score()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.update_score()

    def update_score(self) -> None:
        """Show the J-CHS score and judgement while ticking."""
        if not self.value("with_sheet"):
            self.query_one("#score", Static).update("")
            return
        score = sum(bool(self.value(k)) for k, _ in frailty.JCHS_ITEMS)
        self.query_one("#score", Static).update(
            f"  {t('score')} {score}/5 → {frailty.judge(score)}"
        )

    def submit(self, values: dict[str, Any]) -> Record:
        return frailty.check(self.kiosk.db, values, self.actor())

    def after_save(self, record: Record) -> None:
        self.notify(t("saved"))
        self.app.pop_screen()
