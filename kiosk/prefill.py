"""何度も書かない at the counter: a scanned request code opens its form, filled in.

A barcode scanner acting as a keyboard types the payload and Enter; the app tells
its burst of keys from typing (:mod:`kiosk.scanner`) and hands the code here. A
code that reached a text field all the same (a scanner slower than the burst
rule) is taken out of it on Enter (:meth:`FormScreen.on_input_submitted`).
Reading and checking the payload is :func:`odekake.residents.prefill.decode`; this module
only shows the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.menu import SERVICES
from kiosk.screens.base import FormScreen
from odekake.residents.prefill import PrefillError, decode
from odekake.services.common import local_date

if TYPE_CHECKING:
    from kiosk.host import KioskHost


def open_prefill(app: KioskHost, text: str) -> None:
    """Open (or fill) the form a scanned code asks for; say why when it cannot."""
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
