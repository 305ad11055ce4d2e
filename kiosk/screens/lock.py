"""The idle lock: covers the screen; the same operator's PIN unlocks it.

The PIN is checked by :func:`odekake.services.login.unlock_screen`: the same
lock-out and audit as the login. A locked-out operator asks a supervisor
(Ctrl+U, :class:`~kiosk.screens.unlock.SupervisorUnlock`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk import navigation
from kiosk.labels import t
from odekake.errors import OdekakeError
from odekake.services.login import unlock_screen

if TYPE_CHECKING:
    from kiosk.host import KioskHost


class LockScreen(ModalScreen[None]):
    """Shown over whatever was on screen; nothing typed underneath is lost."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+u", "supervisor_unlock", t("supervisor_unlock"), priority=True),
    ]

    def compose(self) -> ComposeResult:
        app = cast("KioskHost", self.app)
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
        app = cast("KioskHost", self.app)
        if app.operator is None:
            return
        try:
            unlock_screen(app.db, app.operator.id, event.value, now=app.now())
        except OdekakeError as exc:
            event.input.value = ""
            self.query_one("#lock-message", Static).update(str(exc))
            return
        app.locked = False
        self.dismiss(None)

    def action_supervisor_unlock(self) -> None:
        app = cast("KioskHost", self.app)
        target = app.operator.id if app.operator else ""

        def done(unlocked: bool | None) -> None:
            if unlocked:
                self.query_one("#lock-message", Static).update(t("unlocked_enter_pin"))
            self.set_focus(self.query_one("#unlock-pin", Input))

        app.push_screen(navigation.make("supervisor_unlock", target), done)
