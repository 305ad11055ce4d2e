"""The My Number card at the counter: the resident's PIN, then the form filled from the chip.

Reading is :mod:`odekake.cardreader` (run off the event loop, so a reader that stops
answering never freezes the screen); this module asks for the PIN and shows what
came back. The PIN lives only in the masked field and the call that sends it: it
is never logged, stored or shown.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.labels import t


class CardPinScreen(ModalScreen[str | None]):
    """The resident types the 4-digit PIN (masked); Enter reads, Escape gives up."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", t("back")),
    ]

    def __init__(self, warning: str = "") -> None:
        super().__init__()
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical(id="card-pin-box"):
            yield Static(t("card_pin_title"), classes="title")
            yield Static(t("card_pin_turn"), classes="-error")
            yield Static(t("card_pin_hint"))
            if self.warning:
                yield Static(self.warning, classes="-error", id="card-pin-warning")
            yield Label(t("card_pin"))
            yield Input(
                password=True,
                max_length=4,
                restrict=r"[0-9]*",
                id="card-pin",
                compact=True,
            )

    def on_mount(self) -> None:
        self.query_one("#card-pin", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        pin = event.value
        event.input.value = ""
        if len(pin) != 4:
            self.query_one("#card-pin", Input).focus()
            self.notify("暗証番号は数字4桁です", severity="warning")
            return
        self.dismiss(pin)

    def action_cancel(self) -> None:
        self.dismiss(None)
