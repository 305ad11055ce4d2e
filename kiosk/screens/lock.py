"""The idle lock: covers the screen; the same operator's PIN unlocks it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.labels import t
from odekake.services.login import verify_pin

if TYPE_CHECKING:
    from kiosk.app import KioskApp


class LockScreen(ModalScreen[None]):
    """Shown over whatever was on screen; nothing typed underneath is lost."""

    def compose(self) -> ComposeResult:
        app = cast("KioskApp", self.app)
        who = app.operator.name if app.operator else ""
        with Vertical(id="lock-box"):
            yield Static(f"{t('locked_title')} — {who}", classes="title")
            yield Static(t("locked_hint"))
            yield Label(t("pin"))
            yield Input(id="unlock-pin", password=True, compact=True, restrict=r"[0-9]*")
            yield Static("", id="lock-message")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#unlock-pin", Input))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        app = cast("KioskApp", self.app)
        if app.operator is not None and verify_pin(app.db, app.operator.id, event.value):
            app.locked = False
            self.dismiss(None)
            return
        event.input.value = ""
        self.query_one("#lock-message", Static).update(t("wrong_pin"))
