"""The van kiosk: a keyboard-first Textual app over the van database.

``make_app`` builds the app (used by the CLI and the tests); ``run_kiosk`` runs it.
Nothing here waits on the network: every screen reads and writes the local
SQLite file only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import Input

from kiosk.labels import t
from kiosk.prefill import ScanBuffer
from odekake.db import connect
from odekake.errors import OdekakeError
from odekake.services.common import JST, Actor, Clock, system_clock
from odekake.services.login import Operator
from odekake.services.stops import Stop, get_stop, van_id_of


@dataclass(frozen=True)
class KioskSettings:
    """Tunables of one kiosk.

    Attributes:
        idle_minutes: Lock the screen after this long without a key press.
        receipts_dir: Where receipt PDFs go (default: ``receipts/`` next to the DB).
        van_id: This van (default: the only van in the database).
        hub_url: The hub for early-voting check-ins (default: the last one synced with).
    """

    idle_minutes: float = 5.0
    receipts_dir: Path | None = None
    van_id: str | None = None
    hub_url: str | None = None


class KioskApp(App[None]):
    """お出かけ市役所 端末."""

    CSS_PATH = "app.tcss"
    TITLE = t("app_title")
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", t("quit"), priority=True)]

    def __init__(
        self, db_path: Path, *, clock: Clock | None = None, settings: KioskSettings | None = None
    ) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.db = connect(self.db_path, role="van")
        self.clock: Clock = clock or system_clock
        self.settings = settings or KioskSettings()
        self.van_id = self.settings.van_id or van_id_of(self.db)
        self.receipts_dir = self.settings.receipts_dir or self.db_path.parent / "receipts"
        self.operator: Operator | None = None
        self.stop: Stop | None = None
        self.last_activity = time.monotonic()
        self.locked = False
        self.scan = ScanBuffer()

    # -- state ------------------------------------------------------------------
    def now(self) -> datetime:
        """The current instant (the injected clock)."""
        return self.clock()

    def actor(self) -> Actor:
        """The operator at the open stop, now."""
        if self.operator is None or self.stop is None:
            raise OdekakeError("ログインして会場を開いてください")
        return Actor(operator_id=self.operator.id, stop_id=self.stop.stop_id, now=self.now())

    def set_stop(self, stop_id: str | None) -> None:
        """Remember the open stop (or none)."""
        self.stop = None if stop_id is None else get_stop(self.db, stop_id)

    def status_line(self) -> str:
        """The top bar text (fits 80 columns: the title gives way to an open stop)."""
        now = self.now().astimezone(JST)
        parts = [now.strftime("%m/%d %H:%M")]
        if self.stop is None:
            parts.insert(0, t("app_title"))
        if self.operator is not None:
            parts.append(self.operator.name)
        if self.stop is not None:
            parts.append(f"{self.stop.site_name} {self.stop.window}")
        parts.append(self.sync_text())
        return " │ ".join(parts)

    def sync_text(self) -> str:
        """Unsynced records and the last sync time (read from the local database only)."""
        from odekake.sync.status import van_status

        st = van_status(self.db)
        if st.last_sync_at:
            when = datetime.fromisoformat(st.last_sync_at).astimezone(JST)
            today = when.date() == self.now().astimezone(JST).date()
            last = when.strftime("%H:%M" if today else "%m/%d")
        else:
            last = t("sync_never")
        return t("sync_status").format(unsynced=st.unsynced, last=last)

    # -- lifecycle ----------------------------------------------------------------
    def on_mount(self) -> None:
        from kiosk.screens.login import LoginScreen

        self.push_screen(LoginScreen())
        self.set_interval(15, self.lock_if_idle)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.last_activity = time.monotonic()
        if isinstance(event, events.Key) and not isinstance(self.focused, Input):
            # A scanner typing a request code where no text field has focus: keep
            # its keys from the menu's one-key bindings (kiosk.prefill).
            swallow, scanned = self.scan.feed(event.key, event.character)
            if scanned is not None:
                from kiosk.prefill import open_prefill

                open_prefill(self, scanned)
            if swallow:
                event.stop()
                return
        await super().on_event(event)

    def lock_if_idle(self) -> None:
        """Lock the screen after ``idle_minutes`` without input; the form underneath stays."""
        if self.operator is None or self.locked:
            return
        if time.monotonic() - self.last_activity >= self.settings.idle_minutes * 60:
            from kiosk.screens.lock import LockScreen

            self.locked = True
            self.push_screen(LockScreen())

    def logged_in(self, operator: Operator) -> None:
        """Continue after a successful login: today's stops (or the open stop's menu)."""
        from kiosk.screens.menu import MenuScreen
        from kiosk.screens.today import TodayScreen
        from odekake.services.stops import open_stop_now

        self.operator = operator
        self.last_activity = time.monotonic()
        if operator.must_change_pin:
            from kiosk.screens.pin import ChangePinScreen

            # A PIN shorter than 6 digits: a new one before anything else.
            self.push_screen(
                ChangePinScreen(lambda: self.logged_in(replace(operator, must_change_pin=False)))
            )
            return
        self.push_screen(TodayScreen())
        current = open_stop_now(self.db)
        if current is not None:
            self.stop = current
            self.push_screen(MenuScreen())

    def logout(self) -> None:
        """Back to the login screen."""
        self.operator = None
        self.stop = None
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def on_unmount(self) -> None:
        self.db.close()


def make_app(
    db_path: Path | str, *, clock: Clock | None = None, settings: KioskSettings | None = None
) -> KioskApp:
    """Build the kiosk over a van database (the CLI and the tests both use this)."""
    return KioskApp(Path(db_path), clock=clock, settings=settings)


def run_kiosk(db_path: Path, **kwargs: Any) -> None:
    """Run the kiosk in this terminal until the operator quits (Ctrl+Q)."""
    make_app(db_path, **kwargs).run()
