"""Set a new PIN (required after a login with a PIN shorter than 6 digits)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from kiosk.labels import t
from odekake.errors import OdekakeError
from odekake.services.login import change_pin

if TYPE_CHECKING:
    from kiosk.host import KioskHost


class ChangePinScreen(Screen[None]):
    """Current PIN, new PIN twice; Enter moves on and finally saves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "enter", t("save"), priority=True),
        Binding("ctrl+q", "app.quit", t("quit")),
    ]
    FIELDS = ("#old-pin", "#new-pin", "#new-pin2")

    def __init__(self, then: Callable[[], None]) -> None:
        super().__init__()
        self.then = then

    def compose(self) -> ComposeResult:
        with Vertical(id="pin-box"):
            yield Static(t("change_pin_title"), classes="title")
            yield Static(t("change_pin_why"))
            for wid, label in zip(
                self.FIELDS, ("current_pin", "new_pin", "new_pin_again"), strict=True
            ):
                yield Label(t(label))
                yield Input(
                    id=wid[1:], password=True, compact=True, max_length=8, restrict=r"[0-9]*"
                )
            yield Static("", id="pin-message")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#old-pin", Input))

    def action_enter(self) -> None:
        focused = self.focused
        wid = f"#{focused.id}" if focused is not None else ""
        if wid in self.FIELDS[:2]:
            self.set_focus(self.query_one(self.FIELDS[self.FIELDS.index(wid) + 1], Input))
            return
        (focused or self).call_later(self.try_change)

    def try_change(self) -> None:
        """Check both entries agree, then let the core set the PIN."""
        app = cast("KioskHost", self.app)
        message = self.query_one("#pin-message", Static)
        old, new, again = (self.query_one(f, Input).value for f in self.FIELDS)
        try:
            if new != again:
                raise OdekakeError(t("pins_differ"))
            assert app.operator is not None
            change_pin(app.db, app.operator.id, old, new, now=app.now())
        except OdekakeError as exc:
            for f in self.FIELDS[1:]:
                self.query_one(f, Input).value = ""
            message.update(str(exc))
            message.set_class(True, "-error")
            self.set_focus(self.query_one("#new-pin", Input))
            return
        self.app.pop_screen()
        self.then()
