"""り災証明書 / 被災証明書 申請受付: applicant, household, building, disaster, damage.

The flood fields follow the cause (only 浸水 starts at 床上 and asks for a depth);
the damage date starts at the disaster's date and is the applicant's to change.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Input

from kiosk.labels import t
from kiosk.screens.base import FormScreen, chk, inp, sel
from kiosk.widgets.choice import Choice
from odekake.services import disaster
from odekake.storage.records import Record


class DisasterScreen(FormScreen):
    """One り災 (or 被災) 証明書 application."""

    TITLE_KEY = "svc_disaster"
    PREFILL_SERVICE = "disaster"
    TAKES_PERSONAL_DATA = True
    TAKES_CARD = True
    FIRST_FIELD = "name"

    def fields(self) -> ComposeResult:
        known = disaster.disasters(self.kiosk.db)
        first = known[0] if known else None
        yield self.row(
            "service_code",
            "disaster_kind",
            sel([(v, k) for k, v in disaster.KINDS.items()], "disaster.risai"),
        )
        yield self.row(
            "disaster_id",
            "disaster",
            sel(
                [(f"{d.name}({d.date})", d.id) for d in known],
                first.id if first else None,
                blank=not known,
            ),
        )
        yield self.row(
            "damage_date",
            "damage_date",
            inp(first.date if first else "", placeholder=t("date_hint")),
        )
        yield self.row("name", "applicant_name", inp())
        yield self.row("address", "applicant_address", inp())
        yield self.row("phone", "contact_phone", inp())
        yield self.row(
            "relation", "household_relation", sel([(r, r) for r in disaster.RELATIONS], "世帯主")
        )
        yield self.row("head_name", "head_name", inp(placeholder=t("head_name_hint")))
        yield self.row("proxy_letter", "proxy_letter_row", chk(t("proxy_letter")))
        yield self.row("building_address", "building_address", inp())
        causes = disaster.causes_for(self.kiosk.db, first.id if first else None)
        yield self.row("cause", "cause", sel([(c, c) for c in causes], causes[0]))
        yield self.row("residence", "residence_row", chk(t("residence"), True))
        yield self.row("ownership", "ownership", sel([(o, o) for o in disaster.OWNERSHIP], "持家"))
        yield self.row(
            "water_level",
            "water_level",
            sel([(w, w) for w in disaster.WATER_LEVELS], disaster.default_water_level(causes[0])),
        )
        yield self.row("water_depth_cm", "water_depth_cm", inp())
        yield self.row("photos", "photos", inp("0"))
        yield self.row("self_assessment", "self_assessment_row", chk(t("self_assessment")))
        yield self.row("copies", "disaster_copies", inp("1", restrict=r"[0-9０-９]*"))
        yield self.row("submit_to", "submit_to", inp(placeholder=t("submit_to_hint")))

    def on_choice_changed(self, event: Choice.Changed) -> None:
        if event.choice.id == "f-disaster_id":
            # Each disaster has its own causes (master data) and date: offer those.
            known = {d.id: d for d in disaster.disasters(self.kiosk.db)}
            causes = disaster.causes_for(self.kiosk.db, str(event.value) or None)
            cause = self.query_one("#f-cause", Choice)
            cause.options = [(c, c) for c in causes]
            cause.index = 0
            cause.refresh()
            self.follow_cause(causes[0])
            chosen = known.get(str(event.value))
            if chosen is not None:
                self.query_one("#f-damage_date", Input).value = chosen.date
        elif event.choice.id == "f-cause":
            self.follow_cause(str(event.value))

    def follow_cause(self, cause: str) -> None:
        """Wind, a landslide…: 浸水 なし and no depth; a flood: 床上 and a depth to type."""
        level = self.query_one("#f-water_level", Choice)
        level.value = disaster.default_water_level(cause)
        if cause != disaster.FLOOD_CAUSE:
            self.query_one("#f-water_depth_cm", Input).value = ""

    def submit(self, values: dict[str, Any]) -> Record:
        return disaster.apply(self.kiosk.db, values, self.actor())
