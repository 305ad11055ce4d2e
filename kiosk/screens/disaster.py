"""り災証明書 申請受付: applicant, building, disaster (from master data), damage."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult

from kiosk.labels import t
from kiosk.screens.base import FormScreen, chk, inp, sel
from kiosk.widgets.choice import Choice
from odekake.records import Record
from odekake.services import disaster


class DisasterScreen(FormScreen):
    """One り災証明書 application."""

    TITLE_KEY = "svc_disaster"
    PREFILL_SERVICE = "disaster"
    TAKES_PERSONAL_DATA = True
    FIRST_FIELD = "name"

    def fields(self) -> ComposeResult:
        known = disaster.disasters(self.kiosk.db)
        first = known[0].id if known else None
        yield self.row(
            "disaster_id",
            "disaster",
            sel([(f"{d.name}({d.date})", d.id) for d in known], first, blank=not known),
        )
        yield self.row("name", "applicant_name", inp())
        yield self.row("address", "applicant_address", inp())
        yield self.row("phone", "contact_phone", inp())
        yield self.row(
            "relation", "household_relation", sel([(r, r) for r in disaster.RELATIONS], "世帯主")
        )
        yield self.row("building_address", "building_address", inp())
        causes = disaster.causes_for(self.kiosk.db, first)
        yield self.row("cause", "cause", sel([(c, c) for c in causes], causes[0]))
        yield self.row("residence", "residence_row", chk(t("residence"), True))
        yield self.row("ownership", "ownership", sel([(o, o) for o in disaster.OWNERSHIP], "持家"))
        yield self.row(
            "water_level", "water_level", sel([(w, w) for w in disaster.WATER_LEVELS], "床上")
        )
        yield self.row("water_depth_cm", "water_depth_cm", inp())
        yield self.row("photos", "photos", inp("0"))
        yield self.row("self_assessment", "self_assessment_row", chk(t("self_assessment")))

    def on_mount(self) -> None:
        super().on_mount()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        # Each disaster has its own causes (master data): offer those.
        if event.choice.id == "f-disaster_id":
            causes = disaster.causes_for(self.kiosk.db, str(event.value) or None)
            cause = self.query_one("#f-cause", Choice)
            cause.options = [(c, c) for c in causes]
            cause.index = 0
            cause.refresh()

    def submit(self, values: dict[str, Any]) -> Record:
        return disaster.apply(self.kiosk.db, values, self.actor())
