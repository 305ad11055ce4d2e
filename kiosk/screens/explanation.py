"""説明・見学のカウント: one key adds one visitor (recorded at once)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from odekake.errors import OdekakeError
from odekake.services import explanation


class ExplanationScreen(KioskScreen):
    """Space or + adds a visitor; Escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space,plus,+", "add", t("add_visitor")),
        Binding("escape", "app.pop_screen", t("back")),
    ]

    def body(self) -> ComposeResult:
        yield Static(t("svc_explanation"), classes="title")
        yield Static(t("add_visitor_hint"), classes="subtitle")
        yield Static("", id="count", classes="big")

    def on_mount(self) -> None:
        self.show_count()

    def show_count(self) -> None:
        """The visitors counted at this stop so far."""
        stop = self.kiosk.stop
        n = 0 if stop is None else explanation.visitors_at(self.kiosk.db, stop.stop_id)
        self.query_one("#count", Static).update(f"{t('visitors')}: {n} 人")

    def action_add(self) -> None:
        try:
            explanation.add_visitors(self.kiosk.db, self.kiosk.actor())
        except OdekakeError as exc:
            self.notify(str(exc), severity="error")
            return
        self.show_count()
