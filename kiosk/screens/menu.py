"""The service menu of the open stop: one key per service (see ``kiosk.menu``)."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from kiosk import navigation
from kiosk.labels import t
from kiosk.menu import SERVICES, ServiceEntry
from kiosk.widgets.confirm import Confirm
from odekake.access.authz import PERMISSIONS, roles_of
from odekake.errors import OdekakeError
from odekake.masterdata.catalog import CATEGORIES
from odekake.services.dayclose import FEE_CATEGORIES
from odekake.services.stops import close_stop, served_at

from .base import KioskScreen


class MenuScreen(KioskScreen):
    """Lists the services; their keys open them. C closes the stop."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "close_stop", t("close_stop")),
        Binding("v", "void", t("receipts_today")),
        Binding("l", "logout", t("switch_operator")),
        Binding("u", "usb", t("usb_menu")),
    ]

    def __init__(self) -> None:
        super().__init__()
        # Keys come from the data-driven list. Priority bindings run in the app's own
        # key order, so what the operator types right after the key reaches the form.
        for entry in SERVICES:
            self._bindings.bind(
                entry.key, f"service('{entry.key}')", entry.label, show=False, priority=True
            )

    def body(self) -> ComposeResult:
        yield Static(t("menu_title"), classes="title")
        yield Static(self.menu_text(), id="menu")
        yield Static("", id="served")

    def offered(self, entry: ServiceEntry) -> bool:
        """True when the open stop offers this service's category."""
        stop = self.kiosk.stop
        return stop is not None and stop.offers(entry.category)

    def menu_text(self) -> str:
        """The menu lines, services not offered at this stop dimmed."""
        lines = []
        for e in SERVICES:
            line = f"  [b]{e.key}[/b]  {e.label}"
            lines.append(line if self.offered(e) else f"[dim]{line}(この会場では扱いません)[/dim]")
        return "\n".join(lines)

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Refresh the top bar and the tally of people served here."""
        self.refresh_topbar()
        stop = self.kiosk.stop
        if stop is None:
            return
        counts = served_at(self.kiosk.db, stop.stop_id)
        text = "、".join(f"{CATEGORIES.get(k, k)} {v}" for k, v in counts.items()) or t("none")
        closed = f"\n[b]{t('day_is_closed')}[/b]" if self.kiosk.day_closed() else ""
        self.query_one("#served", Static).update(f"{t('served_here')}: {text}{closed}")

    def action_service(self, key: str) -> None:
        entry = next((e for e in SERVICES if e.key == key), None)
        if entry is None:
            return
        if not self.offered(entry):
            self.notify(f"{entry.label} はこの会場では扱いません", severity="warning")
            return
        operator = self.kiosk.operator
        if (
            entry.category != "voting"
            and operator is not None
            and not roles_of(self.kiosk.db, operator.id) & PERMISSIONS["serve"]
        ):
            self.notify(t("needs_counter_role"), severity="error", timeout=8)
            return
        if entry.category in FEE_CATEGORIES and self.kiosk.day_closed():
            self.notify(t("day_is_closed"), severity="error", timeout=8)
            return
        try:
            screen = entry.factory(self.kiosk)
        except OdekakeError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.app.push_screen(screen)

    def on_key(self, event: events.Key) -> None:
        # Keys of entries appended after this screen was built still work.
        if (
            any(e.key == event.key for e in SERVICES)
            and event.key not in self._bindings.key_to_bindings
        ):
            event.stop()
            self.action_service(event.key)

    def action_logout(self) -> None:
        self.kiosk.logout()
        self.notify(t("logged_out"))

    def action_usb(self) -> None:
        self.app.push_screen(navigation.make("usb"))

    def action_void(self) -> None:
        self.app.push_screen(navigation.make("void"))

    def action_close_stop(self) -> None:
        def answer(yes: bool | None) -> None:
            if not yes:
                return
            app = self.kiosk
            assert app.stop is not None
            try:
                close_stop(app.db, app.stop.stop_id, now=app.now())
            except OdekakeError as exc:
                self.notify(str(exc), severity="error")
                return
            app.stop = None
            self.notify(t("stop_closed"))
            self.app.pop_screen()

        self.app.push_screen(Confirm(t("close_stop_q")), answer)
