"""A check box that toggles in its own message queue (type-ahead safe) and shows
its state in characters, not only colour: ``[x]`` ticked, ``[ ]`` not."""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.widgets import Checkbox


class Tick(Checkbox):
    """Space or Enter toggles; handled here so a fast "Space Tab" ticks this box."""

    DEFAULT_CSS = """
    Tick:focus { text-style: bold reverse; }
    Tick:focus > .toggle--label { text-style: bold reverse; }
    """

    @property
    def _button(self) -> Content:
        # Readable in monochrome and by an operator who does not see the colour.
        style = self.get_visual_style("toggle--button")
        return Content.assemble(("[x]" if self.value else "[ ]", style))

    def on_key(self, event: events.Key) -> None:
        if event.key in ("space", "enter"):
            event.stop()
            event.prevent_default()
            self.toggle()
