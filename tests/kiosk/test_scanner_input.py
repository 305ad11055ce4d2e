"""A scanner's burst of keys is a scan wherever it lands, never keys: a pre-fill code
opens its form, the van's own receipt code opens that receipt, anything else is
refused with 「読み取れないコードです」 and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from kiosk.scanner import UNREADABLE, HeldKey, KeyBurst
from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.login import LoginScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.receipt_detail import ReceiptDetailScreen
from odekake.receipts.receipt_pdf import qr_text
from odekake.services import certificates

from .conftest import FixedClock
from .helpers import login
from .test_app_flows import SIZE, app_for, open_first_stop
from .test_day_and_voids import sell_ticket
from .test_prefill_scan import scan

CITY_URL = "https://www.city.iwaki.lg.jp/"


def notified(app: Any, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


async def test_a_scanned_web_address_at_the_menu_is_not_read_as_menu_keys(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_first_stop(pilot)
        menu = app.screen
        await scan(pilot, CITY_URL, lambda: notified(app, UNREADABLE))
        assert notified(app, UNREADABLE)
        # no 「会場を閉じますか」, no log-out: the menu and the operator are as they were
        assert app.screen is menu and isinstance(menu, MenuScreen)
        assert app.operator is not None and app.stop is not None


async def test_a_scanned_web_address_in_a_form_types_nothing(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CertificateScreen)
        await scan(pilot, CITY_URL, lambda: notified(app, UNREADABLE))
        assert notified(app, UNREADABLE)
        assert app.screen is form and form.value("name") == ""
        assert not form.dirty


async def test_a_scan_at_the_login_screen_fills_no_field(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        await scan(pilot, CITY_URL, lambda: notified(app, UNREADABLE))
        assert notified(app, UNREADABLE)
        assert app.screen.query_one("#operator", Input).value == ""
        # typing still works as ever
        await login(pilot)
        assert app.operator is not None


async def test_the_vans_own_receipt_code_opens_that_receipt_with_its_void_state(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_first_stop(pilot)
        number = await sell_ticket(pilot)
        r = certificates.find_by_receipt(app.db, number)
        code = qr_text(number, int(r.payload["amount"]), str(r.payload["check_code"]))
        await scan(pilot, code, lambda: isinstance(app.screen, ReceiptDetailScreen))
        detail = app.screen
        assert isinstance(detail, ReceiptDetailScreen)
        shown = str(detail.query_one("#receipt-detail", Static).render())
        assert number in shown and "520" in shown
        assert "有効" in str(detail.query_one("#receipt-state", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        certificates.void_receipt(app.db, number, operator_id="sv001", now=clock.now)
        await scan(pilot, code, lambda: isinstance(app.screen, ReceiptDetailScreen))
        state = str(app.screen.query_one("#receipt-state", Static).render())
        assert "書損(無効)" in state and "sv001" in state and "10:05" in state
        await pilot.press("escape")
        await pilot.pause()
        # an altered amount is not this receipt
        forged = qr_text(number, 52, str(r.payload["check_code"]))
        await scan(pilot, forged, lambda: notified(app, "一致しません"))
        assert isinstance(app.screen, MenuScreen)


def _keys(text: str, start: float, step: float) -> list[HeldKey]:
    keys = [HeldKey(c, c, start + i * step) for i, c in enumerate(text)]
    return [*keys, HeldKey("enter", "\r", start + len(text) * step)]


def test_a_burst_is_a_scan_only_when_fast_printable_and_ended_by_enter() -> None:
    in_field = False
    burst = KeyBurst(in_text_field=lambda: in_field)

    def run(keys: list[HeldKey]) -> Any:
        verdicts = [v for v in (burst.feed(k) for k in keys) if v is not None]
        assert not burst.active
        return verdicts

    [v] = run(_keys(CITY_URL, 0.0, 0.003))
    assert v.scan == CITY_URL
    # typed by a person (a pause between keys): every key goes through as typed
    verdicts = run(_keys("cyl", 0.0, 0.3))
    assert all(v.scan is None for v in verdicts)
    assert [k.key for v in verdicts for k in v.release] == ["c", "y", "l", "enter"]
    # a Tab in the burst (id, Tab, PIN typed in one go): keys, not a scan
    keys = [HeldKey(c, c, 0.0) for c in "op001"] + [HeldKey("tab", "\t", 0.0)]
    [v] = run(keys)
    assert v.scan is None and [k.key for k in v.release][-1] == "tab"
    # in a text field a fast word and Enter is typing; a code is still a scan
    in_field = True
    [v] = run(_keys("op001", 0.0, 0.001))
    assert v.scan is None and len(v.release) == 6
    [v] = run(_keys(CITY_URL, 0.0, 0.001))
    assert v.scan == CITY_URL
