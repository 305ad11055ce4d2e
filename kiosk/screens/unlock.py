"""A supervisor lifts an operator's PIN lock-out on the van (audited in the core)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.labels import t
from odekake.errors import OdekakeError
from odekake.services.login import unlock_operator

if TYPE_CHECKING:
    from kiosk.host import KioskHost


log = logging.getLogger("kiosk")


class SupervisorUnlock(ModalScreen[bool]):
    """The locked operator's id, the supervisor's id and PIN; Enter unlocks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "enter", t("unlock"), priority=True),
        Binding("escape", "cancel", t("back")),
    ]

    def __init__(self, target: str = "") -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(id="unlock-box"):
            yield Static(t("supervisor_unlock_title"), classes="title")
            yield Label(t("unlock_target"))
            yield Input(self.target, id="unlock-target", compact=True, max_length=32)
            yield Label(t("supervisor_id"))
            yield Input(id="supervisor-id", compact=True, max_length=32)
            yield Label(t("supervisor_pin"))
            yield Input(
                id="supervisor-pin", password=True, compact=True, max_length=8, restrict=r"[0-9]*"
            )
            yield Static(t("supervisor_unlock_hint"), id="unlock-message")

    def on_mount(self) -> None:
        first = "#supervisor-id" if self.target else "#unlock-target"
        self.set_focus(self.query_one(first, Input))

    def action_enter(self) -> None:
        order = ["#unlock-target", "#supervisor-id", "#supervisor-pin"]
        focused = self.focused
        ids = [f"#{focused.id}" if focused is not None else ""]
        if ids[0] in order[:2]:
            self.set_focus(self.query_one(order[order.index(ids[0]) + 1], Input))
            return
        (focused or self).call_later(self.try_unlock)

    def try_unlock(self) -> None:
        """Ask the core to unlock; show its answer."""
        app = cast("KioskHost", self.app)
        message = self.query_one("#unlock-message", Static)
        target = self.query_one("#unlock-target", Input).value
        supervisor = self.query_one("#supervisor-id", Input).value.strip()
        try:
            unlock_operator(
                app.db,
                target,
                actor=supervisor,
                supervisor_pin=self.query_one("#supervisor-pin", Input).value,
                now=app.now(),
            )
        except OdekakeError as exc:
            log.warning("unlock of %r refused: %s", target, exc)
            self.query_one("#supervisor-pin", Input).value = ""
            message.update(str(exc))
            message.set_class(True, "-error")
            return
        log.info("unlock %s by %s", target, supervisor)
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
