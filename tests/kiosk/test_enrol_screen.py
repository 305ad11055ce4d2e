"""ハブへの登録 (first run): the login screen offers it while the van is not
enrolled; the hub URL and a one-time code (typed, or from a scanned QR) enrol the
van against a real hub process, and a wrong code is refused by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from kiosk.scanner import handle_scan
from kiosk.screens.enrol import EnrolScreen
from odekake.storage.db import connect
from odekake.sync.enrol_client import van_enrolled
from odekake.sync.enrol_codes import create_code, qr_text
from odekake.sync.wire import pinned_hub_text
from tests.sync.conftest import HubProcess

from .conftest import FixedClock
from .test_app_flows import SIZE, app_for


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    path = tmp_path / "hub.db"
    connect(path, role="hub", create=True).close()
    h = HubProcess(path).start()
    yield h
    h.stop()


def _code(hub: HubProcess) -> str:
    db = connect(hub.db, role="hub")
    code = create_code(db, "van-1", actor="staff:admin").code
    db.close()
    return code


async def _message(pilot, wanted: str) -> str:  # type: ignore[no-untyped-def]
    """The enrol screen's message once it shows ``wanted`` (the worker calls the hub)."""
    text = ""
    for _ in range(200):  # at most about 20 s
        await pilot.pause(0.1)
        text = str(pilot.app.screen.query_one("#enrol-message", Static).render())
        if wanted in text:
            break
    return text


async def test_first_run_screen_enrols_the_van(
    kiosk_path: Path, clock: FixedClock, hub: HubProcess
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        assert app.screen.query("#enrol-notice")
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, EnrolScreen)
        app.screen.query_one("#enrol-hub", Input).value = hub.url
        app.screen.query_one("#enrol-code", Input).value = "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"
        await pilot.press("ctrl+s")
        assert "登録コードが違います" in await _message(pilot, "違います")
        assert not van_enrolled(kiosk_path)
        # a scanned QR fills both fields on the open screen
        handle_scan(app, qr_text(hub.url, _code(hub)))
        await pilot.pause()
        assert app.screen.query_one("#enrol-code", Input).value.count("-") == 4
        await pilot.press("ctrl+s")
        assert "登録が終わりました" in await _message(pilot, "登録が終わりました")
        await pilot.press("escape")
        await pilot.pause()
        assert not app.screen.query("#enrol-notice")
    db = connect(kiosk_path)
    assert pinned_hub_text(db) is not None
    assert db.execute("SELECT hub_url FROM sync_state").fetchone()[0] == hub.url
    db.close()


async def test_what_the_hub_or_a_qr_says_is_shown_as_text_never_as_markup(
    kiosk_path: Path, clock: FixedClock
) -> None:
    """A URL (typed or scanned) or a hub's error carrying Rich markup must not crash the
    first-run screen: it is shown as the characters it is."""
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        app.screen.query_one("#enrol-hub", Input).value = "http://127.0.0.1:1/[/b]"
        app.screen.query_one("#enrol-code", Input).value = "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"
        await pilot.press("ctrl+s")
        shown = await _message(pilot, "接続できませんでした")
        assert "[/b]" in shown and "接続できませんでした" in shown
        assert isinstance(app.screen, EnrolScreen)  # the app is still running
