"""Headless walks through every kiosk service, asserting what the database holds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Static

from kiosk.app import KioskApp, KioskSettings, make_app
from kiosk.menu import SERVICES
from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.dayclose import DayCloseScreen
from kiosk.screens.lock import LockScreen
from kiosk.screens.login import LoginScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.today import TodayScreen
from kiosk.widgets.confirm import Confirm

from .conftest import FixedClock
from .helpers import assert_receipt, choose, login, open_afternoon_visit, records, type_into

SIZE = (80, 24)


def app_for(path: Path, clock: FixedClock, **settings: Any) -> KioskApp:
    return make_app(path, clock=clock, settings=KioskSettings(**settings))


async def open_first_stop(pilot: Pilot[Any]) -> None:
    await login(pilot)
    assert isinstance(pilot.app.screen, TodayScreen)
    await pilot.press("enter")  # the first planned visit
    await pilot.pause()
    assert isinstance(pilot.app.screen, MenuScreen)


async def saved(pilot: Pilot[Any]) -> ReceiptScreen:
    await pilot.press("ctrl+s")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ReceiptScreen), screen
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert "保存しました" in str(screen.query_one("#saved", Static).render())
    return screen


async def test_certificate_end_to_end(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        await pilot.pause()
        await type_into(pilot, "#f-name", "遠藤 ヨシ子")
        await type_into(pilot, "#f-address", "いわき市川前町デモ1-2")
        await choose(pilot, "id_doc1", "マイナンバーカード")
        await choose(pilot, "service_code", "cert.koseki")
        await type_into(pilot, "#f-copies", "2")
        await choose(pilot, "payment", "cashless")
        receipt = await saved(pilot)
        assert "R2026-van-1-000001" in str(receipt.query_one("#receipt-info", Static).render())
        await pilot.press("enter")
        assert isinstance(app.screen, MenuScreen)
    [p] = records(kiosk_path, "certificate.issue")
    assert p["service_code"] == "cert.koseki" and p["copies"] == 2
    assert (p["fee_each"], p["amount"], p["payment"]) == (450, 900, "cashless")
    assert p["receipt_no"] == "R2026-van-1-000001"
    assert p["requester"]["name"] == "遠藤 ヨシ子"
    assert p["stop_id"] == "van-1-2026-11-24-1000"
    assert_receipt(kiosk_path.parent / "receipts", "R2026-van-1-000001")


async def test_common_request_takes_at_most_15_keys(kiosk_path: Path, clock: FixedClock) -> None:
    """住民票の写し, 1 copy, 本人, 運転免許証, 現金: count every key but the typed name/address."""
    app = app_for(kiosk_path, clock)
    keys = 0

    async def press(*k: str) -> None:
        nonlocal keys
        keys += len(k)
        await pilot.press(*k)

    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await press("1")  # 証明書
        await pilot.press(*"佐藤 清")  # typed name (not counted)
        await press("tab")
        await pilot.press(*"いわき市川前町デモ3")  # typed address (not counted)
        await press("tab", "right")  # 本人確認書類 → 運転免許証 (the first one)
        await press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ReceiptScreen)
        await app.workers.wait_for_complete()
        await press("enter")  # back to the menu for the next resident
        assert isinstance(app.screen, MenuScreen)
    assert keys <= 6, keys  # 1 · Tab · Tab · → · Ctrl+S · ⏎ (name and address typed)
    [p] = records(kiosk_path, "certificate.issue")
    assert p["service_code"] == "cert.juminhyo" and p["copies"] == 1 and p["relation"] == "本人"
    assert p["id_check"]["documents"] == ["運転免許証"] and p["payment"] == "cash"
    assert p["requester"] == {
        "name": "佐藤 清",
        "kana": "",
        "address": "いわき市川前町デモ3",
        "birth_date": "",
        "phone": "",
    }


async def test_bad_input_is_shown_next_to_the_field_and_nothing_is_written(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        await type_into(pilot, "#f-name", "遠藤 ヨシ子")
        await type_into(pilot, "#f-copies", "0")
        await type_into(pilot, "#f-phone", "0246-22-abcd")
        await type_into(pilot, "#f-birth_date", "1950-02-30")
        await type_into(pilot, "#f-purpose", "621498320257")
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CertificateScreen)
        errors = {
            f: str(screen.query_one(f"#err-{f}", Static).render())
            for f in ("copies", "phone", "birth_date", "purpose", "address", "id_doc1", "name")
        }
        assert "1〜20" in errors["copies"]
        assert "数字とハイフン" in errors["phone"]
        assert "存在しない日付" in errors["birth_date"]
        assert "個人番号" in errors["purpose"]
        assert errors["address"] and errors["id_doc1"]
        assert errors["name"] == ""
        assert screen.query_one("#row-copies").has_class("-invalid")
        assert app.focused is screen.query_one("#f-address")  # first bad field
    assert records(kiosk_path, "certificate.issue") == []


async def test_escape_on_a_filled_form_asks_first(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        await pilot.press("escape")  # empty form: leaves at once
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("1")
        await type_into(pilot, "#f-name", "遠藤")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # keep editing
        await pilot.pause()
        assert isinstance(app.screen, CertificateScreen)
        assert app.screen.query_one("#f-name", Input).value == "遠藤"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
    assert records(kiosk_path, "certificate.issue") == []


async def test_idle_lock_keeps_what_was_typed(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock, idle_minutes=1)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        await type_into(pilot, "#f-name", "根本 茂")
        app.lock_if_idle()
        assert not isinstance(app.screen, LockScreen)  # not idle yet
        app.last_activity = time.monotonic() - 61
        app.lock_if_idle()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"0000", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        assert "PINが違います" in str(app.screen.query_one("#lock-message", Static).render())
        await pilot.press(*"123456", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CertificateScreen)
        assert app.screen.query_one("#f-name", Input).value == "根本 茂"


async def test_login_refuses_a_wrong_pin(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "op001", "999999")
        assert isinstance(app.screen, LoginScreen)
        assert "PINが違います" in str(app.screen.query_one("#login-message", Static).render())
        await pilot.press(*"123456", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)


async def test_mynumber_end_to_end(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("2")
        await pilot.press(*"12345678901234567890123", "enter")  # a scanner types + Enter
        await pilot.pause()
        assert app.focused is app.screen.query_one("#f-name")
        await pilot.press(*"草野 正雄")
        await type_into(pilot, "#f-birth_date", "1948-05-06")
        await choose(pilot, "route", "交付時来庁方式")
        app.screen.query_one("#f-photo_taken").focus()
        await pilot.press("space")
        await choose(pilot, "id_doc1", "資格確認書(健康保険)")
        await choose(pilot, "id_doc2", "年金手帳・年金証書")
        await saved(pilot)
    [p] = records(kiosk_path, "mynumber.apply")
    assert p["application_id"] == "12345678901234567890123"
    assert p["route"] == "交付時来庁方式" and p["photo_taken"] is True
    assert p["id_check"] == {
        "kind": "two",
        "documents": ["資格確認書(健康保険)", "年金手帳・年金証書"],
    }
    assert p["acceptance_no"] == "M2026-van-1-00001"
    assert_receipt(kiosk_path.parent / "receipts", "M2026-van-1-00001")


async def test_mynumber_refuses_the_individual_number(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("2")
        await pilot.press(*"621498320257")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "個人番号" in str(app.screen.query_one("#err-application_id", Static).render())
    assert records(kiosk_path, "mynumber.apply") == []


async def test_disaster_end_to_end(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await open_afternoon_visit(pilot)  # the afternoon り災 visit
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("1")  # certificates are not offered at a り災 stop
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("3")
        await pilot.pause()
        await type_into(pilot, "#f-name", "蛭田 勝")
        await type_into(pilot, "#f-address", "いわき市平デモ3-4")
        await type_into(pilot, "#f-phone", "0246-22-1111")
        await type_into(pilot, "#f-building_address", "いわき市平デモ3-4")
        await type_into(pilot, "#f-water_depth_cm", "45")
        await type_into(pilot, "#f-photos", "4")
        app.screen.query_one("#f-self_assessment").focus()
        await pilot.press("space")
        await saved(pilot)
    [p] = records(kiosk_path, "disaster.apply")
    assert p["application_no"] == "D2026-van-1-00001"
    assert p["disaster_id"] == "r5-typhoon13" and p["water_depth_cm"] == 45
    assert p["self_assessment"] is True and p["photos"] == 4 and p["cause"] == "浸水"
    assert p["stop_id"] == "van-1-2026-11-24-1330"
    assert_receipt(kiosk_path.parent / "receipts", "D2026-van-1-00001")


async def test_garbage_end_to_end(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("4")
        await choose(pilot, "service_code", "garbage.large_l")
        await type_into(pilot, "#f-quantity", "3")
        fee = str(app.screen.query_one("#fee", Static).render())
        assert "4,680" in fee
        await saved(pilot)
    [p] = records(kiosk_path, "garbage.sell")
    assert (p["service_code"], p["quantity"], p["fee_each"], p["amount"]) == (
        "garbage.large_l",
        3,
        1560,
        4680,
    )
    assert p["receipt_no"] == "R2026-van-1-000001" and p["payment"] == "cash"
    assert_receipt(kiosk_path.parent / "receipts", "R2026-van-1-000001")


async def test_consultation_frailty_explanation(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("5")
        await pilot.press("ctrl+s")  # no topic chosen
        await pilot.pause()
        assert "選んで" in str(app.screen.query_one("#err-topic", Static).render())
        await choose(pilot, "topic", "孤独・孤立")
        await choose(pilot, "referral_id", "shakyo")
        app.screen.query_one("#f-remote").focus()
        await pilot.press("space", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)

        await pilot.press("6")
        await type_into(pilot, "#f-people", "14")
        for field in ("with_sheet", "weight_loss", "weak_grip", "slow_walk"):
            app.screen.query_one(f"#f-{field}").focus()
            await pilot.press("space")
        assert "3/5 → フレイル" in str(app.screen.query_one("#score", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)

        await pilot.press("7", "space", "space", "plus")
        await pilot.pause()
        assert "3 人" in str(app.screen.query_one("#count", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert "説明/見学 3" in str(app.screen.query_one("#served", Static).render())
    [c] = records(kiosk_path, "consultation.hold")
    assert c["topic"] == "孤独・孤立" and c["remote"] is True
    assert c["referral"] == "いわき市社会福祉協議会"
    [f] = records(kiosk_path, "frailty.check")
    assert f["people"] == 14 and f["sheet"]["score"] == 3 and f["sheet"]["result"] == "フレイル"
    visits = records(kiosk_path, "explanation.visit")
    assert [v["people"] for v in visits] == [1, 1, 1]


async def test_unplanned_stop_close_stop_and_day_close(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("u")
        await pilot.pause()
        await choose(pilot, "site_id", "tabito-01")
        await pilot.press("ctrl+s")  # no hours and no reason yet: nothing silently assumed
        await pilot.pause()
        assert "理由" in str(app.screen.query_one("#err-reason", Static).render())
        assert "時間帯を入力" in str(app.screen.query_one("#err-window", Static).render())
        await type_into(pilot, "#f-window", "10:00-11:30")
        await type_into(pilot, "#f-reason", "区長からの要望")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("4")
        await saved(pilot)  # one 520-yen ticket in cash
        await pilot.press("enter", "c", "y")
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
        assert "田人地区集会所" in str(app.screen.query_one("#stops-done", Static).render())
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DayCloseScreen)
        await pilot.press(*"10000")
        await type_into(pilot, "#f-count_10000", "1")
        await type_into(pilot, "#f-count_500", "1")
        await pilot.press("ctrl+s")  # 20 yen short: a reason is needed
        await pilot.pause()
        assert "-20" in str(app.screen.query_one("#err-reason", Static).render())
        await type_into(pilot, "#f-count_10", "2")
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        message = str(app.screen.query_one("#form-message", Static).render())
        assert "保存しました" in message and "日計表" in message
    [s] = records(kiosk_path, "stop.open")
    assert s["planned"] is False and s["reason"] == "区長からの要望" and s["site_id"] == "tabito-01"
    assert len(records(kiosk_path, "stop.close")) == 1
    [d] = records(kiosk_path, "day.close")
    assert (d["change_float"], d["cash_fees"], d["counted_total"], d["cash_difference"]) == (
        10000,
        520,
        10520,
        0,
    )
    assert d["by_category"] == {"garbage": 1}
    assert (kiosk_path.parent / "receipts" / "日計表-2026-11-24.pdf").exists()


def test_the_menu_is_data_driven() -> None:
    keys = [e.key for e in SERVICES]
    assert len(keys) == len(set(keys)) == 8
    assert {e.category for e in SERVICES} == {
        "certificate",
        "mynumber",
        "disaster",
        "garbage",
        "consultation",
        "frailty",
        "explanation",
        "voting",
    }


async def test_an_appended_menu_entry_opens_its_screen(kiosk_path: Path, clock: FixedClock) -> None:
    from textual.screen import Screen

    from kiosk.menu import ServiceEntry

    class Dummy(Screen[None]):
        pass

    entry = ServiceEntry("9", "追加の業務", "explanation", lambda app: Dummy())
    SERVICES.append(entry)
    try:
        app = app_for(kiosk_path, clock)
        async with app.run_test(size=SIZE) as pilot:
            await open_first_stop(pilot)
            assert "追加の業務" in str(app.screen.query_one("#menu", Static).render())
            await pilot.press("9")
            await pilot.pause()
            assert isinstance(app.screen, Dummy)
    finally:
        SERVICES.remove(entry)


async def test_fast_type_ahead_lands_in_order(kiosk_path: Path, clock: FixedClock) -> None:
    """Keys posted without waiting (a fast typist, a barcode scanner) keep their order:
    the menu key, the name, Tab, the address, Tab, → and Ctrl+S all do what they say."""
    from textual import events

    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        for key, char in [
            *[(c, c) for c in "op001"],
            ("enter", "\r"),
            *[(c, c) for c in "123456"],
            ("enter", "\r"),
        ]:
            app.post_message(events.Key(key, char))
        for _ in range(50):
            await pilot.pause(0.05)
            if isinstance(app.screen, TodayScreen):
                break
        assert isinstance(app.screen, TodayScreen)
        await pilot.press("enter")
        await pilot.pause()
        keys = [("1", "1"), *[(c, c) for c in "遠藤"], ("tab", "\t"), *[(c, c) for c in "川前"]]
        keys += [("tab", "\t"), ("right", None), ("ctrl+s", None)]
        for key, char in keys:
            app.post_message(events.Key(key, char))
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, ReceiptScreen):
                break
        assert isinstance(app.screen, ReceiptScreen)
        await app.workers.wait_for_complete()
    [p] = records(kiosk_path, "certificate.issue")
    assert p["requester"]["name"] == "遠藤" and p["requester"]["address"] == "川前"
    assert p["id_check"]["documents"] == ["運転免許証"]
