"""A check box that toggles in its own message queue (type-ahead safe)."""

from __future__ import annotations

from textual import events
from textual.widgets import Checkbox


class Tick(Checkbox):
    """Space or Enter toggles; handled here so a fast "Space Tab" ticks this box."""

    def on_key(self, event: events.Key) -> None:
        if event.key in ("space", "enter"):
            event.stop()
            event.prevent_default()
            self.toggle()
