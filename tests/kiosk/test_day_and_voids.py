"""Issue 12, cash and voids: the day close ends fee intake, re-opening needs a
supervisor, voids are picked from today's list with a preview, and every void and
re-opening shows in the day's 日計表."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdf
import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from kiosk.app import KioskApp, KioskSettings, make_app
from kiosk.screens.dayclose import DayCloseScreen
from kiosk.screens.login import LoginScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.today import TodayScreen
from kiosk.screens.void import VoidScreen
from kiosk.widgets.approval import SupervisorApproval
from kiosk.widgets.confirm import Confirm
from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.masterdata.catalog import CATEGORIES
from odekake.receipts.receipt_pdf import write_day_close
from odekake.services import certificates, dayclose, garbage, stops
from odekake.services.common import Actor
from odekake.services.dayclose import DayClosed
from odekake.storage.db import connect
from odekake.storage.records import Record

from .conftest import NOW, FixedClock
from .helpers import choose, login, records, type_into

SIZE = (80, 24)


def app_for(path: Path, clock: FixedClock) -> KioskApp:
    return make_app(path, clock=clock, settings=KioskSettings())


async def sell_ticket(pilot: Pilot[Any]) -> str:
    """One 520-yen ごみ納付券 in cash from the menu; back at the menu; the number."""
    await pilot.press("4")
    await pilot.pause()
    await pilot.press("ctrl+s")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ReceiptScreen)
    await pilot.app.workers.wait_for_complete()
    assert screen.number
    await pilot.press("enter")
    await pilot.pause()
    return screen.number


async def close_the_day(pilot: Pilot[Any], cash: dict[int, str]) -> None:
    """From Today: D, the float 10,000 and the counted notes and coins, save."""
    await pilot.press("d")
    await pilot.pause()
    assert isinstance(pilot.app.screen, DayCloseScreen)
    await type_into(pilot, "#f-change_float", "10000")
    for denom, n in cash.items():
        await type_into(pilot, f"#f-count_{denom}", n)
    await pilot.press("ctrl+s")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def approve(pilot: Pilot[Any], supervisor: str, pin: str, reason: str = "") -> None:
    """Type into the supervisor-approval dialog."""
    assert isinstance(pilot.app.screen, SupervisorApproval)
    await pilot.press(*supervisor, "enter", *pin, "enter")
    if reason:
        await pilot.press(*reason, "enter")
    await pilot.pause()


def audit_actions(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    db = connect(path)
    try:
        return [(e.actor, e.action, e.detail) for e in audit.entries(db)]
    finally:
        db.close()


async def test_day_close_ends_fee_intake_until_a_supervisor_reopens(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")  # 川前, the planned morning stop
        await pilot.pause()
        await sell_ticket(pilot)
        await pilot.press("c", "y")
        await pilot.pause()
        await close_the_day(pilot, {10000: "1", 500: "1", 10: "2"})
        assert records(kiosk_path, "day.close")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
        assert "日計は締め済み" in str(app.screen.query_one("#stops-done", Static).render())
        # A new stop may open (a consultation needs no cash) but no fee is taken there.
        await pilot.press("u")
        await pilot.pause()
        await choose(pilot, "site_id", "tabito-01")
        await type_into(pilot, "#f-window", "10:30-11:30")
        await type_into(pilot, "#f-reason", "追加の依頼")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        assert "日計は締め済み" in str(app.screen.query_one("#served", Static).render())
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)  # the form did not open
        assert any("日計は締め済み" in str(n.message) for n in app._notifications)
        # The operator cannot re-open alone; a supervisor's PIN at the counter can.
        await pilot.press("c", "y")
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        await approve(pilot, "sv001", "0000", "釣銭の数え直し")
        assert records(kiosk_path, "day.reopen") == []
        await pilot.press("o")
        await pilot.pause()
        await approve(pilot, "sv001", "999999", "釣銭の数え直し")
        assert isinstance(app.screen, TodayScreen)
        assert app.operator is not None and app.operator.id == "op001"  # no logout
        await close_the_day(pilot, {10000: "1", 500: "1", 10: "2"})
    [reopen] = records(kiosk_path, "day.reopen")
    assert (reopen["supervisor_id"], reopen["operator_id"]) == ("sv001", "op001")
    assert reopen["reason"] == "釣銭の数え直し"
    first, second = records(kiosk_path, "day.close")
    assert first["reopenings"] == [] and len(second["reopenings"]) == 1
    assert second["reopenings"][0]["supervisor_id"] == "sv001"
    actions = audit_actions(kiosk_path)
    assert ("sv001", "approval", {"operator_id": "op001"}) in actions
    assert ("op001", "day.reopen", {"supervisor_id": "sv001"}) in actions
    assert any(a == ("sv001", "login.failed") for a in [(x[0], x[1]) for x in actions])
    # each close keeps its own 日計表: the second does not overwrite the first
    folder = kiosk_path.parent / "receipts"
    text = pypdf.PdfReader(folder / "日計表-2026-11-24.pdf").pages[0].extract_text()
    assert "日計の再開" not in text
    text = pypdf.PdfReader(folder / "日計表-2026-11-24-2.pdf").pages[0].extract_text()
    assert "第2回の締め" in text
    # the re-open reason is sealed to city hall: the van's sheet no longer reads it
    assert "日計の再開" in text and "sv001" in text and "(封印済み)" in text
    assert "釣銭の数え直し" not in text


def test_the_core_refuses_fees_on_a_closed_day(kdb: Any, open_stop: Any) -> None:
    actor: Actor = open_stop()
    stops.close_stop(kdb, actor.stop_id, now=NOW)
    dayclose.close_day(kdb, {"change_float": "0"}, operator_id="op001", now=NOW)
    again = stops.open_unplanned(
        kdb,
        {"site_id": "tabito-01", "activity": "regular", "window": "13:00-14:00", "reason": "x"},
        operator_id="op001",
        now=NOW,
    )
    later = Actor("op001", str(again.payload["stop_id"]), NOW)
    with pytest.raises(DayClosed):
        garbage.sell(
            kdb, {"service_code": "garbage.large_s", "quantity": "1", "payment": "cash"}, later
        )
    with pytest.raises(OdekakeError, match="監督者"):
        dayclose.reopen_day(kdb, NOW.date(), operator_id="op001", reason="x", now=NOW)
    dayclose.reopen_day(kdb, NOW.date(), operator_id="sv001", reason="数え直し", now=NOW)
    garbage.sell(
        kdb, {"service_code": "garbage.large_s", "quantity": "1", "payment": "cash"}, later
    )


async def test_void_is_picked_from_todays_list_with_a_preview_and_a_supervisor_pin(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)  # op001, an operator: not a supervisor
        await pilot.press("enter")
        await pilot.pause()
        first = await sell_ticket(pilot)
        clock.advance(minutes=25)  # 10:30
        second = await sell_ticket(pilot)
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VoidScreen)
        table = screen.query_one("#receipts", DataTable)
        assert table.row_count == 2
        await pilot.press(*"1030")  # search by time
        await pilot.pause()
        assert table.row_count == 1 and screen.shown[0].number == second
        await pilot.press("backspace", "backspace", "backspace", "backspace", *first[-6:])
        await pilot.pause()
        assert [e.number for e in screen.shown] == [first]
        await pilot.press("down", "v")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)  # the preview
        preview = app.screen.question
        assert first in preview and "520円" in preview and "10:05" in preview
        await pilot.press("n")  # changed their mind: nothing happens
        await pilot.pause()
        assert records(kiosk_path, "record.void") == []
        await pilot.press("v", "y")
        await pilot.pause()
        await approve(pilot, "sv001", "1111")  # a wrong PIN voids nothing
        assert records(kiosk_path, "record.void") == []
        assert "監督者" in str(screen.query_one("#void-message", Static).render())
        await pilot.press("v", "y")
        await pilot.pause()
        await approve(pilot, "sv001", "999999")
        assert app.screen is screen and screen.shown[0].voided
        assert "書損" in str(screen.query_one("#void-message", Static).render())
        assert app.operator is not None and app.operator.id == "op001"  # still logged in
    [v] = records(kiosk_path, "record.void")
    assert v["receipt_no"] == first and v["approved_by"] == "sv001"
    assert v["operator_id"] == "op001"
    actions = audit_actions(kiosk_path)
    assert ("sv001", "approval", {"operator_id": "op001"}) in actions
    assert any(
        actor == "op001" and action == "record.void" and detail.get("approved_by") == "sv001"
        for actor, action, detail in actions
    )


async def test_another_days_receipt_cannot_be_voided_at_the_counter(
    kiosk_path: Path, clock: FixedClock, kdb: Any, open_stop: Any
) -> None:
    r: Record = certificates.issue(kdb, _cert(), open_stop())
    number = str(r.payload["receipt_no"])
    clock.advance(days=1)
    with pytest.raises(OdekakeError, match="市役所で訂正") as err:
        certificates.void_receipt(kdb, number, operator_id="sv001", now=clock.now)
    assert "2026年11月24日" in str(err.value)
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "sv001", "999999")  # yesterday's stop is still open: its menu
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VoidScreen)
        assert screen.shown == []  # yesterday's receipt is not offered
        assert "本日の領収書はありません" in str(screen.query_one("#void-message", Static).render())


def _cert() -> dict[str, Any]:
    return {
        "service_code": "cert.juminhyo",
        "copies": "1",
        "name": "遠藤 ヨシ子",
        "address": "いわき市川前町デモ1",
        "relation": "本人",
        "id_doc1": "マイナンバーカード",
        "payment": "cash",
    }


def test_every_void_shows_in_its_days_close_in_value_order(
    kdb: Any, open_stop: Any, tmp_path: Path
) -> None:
    actor: Actor = open_stop()
    kept = certificates.issue(kdb, _cert(), actor)
    spoiled = certificates.issue(kdb, _cert(), actor)
    certificates.void_receipt(kdb, spoiled.payload["receipt_no"], operator_id="sv001", now=NOW)
    stops.close_stop(kdb, actor.stop_id, now=NOW)
    counts = {"count_10000": "1", "count_500": "1", "count_100": "2", "count_10": "10"}
    r = dayclose.close_day(
        kdb, {"change_float": "10000", **counts, "reason": "x"}, operator_id="op001", now=NOW
    )
    p = r.payload
    assert p["voided_receipts"] == [spoiled.payload["receipt_no"]]
    assert p["voided_amounts"] == {spoiled.payload["receipt_no"]: 300}
    assert p["receipts"] == [kept.payload["receipt_no"]]
    text = pypdf.PdfReader(write_day_close(r, tmp_path, CATEGORIES)).pages[0].extract_text()
    assert f"書損(取消) {spoiled.payload['receipt_no']}" in text
    # Notes and coins by value: 10,000 before 500 before 100 before 10.
    at = [text.index(f"{d}円 ×") for d in ("10,000", "500", "100", "10")]
    assert at == sorted(at)


async def test_log_out_from_the_menu_keeps_the_stop_for_the_next_operator(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen) and app.operator is None
        await login(pilot, "sv001", "999999")
        assert isinstance(app.screen, MenuScreen) and app.stop is not None
    assert ("op001", "logout", {}) in audit_actions(kiosk_path)
