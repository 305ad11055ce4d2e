"""The voting screen, driven with Pilot.

Key 8 after a pull alone, Escape and the footer, a new search that clears the chosen
voter, the local block of a second ballot or 仮投票, today's station by van AND
site, the hub's reachability, and visible focus on the buttons.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from textual.app import App
from textual.widgets import Button, Footer, Input, Select, Static

from kiosk.app import KioskSettings, make_app
from kiosk.screens.menu import MenuScreen
from kiosk.screens.voting import VoteBlockedModal, VotingScreen, make_voting_screen
from kiosk.voting_labels import REASON_SHORT
from odekake.access import clerk_keys
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.masterdata import master
from odekake.storage import records as rec
from odekake.storage.db import connect, memory_db, write
from odekake.sync.client import pull
from odekake.sync.enrolment import enroll
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import CheckinResult, Offline, VotingClient
from tests.voting.conftest import ROLL_ROWS, HubProcess, start_hub, write_roll

__all__ = ["start_hub"]  # the real-hub fixture, shared with tests/voting

from .conftest import DAY, VAN, FixedClock, seed_kiosk
from .helpers import login

EID = "kiosk-2026"


def _election(vans_kawamae: tuple[str, ...] = (VAN,)) -> dict[str, Any]:
    """Mobile stations on the kiosk's day: 川前 (van-1), 田人 (van-2) and 田人 (van-1)."""
    real_today = el.jst_now().date()
    first = min(DAY, real_today) - timedelta(days=1)
    last = max(DAY, real_today) + timedelta(days=2)
    mobile = {"kind": "mobile", "date": DAY.isoformat(), "opens": "00:00", "closes": "23:59"}
    return {
        "id": EID,
        "name": "いわき市長選挙(試験)",
        "early_from": first.isoformat(),
        "early_to": last.isoformat(),
        "election_day": (last + timedelta(days=1)).isoformat(),
        "ballots": [{"kind": "shicho", "label": "市長"}],
        "stations": [
            {**mobile, "id": "a-tabito-van2", "name": "田人(2号車)", "site_id": "tabito-01",
             "vans": ["van-2"]},
            {**mobile, "id": "kawamae-van", "name": "移動期日前投票所(川前)",
             "site_id": "kawamae-01", "vans": list(vans_kawamae)},
            {**mobile, "id": "tabito-van1", "name": "移動期日前投票所(田人)",
             "site_id": "tabito-01", "vans": [VAN]},
        ],
    }  # fmt: skip


def _add_election(db: sqlite_utils.Database, tmp: Path) -> None:
    el.save_election(db, el.election_from_dict(_election()))
    rl.import_roll(db, EID, write_roll(tmp / "roll.csv", ROLL_ROWS))


# --- key 8 after a pull alone (a real hub) -----------------------------------------------


async def test_key_8_works_after_a_pull_alone_and_escape_goes_back(
    kiosk_path: Path, clock: FixedClock, tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    hub_path = tmp_path / "hub.db"
    hub_db = connect(hub_path, role="hub", create=True)
    seed_kiosk(hub_db)
    with write(hub_db):  # 川前 offers voting today
        hub_db.execute("UPDATE plan_visits SET services = '[\"voting\"]' WHERE id = 'pv-1'")
    master.add_operator(
        hub_db, "op002", "佐藤 次郎", ["operator", "clerk"], "234567", kdf=TEST_ONLY_CHEAP_KDF
    )
    _add_election(hub_db, tmp_path)
    hub_db.close()
    enroll(kiosk_path, hub_path, van_id=VAN)  # the hub's key pinned on the van
    hub = start_hub(hub_path)
    pull(kiosk_path, hub.url, retries=1)  # no push ever ran

    app = make_app(kiosk_path, clock=clock, settings=KioskSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "op002", "234567")
        await pilot.press("enter")  # the first planned visit: 川前公民館
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("8")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VotingScreen), str(app.screen)
        # by van AND site: 川前 (van-1), not 田人 of van-2 that sorts first
        assert screen.station.id == "kawamae-van"
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(screen.query_one("#hub-status", Static).content)
        assert "接続できます" in status
        # the footer names the keys
        assert screen.query_one(Footer).display
        keys = {b.key: b.description for b in screen.active_bindings.values() for b in [b.binding]}
        assert keys.get("escape") == "戻る"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)


# --- the screen alone, with a fake client --------------------------------------------------


class FakeClient:
    """No hub: every check-in is Offline; the probe says what ``up`` says."""

    def __init__(self, up: bool = False) -> None:
        self.up = up
        self.calls: list[str] = []

    def reachable(self, timeout: float | None = None) -> bool:
        return self.up

    def checkin(self, **kw: Any) -> CheckinResult:
        self.calls.append(str(kw["voter_no"]))
        return Offline(str(kw.get("request_id") or "r"), "ハブに接続できません(試験)")


class Host(App[None]):
    def __init__(self, screen: VotingScreen) -> None:
        super().__init__()
        self.voting = screen

    def on_mount(self) -> None:
        self.push_screen(self.voting)


@pytest.fixture
def van(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    hub = connect(tmp_path / "hub.db", role="hub", create=True)
    master.seed_city(hub)
    _add_election(hub, tmp_path)
    db = memory_db("van", device_id=VAN)
    el.import_election(db, el.export_election(hub, EID))
    master.add_operator(db, "cl001", "高橋 美咲", ["clerk"], "345678", kdf=TEST_ONLY_CHEAP_KDF)
    master.add_operator(
        db, "cl002", "佐藤 次郎", ["operator", "clerk"], "234567", kdf=TEST_ONLY_CHEAP_KDF
    )
    # the roll arrives sealed; the logged-in clerk's key opens it
    rl.load_roll(db, EID, rl.roll_snapshot(hub, EID))
    hub.close()
    clerk_keys.unlock(db, "cl001", "345678")
    yield db
    db.close()


def _screen(van: sqlite_utils.Database, client: FakeClient) -> VotingScreen:
    return make_voting_screen(
        van, "http://127.0.0.1:9", "cl001", client=client, site_id="kawamae-01", day=DAY
    )


async def _scan(pilot: Any, screen: VotingScreen, code: str) -> None:
    screen.query_one("#ticket", Input).focus()
    await pilot.press(*code, "enter")
    await pilot.pause()


async def test_a_new_search_clears_the_chosen_voter(van: sqlite_utils.Database) -> None:
    screen = _screen(van, FakeClient())
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await _scan(pilot, screen, "000101")
        assert screen.voter is not None and screen.voter.voter_no == "000101"
        assert not screen.query_one("#checkin", Button).disabled
        # the clerk starts typing the next voter's フリガナ: 山田 is no longer chosen
        screen.query_one("#kana", Input).focus()
        await pilot.press(*"sato")
        await pilot.pause()
        assert screen.voter is None
        assert screen.query_one("#checkin", Button).disabled
        assert "山田" not in str(screen.query_one("#voter", Static).content)
        # a search that finds nobody leaves nobody chosen either
        await _scan(pilot, screen, "000102")
        assert screen.voter is not None and screen.voter.voter_no == "000102"
        await _scan(pilot, screen, "999999")
        assert screen.voter is None
        assert screen.query_one("#checkin", Button).disabled


async def test_offline_a_second_ballot_or_provisional_from_this_van_is_blocked(
    van: sqlite_utils.Database,
) -> None:
    client = FakeClient(up=False)
    screen = _screen(van, client)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "接続できません" in str(screen.query_one("#hub-status", Static).content)
        await _scan(pilot, screen, "000101")
        screen.query_one("#reason", Select).value = "illness"
        screen.query_one("#checkin", Button).press()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen.query_one("#provisional", Button).press()
        await pilot.pause()
        await pilot.press("y")  # 仮投票 is asked once
        await pilot.pause()
        assert [r.type for r in rec.iter_records(van)] == ["vote.pending", "vote.provisional"]
        # two minutes later the same voter comes back: 投票不可, the hub is not asked
        await _scan(pilot, screen, "000101")
        screen.query_one("#reason", Select).value = "illness"
        screen.query_one("#checkin", Button).press()
        await pilot.pause()
        assert isinstance(app.screen, VoteBlockedModal)
        assert client.calls == ["000101"]
        text = "\n".join(str(w.content) for w in app.screen.query(Static))
        assert "投票不可" in text and "仮投票済み" in text and "この車両の記録" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, VoteBlockedModal)  # only a second clerk leaves it
        modal = app.screen
        # ...and Escape says how, instead of doing nothing silently
        said = str(modal.query_one("#blocked-error", Static).content)
        assert "別の事務従事者のIDとPINで閉じます" in said
        modal.query_one("#second-clerk", Input).value = "cl002"
        modal.query_one("#second-pin", Input).value = "234567"
        modal.query_one("#release", Button).press()
        await pilot.pause()
        assert app.screen is screen
    assert [r.type for r in rec.iter_records(van)] == [
        "vote.pending",
        "vote.provisional",
        "vote.blocked",
    ]
    # a ballot this van handed out blocks the same way
    election = el.get_election(van, EID)
    ck.record_cast(
        van,
        election=election,
        station_id="kawamae-van",
        voter=rl.find_by_voter_no(van, EID, "000102"),  # type: ignore[arg-type]
        request_id="r-2",
        ballots=["shicho"],
        clerk_id="cl001",
        checked_at=el.jst_now().isoformat(timespec="seconds"),
    )
    assert ck.local_vote(van, EID, "000102") == {
        "kind": "checkin",
        "station_id": "kawamae-van",
        "station_name": "移動期日前投票所(川前)",
        "checked_at": ck.local_vote(van, EID, "000102")["checked_at"],  # type: ignore[index]
    }
    screen2 = _screen(van, client)
    app2 = Host(screen2)
    async with app2.run_test(size=(80, 24)) as pilot:
        await _scan(pilot, screen2, "000102")
        screen2.query_one("#reason", Select).value = "work"
        screen2.query_one("#checkin", Button).press()
        await pilot.pause()
        assert isinstance(app2.screen, VoteBlockedModal)
        assert "名簿対照済み" in "\n".join(str(w.content) for w in app2.screen.query(Static))
    assert client.calls == ["000101"]


def test_todays_station_is_picked_by_van_and_site(van: sqlite_utils.Database) -> None:
    def pick(site: str | None, van_id: str) -> str:
        found = el.current_station(van, DAY, van_id=van_id, device_id=van_id, site_id=site)
        assert found is not None
        return found[1].id

    assert pick("kawamae-01", VAN) == "kawamae-van"
    assert pick("tabito-01", VAN) == "tabito-van1"  # never van-2's station at the same site
    assert pick("tabito-01", "van-2") == "a-tabito-van2"
    assert el.current_station(van, DAY, van_id="van-9", device_id="van-9") is None
    # the kiosk's factory asks with this van and the open stop's site
    assert _screen(van, FakeClient()).station.id == "kawamae-van"


async def test_the_hub_state_is_shown_and_buttons_show_focus(van: sqlite_utils.Database) -> None:
    screen = _screen(van, FakeClient(up=True))
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = screen.query_one("#hub-status", Static)
        assert "接続できます" in str(status.content) and status.has_class("ok")
        next_button = screen.query_one("#next", Button)
        search = screen.query_one("#search", Button)
        next_button.focus()
        await pilot.pause()
        focused, unfocused = next_button.styles, search.styles
        assert "reverse" in str(focused.text_style)
        assert "reverse" not in str(unfocused.text_style)
        assert focused.border_top != unfocused.border_top


def test_oath_reasons_fit_one_line_at_80_columns() -> None:
    """The 宣誓書 list never wraps or cuts a wide character: every label fits on one line."""
    from rich.cells import cell_len

    from kiosk.voting_labels import REASON_SHORT
    from odekake.voting.elections import REASONS

    assert set(REASON_SHORT) == set(REASONS)
    assert all(cell_len(label) <= 40 for label in REASON_SHORT.values())


# --- seen in tmux at 80×24 (the whole-day journey) ------------------------------------------


def _screen_text(app: App[Any]) -> str:
    """The screen as the terminal gets it (the compositor's strips, overlays included)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_the_open_reason_list_never_cuts_a_wide_character(
    van: sqlite_utils.Database,
) -> None:
    """The 宣誓書 list drops over the buttons; where a button's edge fell in the middle
    of a wide character, the terminal showed 「冠婚␣␣祭」 (Textual cut the line at every
    widget edge beneath the overlay)."""
    screen = _screen(van, FakeClient())
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await _scan(pilot, screen, "000101")
        assert screen.focused is screen.query_one("#reason", Select)
        await pilot.press("enter")
        await pilot.pause()
        shown = _screen_text(app)
        for label in REASON_SHORT.values():
            assert label in shown, shown
        # the list's own key reads in Japanese in the footer (it said "Dismiss menu")
        assert "一覧を閉じる" in shown and "Dismiss" not in shown


async def test_an_unreachable_hub_is_said_in_japanese(van: sqlite_utils.Database) -> None:
    """No exception's English name (「ハブに接続できません(ConnectError)」) on the screen."""
    with socket.socket() as held:  # bound, never listening: every connection is refused
        held.bind(("127.0.0.1", 0))
        client = VotingClient(f"http://127.0.0.1:{held.getsockname()[1]}", timeout=2)
        screen = _screen(van, client)  # type: ignore[arg-type]
        app = Host(screen)
        async with app.run_test(size=(80, 24)) as pilot:
            await _scan(pilot, screen, "000101")
            screen.query_one("#reason", Select).value = "illness"
            screen.query_one("#checkin", Button).press()
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            shown = str(screen.query_one("#result", Static).content)
    assert "ハブに接続できません" in shown and "仮投票のみ" in shown
    assert not re.search("[A-Za-z]", shown), shown


async def test_closing_the_block_says_what_was_recorded(van: sqlite_utils.Database) -> None:
    """After the second clerk closes 投票不可 the screen says so (it was blank)."""
    screen = _screen(van, FakeClient())
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(2):  # a 仮投票, then the same voter again
            await _scan(pilot, screen, "000101")
            screen.query_one("#reason", Select).value = "illness"
            screen.query_one("#checkin", Button).press()
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            if not isinstance(app.screen, VoteBlockedModal):
                screen.query_one("#provisional", Button).press()
                await pilot.pause()
                await pilot.press("y")  # 仮投票 is asked once
                await pilot.pause()
        modal = app.screen
        assert isinstance(modal, VoteBlockedModal)
        modal.query_one("#second-clerk", Input).value = "cl002"
        modal.query_one("#second-pin", Input).value = "234567"
        modal.query_one("#release", Button).press()
        await pilot.pause()
        assert app.screen is screen
        shown = str(screen.query_one("#result", Static).content)
        assert "投票不可として記録しました" in shown and "交付していません" in shown
        assert screen.voter is None


async def test_the_search_hints_fit_their_fields_at_80_columns(
    van: sqlite_utils.Database,
) -> None:
    """「生年月日(例 1950-03-02 /」 was cut in the birth-date field at 80 columns."""
    from rich.cells import cell_len

    screen = _screen(van, FakeClient())
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for field in screen.query(Input):
            assert cell_len(field.placeholder) <= field.content_region.width, field.id
