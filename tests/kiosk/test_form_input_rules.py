"""Forms that forgive: each test fails if its bug returns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from kiosk.app import KioskApp, KioskSettings, make_app
from kiosk.labels import L
from kiosk.menu import SERVICES
from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.menu import MenuScreen
from kiosk.screens.mynumber import MyNumberScreen
from kiosk.screens.today import TodayScreen
from kiosk.widgets.choice import Choice
from kiosk.widgets.confirm import Confirm
from kiosk.widgets.tick import Tick
from odekake.errors import FormErrors, ValidationError
from odekake.masterdata import catalog
from odekake.masterdata.wareki import parse_date
from odekake.services import certificates
from odekake.services.common import Actor
from odekake.voting.roll import parse_birth_date
from odekake.voting.station import MESSAGES as VOTING_LABELS

from .conftest import FixedClock
from .helpers import login, records, type_into

SIZE = (80, 24)


def app_for(path: Path, clock: FixedClock) -> KioskApp:
    return make_app(path, clock=clock, settings=KioskSettings())


async def open_menu(pilot: Any) -> None:
    await login(pilot)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, MenuScreen)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("S23.5.6", "1948-05-06"),
        ("昭和23年5月6日", "1948-05-06"),
        ("Ｓ２３．５．６", "1948-05-06"),
        ("s23/5/6", "1948-05-06"),
        ("R5.1.2", "2023-01-02"),
        ("令和元年5月1日", "2019-05-01"),
        ("H1.1.8", "1989-01-08"),
        ("T1.7.30", "1912-07-30"),
        ("M45.7.29", "1912-07-29"),
        ("1948-05-06", "1948-05-06"),
        ("1948/5/6", "1948-05-06"),
        ("19480506", "1948-05-06"),
        ("1948年5月6日", "1948-05-06"),
    ],
)
def test_one_date_parser_reads_wareki_and_western(text: str, iso: str) -> None:
    assert parse_date(text).isoformat() == iso
    # The voting lookup reads dates with the same parser.
    assert parse_birth_date(text) == iso


@pytest.mark.parametrize("text", ["H1.1.7", "S23.2.30", "R5", "昭和", "1948-13-01"])
def test_the_date_parser_refuses_what_is_not_a_day(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_date(text)


async def test_a_wareki_birth_date_is_accepted_and_a_bad_field_is_selected_for_retyping(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        await pilot.press("1")
        await type_into(pilot, "#f-name", "遠藤 ヨシ子")
        await type_into(pilot, "#f-address", "いわき市川前町デモ1")
        app.screen.query_one("#f-id_doc1", Choice).value = "運転免許証"
        await type_into(pilot, "#f-birth_date", "19481340")  # focus stays on the field
        await pilot.press("ctrl+s")
        await pilot.pause()
        birth = app.screen.query_one("#f-birth_date", Input)
        assert app.focused is birth
        assert birth.selection.start == 0 and birth.selection.end == len("19481340")
        await pilot.press(*"S23.5.6")  # replaces the selected text, not appended to it
        assert birth.value == "S23.5.6"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, CertificateScreen)
    [p] = records(kiosk_path, "certificate.issue")
    assert p["requester"]["birth_date"] == "1948-05-06"


async def test_ctrl_u_is_in_the_footer_and_clears_the_field(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        await pilot.press("1")
        await pilot.pause()
        shown = {k: b.binding for k, b in app.active_bindings.items() if b.binding.show}
        assert "ctrl+u" in shown and shown["ctrl+u"].description == "欄を消去"
        await pilot.press(*"間違えた名前", "ctrl+u")
        await pilot.pause()
        assert app.screen.query_one("#f-name", Input).value == ""


async def test_checkboxes_read_in_monochrome_and_focus_shows_on_every_widget(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        await pilot.press("1")
        await pilot.pause()
        tick = app.screen.query_one("#f-proxy_letter", Tick)
        assert str(tick.render()).startswith("[ ]")
        tick.value = True
        await pilot.pause()
        assert str(tick.render()).startswith("[x]")
        for selector in ("#f-name", "#f-id_doc1", "#f-proxy_letter"):
            widget = app.screen.query_one(selector)
            app.screen.query_one("#f-purpose").focus()
            await pilot.pause()
            before = widget.styles.text_style
            widget.focus()
            await pilot.pause()
            after = widget.styles.text_style
            assert after != before and (after.bold or after.reverse or after.underline), selector
        await pilot.press("escape", "y")
        await pilot.press("v")  # the receipts list: a DataTable and an Input
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.styles.text_style is not None
        assert any("reverse" in str(r) for r in app.stylesheet.rules if "datatable" in str(r))


async def test_escape_right_after_typing_asks_and_ctrl_q_mid_form_asks(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        # No pause between the keys: the form has barely opened when Escape arrives.
        await pilot.press("1", "あ", "escape")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # keep editing
        await pilot.pause()
        assert isinstance(app.screen, CertificateScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)  # not quit
        assert "終了" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, CertificateScreen) and app.is_running
        await pilot.press("ctrl+c")  # a Japanese hint, not Textual's English toast
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("Ctrl+Q" in m and "終了" in m for m in messages)
        assert not any("Press" in m for m in messages)


@pytest.mark.parametrize("bad", ["山田\U0001f600", "山田\u0007", "山田\u200b花子", "山田\ufe0f"])
def test_emoji_and_control_characters_are_refused_in_names_and_addresses(
    kdb: Any, open_stop: Any, bad: str
) -> None:
    actor: Actor = open_stop()
    form = {
        "service_code": "cert.juminhyo",
        "copies": "1",
        "name": bad,
        "address": "いわき市" + bad,
        "relation": "本人",
        "id_doc1": "運転免許証",
        "payment": "cash",
    }
    with pytest.raises(FormErrors) as err:
        certificates.issue(kdb, form, actor)
    assert "絵文字や制御文字" in err.value.errors["name"]
    assert "絵文字や制御文字" in err.value.errors["address"]


def test_a_subject_name_with_relation_honnin_is_refused(kdb: Any, open_stop: Any) -> None:
    form = {
        "service_code": "cert.juminhyo",
        "copies": "1",
        "name": "遠藤 ヨシ子",
        "address": "いわき市川前町デモ1",
        "relation": "本人",
        "subject_name": "遠藤 太郎",
        "id_doc1": "運転免許証",
        "payment": "cash",
    }
    with pytest.raises(FormErrors) as err:
        certificates.issue(kdb, form, open_stop())
    assert "本人の請求" in err.value.errors["subject_name"]


async def test_the_certificate_forms_required_part_fits_80x24_unscrolled(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        await pilot.press("1")
        await pilot.pause()
        screen = app.screen
        form = screen.query_one("#form")
        required = [
            "name", "address", "id_doc1", "id_doc2", "service_code", "copies",
            "relation", "subject_name", "proxy_letter", "inkan_card", "payment",
        ]  # fmt: skip
        rows = [r.field for r in screen.query("FormRow")]
        assert rows[: len(required)] == required  # required first, optional after
        assert form.scroll_y == 0
        for field in required:
            region = screen.query_one(f"#row-{field}").region
            assert region.bottom <= form.region.bottom, field


def test_messages_say_one_thing_once() -> None:
    # The voting screen wraps the client's own reason without repeating it.
    text = VOTING_LABELS["offline"].format(reason="ハブに接続できません")
    assert text.count("ハブに接続できません") == 1
    # ごみ納付券 everywhere: menu, catalogue, receipt titles.
    assert not any("処理券" in v for v in L.values())
    assert any("ごみ納付券" in e.label for e in SERVICES)
    assert not any("処理券" in name for _c, _k, name, _ch, _f in catalog.DEFAULT_SERVICES)


async def test_the_application_id_message_counts_what_was_typed(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, MyNumberScreen)
        await type_into(pilot, "#f-application_id", "1" * 19)
        await pilot.press("ctrl+s")
        await pilot.pause()
        err = str(app.screen.query_one("#err-application_id", Static).render())
        assert "23桁" in err and "19桁" in err


async def test_the_header_clock_runs_and_keeps_the_sync_state_at_60_columns(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=(60, 24)) as pilot:
        await open_menu(pilot)
        await pilot.press("1")
        await pilot.pause()
        bar = app.screen.query_one("#topbar", Static)
        first = str(bar.render())
        assert "未送信" in first and "同期" in first and "10:05" in first
        clock.advance(minutes=7)
        await pilot.pause(2.5)  # the bar redraws itself every 2 s on an open screen
        assert "10:12" in str(bar.render())
        assert app.status_line(40).endswith(app.sync_text())


async def test_enter_on_a_closed_stop_says_why(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_menu(pilot)
        await pilot.press("c", "y")
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
        await pilot.press("enter")  # the same (closed) visit
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
        messages = [str(n.message) for n in app._notifications]
        assert any("閉じた訪問" in m and "計画外" in m for m in messages), messages


async def test_every_footer_key_of_today_and_the_menu_fits_80_columns(
    kiosk_path: Path, clock: FixedClock
) -> None:
    """Seen in tmux: today's footer ended in 「^q 終」 (終了 cut at the 80th column)."""
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        for expected in (TodayScreen, MenuScreen):
            if expected is MenuScreen:
                await pilot.press("enter")
                await pilot.pause()
            assert isinstance(app.screen, expected)
            footer = app.screen.query_one(Footer)
            keys = list(footer.query(FooterKey))
            assert any(k.description == "終了" for k in keys)
            for key in keys:
                assert key.region.right <= footer.region.right, key.description
