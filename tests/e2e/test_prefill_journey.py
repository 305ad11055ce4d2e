"""何度も書かない end to end: the page in Chromium makes a code, the kiosk saves the request.

The page is built from the van's own catalogue, a resident fills a 住民票 request in
Debian's Chromium, the QR code is read off a screenshot with zxing-cpp, and its text
is typed into the kiosk as a keyboard-wedge scanner would (Pilot).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events

from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.receipt import ReceiptScreen
from odekake.residents.prefill import build_site
from odekake.storage.db import connect
from tests.browser import Browser, launch
from tests.kiosk.conftest import NOW, FixedClock, seed_kiosk
from tests.kiosk.helpers import records
from tests.kiosk.test_app_flows import SIZE, app_for, open_first_stop


@pytest.fixture
def van(tmp_path: Path) -> Path:
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="van-1")
    seed_kiosk(db)  # with the kiosk tests' sealing key, which helpers.records opens
    db.close()
    return path


@pytest.fixture
def scanned(van: Path, tmp_path: Path) -> Iterator[str]:
    """The text of the QR code a resident made on the page (read off a screenshot)."""
    import zxingcpp
    from PIL import Image

    db = connect(van)
    build_site(db, tmp_path / "site")
    db.close()
    with launch() as chromium:
        browser = Browser(chromium)
        page = browser.page()
        page.clock.set_fixed_time(NOW)  # the resident makes the code on the kiosk's day
        page.goto((tmp_path / "site" / "index.html").as_uri())
        page.check("#service-cert")
        page.select_option("#cert-service_code", "cert.juminhyo")
        page.check("#cert-relation-0")
        page.fill("#cert-name", "いわき 花子")
        page.fill("#cert-address", "いわき市平字デモ1-2")
        page.select_option("#cert-birth-era", "昭和")
        page.fill("#cert-birth-year", "23")
        page.fill("#cert-birth-month", "5")
        page.fill("#cert-birth-day", "6")
        page.click("#make")
        page.wait_for_selector("#result:not([hidden])")
        page.locator("#qr").screenshot(path=str(tmp_path / "qr.png"))
        browser.close()
    [code] = zxingcpp.read_barcodes(Image.open(tmp_path / "qr.png"))
    yield code.text


async def test_a_request_made_on_the_page_is_saved_at_the_counter(van: Path, scanned: str) -> None:
    clock = FixedClock(NOW)
    app = app_for(van, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        for ch in scanned:
            app.post_message(events.Key(ch, ch))
        app.post_message(events.Key("enter", "\r"))
        for _ in range(40):
            await pilot.pause(0.02)
            if isinstance(app.screen, CertificateScreen):
                break
        assert isinstance(app.screen, CertificateScreen)
        await pilot.pause()
        await pilot.press("right", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ReceiptScreen)
        await app.workers.wait_for_complete()
    [p] = records(van, "certificate.issue")
    assert p["service_code"] == "cert.juminhyo" and p["copies"] == 1
    assert p["requester"]["name"] == "いわき 花子"
    assert p["requester"]["address"] == "いわき市平字デモ1-2"
    assert p["requester"]["birth_date"] == "1948-05-06"
    assert p["id_check"]["documents"] == ["運転免許証"]
