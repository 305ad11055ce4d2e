"""The kiosk's ``--log`` file records what support needs, with its cause: failed
logins, lock-outs, unlocks, voids, the day close and its re-opening, and sync
failures (print failures: tests/kiosk/test_print_failures.py)."""

from __future__ import annotations

import socket
from pathlib import Path

from kiosk.screens.login import LoginScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.today import TodayScreen
from kiosk.screens.unlock import SupervisorUnlock
from odekake.storage.db import connect, device_id_of
from odekake.sync.client import remember_hub_url

from .conftest import FixedClock
from .helpers import login
from .test_app_flows import SIZE, app_for
from .test_day_and_voids import approve, close_the_day, sell_ticket


async def test_the_log_file_records_refusals_voids_the_day_close_and_sync_failures(
    kiosk_path: Path, clock: FixedClock
) -> None:
    log = kiosk_path.parent / "kiosk-events.log"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: refused at once
        db = connect(kiosk_path)
        remember_hub_url(db, device_id_of(db), f"http://127.0.0.1:{held.getsockname()[1]}")
        db.close()
        app = app_for(kiosk_path, clock, log_path=log, sync_every=0.2, sync_first_backoff=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press(*"op001", "enter")
            for _ in range(5):
                await pilot.press(*"000000", "enter")
                await pilot.pause()
            assert isinstance(app.screen, LoginScreen)
            await pilot.press("ctrl+u")
            await pilot.pause()
            assert isinstance(app.screen, SupervisorUnlock)
            await pilot.press(*"sv001", "enter", *"999999", "enter")
            await pilot.pause()
            assert isinstance(app.screen, LoginScreen)
            await login(pilot)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, MenuScreen)
            number = await sell_ticket(pilot)
            await pilot.press("v")
            await pilot.pause()
            await pilot.press("down", "v", "y")
            await pilot.pause()
            await approve(pilot, "sv001", "999999")
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("c", "y")
            await pilot.pause()
            assert isinstance(app.screen, TodayScreen)
            await close_the_day(pilot, {10000: "1"})
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("o")
            await pilot.pause()
            await approve(pilot, "sv001", "999999", "数え直し")
            for _ in range(100):
                if "sync failed" in log.read_text(encoding="utf-8"):
                    break
                await pilot.pause(0.05)
    text = log.read_text(encoding="utf-8")
    assert "login failed 'op001'" in text and "職員IDまたはPINが違います" in text
    assert "locked out 'op001'" in text and "ロック" in text
    assert "unlock op001 by sv001" in text
    assert f"void {number} by op001 approved by sv001" in text
    assert "day close 2026-11-24 by op001" in text
    assert "day re-open by op001 (supervisor sv001): 数え直し" in text
    assert "sync failed (offline): " in text  # with its cause
    assert "000000" not in text  # never a PIN
