"""A one-line choice: ← / → (or Space) step through the options in place; typing
jumps to the first option whose label contains the typed text.

Unlike a drop-down, it opens no overlay and never moves focus, so keys typed
ahead are handled strictly in order (Tab, →, Ctrl+S typed fast do what they say).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from kiosk.labels import t


class Choice(Widget, can_focus=True):
    """Pick one of a fixed list of (label, value) pairs with the arrow keys."""

    DEFAULT_CSS = """
    Choice { height: 1; width: 1fr; background: $surface-lighten-1; }
    Choice:focus { background: $primary 40%; text-style: bold; }
    """
    # Shown in the footer; the keys themselves are handled in ``on_key``.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,space", "step(1)", "次の選択肢", show=True, key_display="→"),
        Binding("left", "step(-1)", "前の選択肢", show=True, key_display="←"),
    ]

    @dataclass
    class Changed(Message):
        """The chosen value changed."""

        choice: Choice
        value: Any

    def __init__(
        self,
        options: Sequence[tuple[str, Any]],
        value: Any = None,
        *,
        blank: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.options: list[tuple[str, Any]] = list(options)
        if blank:
            self.options.insert(0, (t("choose"), ""))
        self.index = 0
        self._search = ""
        self._typed_at = 0.0
        if value is not None:
            self.value = value

    @property
    def value(self) -> Any:
        """The chosen value ('' for the blank choice)."""
        return self.options[self.index][1] if self.options else ""

    @value.setter
    def value(self, value: Any) -> None:
        for i, (_, v) in enumerate(self.options):
            if v == value:
                self._set_index(i)
                return
        raise ValueError(f"not an option: {value!r}")

    def _set_index(self, index: int) -> None:
        changed = index != self.index
        self.index = index
        self.refresh()
        if changed:
            self.post_message(self.Changed(self, self.value))

    def on_key(self, event: events.Key) -> None:
        # Handled here, in this widget's own queue, not as an app-level binding
        # (those resolve against whatever is focused when the key arrives there):
        # a fast "→ Tab" must change this field, not the next one.
        step = {"right": 1, "space": 1, "left": -1}.get(event.key)
        if step is not None:
            event.stop()
            event.prevent_default()
            self._search = ""
            self.action_step(step)
        elif event.is_printable and event.character:
            # Type to jump: the first option whose label contains what was typed.
            event.stop()
            event.prevent_default()
            now = time.monotonic()
            if now - self._typed_at > 1.5:
                self._search = ""
            self._typed_at = now
            self._search += event.character
            for i, (label, _) in enumerate(self.options):
                if self._search in label:
                    self._set_index(i)
                    break
        elif event.key == "backspace":
            self._search = self._search[:-1]

    def action_step(self, delta: int) -> None:
        if self.options:
            self._set_index((self.index + delta) % len(self.options))

    def render(self) -> Text:
        if not self.options:
            return Text(t("none"))
        label = self.options[self.index][0]
        text = Text("◀ ")
        text.append(label)
        text.append(" ▶")
        text.append(f"  {self.index + 1}/{len(self.options)}", style="dim")
        return text
