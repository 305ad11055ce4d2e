"""Open a stop that is not in today's plan (a reason is required)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult

from kiosk import navigation
from kiosk.labels import ACTIVITY_LABELS, t
from kiosk.screens.base import FormScreen, inp, sel
from odekake.masterdata import master
from odekake.services.stops import open_unplanned
from odekake.storage.records import Record


class UnplannedScreen(FormScreen):
    """Site, activity, time window, reason."""

    TITLE_KEY = "unplanned_title"
    TAKES_PERSONAL_DATA = True

    def fields(self) -> ComposeResult:
        db = self.kiosk.db
        sites = [(f"{s['name']}", s["id"]) for s in master.sites(db)]
        yield self.row("site_id", "site", sel(sites, blank=True))
        yield self.row(
            "activity", "activity", sel([(v, k) for k, v in ACTIVITY_LABELS.items()], "regular")
        )
        # No default: the operator types the hours this stop really keeps.
        yield self.row("window", "window", inp(placeholder=t("window_hint")))
        yield self.row("reason", "reason", inp())

    def submit(self, values: dict[str, Any]) -> Record:
        app = self.kiosk
        assert app.operator is not None
        return open_unplanned(app.db, values, operator_id=app.operator.id, now=app.now())

    def after_save(self, record: Record) -> None:
        self.kiosk.set_stop(str((record.payload or {})["stop_id"]))
        self.app.switch_screen(navigation.make("menu"))
