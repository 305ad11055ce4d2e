"""The van's background sync: push whenever the hub is reachable, pull master data daily.

The kiosk runs :meth:`AutoSync.tick` in a worker thread every few seconds; this
module decides what to do and never touches the UI. A tick

- pushes when there are unsynced records and the hub is not known to be down (a
  failed attempt backs off: 5 s, 10 s, 20 s … up to 5 minutes), or when the last
  push is older than ``push_every`` (the hub may have been restored and need more);
- pulls master data when the van has not pulled yet today (JST), or when the last
  pull is older than ``pull_every`` (the hub answers "unchanged" cheaply when the
  snapshot did not change).

Every tick opens its own connection (SQLite connections stay in their thread) and
the state it returns is what the kiosk's top bar shows: 送信中, 未送信N件, 最終同期,
接続なし.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from odekake.errors import OdekakeError
from odekake.storage.db import connect
from odekake.sync.auth import hub_url_of
from odekake.sync.status import van_status

JST = ZoneInfo("Asia/Tokyo")
log = logging.getLogger("odekake.sync.auto")

#: Phases the kiosk shows.
IDLE, SENDING, OFFLINE, NO_HUB = "idle", "sending", "offline", "no_hub"
#: Failures that waiting will not mend: the hub's answer did not verify against the
#: pinned hub key, or its https certificate is not trusted (``ca_file``).
KEY_MISMATCH, CERT_UNTRUSTED = "key_mismatch", "cert_untrusted"


@dataclass(frozen=True)
class AutoState:
    """What the van's background sync last knew.

    Attributes:
        phase: ``idle`` (nothing to do or all sent), ``sending``, ``offline`` (the
            last attempt failed: not reachable), ``key_mismatch`` (the hub answered
            but its signature is not the pinned hub key's), ``cert_untrusted``
            (the https certificate did not verify), ``no_hub`` (no hub URL yet).
        unsynced: Records the hub has not acknowledged.
        last_sync_at: ISO time of the last successful push or pull.
        message: The last error, in Japanese (for the log and the status screen).
    """

    phase: str = IDLE
    unsynced: int = 0
    last_sync_at: str | None = None
    message: str = ""


class AutoSync:
    """Background push/pull for one van database (thread-safe; one tick at a time)."""

    def __init__(
        self,
        db_path: Path,
        *,
        hub_url: str | None = None,
        push_every: float = 300.0,
        pull_every: float = 1800.0,
        first_backoff: float = 5.0,
        max_backoff: float = 300.0,
        ca_file: Path | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] | None = None,
        push: Callable[[Path, str], object] | None = None,
        pull: Callable[[Path, str], object] | None = None,
    ) -> None:
        from odekake.sync import client

        self.db_path = Path(db_path)
        self.fixed_hub = hub_url
        self.push_every = push_every
        self.pull_every = pull_every
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.monotonic = monotonic
        self.clock = clock or (lambda: datetime.now(JST))
        self._push = push or (
            lambda p, u: client.push(p, u, retries=1, backoff=0.2, ca_file=ca_file)
        )
        self._pull = pull or (
            lambda p, u: client.pull(p, u, retries=1, backoff=0.2, ca_file=ca_file)
        )
        self._lock = threading.Lock()
        self._state = AutoState()
        self._failures = 0
        self._retry_at = 0.0
        self._last_push = float("-inf")
        self._next_pull = float("-inf")
        self._pulled_on: str | None = None

    @property
    def state(self) -> AutoState:
        """The last known state (cheap; for the top bar)."""
        return self._state

    def _set(self, **changes: object) -> AutoState:
        self._state = replace(self._state, **changes)  # type: ignore[arg-type]
        return self._state

    def _local(self) -> tuple[str | None, int, str | None, str | None]:
        db = connect(self.db_path, role="van")
        try:
            st = van_status(db)
            hub = self.fixed_hub or hub_url_of(db)
            return hub, st.unsynced, st.last_sync_at, st.last_pull_at
        finally:
            db.close()

    def refresh(self) -> AutoState:
        """Re-read the local counts without touching the network."""
        _, unsynced, last, _ = self._local()
        return self._set(unsynced=unsynced, last_sync_at=last)

    def tick(
        self, *, force: bool = False, on_change: Callable[[AutoState], None] | None = None
    ) -> AutoState:
        """Do what is due now (``force``: try at once, ignoring the back-off)."""
        if not self._lock.acquire(blocking=False):
            return self._state  # a tick is already running
        try:
            return self._tick(force, on_change or (lambda s: None))
        finally:
            self._lock.release()

    def _tick(self, force: bool, notify: Callable[[AutoState], None]) -> AutoState:
        hub, unsynced, last, last_pull_at = self._local()
        self._set(unsynced=unsynced, last_sync_at=last)
        if not hub:
            return self._set(phase=NO_HUB, message="ハブ(市役所)のURLが未設定です")
        now = self.monotonic()
        if not force and now < self._retry_at:
            return self._state
        today = self.clock().astimezone(JST).date().isoformat()
        pulled_today = self._pulled_on == today or (
            last_pull_at is not None
            and datetime.fromisoformat(last_pull_at).astimezone(JST).date().isoformat() == today
        )
        want_push = unsynced > 0 or now - self._last_push >= self.push_every
        want_pull = now >= self._next_pull or (not pulled_today and self._next_pull - now > 60)
        if not (want_push or want_pull or force):
            return self._set(phase=IDLE)
        if want_push or force:
            notify(self._set(phase=SENDING))
            try:
                self._push(self.db_path, hub)
            except OdekakeError as exc:
                return self._failed(exc)
            self._last_push = self.monotonic()
        message = ""
        if want_pull or force:
            try:
                self._pull(self.db_path, hub)
            except OdekakeError as exc:
                if not (want_push or force):
                    return self._failed(exc)
                # The records went up; master data is tried again on a later tick.
                message = f"マスタデータを受信できません: {exc}"
                log.info("%s", message)
                self._next_pull = self.monotonic() + 60.0
            else:
                self._next_pull = self.monotonic() + self.pull_every
                self._pulled_on = today
        self._failures = 0
        self._retry_at = 0.0
        _, unsynced, last, _ = self._local()
        return self._set(phase=IDLE, unsynced=unsynced, last_sync_at=last, message=message)

    def _failed(self, exc: OdekakeError) -> AutoState:
        self._failures += 1
        delay = min(self.max_backoff, self.first_backoff * 2 ** (self._failures - 1))
        self._retry_at = self.monotonic() + delay
        log.info("自動同期に失敗しました(%s 秒後に再試行): %s", int(delay), exc)
        _, unsynced, last, _ = self._local()
        return self._set(
            phase=failure_phase(exc), unsynced=unsynced, last_sync_at=last, message=str(exc)
        )


def failure_phase(exc: OdekakeError) -> str:
    """Which kind of failure the top bar shows for a failed sync."""
    from odekake.sync.client import HubCertificateUntrusted
    from odekake.sync.wire import UnverifiedAnswer

    if isinstance(exc, HubCertificateUntrusted):
        return CERT_UNTRUSTED
    if isinstance(exc, UnverifiedAnswer):
        return KEY_MISMATCH
    return OFFLINE


def describe(state: AutoState, now: datetime) -> str:
    """The top bar's sync text: 送信中 / 未送信N件 / 最終同期 HH:MM / 接続なし."""
    if state.phase == SENDING:
        head = "送信中"
    elif state.phase == OFFLINE:
        head = f"接続なし 未送信{state.unsynced}件"
    elif state.phase == KEY_MISMATCH:
        head = f"ハブ鍵不一致 未送信{state.unsynced}件"
    elif state.phase == CERT_UNTRUSTED:
        head = f"証明書未確認 未送信{state.unsynced}件"
    elif state.phase == NO_HUB:
        head = f"ハブ未設定 未送信{state.unsynced}件"
    else:
        head = f"未送信{state.unsynced}件"
    if state.last_sync_at:
        when = datetime.fromisoformat(state.last_sync_at).astimezone(JST)
        today = when.date() == now.astimezone(JST).date()
        last = when.strftime("%H:%M" if today else "%m/%d")
    else:
        last = "なし"
    return f"{head} 最終同期{last}"
