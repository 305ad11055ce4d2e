"""ハブへの登録 (first run): the hub's URL and a one-time code, typed or scanned.

The screen calls :func:`odekake.sync.enrol_client.enrol_with_code` in a worker
thread (a network call) and shows what happened; the login screen offers it while
the van is not enrolled (:func:`odekake.sync.enrol_client.van_enrolled`), and scanning an enrolment QR
(``odekake-enrol:<URL>#<code>``) opens it filled in.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Label, Static

from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from odekake.errors import OdekakeError


class EnrolScreen(KioskScreen):
    """Hub URL, code, Ctrl+S."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "enrol", t("enrol_go"), priority=True),
        Binding("escape", "back", t("back")),
    ]

    def __init__(self, hub_url: str = "", code: str = "") -> None:
        super().__init__()
        self._hub_url = hub_url
        self._code = code

    def body(self) -> ComposeResult:
        yield Static(t("enrol_title"), classes="title")
        yield Static(t("enrol_hint"), classes="subtitle")
        yield Label(t("enrol_hub"))
        yield Input(self._hub_url, id="enrol-hub", compact=True, max_length=200)
        yield Label(t("enrol_code"))
        yield Input(self._code, id="enrol-code", compact=True, max_length=40)
        yield Static("", id="enrol-message")

    def on_mount(self) -> None:
        empty = "#enrol-code" if self._hub_url else "#enrol-hub"
        self.set_focus(self.query_one(empty, Input))

    def fill(self, hub_url: str, code: str) -> None:
        """Put a scanned URL and code in the fields."""
        self.query_one("#enrol-hub", Input).value = hub_url
        self.query_one("#enrol-code", Input).value = code

    def action_enrol(self) -> None:
        hub_url = self.query_one("#enrol-hub", Input).value.strip()
        code = self.query_one("#enrol-code", Input).value.strip()
        message = self.query_one("#enrol-message", Static)
        if not hub_url or not code:
            message.update(Text(t("enrol_missing"), style="bold"))
            return
        message.update(t("enrol_busy"))
        self.run_enrol(hub_url, code)

    @work(thread=True, exclusive=True, group="enrol")
    def run_enrol(self, hub_url: str, code: str) -> None:
        from odekake.sync.enrol_client import enrol_with_code

        try:
            done = enrol_with_code(self.kiosk.db_path, hub_url, code)
        except OdekakeError as exc:
            self.app.call_from_thread(self.show, str(exc), True)
            return
        self.app.call_from_thread(self.show, "\n".join([*done.describe(), t("enrol_done")]))

    def show(self, text: str, refused: bool = False) -> None:
        """The outcome, in the message line, as plain text: it may quote what the hub
        answered or the URL typed or scanned, which must never be read as markup."""
        self.query_one("#enrol-message", Static).update(Text(text, style="bold" if refused else ""))

    def action_back(self) -> None:
        self.app.pop_screen()
