"""USBへ書き出し (supervisors): the unsynced records on a USB stick, for days without a network.

The operator never needs a terminal: a supervisor chooses the folder (the USB
stick's, found under /media when one is inserted), Ctrl+S writes the signed bundle
(:func:`odekake.sync.client.usb_export`), and city hall imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from kiosk.labels import t
from kiosk.screens.base import KioskScreen
from odekake.errors import OdekakeError

MOUNT_ROOTS = (Path("/media"), Path("/run/media"), Path("/mnt"))


def usb_folder() -> str:
    """The first writable folder a USB stick is mounted on ('' when none)."""
    for root in MOUNT_ROOTS:
        if not root.is_dir():
            continue
        for candidate in sorted(root.glob("*")) + sorted(root.glob("*/*")):
            if candidate.is_dir() and candidate.is_mount():
                return str(candidate)
    return ""


class UsbExportScreen(KioskScreen):
    """Choose a folder and write the unsynced records there."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "export", t("usb_write"), priority=True),
        Binding("escape", "back", t("back")),
    ]

    def body(self) -> ComposeResult:
        yield Static(t("usb_title"), classes="title")
        yield Static(t("usb_hint"), classes="subtitle")
        yield Input(usb_folder(), id="usb-folder", placeholder="/media/usb", compact=True)
        yield Static("", id="usb-message")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#usb-folder", Input))

    def action_export(self) -> None:
        from odekake.sync.client import usb_export

        app = self.kiosk
        message = self.query_one("#usb-message", Static)
        folder = self.query_one("#usb-folder", Input).value.strip()
        if app.operator is None:
            return
        if not folder:
            message.update(t("usb_no_folder"))
            return
        try:
            out, count = usb_export(
                app.db_path, Path(folder), operator_id=app.operator.id, now=app.now()
            )
        except OdekakeError as exc:
            message.update(f"[b]{exc}[/b]")
            return
        message.update(t("usb_done").format(count=count, path=out))

    def action_back(self) -> None:
        self.app.pop_screen()
