"""The clerk's voting screen on the station's state machine, driven with Pilot.

A voter checked in and then 次の選挙人 (the van forgot him and later offered him a
仮投票), 交付取りやめ with its reason, 仮投票 taken on one Enter, Ctrl+Q leaving 投票不可
with no question and no record, and a surname + birth date finding nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from textual.app import App
from textual.widgets import Button, Input, OptionList, Select, Static

from kiosk.app import KioskApp, KioskSettings, make_app
from kiosk.screens.voting import VoteBlockedModal, VotingScreen, make_voting_screen
from odekake.access import clerk_keys
from odekake.masterdata import master
from odekake.services.login import login
from odekake.storage import records as rec
from odekake.storage.db import connect, memory_db
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import AlreadyVoted, CheckinResult, Confirmed, Offline
from tests.voting.conftest import CLERK_PINS, ROLL_ROWS, add_clerks, copy_operators, write_roll

from .conftest import DAY, FixedClock
from .test_voting_screen import EID, Host, _election

Answer = Callable[[str], CheckinResult]
HANAKO = "000105,山田 花子,ヤマダ ハナコ,1950-03-02,女,いわき市川前町5,小川第3"


def confirmed(rid: str) -> CheckinResult:
    at = el.jst_now().isoformat(timespec="seconds")
    return Confirmed(rid, (("shicho", "市長"),), "kawamae-van", "移動期日前投票所(川前)", at)


def offline(rid: str) -> CheckinResult:
    return Offline(rid, "ハブに接続できません")


def voted_elsewhere(rid: str) -> CheckinResult:
    return AlreadyVoted(rid, "taira", "平支所", el.jst_now().isoformat(timespec="seconds"))


class Scripted:
    """A hub stand-in answering check-ins from a script; it records releases."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []
        self.released: list[Any] = []

    def reachable(self, timeout: float | None = None) -> bool:
        return True

    def checkin(self, **kw: Any) -> CheckinResult:
        self.calls.append(str(kw["voter_no"]))
        return self.answers.pop(0)(str(kw["request_id"]))

    def release(self, req: Any) -> Any:
        from odekake.voting.client import Released

        self.released.append(req)
        return Released(req.request_id)


def _fill(db: sqlite_utils.Database, tmp: Path) -> None:
    hub = memory_db("hub")
    master.seed_city(hub)
    el.save_election(hub, el.election_from_dict(_election()))
    rl.import_roll(hub, EID, write_roll(tmp / "roll.csv", [*ROLL_ROWS, HANAKO]))
    add_clerks(hub)
    # as a pull leaves the van: the clerks with their sealed keys, the roll sealed to them
    copy_operators(hub, db)
    el.import_election(db, el.export_election(hub, EID))
    rl.load_roll(db, EID, rl.roll_snapshot(hub, EID))
    hub.close()


@pytest.fixture
def van(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    db = memory_db("van", device_id="van-1")
    _fill(db, tmp_path)
    assert clerk_keys.unlock(db, "cl001", CLERK_PINS["cl001"])  # the clerk's login
    yield db
    db.close()


def _screen(van: sqlite_utils.Database, client: Any) -> VotingScreen:
    return make_voting_screen(
        van, "http://127.0.0.1:9", "cl001", client=client, site_id="kawamae-01", day=DAY
    )


def _types(db: sqlite_utils.Database) -> list[str]:
    return [r.type for r in rec.iter_records(db)]


def _shown(app: App[Any]) -> str:
    return "\n".join(str(w.content) for w in app.screen.query(Static))


async def _check_in(pilot: Any, app: App[Any], screen: VotingScreen, code: str) -> None:
    screen.query_one("#ticket", Input).focus()
    await pilot.press(*code, "enter")
    await pilot.pause()
    screen.query_one("#reason", Select).value = "work"
    screen.query_one("#checkin", Button).press()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_checked_in_voter_is_kept_and_blocked_when_he_comes_back(
    van: sqlite_utils.Database,
) -> None:
    """交付可 → F2 → the hub gone → the same voter again: 投票不可 from the van's own
    record (the van had offered him a 仮投票)."""
    screen = _screen(van, Scripted(confirmed))
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await _check_in(pilot, app, screen, "000101")
        assert "交付可" in str(screen.query_one("#result", Static).content)
        assert _types(van) == [
            "vote.pending",
            "vote.checked_in",
        ]  # recorded the moment the hub confirmed
        await pilot.press("f2")
        await pilot.pause()
        assert screen.voter is not None and screen.voter.voter_no == "000101"
        assert "交付取りやめ" in str(screen.query_one("#result", Static).content)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
    # the kiosk restarts (or the clerk got away somehow); the hub cannot be reached
    gone = Scripted(offline)
    again = _screen(van, gone)
    app2 = Host(again)
    async with app2.run_test(size=(80, 24)) as pilot:
        await _check_in(pilot, app2, again, "000101")
        assert isinstance(app2.screen, VoteBlockedModal)
        assert "名簿対照済み" in _shown(app2) and "この車両の記録" in _shown(app2)
    assert gone.calls == []


async def test_withdrawing_takes_a_reason_and_tells_the_hub(van: sqlite_utils.Database) -> None:
    client = Scripted(confirmed)
    screen = _screen(van, client)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await _check_in(pilot, app, screen, "000102")
        screen.query_one("#withdraw", Button).press()
        await pilot.pause()
        await pilot.press("enter")  # no reason: refused
        await pilot.pause()
        assert "理由を入力してください" in _shown(app)
        await pilot.press(*"本人が辞退", "enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen and screen.voter is None
        assert "ハブの名簿対照を取り消しました" in str(screen.query_one("#result", Static).content)
    assert _types(van) == ["vote.pending", "vote.checked_in", "vote.withdrawn"]
    [withdrawn] = [r.payload for r in rec.iter_records(van) if r.type == "vote.withdrawn"]
    assert withdrawn is not None and withdrawn["reason"] == "本人が辞退"
    [release] = client.released
    assert release.request_id == withdrawn["request_id"] and release.reason == "本人が辞退"


async def test_provisional_vote_is_asked_once_before_it_is_recorded(
    van: sqlite_utils.Database,
) -> None:
    screen = _screen(van, Scripted(offline))
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await _check_in(pilot, app, screen, "000103")
        screen.query_one("#provisional", Button).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "仮投票として受け付けますか" in "\n".join(
            str(w.render()) for w in app.screen.query("Label")
        )
        await pilot.press("enter")  # the question's default is いいえ
        await pilot.pause()
        assert "vote.provisional" not in _types(van)
        screen.query_one("#provisional", Button).press()
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert "仮投票として記録しました" in str(screen.query_one("#result", Static).content)
    assert _types(van).count("vote.provisional") == 1


async def test_a_surname_and_birth_date_list_the_candidates(van: sqlite_utils.Database) -> None:
    screen = _screen(van, Scripted())
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        screen.query_one("#kana", Input).focus()
        await pilot.press(*"ﾔﾏﾀﾞ", "tab", *"S25.3.2", "enter")
        await pilot.pause()
        matches = screen.query_one("#matches", OptionList)
        assert matches.display and matches.option_count == 2
        shown = [str(matches.get_option_at_index(i).prompt) for i in range(2)]
        assert "山田 太郎" in shown[0] and "山田 花子" in shown[1]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert screen.voter is not None and screen.voter.voter_no == "000105"


@pytest.fixture
def kiosk(kiosk_path: Path, clock: FixedClock, tmp_path: Path) -> KioskApp:
    """The kiosk over a van database that holds the election, its roll and the clerks."""
    db = connect(kiosk_path)
    _fill(db, tmp_path)
    db.close()
    return make_app(kiosk_path, clock=clock, settings=KioskSettings())


async def _voting_in_kiosk(pilot: Any, app: KioskApp, answer: Answer, code: str) -> VotingScreen:
    await pilot.pause()
    login(app.db, "cl001", CLERK_PINS["cl001"], now=app.now())  # opens the clerk's key
    screen = _screen(app.db, Scripted(answer))
    await app.push_screen(screen)
    await _check_in(pilot, app, screen, code)
    return screen


async def test_ctrl_q_on_the_block_asks_once_and_records_it(
    kiosk: KioskApp, kiosk_path: Path
) -> None:
    app = kiosk
    async with app.run_test(size=(80, 24)) as pilot:
        await _voting_in_kiosk(pilot, app, voted_elsewhere, "000104")
        assert isinstance(app.screen, VoteBlockedModal)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running and "投票不可として記録して終了しますか" in "\n".join(
            str(w.render()) for w in app.screen.query("Label")
        )
        await pilot.press("n")  # back to the block: nothing recorded
        await pilot.pause()
        assert isinstance(app.screen, VoteBlockedModal)
        assert "vote.blocked" not in _types(app.db)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    db = connect(kiosk_path)
    blocks = [r.payload for r in rec.iter_records(db) if r.type == "vote.blocked"]
    db.close()
    assert len(blocks) == 1 and blocks[0] is not None
    assert blocks[0]["voter_no"] == "000104" and blocks[0]["closed_by"] == "quit"


async def test_ctrl_q_with_a_voter_to_settle_is_refused(kiosk: KioskApp) -> None:
    app = kiosk
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _voting_in_kiosk(pilot, app, confirmed, "000101")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        shown = str(screen.query_one("#result", Static).content)
        assert "交付可" in shown and "交付取りやめ」を選んでください" in shown
        screen.query_one("#handed", Button).press()
        await pilot.pause()
        await pilot.press("ctrl+q")  # settled: the kiosk quits
        await pilot.pause()
        assert not app.is_running
