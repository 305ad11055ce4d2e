"""A form row: a label, one control, and its error shown right below it."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Label, Static


class FormRow(Widget):
    """One labelled field; ``set_error`` shows the rule it breaks right below it.

    Three widgets, not five: the label and the control sit in a two-column grid,
    and the error line is mounted only when a save first fails (a form opens with
    ~20 rows, and every widget costs layout time on opening).
    """

    DEFAULT_CSS = """
    FormRow { height: auto; layout: grid; grid-size: 2; grid-columns: 22 1fr; grid-rows: auto; }
    FormRow .label { width: 22; padding-right: 1; color: $text-muted; }
    FormRow .error { color: $error; padding-left: 22; height: auto; column-span: 2; display: none; }
    FormRow.-invalid .error { display: block; }
    FormRow.-invalid .label { color: $error; text-style: bold; }
    """

    def __init__(self, field: str, label: str, control: Widget) -> None:
        super().__init__(id=f"row-{field}")
        self.field = field
        self.label = label
        self.control = control

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="label")
        yield self.control

    def set_error(self, message: str | None) -> None:
        """Show (or clear) this field's error."""
        found = self.query(f"#err-{self.field}")
        if found:
            found.first(Static).update(message or "")
        else:
            self.mount(Static(message or "", classes="error", id=f"err-{self.field}"))
        self.set_class(bool(message), "-invalid")


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
