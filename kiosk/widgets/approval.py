"""A supervisor's approval typed at the counter (id + PIN, and a reason when asked).

The logged-in operator stays logged in: the id and PIN authorise the ONE action
that asked for them; the core checks them (``odekake.access.authz.require``) in the same
call as the action and audits both names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from kiosk.labels import t
from odekake.access.authz import Approval


@dataclass(frozen=True)
class ApprovalAnswer:
    """What the dialog returns: the approval (None when the operator is a supervisor) and reason."""

    approval: Approval | None
    reason: str


class SupervisorApproval(ModalScreen[ApprovalAnswer | None]):
    """Asks for a supervisor's id and PIN (unless not needed) and, optionally, a reason."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", t("cancel")),
        Binding("enter", "next", t("approve"), priority=True),
    ]

    def __init__(self, title: str, *, need_pin: bool, ask_reason: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.need_pin = need_pin
        self.ask_reason = ask_reason

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, classes="title")
            if self.need_pin:
                yield Static(t("approval_hint"))
                yield Label(t("supervisor_id"))
                yield Input(id="sv-id", compact=True, max_length=32)
                yield Label(t("pin"))
                yield Input(
                    id="sv-pin", password=True, compact=True, max_length=8, restrict=r"[0-9]*"
                )
            if self.ask_reason:
                yield Label(t("reason_label"))
                yield Input(id="sv-reason", compact=True, max_length=100)
            yield Static("", id="approval-message")

    def on_mount(self) -> None:
        self.set_focus(self.query(Input).first())

    def action_next(self) -> None:
        inputs = list(self.query(Input))
        focused = self.focused
        if focused in inputs and inputs.index(focused) < len(inputs) - 1:
            self.set_focus(inputs[inputs.index(focused) + 1])
            return
        (focused or self).call_later(self.finish)

    def finish(self) -> None:
        """Return the answer once every field is filled."""
        reason = self.query_one("#sv-reason", Input).value.strip() if self.ask_reason else ""
        approval = None
        if self.need_pin:
            sid = self.query_one("#sv-id", Input).value.strip()
            pin = self.query_one("#sv-pin", Input).value
            if not sid or not pin:
                self.query_one("#approval-message", Static).update(t("approval_missing"))
                return
            approval = Approval(sid, pin)
        if self.ask_reason and not reason:
            self.query_one("#approval-message", Static).update(t("reason_missing"))
            return
        self.dismiss(ApprovalAnswer(approval, reason))

    def action_cancel(self) -> None:
        self.dismiss(None)
