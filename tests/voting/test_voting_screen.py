"""The kiosk voting screen, driven headlessly against a real hub subprocess."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import sqlite_utils
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from kiosk.screens.voting import VoteBlockedModal, VotingScreen
from odekake.access import clerk_keys
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.masterdata import master
from odekake.storage import records as rec
from odekake.storage.db import connect, memory_db
from odekake.sync.wire import rotate_hub_key
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import Confirmed, VotingClient
from odekake.voting.elections import JST
from tests.voting.conftest import (
    ELECTION_ID,
    HubProcess,
    copy_operators,
    free_port,
    hub_public_key,
    make_hub,
    signed_client,
    signer,
)


class Host(App[None]):
    """A tiny app that shows only the voting screen."""

    def __init__(self, screen: VotingScreen) -> None:
        super().__init__()
        self.voting = screen

    def on_mount(self) -> None:
        self.push_screen(self.voting)


@pytest.fixture
def hub_path(tmp_path: Path) -> Path:
    return make_hub(tmp_path / "hub.db")


@pytest.fixture
def van(hub_path: Path) -> Iterator[sqlite_utils.Database]:
    """The van: election, roll copy and clerks down-synced from the hub."""
    hub = connect(hub_path)
    db = memory_db("van", device_id="van-1")
    el.import_election(db, el.export_election(hub, ELECTION_ID))
    copy_operators(hub, db)  # the clerks and their sealed keys, as a pull brings them
    # the roll arrives sealed; the logged-in clerk's key opens it
    rl.load_roll(db, ELECTION_ID, rl.roll_snapshot(hub, ELECTION_ID))
    hub.close()
    clerk_keys.unlock(db, "cl001", "345678")
    yield db
    db.close()


def _screen(
    van: sqlite_utils.Database, url: str, timeout: float = 10, *, auth: httpx.Auth | None = None
) -> VotingScreen:
    return VotingScreen(
        VotingClient(url, timeout=timeout, auth=auth),
        van,
        el.get_election(van, ELECTION_ID),
        "ogawa-van",
        "cl001",
        stop_id="stop-ogawa-1",
    )


def _text(app: App[None]) -> str:
    """Everything the current screen shows in its Static widgets."""
    return "\n".join(str(w.content) for w in app.screen.query(Static))


async def _scan_and_check(pilot: Pilot[None], screen: VotingScreen, code: str = "000101") -> None:
    screen.query_one("#ticket", Input).focus()
    await pilot.press(*code, "enter")
    await pilot.pause()
    screen.query_one("#reason", Select).value = "illness"
    await pilot.pause()
    screen.query_one("#checkin", Button).press()
    await pilot.pause()


async def _settle(pilot: Pilot[None], app: App[None]) -> None:
    """Let pressed buttons start their workers, wait for them, then let the UI update."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def _types(db: sqlite_utils.Database) -> list[str]:
    return [r.type for r in rec.iter_records(db)]


async def test_confirmed_shows_kofuka_and_ballots(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    hub = start_hub(hub_path)
    screen = _screen(van, hub.url, auth=signer(hub_path, "van-1"))
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        screen.query_one("#kana", Input).value = "ｽｽﾞｷ ｷｮｳｺ"
        screen.query_one("#birth", Input).value = "S20.1.5"
        screen.query_one("#search", Button).press()
        await pilot.pause()
        assert "鈴木 京子" in str(screen.query_one("#voter", Static).content)
        assert "交付可" not in _text(app)
        screen.query_one("#checkin", Button).press()  # no reason yet
        await pilot.pause()
        assert "宣誓書の事由を選んでください" in _text(app)
        screen.query_one("#reason", Select).value = "work"
        screen.query_one("#checkin", Button).press()
        await _settle(pilot, app)
        shown = str(screen.query_one("#result", Static).content)
        assert shown.startswith("交付可")
        assert "選挙区・比例代表" in shown and "国民審査" not in shown  # 国民審査 opens tomorrow
        assert screen.query_one("#handed", Button).display
        assert not screen.query_one("#provisional", Button).display
        screen.query_one("#handed", Button).press()
        await pilot.pause()
        assert "交付可" not in _text(app)
    (cast,) = [r for r in rec.iter_records(van) if r.type == "vote.cast"]
    assert cast.payload is not None
    assert cast.payload["voter_no"] == "000103"
    assert cast.payload["stop_id"] == "stop-ogawa-1"
    assert cast.payload["ballots"] == ["senkyoku", "hirei"]


async def test_offline_offers_only_provisional(van: sqlite_utils.Database) -> None:
    screen = _screen(van, f"http://127.0.0.1:{free_port()}", timeout=2)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await _scan_and_check(pilot, screen)
        await _settle(pilot, app)
        assert "ハブに接続できません" in _text(app)
        assert "仮投票のみ" in _text(app)
        assert "交付可" not in _text(app)
        assert not screen.query_one("#handed", Button).display
        assert screen.query_one("#provisional", Button).display
        screen.handed()  # even a stray call cannot record ballots without a confirmation
        first_id = screen.request_id
        screen.query_one("#retry", Button).press()
        await _settle(pilot, app)
        assert screen.request_id == first_id  # a retry reuses the request id
        assert "交付可" not in _text(app)
        screen.query_one("#provisional", Button).press()
        await pilot.pause()
        await pilot.press("y")  # 仮投票 is asked once
        await pilot.pause()
        assert "仮投票として記録しました" in _text(app)
    assert _types(van) == ["vote.pending", "vote.provisional"]
    (prov,) = [r for r in rec.iter_records(van) if r.type == "vote.provisional"]
    assert prov.payload is not None
    assert (prov.payload["voter_no"], prov.payload["reason"]) == ("000101", "illness")
    assert prov.payload["request_id"] == first_id


async def test_hub_killed_between_request_and_answer_never_shows_kofuka(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    # The hub commits the check-in, then holds the answer; we kill it meanwhile.
    hub = start_hub(hub_path, env={"ODEKAKE_VOTE_TEST_DELAY": "8"})
    screen = _screen(van, hub.url, timeout=20, auth=signer(hub_path, "van-1"))
    app = Host(screen)
    watcher = connect(hub_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _scan_and_check(pilot, screen)
        deadline = time.monotonic() + 10
        while watcher.execute("SELECT COUNT(*) FROM vote_checkins").fetchone()[0] == 0:
            assert "交付可" not in _text(app)
            assert time.monotonic() < deadline, "the hub never received the check-in"
            await asyncio.sleep(0.05)
        assert "照会中" in _text(app)
        assert "交付可" not in _text(app)
        screen.query_one("#ticket", Input).focus()
        await pilot.press(*"000102", "enter")  # the clerk cannot move on mid-request
        await pilot.pause()
        assert screen.voter is not None and screen.voter.voter_no == "000101"
        hub.kill()
        await _settle(pilot, app)
        assert "交付可" not in _text(app)
        assert "ハブに接続できません" in _text(app)
        assert not screen.query_one("#handed", Button).display
        assert screen.query_one("#provisional", Button).display
        screen.query_one("#provisional", Button).press()
        await pilot.pause()
        await pilot.press("y")  # 仮投票 is asked once
        await pilot.pause()
    assert _types(van) == ["vote.pending", "vote.provisional"]
    # the hub had decided before it died: at sync, the provisional vote is an incident
    for r in rec.iter_records(van):
        rec.insert_record(watcher, r)
    (incident,) = ck.reconcile(watcher)
    assert incident.kind == "provisional_after_checkin"
    watcher.close()


async def test_already_voted_blocks_until_a_second_clerk_releases(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    hub = start_hub(hub_path)
    first = signed_client(hub_path, "counter-1", hub.url, timeout=10).checkin(
        election_id=ELECTION_ID,
        voter_no="000101",
        station_id="taira",
        clerk_id="cl002",
        device_id="counter-1",
        reason="work",
    )
    assert isinstance(first, Confirmed)
    screen = _screen(van, hub.url, auth=signer(hub_path, "van-1"))
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await _scan_and_check(pilot, screen)
        await _settle(pilot, app)
        assert isinstance(app.screen, VoteBlockedModal)
        text = _text(app)
        assert "投票不可" in text and "平支所" in text
        t = datetime.fromisoformat(first.checked_at).astimezone(JST)
        assert f"平支所 で {t.month}月{t.day}日 {t:%H:%M} に名簿対照済み" in text
        assert "担当した事務従事者: 佐藤 次郎 cl002(端末 counter-1)" in text  # by whom
        assert "交付可" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, VoteBlockedModal)  # escape does not leave it
        modal = app.screen
        for clerk, pin, message in [
            ("cl001", "345678", "別の人"),
            ("cl002", "999999", "PINが違います"),
        ]:
            modal.query_one("#second-clerk", Input).value = clerk
            modal.query_one("#second-pin", Input).value = pin
            modal.query_one("#release", Button).press()
            await pilot.pause()
            assert isinstance(app.screen, VoteBlockedModal)
            assert message in str(modal.query_one("#blocked-error", Static).content)
        modal.query_one("#second-clerk", Input).value = "cl002"
        modal.query_one("#second-pin", Input).value = "234567"
        modal.query_one("#release", Button).press()
        await pilot.pause()
        assert app.screen is screen
        assert "交付可" not in _text(app)
        assert screen.voter is None
    # the check-in written ahead, then settled by the closed 投票不可
    assert _types(van) == ["vote.pending", "vote.blocked"]
    (pending, blocked) = list(rec.iter_records(van))
    assert pending.payload is not None and blocked.payload is not None
    assert blocked.payload["request_id"] == pending.payload["request_id"]
    assert blocked.payload is not None
    assert blocked.payload["second_clerk_id"] == "cl002"
    assert blocked.payload["first"]["station_id"] == "taira"


def test_screen_factory_picks_todays_van_stop_for_clerks_only(van: sqlite_utils.Database) -> None:
    from kiosk.screens.voting import make_voting_screen
    from odekake.errors import OdekakeError

    master.add_operator(van, "op001", "山田 花子", ["operator"], "123456", kdf=TEST_ONLY_CHEAP_KDF)
    screen = make_voting_screen(van, "http://127.0.0.1:9", "cl001")
    assert (screen.election.id, screen.station.id) == (ELECTION_ID, "ogawa-van")  # mobile first
    with pytest.raises(OdekakeError, match="投票事務従事者"):
        make_voting_screen(van, "http://127.0.0.1:9", "op001")
    rl.close_election(van, ELECTION_ID)
    with pytest.raises(OdekakeError, match="本日開設の期日前投票所がありません"):
        make_voting_screen(van, "http://127.0.0.1:9", "cl001")


async def test_an_unverifiable_answer_is_an_unknown_outcome_then_the_retry_gets_it(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    """After `hub rotate-key`, before the van pins the new key, the hub checks the voter
    in but its answer does not verify: the screen must not say nothing changed nor
    offer a 仮投票; after the key is pinned again the same request gets 交付可."""
    hub_public_key(hub_path)  # the hub's key of today, which the van pins below
    auth = signer(hub_path, "van-1")
    rotate_hub_key(hub_path)
    hub = start_hub(hub_path)
    screen = _screen(van, hub.url, auth=auth)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await _scan_and_check(pilot, screen)
        await _settle(pilot, app)
        shown = str(screen.query_one("#result", Static).content)
        assert "結果不明" in shown and "何も変更していません" not in shown, shown
        assert not screen.query_one("#provisional", Button).display
        assert screen.query_one("#retry", Button).display
        first = screen.request_id
        auth.hub_key = hub_public_key(hub_path)  # device pin-hub --accept-new-hub-key
        screen.query_one("#retry", Button).press()
        await _settle(pilot, app)
        assert str(screen.query_one("#result", Static).content).startswith("交付可")
        assert screen.request_id == first
    hub_db = connect(hub_path)
    rows = hub_db.execute("SELECT voter_no, request_id FROM vote_checkins").fetchall()
    hub_db.close()
    assert rows == [("000101", first)]


async def test_a_sealed_roll_says_so_and_finds_no_one(van: sqlite_utils.Database) -> None:
    """Without a clerk's login the roll stays sealed: the screen names why, no traceback."""
    clerk_keys.lock(van)
    screen = _screen(van, "http://127.0.0.1:9")
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        screen.query_one("#ticket", Input).focus()
        await pilot.press(*"000101", "enter")
        await pilot.pause()
        assert "選挙人名簿は封印されています" in _text(app)
        assert screen.voter is None
        screen.query_one("#kana", Input).value = "やまだたろう"
        screen.query_one("#birth", Input).value = "1950-03-02"
        screen.query_one("#search", Button).press()
        await pilot.pause()
        assert "選挙人名簿は封印されています" in _text(app)
        assert screen.voter is None
