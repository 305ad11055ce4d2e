"""The van kiosk: a keyboard-first Textual app over the van database.

``make_app`` builds the app (used by the CLI and the tests); ``run_kiosk`` runs it.
Nothing here waits on the network: every screen reads and writes the local
SQLite file only.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.widgets import Input

from kiosk import navigation
from kiosk.host import KioskHost, KioskSettings
from kiosk.labels import t
from kiosk.scanner import GAP, HeldKey, KeyBurst, Verdict, handle_scan
from kiosk.screens.card import CardPinScreen
from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.consultation import ConsultationScreen
from kiosk.screens.dayclose import DayCloseScreen
from kiosk.screens.disaster import DisasterScreen
from kiosk.screens.enrol import EnrolScreen
from kiosk.screens.explanation import ExplanationScreen
from kiosk.screens.frailty import FrailtyScreen
from kiosk.screens.garbage import GarbageScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.mynumber import MyNumberScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.receipt_detail import ReceiptDetailScreen
from kiosk.screens.unlock import SupervisorUnlock
from kiosk.screens.unplanned import UnplannedScreen
from kiosk.screens.usb import UsbExportScreen
from kiosk.screens.void import VoidScreen
from kiosk.screens.voting import make_voting_screen
from odekake.errors import OdekakeError
from odekake.services.common import JST, Actor, Clock, system_clock
from odekake.services.login import Operator
from odekake.services.stops import Stop, get_stop, van_id_of
from odekake.storage.db import connect
from odekake.storage.private_files import touch_private
from odekake.sync.auto import CERT_UNTRUSTED, KEY_MISMATCH, OFFLINE, SENDING, AutoSync

# The screens other screens open by name (kiosk.navigation): only the app knows their classes.
SCREENS: dict[str, navigation.Factory] = {
    "card_pin": CardPinScreen,
    "certificate": CertificateScreen,
    "consultation": ConsultationScreen,
    "dayclose": DayCloseScreen,
    "disaster": DisasterScreen,
    "enrol": EnrolScreen,
    "explanation": ExplanationScreen,
    "frailty": FrailtyScreen,
    "garbage": GarbageScreen,
    "menu": MenuScreen,
    "mynumber": MyNumberScreen,
    "receipt": ReceiptScreen,
    "receipt_detail": ReceiptDetailScreen,
    "supervisor_unlock": SupervisorUnlock,
    "unplanned": UnplannedScreen,
    "usb": UsbExportScreen,
    "void": VoidScreen,
    "voting": make_voting_screen,
}
for _name, _factory in SCREENS.items():
    navigation.register(_name, _factory)

log = logging.getLogger("kiosk")


def start_log(path: Path) -> logging.Handler:
    """Send the ``kiosk`` logger (errors with tracebacks, logins, printing) to ``path``.

    Never to the terminal: Textual draws there.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    touch_private(path)  # it names operators and may quote what was typed: 0600
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("kiosk")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    return handler


# Keys that change a form (besides printable characters).
EDITING_KEYS = frozenset({"backspace", "delete", "ctrl+u", "ctrl+k", "space", "left", "right"})


class KioskApp(KioskHost):
    """お出かけ市役所 端末."""

    CSS_PATH = "app.tcss"
    TITLE = t("app_title")
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", t("quit"), priority=True),
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]

    def __init__(
        self, db_path: Path, *, clock: Clock | None = None, settings: KioskSettings | None = None
    ) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.db = connect(self.db_path, role="van")
        self.clock: Clock = clock or system_clock
        self.settings = settings or KioskSettings()
        self.van_id = self.settings.van_id or van_id_of(self.db)
        self.receipts_dir = self.settings.receipts_dir or self.db_path.parent / "receipts"
        self.log_path = self.settings.log_path or self.db_path.parent / "kiosk.log"
        self._log_handler = start_log(self.log_path)
        self.operator: Operator | None = None
        self.stop: Stop | None = None
        self.last_activity = time.monotonic()
        self.locked = False
        self.autosync: AutoSync | None = None
        if self.settings.auto_sync:
            from odekake.sync.client import ca_file_for

            # Given (``--ca-file``) and kept in the van's settings, or kept from before.
            ca_file = ca_file_for(self.db_path, self.settings.ca_file)
            self.autosync = AutoSync(
                self.db_path,
                hub_url=self.settings.hub_url,
                first_backoff=self.settings.sync_first_backoff,
                max_backoff=self.settings.sync_max_backoff,
                ca_file=ca_file,
            )
        from odekake.services import last_run

        #: Set when the last run ended without a clean stop (shown at the login screen).
        self.crash_notice = last_run.begin(self.db, self.clock())
        if self.crash_notice:
            log.warning("unclean stop before this start: %s", self.crash_notice)
        self.burst = KeyBurst(in_text_field=lambda: isinstance(self.focused, Input))
        # In a real terminal every key waits GAP seconds for the next (see kiosk.scanner);
        # under Pilot keys are posted one at a time, or all together for a scan.
        self.hold_keys: bool | None = None
        self._burst_timer: Any = None
        self._sync_cache: tuple[int, float, Any] | None = None

    # -- state ------------------------------------------------------------------
    def now(self) -> datetime:
        """The current instant (the injected clock)."""
        return self.clock()

    def actor(self) -> Actor:
        """The operator at the open stop, now."""
        if self.operator is None or self.stop is None:
            raise OdekakeError("ログインして会場を開いてください")
        return Actor(operator_id=self.operator.id, stop_id=self.stop.stop_id, now=self.now())

    def set_stop(self, stop_id: str | None) -> None:
        """Remember the open stop (or none)."""
        self.stop = None if stop_id is None else get_stop(self.db, stop_id)

    def status_line(self, width: int = 78) -> str:
        """The top bar text, fitted to ``width`` cells.

        What gives way first as the terminal narrows: the title, then the
        operator's name, then the stop's window, then its name; the time and the
        sync state (未送信 / 同期) always stay.
        """
        from rich.cells import cell_len

        now = self.now().astimezone(JST)
        clock = now.strftime("%m/%d %H:%M")
        sync = self.sync_text()
        title = t("app_title") if self.stop is None else ""
        who = self.operator.name if self.operator is not None else ""
        site = self.stop.site_name if self.stop is not None else ""
        window = self.stop.window if self.stop is not None else ""
        candidates = [
            [title, clock, who, f"{site} {window}".strip(), sync],
            [clock, who, f"{site} {window}".strip(), sync],
            [clock, f"{site} {window}".strip(), sync],
            [clock, site, sync],
            [clock, sync],
        ]
        for parts in candidates:
            line = " │ ".join(p for p in parts if p)
            if cell_len(line) <= width:
                return line
        return " ".join([now.strftime("%H:%M"), sync])

    def sync_text(self) -> str:
        """Unsynced records and the last sync time (read from the local database only).

        The top bar asks every 2 s and on every new screen; the answer is read again
        when this connection has written since, or after 5 s (a sync run by another
        process), so opening a form costs no query.
        """
        from odekake.sync.status import van_status

        key = self.db.conn.total_changes
        cached = self._sync_cache
        if cached is not None and cached[0] == key and time.monotonic() - cached[1] < 5:
            st = cached[2]
        else:
            st = van_status(self.db)
            self._sync_cache = (key, time.monotonic(), st)
        if st.last_sync_at:
            when = datetime.fromisoformat(st.last_sync_at).astimezone(JST)
            today = when.date() == self.now().astimezone(JST).date()
            last = when.strftime("%H:%M" if today else "%m/%d")
        else:
            last = t("sync_never")
        phase = self.autosync.state.phase if self.autosync is not None else ""
        # As short as the plain state, so the narrow top bar keeps the operator's name.
        if phase == SENDING:
            return f"{t('sync_sending')} {t('sync_unsent').format(unsynced=st.unsynced)}"
        problem = {
            OFFLINE: "sync_offline",
            KEY_MISMATCH: "sync_key_mismatch",
            CERT_UNTRUSTED: "sync_cert_untrusted",
        }.get(phase)
        if problem is not None:
            return f"{t('sync_unsent').format(unsynced=st.unsynced)} {t(problem)}"
        return t("sync_status").format(unsynced=st.unsynced, last=last)

    def kick_sync(self) -> None:
        """Start a background sync tick (never blocks the screen; one at a time)."""
        if self.autosync is not None:
            self.run_worker(
                self._sync_tick, thread=True, exclusive=True, group="autosync", exit_on_error=False
            )

    def _sync_tick(self) -> None:
        if self.autosync is None:
            return
        before = self.autosync.state
        try:
            after = self.autosync.tick(on_change=lambda _s: self._from_thread(self.show_sync))
        except Exception:  # a bug here must never take the counter down
            log.exception("自動同期で想定外のエラー")
        else:
            failed = after.phase in (OFFLINE, KEY_MISMATCH, CERT_UNTRUSTED)
            if failed and (after.phase, after.message) != (before.phase, before.message):
                # Once per new cause (a van offline for hours does not fill the log).
                log.warning("sync failed (%s): %s", after.phase, after.message)
        self._from_thread(self.show_sync)

    def _from_thread(self, fn: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the app is closing
            self.call_from_thread(fn)

    def show_sync(self) -> None:
        """Redraw the top bar after the background sync changed something."""
        from kiosk.screens.base import KioskScreen

        self._sync_cache = None
        screen = self.screen
        if isinstance(screen, KioskScreen) and screen.query("#topbar"):
            screen.refresh_topbar()

    # -- lifecycle ----------------------------------------------------------------
    def on_mount(self) -> None:
        from kiosk.screens.login import LoginScreen

        # Everything built so far (modules, classes, the app) lives as long as the app:
        # keep it out of the cyclic collector's full passes, which otherwise walked
        # all of it every few form openings (30-60 ms each time, at random). Undone as
        # the app ends, so what is left of it can be collected.
        gc.freeze()
        self.push_screen(LoginScreen())
        self.set_interval(15, self.lock_if_idle)
        if self.autosync is not None:
            self.set_interval(self.settings.sync_every, self.kick_sync)
            self.call_later(self.kick_sync)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.last_activity = time.monotonic()
        if isinstance(event, events.Key) and not getattr(event, "_odekake_passed", False):
            # Scanner keys never reach the screens as keys (kiosk.scanner).
            await self._burst_key(event)
            return
        await self._pass_key(event)

    async def _pass_key(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and (event.is_printable or event.key in EDITING_KEYS):
            # Marked as the key arrives, before any widget has handled it: a fast
            # Escape or Ctrl+Q right after typing still sees that something was typed.
            from kiosk.screens.base import FormScreen

            screen = self.screen
            if isinstance(screen, FormScreen):
                screen.touched = True
        await super().on_event(event)

    def _waiting_keys(self) -> list[HeldKey]:
        """Keys already queued behind the current one, in order (Textual's internals:
        the message the loop peeked at, then the queue)."""
        waiting = [getattr(self, "_pending_message", None)]
        waiting += list(getattr(self._message_queue, "values", ()))
        return [
            HeldKey(m.key, m.character, m.time, m) for m in waiting if isinstance(m, events.Key)
        ]

    async def _burst_key(self, event: events.Key) -> None:
        if self.hold_keys is None:
            self.hold_keys = not self.is_headless
        key = HeldKey(event.key, event.character, event.time, event)
        if not self.burst.active and not self.burst.starts(
            key, self._waiting_keys(), hold_all=self.hold_keys
        ):
            await self._pass_key(event)
            return
        verdict = self.burst.feed(key)
        if verdict is None and not self.hold_keys and not self._waiting_keys():
            verdict = Verdict(release=self.burst.take())  # the burst ended without Enter
        if verdict is None:
            self._arm_burst_timer()
            return
        await self._settle(verdict)

    def _arm_burst_timer(self) -> None:
        if self._burst_timer is not None:
            self._burst_timer.stop()
        self._burst_timer = self.set_timer(GAP * 1.5, lambda: self.call_later(self._burst_paused))

    async def _burst_paused(self) -> None:
        """No key for a while: what is held was typed by a person."""
        if self.burst.active and not self._waiting_keys():
            await self._release(self.burst.take())

    async def _settle(self, verdict: Verdict) -> None:
        if self._burst_timer is not None:
            self._burst_timer.stop()
            self._burst_timer = None
        await self._release(verdict.release)
        if verdict.scan is not None:
            log.info("scan read (%d characters)", len(verdict.scan))
            handle_scan(self, verdict.scan)

    async def _release(self, keys: list[HeldKey]) -> None:
        """Pass held keys on, in order, as if they had never been held: back at the
        head of the app's queue, so each is handled in its own turn (a menu key's
        screen opens before the next key arrives). Textual's queue keeps its
        messages in ``values``; without it the keys are handled here and now."""
        for held in keys:
            held.event._odekake_passed = True  # type: ignore[attr-defined]
        queue: Any = self._message_queue
        values = getattr(queue, "values", None)
        if values is None or not hasattr(queue, "ready_event"):
            for held in keys:
                assert isinstance(held.event, events.Key)
                await self._pass_key(held.event)
            return
        pending = self._pending_message
        if pending is not None:
            values.appendleft(pending)
            self._pending_message = None
        for held in reversed(keys):
            values.appendleft(held.event)
        queue.ready_event.set()

    def action_help_quit(self) -> None:
        """Ctrl+C: say in Japanese how to quit (Textual's own toast is in English)."""
        self.notify(t("ctrl_c_hint"), title=t("quit_q_title"))

    async def action_quit(self) -> None:
        """Ctrl+Q: quit, asking first when a form holds anything typed."""
        from kiosk.screens.base import FormScreen
        from kiosk.widgets.confirm import Confirm

        if isinstance(self.screen, Confirm):
            return
        hold = getattr(self.screen, "hold_quit", None)
        if callable(hold) and hold():
            return  # the screen says why not now, or asks its own question (voting)
        if not any(isinstance(s, FormScreen) and s.dirty for s in self.screen_stack):
            self.exit()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(Confirm(t("quit_discard_q"), t("quit"), t("keep_editing")), answer)

    def lock_if_idle(self) -> None:
        """Lock the screen after ``idle_minutes`` without input; the form underneath stays."""
        if self.operator is None or self.locked:
            return
        if time.monotonic() - self.last_activity >= self.settings.idle_minutes * 60:
            from kiosk.screens.lock import LockScreen

            self.locked = True
            self.push_screen(LockScreen())

    def open_scanned(self, text: str) -> None:
        """Act on a scanned code (a request code or a receipt's QR)."""
        handle_scan(self, text)

    def logged_in(self, operator: Operator) -> None:
        """Continue after a successful login: today's stops (or the open stop's menu)."""
        from kiosk.screens.today import TodayScreen
        from odekake.services.stops import open_stop_now

        self.operator = operator
        log.info("login %s", operator.id)
        self.last_activity = time.monotonic()
        if operator.must_change_pin:
            from kiosk.screens.pin import ChangePinScreen

            # A PIN shorter than 6 digits: a new one before anything else.
            self.push_screen(
                ChangePinScreen(lambda: self.logged_in(replace(operator, must_change_pin=False)))
            )
            return
        self.push_screen(TodayScreen())
        current = open_stop_now(self.db)
        if current is not None:
            self.stop = current
            self.push_screen(MenuScreen())

    def logout(self) -> None:
        """Back to the login screen (an open stop stays open for the next operator)."""
        from odekake.access import audit, clerk_keys

        if self.operator is not None:
            audit.log(self.db, self.operator.id, "logout", self.operator.id, now=self.now())
            log.info("logout %s", self.operator.id)
        clerk_keys.lock(self.db)  # the clerk's key and the opened roll leave memory
        self.operator = None
        self.stop = None
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def day_closed(self) -> bool:
        """True when today's 日計 is closed on this van (no fee can be taken)."""
        from odekake.services.common import local_date
        from odekake.services.dayclose import is_closed

        return is_closed(self.db, local_date(self.now()))

    def reopen_day(self) -> None:
        """Re-open today's 日計: a supervisor (or a supervisor's PIN) and a reason."""
        from kiosk.widgets.approval import ApprovalAnswer, SupervisorApproval
        from odekake.services.common import local_date
        from odekake.services.dayclose import reopen_day

        operator = self.operator
        if operator is None:
            return

        def answered(answer: ApprovalAnswer | None) -> None:
            if answer is None or self.operator is None:
                return
            try:
                reopen_day(
                    self.db,
                    local_date(self.now()),
                    operator_id=self.operator.id,
                    reason=answer.reason,
                    now=self.now(),
                    approval=answer.approval,
                )
            except OdekakeError as exc:
                log.warning("day re-open by %s refused: %s", operator.id, exc)
                self.notify(str(exc), severity="error", timeout=8)
                return
            approver = answer.approval.supervisor_id if answer.approval else operator.id
            log.info("day re-open by %s (supervisor %s): %s", operator.id, approver, answer.reason)
            self.notify(t("day_reopened"))
            screen = self.screen
            if hasattr(screen, "reload"):
                screen.reload()

        self.push_screen(
            SupervisorApproval(
                t("approval_reopen"), need_pin=not operator.is_supervisor, ask_reason=True
            ),
            answered,
        )

    def _handle_exception(self, error: Exception) -> None:
        # Every unexpected error reaches the support log with its traceback.
        log.error("unhandled error", exc_info=(type(error), error, error.__traceback__))
        super()._handle_exception(error)

    def on_unmount(self) -> None:
        from odekake.services import last_run

        log.info("kiosk stopped")
        try:
            last_run.end(self.db)
        except OdekakeError:
            log.exception("could not mark the clean stop")
        self.db.close()
        gc.unfreeze()
        logging.getLogger("kiosk").removeHandler(self._log_handler)
        self._log_handler.close()


def make_app(
    db_path: Path | str, *, clock: Clock | None = None, settings: KioskSettings | None = None
) -> KioskApp:
    """Build the kiosk over a van database (the CLI and the tests both use this)."""
    return KioskApp(Path(db_path), clock=clock, settings=settings)


def run_kiosk(db_path: Path, **kwargs: Any) -> None:
    """Run the kiosk in this terminal until the operator quits (Ctrl+Q)."""
    make_app(db_path, **kwargs).run()
