"""A scanned request code (何度も書かない) opens its form filled in; bad codes fill nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from kiosk.screens.base import FormScreen
from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.disaster import DisasterScreen
from kiosk.screens.garbage import GarbageScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.receipt import ReceiptScreen
from odekake.residents.prefill import encode

from .conftest import DAY, FixedClock
from .helpers import login, open_afternoon_visit, records
from .test_app_flows import SIZE, app_for, open_first_stop

JUMINHYO = {
    "service_code": "cert.juminhyo",
    "copies": "1",
    "relation": "本人",
    "name": "いわき 花子",
    "kana": "いわき はなこ",
    "address": "いわき市平字デモ1-2",
    "birth_date": "1948-05-06",
}


async def scan(pilot: Pilot[Any], text: str, until: Callable[[], bool]) -> None:
    """What a keyboard-wedge scanner does: every character as a key, then Enter.

    Waits (up to 20 s: a loaded machine is slow) until ``until()`` holds.
    """
    for ch in text:
        pilot.app.post_message(events.Key(ch, ch))
    pilot.app.post_message(events.Key("enter", "\r"))
    for _ in range(1000):
        await pilot.pause(0.02)
        if until():
            break
    await pilot.pause()


async def test_the_commonest_certificate_from_a_code_takes_two_keys(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await scan(
            pilot, encode("cert", JUMINHYO, DAY), lambda: isinstance(app.screen, CertificateScreen)
        )
        screen = app.screen
        assert isinstance(screen, CertificateScreen)
        assert (
            screen.value("name") == "いわき 花子" and screen.value("address") == JUMINHYO["address"]
        )
        assert screen.value("birth_date") == "1948-05-06"
        assert "QRコードの内容を入力しました" in str(
            screen.query_one("#form-message", Static).render()
        )
        # nothing is saved until the operator checks identity and confirms
        assert records(kiosk_path, "certificate.issue") == []
        assert screen.focused is screen.control("id_doc1")
        keys = ["right", "ctrl+s"]  # 運転免許証, save
        await pilot.press(*keys)
        await pilot.pause()
        assert isinstance(app.screen, ReceiptScreen)
        assert len(keys) <= 3
        await app.workers.wait_for_complete()
    [p] = records(kiosk_path, "certificate.issue")
    assert p["service_code"] == "cert.juminhyo" and p["copies"] == 1 and p["relation"] == "本人"
    assert p["id_check"]["documents"] == ["運転免許証"]
    assert p["requester"]["name"] == "いわき 花子"
    assert p["requester"]["birth_date"] == "1948-05-06"


async def test_bad_codes_say_why_and_fill_nothing(kiosk_path: Path, clock: FixedClock) -> None:
    good = encode("cert", JUMINHYO, DAY)
    bad = {
        "truncated": good[:40],
        "wrong version": good.replace("ODK1:", "ODK7:"),
        "My Number": encode("cert", {**JUMINHYO, "address": "平 1234 5678 9018"}, DAY),
        "too old": encode("cert", JUMINHYO, date(2026, 1, 5)),
    }
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_first_stop(pilot)
        for text in bad.values():
            seen = len(app._notifications)
            await scan(pilot, text, lambda seen=seen: len(app._notifications) > seen)
            assert isinstance(app.screen, MenuScreen)
        messages = [n.message for n in app._notifications]
        assert any("最後まで読み取れません" in m for m in messages)
        assert any("新しい形式" in m for m in messages)
        assert any("マイナンバー" in m for m in messages)
        assert any("90日より前" in m for m in messages)
    assert records(kiosk_path, "certificate.issue") == []


async def test_a_code_scanned_into_a_text_field_fills_the_form(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CertificateScreen)
        assert isinstance(screen.focused, Input)  # the name field
        await scan(
            pilot, encode("cert", JUMINHYO, DAY), lambda: screen.value("kana") == "いわき はなこ"
        )
        assert app.screen is screen
        assert screen.value("name") == "いわき 花子"  # the code's text is not left in the field
        assert screen.value("kana") == "いわき はなこ"


async def test_a_clean_form_gives_way_to_the_form_the_code_asks_for(
    kiosk_path: Path, clock: FixedClock
) -> None:
    ticket = encode("garbage", {"service_code": "garbage.large_m", "quantity": "2"}, DAY)
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1", *"遠藤")
        await pilot.pause()
        # something typed: the code does not throw it away
        await scan(
            pilot, ticket, lambda: any("保存するか閉じて" in n.message for n in app._notifications)
        )
        assert isinstance(app.screen, CertificateScreen)
        assert any("保存するか閉じて" in n.message for n in app._notifications)
        app.screen.query_one("#f-name", Input).value = ""
        await pilot.pause()
        await scan(pilot, ticket, lambda: isinstance(app.screen, GarbageScreen))
        screen = app.screen
        assert isinstance(screen, GarbageScreen), screen
        assert screen.value("service_code") == "garbage.large_m" and screen.value("quantity") == "2"


RISAI = {
    "disaster_id": "r5-typhoon13",
    "name": "いわき 太郎",
    "address": "いわき市平字デモ9",
    "phone": "0246-00-0000",
}


async def test_a_scan_never_overwrites_what_the_operator_typed(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await open_afternoon_visit(pilot)  # the afternoon り災 visit
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DisasterScreen)
        await pilot.press(*"遠藤", "tab")
        await pilot.pause()
        await scan(pilot, encode("disaster", RISAI, DAY), lambda: screen.value("phone") != "")
        assert screen.value("name") == "遠藤"  # typed: kept
        assert screen.value("address") == RISAI["address"]  # empty: filled
        note = screen.query_one("#note-name", Static)
        assert "いわき 太郎" in str(note.render())
        message = str(screen.query_one("#form-message", Static).render())
        assert "変えていません" in message
        # the operator chooses the scanned value with Ctrl+R on the field
        screen.set_focus(screen.control("name"))
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert screen.value("name") == "いわき 太郎"
        assert not screen.query("#note-name")


async def test_after_a_scan_the_name_and_address_are_in_view(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await scan(pilot, encode("cert", JUMINHYO, DAY), lambda: isinstance(app.screen, FormScreen))
        await pilot.pause(0.1)
        screen = app.screen
        assert isinstance(screen, CertificateScreen)
        assert screen.focused is screen.control("id_doc1")
        form = screen.query_one("#form").region
        for field in ("name", "address", "id_doc1"):
            row = screen.query_one(f"#row-{field}").region
            assert form.contains_region(row), (field, row, form)
