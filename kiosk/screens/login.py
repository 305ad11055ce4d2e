"""Login: operator id + PIN."""

from __future__ import annotations

import logging
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Static

from kiosk import navigation
from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from odekake.errors import OdekakeError
from odekake.services.login import LockedOut, login
from odekake.sync.enrol_client import van_enrolled

log = logging.getLogger("kiosk")


class LoginScreen(KioskScreen):
    """Operator id, PIN, Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority binding runs in key order, so "op001⏎1234⏎" typed fast lands
        # in the right fields (an input's own submit would race the next keys).
        Binding("enter", "enter", t("login"), priority=True),
        Binding("ctrl+q", "app.quit", t("quit")),
        Binding("ctrl+u", "supervisor_unlock", t("supervisor_unlock"), priority=True),
        Binding("f2", "enrol", t("enrol_open")),
    ]

    def body(self) -> ComposeResult:
        with Vertical(id="login-box"):
            yield Static(t("login_title"), classes="title")
            yield Label(t("operator_id"))
            yield Input(id="operator", compact=True, max_length=32)
            yield Label(t("pin"))
            yield Input(id="pin", password=True, compact=True, max_length=8, restrict=r"[0-9]*")
            yield Static(t("login_hint"), id="login-message")
            if not van_enrolled(self.kiosk.db_path):
                yield Static(t("enrol_needed"), id="enrol-notice", classes="-error")
            notice = self.kiosk.crash_notice
            if notice:
                yield Static(notice, id="crash-notice", classes="-error")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#operator", Input))

    def on_screen_resume(self) -> None:
        self.refresh_topbar()
        if van_enrolled(self.kiosk.db_path):
            for notice in self.query("#enrol-notice"):
                notice.remove()
        self.query_one("#pin", Input).value = ""
        self.set_focus(self.query_one("#operator", Input))

    def action_enter(self) -> None:
        if self.focused is self.query_one("#operator", Input):
            self.set_focus(self.query_one("#pin", Input))
            return
        # Let the PIN input take the keys already queued for it before reading it.
        target = self.focused or self
        target.call_later(self.try_login)

    def try_login(self) -> None:
        """Check the id and PIN; continue to today's stops on success."""
        operator_id = self.query_one("#operator", Input).value
        pin = self.query_one("#pin", Input).value
        message = self.query_one("#login-message", Static)
        try:
            operator = login(self.kiosk.db, operator_id, pin, now=self.kiosk.now())
        except OdekakeError as exc:
            # The cause (wrong PIN, unknown id, locked out) for support; never the PIN.
            kind = "locked out" if isinstance(exc, LockedOut) else "login failed"
            log.warning("%s %r: %s", kind, operator_id, exc)
            message.update(str(exc))
            message.set_class(True, "-error")
            self.query_one("#pin", Input).value = ""
            return
        message.update(t("login_hint"))
        message.set_class(False, "-error")
        self.kiosk.logged_in(operator)

    def action_enrol(self) -> None:
        """The first-run enrolment screen (offered only while the van is not enrolled)."""
        if not van_enrolled(self.kiosk.db_path):
            self.app.push_screen(navigation.make("enrol"))

    def action_supervisor_unlock(self) -> None:
        """A supervisor lifts a lock-out (the id typed so far is the one to unlock)."""
        message = self.query_one("#login-message", Static)

        def done(unlocked: bool | None) -> None:
            if unlocked:
                message.update(t("unlocked"))
                message.set_class(False, "-error")
            self.set_focus(self.query_one("#operator", Input))

        self.app.push_screen(
            navigation.make("supervisor_unlock", self.query_one("#operator", Input).value), done
        )
