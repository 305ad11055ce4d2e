"""A form row: a label, one control, and its error shown right below it."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static


class FormRow(Widget):
    """One labelled field; ``set_error`` shows the rule it breaks right below it.

    Two widgets per field: the row draws its own label in the first 22 columns and
    holds the control 22 columns in; the error line is mounted only when a save
    first fails. (A form opens with up to ~25 rows, and every widget costs styling
    and layout time on opening: a separate label widget in a grid made the largest
    forms miss the 0.3 s target.)
    """

    #: Columns for the label (the control starts at the next one).
    LABEL_WIDTH = 22

    COMPONENT_CLASSES: ClassVar[set[str]] = {"form-row--label"}
    DEFAULT_CSS = """
    FormRow { height: auto; }
    FormRow > * { margin-left: 22; }
    FormRow > .form-row--label { color: $text-muted; }
    FormRow.-invalid > .form-row--label { color: $error; text-style: bold; }
    FormRow > .error { color: $error; height: auto; display: none; }
    FormRow.-invalid > .error { display: block; }
    FormRow > .note { color: $warning; height: auto; }
    """

    def __init__(self, field: str, label: str, control: Widget) -> None:
        super().__init__(id=f"row-{field}")
        self.field = field
        self.label = label
        self.control = control

    def compose(self) -> ComposeResult:
        yield self.control

    def render(self) -> Content:
        # The label, left of the control (which covers everything past its column);
        # one cell is kept free before the control.
        style = self.get_visual_style("form-row--label")
        return Content.styled(self.label, style).truncate(self.LABEL_WIDTH - 1)

    def set_error(self, message: str | None) -> None:
        """Show (or clear) this field's error."""
        found = self.query(f"#err-{self.field}")
        if found:
            found.first(Static).update(message or "")
        else:
            self.mount(Static(message or "", classes="error", id=f"err-{self.field}"))
        self.set_class(bool(message), "-invalid")
        self.refresh()

    def set_note(self, message: str | None) -> None:
        """Show (or remove) a note under the field (a scanned value that differs)."""
        found = self.query(f"#note-{self.field}")
        if found:
            found.first().remove()
        if message:
            self.mount(Static(message, classes="note", id=f"note-{self.field}"))


class TopBar(Static):
    """One line: who is logged in, which stop is open, the time and the sync state.

    It redraws itself every few seconds (the clock keeps running on a screen left
    open) and asks for a line that fits its own width.
    """

    DEFAULT_CSS = """
    TopBar { height: 1; background: $primary; color: $text; padding: 0 1; }
    """

    def __init__(self, line: Callable[[int], str], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.line = line

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(2, self.tick)

    def on_resize(self) -> None:
        self.tick()

    def tick(self) -> None:
        """Redraw with the current time and state."""
        width = self.content_size.width or (self.app.size.width - 2)
        self.update(self.line(width))
