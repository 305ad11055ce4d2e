"""What a screen may ask of the kiosk: the app's state and actions, without the app.

Screens, the service menu, the scanner and the pre-fill reader are typed against
:class:`KioskHost`, which :class:`kiosk.app.KioskApp` implements; none of them imports
``kiosk.app``, and this module imports no screen. Screens open other screens by name
through :mod:`kiosk.navigation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlite_utils
from textual.app import App

from odekake.services.common import Actor
from odekake.services.login import Operator
from odekake.services.stops import Stop


@dataclass(frozen=True)
class KioskSettings:
    """Tunables of one kiosk.

    Attributes:
        idle_minutes: Lock the screen after this long without a key press.
        receipts_dir: Where receipt PDFs go (default: ``receipts/`` next to the DB).
        van_id: This van (default: the only van in the database).
        hub_url: The hub for early-voting check-ins (default: the last one synced with).
        printer: The CUPS printer receipts and slips are printed on (``lp -d``);
            None: PDF only.
        log_path: The kiosk's log file (default: ``kiosk.log`` next to the DB).
        auto_sync: Push and pull in the background whenever the hub is reachable
            (:mod:`odekake.sync.auto`); every ``sync_every`` seconds a tick checks what
            is due, backing off from ``sync_first_backoff`` up to ``sync_max_backoff``
            seconds after a failure.
        ca_file: The city's CA certificate for an ``https://`` hub (``--ca-file``);
            kept in the van's settings, so later starts need not repeat it.
    """

    idle_minutes: float = 5.0
    receipts_dir: Path | None = None
    van_id: str | None = None
    hub_url: str | None = None
    printer: str | None = None
    log_path: Path | None = None
    auto_sync: bool = True
    sync_every: float = 5.0
    sync_first_backoff: float = 5.0
    sync_max_backoff: float = 300.0
    ca_file: Path | None = None


class KioskHost(App[None]):
    """The kiosk app as its screens see it (implemented by :class:`kiosk.app.KioskApp`)."""

    db_path: Path
    db: sqlite_utils.Database
    settings: KioskSettings
    van_id: str
    receipts_dir: Path
    operator: Operator | None
    stop: Stop | None
    locked: bool
    #: Set when the last run ended without a clean stop (shown at the login screen).
    crash_notice: str | None

    def now(self) -> datetime:
        """The current instant (the injected clock)."""
        raise NotImplementedError

    def actor(self) -> Actor:
        """The operator at the open stop, now."""
        raise NotImplementedError

    def set_stop(self, stop_id: str | None) -> None:
        """Remember the open stop (or none)."""
        raise NotImplementedError

    def status_line(self, width: int = 78) -> str:
        """The top bar text, fitted to ``width`` cells."""
        raise NotImplementedError

    def logged_in(self, operator: Operator) -> None:
        """Continue after a successful login."""
        raise NotImplementedError

    def logout(self) -> None:
        """Back to the login screen."""
        raise NotImplementedError

    def day_closed(self) -> bool:
        """True when today's 日計 is closed on this van."""
        raise NotImplementedError

    def reopen_day(self) -> None:
        """Re-open today's 日計 (a supervisor and a reason)."""
        raise NotImplementedError

    def open_scanned(self, text: str) -> None:
        """Act on a scanned code (a request code or a receipt's QR)."""
        raise NotImplementedError
