"""The key footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KioskFooter(Footer):
    """Textual's footer, without the rebuilds that show the same keys again.

    The stock footer removes and re-mounts every key widget whenever the screen's
    bindings may have changed: on mounting, on every focus move, after a refresh.
    Opening a form paid for about three rebuilds; moving between two text fields
    changes no key at all. Here a rebuild happens only when the keys, their order,
    labels or enabled state differ from what is shown.
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown: Hashable | None = None

    def _keys(self) -> Hashable:
        """What ``compose`` draws from: the shown bindings and their state."""
        app = self.app
        bindings = self.screen.active_bindings
        shown = tuple(
            (binding, enabled, tooltip, app.get_key_display(binding))
            for (_, binding, enabled, tooltip) in bindings.values()
            if binding.show
        )
        palette = None
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            found = bindings.get(app.COMMAND_PALETTE_BINDING)
            palette = found[1:] if found else None
        return shown, palette

    def compose(self) -> ComposeResult:
        self._shown = self._keys() if self._bindings_ready else None
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # A key starts compact and is set to the footer's style as it mounts:
                # two restyles of every key each time the footer is built. Start it
                # in the footer's style instead (the binding then changes nothing).
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    async def recompose(self) -> None:
        if self._shown is not None and self.is_attached and self._keys() == self._shown:
            return
        await super().recompose()
