"""何度も書かない at the counter: a scanned request code opens its form, filled in.

A barcode scanner acting as a keyboard types the payload and Enter. In a text
field the form sees it on Enter (:meth:`FormScreen.on_input_submitted`); anywhere
else (the menu, a choice, a check box) :class:`ScanBuffer` collects the keys before
the menu's single-key bindings can act on them. Reading and checking the payload
is :func:`odekake.prefill.decode`; this module only shows the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from odekake.prefill import PREFIX, VERSION, PrefillError, decode
from odekake.services.common import local_date

if TYPE_CHECKING:
    from kiosk.app import KioskApp

_HEAD = f"{PREFIX}{VERSION}:"


class ScanBuffer:
    """Collects a scanner's keys typed while no text field has focus.

    A scan starts with an upper-case ``O`` (of ``ODK1:``; ``o`` stays a screen's
    key, e.g. 日計の再開); the keys that follow are kept until
    Enter. Keys that stop matching the prefix, or a pause longer than ``gap``
    seconds (a person, not a scanner), end the capture and go through as usual.
    """

    def __init__(
        self, *, gap: float = 1.5, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.gap = gap
        self.monotonic = monotonic
        self.text = ""
        self._last = 0.0

    @property
    def active(self) -> bool:
        """True while a scan is being collected."""
        return bool(self.text)

    def feed(self, key: str, character: str | None) -> tuple[bool, str | None]:
        """One key: ``(swallow it, the finished scan or None)``."""
        now = self.monotonic()
        if self.text and now - self._last > self.gap:
            self.text = ""
        self._last = now
        if not self.text:
            if character == "O":  # the scanner types "ODK1:"; a lowercase o is a menu key
                self.text = "O"
                return True, None
            return False, None
        if key == "enter":
            done, self.text = self.text, ""
            return True, done
        if character and character.isprintable():
            candidate = self.text + character
            head = candidate[: len(_HEAD)].upper()
            if not _HEAD.startswith(head) and not head.startswith(PREFIX):
                self.text = ""
                return False, None
            self.text = candidate
            return True, None
        self.text = ""
        return False, None


def open_prefill(app: KioskApp, text: str) -> None:
    """Open (or fill) the form a scanned code asks for; say why when it cannot."""
    from kiosk.menu import SERVICES
    from kiosk.screens.base import FormScreen

    try:
        request = decode(app.db, text, today=local_date(app.now()))
    except PrefillError as exc:
        app.notify(str(exc), severity="error", timeout=10)
        return
    if app.operator is None or app.stop is None:
        app.notify("QRコードは、会場を開いてから読み取ってください", severity="warning", timeout=8)
        return
    entry = next((e for e in SERVICES if e.key == request.menu_key), None)
    if entry is None or not app.stop.offers(entry.category):
        app.notify(f"{request.title} はこの会場では扱いません", severity="warning", timeout=8)
        return
    screen = app.screen
    if isinstance(screen, FormScreen):
        if request.service == screen.PREFILL_SERVICE:
            screen.fill(request.fields)
            return
        if screen.changed:
            app.notify(
                "入力中の画面を保存するか閉じてから、QRコードを読み取ってください",
                severity="warning",
                timeout=8,
            )
            return
        app.pop_screen()
    form = entry.factory(app)
    if isinstance(form, FormScreen):
        form.prefill = request.fields
    app.push_screen(form)
