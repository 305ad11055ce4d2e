"""The counter reads a My Number card (F4) into a form, through a real pcscd."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from kiosk.labels import t
from kiosk.screens.card import CardPinScreen
from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.widgets.confirm import Confirm
from odekake.cardreader.emulator import EmulatedCard, Resident
from tests.cardstack import Inserted

from .conftest import FixedClock
from .helpers import records
from .test_app_flows import SIZE, app_for, open_first_stop


async def _wait_for(pilot: Any, condition: Any, *, limit: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            screen = pilot.app.screen
            shown = _message(pilot.app) if screen.query("#form-message") else type(screen).__name__
            raise AssertionError(f"the kiosk did not get there in time; it shows: {shown}")
        await pilot.pause(0.05)


def _pin_box_up(app: Any) -> bool:
    """The PIN box is on screen with its field composed (not only pushed)."""
    return isinstance(app.screen, CardPinScreen) and bool(app.screen.query("#card-pin"))


def _message(app: Any) -> str:
    return str(app.screen.query_one("#form-message", Static).render())


async def test_card_fills_the_commonest_certificate_in_a_few_keys(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    card = insert(EmulatedCard(Resident(), pin="4826"))
    app = app_for(kiosk_path, clock)
    keys = 0

    async def press(*k: str) -> None:
        nonlocal keys
        keys += len(k)
        await pilot.press(*k)

    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await press("1")  # 証明書
        assert isinstance(app.screen, CertificateScreen)
        await press("f4")  # read the card
        await _wait_for(pilot, lambda: _pin_box_up(app))
        pin_box = app.screen.query_one("#card-pin", Input)
        assert pin_box.password  # masked
        await pilot.press(*"4826", "enter")  # the resident's PIN (not counted)
        await _wait_for(pilot, lambda: "ICチップから入力しました" in _message(app))
        form = app.screen
        assert isinstance(form, CertificateScreen)
        assert form.value("name") == "磐城〓子"  # the 外字 marked
        assert form.value("address").startswith("福島県いわき市平字梅本21番地")
        assert form.value("birth_date") == "昭和22年3月15日"
        assert form.value("id_doc1") == "マイナンバーカード"
        assert "外字" in _message(app) and "1947年3月15日" in _message(app)
        await press("ctrl+s")
        await _wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
        await app.workers.wait_for_complete()
        await press("enter")
        assert isinstance(app.screen, MenuScreen)
    assert keys <= 6, keys  # 1 · F4 · Ctrl+S · ⏎ (the PIN aside): no name or address typed
    [p] = records(kiosk_path, "certificate.issue")
    assert p["requester"]["name"] == "磐城〓子"
    assert p["requester"]["name_on_chip"] == "磐城\ue000子"  # as the card gives it, sealed
    assert p["requester"]["birth_date"] == "1947-03-15"
    assert p["id_check"] == {"kind": "photo", "documents": ["マイナンバーカード"], "chip": True}
    assert not card.touched_number
    log = (kiosk_path.parent / "kiosk.log").read_text(encoding="utf-8")
    assert "card read" in log  # the event is logged ...
    assert "4826" not in log and "磐城" not in log  # ... never the PIN or what was read


async def test_typed_name_is_kept_and_the_card_value_shown(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    insert(EmulatedCard(Resident(name="佐藤花子"), pin="4826"))
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1", *"佐藤 はな")
        await pilot.press("f4")
        await _wait_for(pilot, lambda: _pin_box_up(app))
        await pilot.press(*"4826", "enter")
        await _wait_for(pilot, lambda: "ICチップから入力しました" in _message(app))
        assert app.screen.value("name") == "佐藤 はな"  # type: ignore[attr-defined]
        assert "入力済みの欄は変えていません" in _message(app) and "氏名: 佐藤花子" in _message(app)
        assert app.screen.value("address").startswith("福島県")  # type: ignore[attr-defined]


async def test_wrong_pin_says_tries_left_and_warns_before_the_last(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    card = insert(EmulatedCard(pin="4826", tries=2))
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1", "f4")
        await _wait_for(pilot, lambda: _pin_box_up(app))
        await pilot.press(*"1111", "enter")
        await _wait_for(pilot, lambda: "暗証番号が違います" in _message(app))
        assert "あと1回" in _message(app)
        assert app.screen.value("name") == ""  # type: ignore[attr-defined]  # nothing half-filled
        # one try left: the kiosk asks before the resident types again
        await pilot.press("f4")
        await _wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        assert "あと1回" in str(app.screen.query_one("#question").render())
        await pilot.press("n")
        await _wait_for(pilot, lambda: isinstance(app.screen, CertificateScreen))
        assert card.tries == 1  # declining sent no PIN


async def test_no_card_says_what_to_do_and_the_form_still_works(
    kiosk_path: Path, clock: FixedClock, pcsc_stack: Any
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1", "f4")
        await _wait_for(pilot, lambda: "カードが置かれていません" in _message(app))
        assert isinstance(app.screen, CertificateScreen)
        await pilot.press(*"遠藤 ヨシ子")
        assert app.screen.value("name") == "遠藤 ヨシ子"


async def test_forms_without_identity_have_no_card_key(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        assert app.screen.check_action("read_card", ()) is True
        await pilot.press("escape")
        await pilot.pause()
        from kiosk.menu import SERVICES
        from kiosk.screens.consultation import ConsultationScreen

        entry = next(e for e in SERVICES if "相談" in e.label)
        await pilot.press(entry.key)
        await pilot.pause()
        assert isinstance(app.screen, ConsultationScreen)
        assert app.screen.check_action("read_card", ()) is False


def _screen_text(app: Any) -> str:
    """The screen as the terminal gets it (overlays included), without blanks and box
    lines, so text wrapped over lines reads as one."""
    text = "".join(strip.text for strip in app.screen._compositor.render_strips())
    return "".join(ch for ch in text if not ch.isspace() and not "\u2500" <= ch <= "\u259f")


async def _read_into_form(pilot: Any, *typed: str) -> Any:
    app = pilot.app
    await open_first_stop(pilot)
    await pilot.press("1", *typed, "f4")
    await _wait_for(pilot, lambda: _pin_box_up(app))
    await pilot.press(*"4826", "enter")
    await _wait_for(pilot, lambda: "ICチップから入力しました" in _message(app))
    return app.screen


async def test_a_kept_typed_name_gets_no_chip_mark_and_the_card_value_is_on_screen(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    insert(EmulatedCard(Resident(), pin="4826"))
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await _read_into_form(pilot, *"岩城花子")
        assert form.value("name") == "岩城花子"
        shown = _screen_text(app)
        assert "氏名:磐城〓子" in shown  # the differing card value, visible at 80×24
        await pilot.press("ctrl+s")
        await _wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
        await app.workers.wait_for_complete()
    [p] = records(kiosk_path, "certificate.issue")
    assert p["requester"]["name"] == "岩城花子"
    assert "name_on_chip" not in p["requester"]
    assert p["id_check"] == {"kind": "photo", "documents": ["マイナンバーカード"]}


async def test_an_edit_after_the_read_takes_the_chip_mark_away(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    insert(EmulatedCard(Resident(name="佐藤花子"), pin="4826"))
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await _read_into_form(pilot)
        full = Resident().address
        assert "".join(full.split()) in _screen_text(app)  # the whole address, at 80×24
        form.query_one("#f-birth_date", Input).value = "昭和22年3月16日"
        await pilot.press("ctrl+s")
        await _wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen))
        await app.workers.wait_for_complete()
    [p] = records(kiosk_path, "certificate.issue")
    assert p["requester"]["birth_date"] == "1947-03-16"
    assert p["id_check"] == {"kind": "photo", "documents": ["マイナンバーカード"]}


async def test_a_card_before_meiji_is_a_malformed_card_not_a_crash(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    insert(EmulatedCard(Resident(name="古川花子", birth="18670101"), pin="4826"))
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1", "f4")
        await _wait_for(pilot, lambda: _pin_box_up(app))
        await pilot.press(*"4826", "enter")
        await _wait_for(pilot, lambda: "カードの応答が正しくありません" in _message(app))
        assert isinstance(app.screen, CertificateScreen)
        assert app.screen.value("name") == ""
    log = (kiosk_path.parent / "kiosk.log").read_text(encoding="utf-8")
    assert "古川" not in log and "Traceback" not in log


async def test_card_values_are_shown_as_plain_text(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    insert(
        EmulatedCard(Resident(name="山田[/]花子", address="福島県いわき市[b]平[/b]1"), pin="4826")
    )
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        form = await _read_into_form(pilot, *"山田花子")
        assert form.value("address") == "福島県いわき市[b]平[/b]1"
        shown = _screen_text(app)
        assert "山田[/]花子" in shown and "[b]平[/b]" in shown
    log = (kiosk_path.parent / "kiosk.log").read_text(encoding="utf-8")
    assert "山田" not in log and "Traceback" not in log


async def test_the_last_try_warning_is_whole_in_the_pin_box_at_80x24(
    kiosk_path: Path, clock: FixedClock, insert: Inserted
) -> None:
    insert(EmulatedCard(pin="4826", tries=1))
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1", "f4")
        await _wait_for(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.pause()
        whole = "".join(t("card_last_try_q").split())
        assert whole in _screen_text(app)  # the question, whole, above its answers
        await pilot.press("y")
        await _wait_for(pilot, lambda: _pin_box_up(app))
        await pilot.pause()
        assert whole in _screen_text(app)  # and again above the PIN field
