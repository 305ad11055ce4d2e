"""A whole day on the demo in a real terminal (tmux, 80×24): log in, open a stop,
issue a certificate, void it from today's list (a supervisor's PIN at the counter),
hand the open stop to the election clerk for early voting (the van offline: a 仮投票,
the same voter blocked locally as 投票不可, a voter who voted elsewhere that the van
cannot know about; then the hub up: a voter checked in, 次の選挙人 refused, the ballot
handed out, the hub gone and the same voter back → 投票不可 from the van's own record;
交付取りやめ released at the hub; `hub rotate-key` → an answer the van cannot verify
said as an unknown outcome, then re-pinned and retried → 交付可), close the stop and
the day, see cash refused, re-open the day as a supervisor, sync, and `vote report`
counting each person once.

The kiosk's stderr is never redirected: Textual draws there. The screen is read
with ``tmux capture-pane``; the tmux server has its own socket and is killed in
``finally``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .test_tmux_smoke import TMUX, Terminal

VOTE_TYPES = (
    "vote.provisional",
    "vote.cast",
    "vote.blocked",
    "vote.checked_in",
    "vote.withdrawn",
)


def records(path: Path, type_: str) -> list[dict[str, Any]]:
    """Payloads as stored: the demo van seals personal fields to the demo hub's key, and
    what this test reads (receipt numbers, amounts, day-close totals) is never sealed."""
    import json

    from odekake.storage.db import connect

    db = connect(path)
    try:
        return [
            json.loads(r[0])
            for r in db.execute("SELECT payload FROM records WHERE type = ? ORDER BY seq", [type_])
        ]
    finally:
        db.close()


class DemoHub:
    """`odekake hub serve` on the demo's hub, on one loopback port, started and stopped
    as the day goes (every start waits at most 30 s for the health check)."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db = db
        self.log = log
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import httpx

        self.stop()  # never two: a second start would leave the first hub running
        odekake = Path(sys.executable).parent / "odekake"
        self.proc = subprocess.Popen(
            [str(odekake), "hub", "serve", "--db", str(self.db), "--host", "127.0.0.1",
             "--port", str(self.port), "--log", str(self.log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the hub exited"
            try:
                if httpx.get(f"{self.url}/vote/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the hub did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


def odekake_cli(*args: str) -> str:
    odekake = Path(sys.executable).parent / "odekake"
    done = subprocess.run(
        [str(odekake), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def point_van_at(van: Path, url: str) -> None:
    from odekake.storage.db import connect, device_id_of
    from odekake.sync.client import remember_hub_url

    db = connect(van)
    try:
        remember_hub_url(db, device_id_of(db), url)
    finally:
        db.close()


def check_in(term: Terminal, voter_no: str) -> None:
    """Scan a ticket, choose reason 1, press 名簿対照."""
    term.type(voter_no)
    term.keys("Enter")
    term.wait_for(f"選挙人番号 {voter_no}")
    choose_reason(term, 1, "1 仕事・学業・冠婚葬祭等の用務")
    term.keys("Tab", "Enter")


def voting_with_the_hub(term: Terminal, hub: DemoHub, van: Path) -> None:
    """The voting station with a real hub: the D0006 sequence, 交付取りやめ, an answer
    the van cannot verify (the hub's key rotated), re-pinned and retried."""
    hub.start()
    point_van_at(van, hub.url)
    term.keys("8")
    term.wait_for("ハブ: 接続できます")
    # D0006 is checked in; the clerk presses 次の選挙人: refused, the check-in is kept
    check_in(term, "D0006")
    shown = term.wait_for("交付可")
    fits(shown)
    term.keys("F2")
    shown = term.wait_for("交付取りやめ」を選んでください")
    assert "選挙人番号 D0006" in shown
    term.keys("Enter")  # 投票用紙を交付しました (focused)
    term.wait_for("交付を記録しました")
    # the hub stops; D0006 comes back: 投票不可 from the van's own record, no 仮投票
    hub.stop()
    check_in(term, "D0006")
    shown = term.wait_for("投票用紙を交付しないでください")
    assert "名簿対照済み" in shown and "この車両の記録による判定です" in shown
    assert "仮投票" not in shown
    term.type("sv001")
    term.keys("Tab")
    term.type("999999")
    term.keys("Enter")
    term.wait_for("投票不可として記録しました")
    # 交付取りやめ: D0001 is checked in, then leaves without a ballot
    hub.start()
    check_in(term, "D0001")
    term.wait_for("交付可")
    term.keys("Tab", "Enter")  # 交付取りやめ
    term.wait_for("理由を入力してください")
    term.type("本人が辞退")
    term.keys("Enter")
    shown = term.wait_for("ハブの名簿対照を取り消しました")
    fits(shown)
    # the hub's key is rotated; the van has not pinned the new one yet
    hub.stop()
    rotated = odekake_cli("hub", "rotate-key", "--db", str(hub.db), "--yes")
    new_key = rotated.split("新しい公開鍵: ", 1)[1].split()[0]
    hub.start()
    check_in(term, "D0002")
    shown = term.wait_for("結果不明")
    fits(shown)
    assert "何も変更していません" not in shown and "仮投票として受け付ける" not in shown
    assert "もう一度ハブに照会" in shown
    odekake_cli("device", "pin-hub", "--db", str(van), "--hub-key", new_key, "--accept-new-hub-key")
    term.keys("Enter")  # もう一度ハブに照会 (focused): the same request
    term.wait_for("交付可")
    term.keys("Enter")
    term.wait_for("交付を記録しました")
    term.keys("Escape")
    term.wait_for("サービスを選ぶ")


def build_demo(directory: Path) -> Path:
    odekake = Path(sys.executable).parent / "odekake"
    subprocess.run(
        [str(odekake), "demo", "--dir", str(directory), "--seed", "7", "--no-kiosk"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return directory / "van.db"


@contextmanager
def unreachable_hub(van: Path) -> Iterator[str]:
    """Point the van at a loopback port that is bound but never listens: every
    connection is refused at once, whatever else runs on this machine (the demo's
    own hub URL, port 8765, may be served by someone trying the README's tour)."""
    from odekake.storage.db import connect, device_id_of
    from odekake.sync.client import remember_hub_url

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        db = connect(van)
        try:
            remember_hub_url(db, device_id_of(db), url)
        finally:
            db.close()
        yield url


def wait_until(term: Terminal, ok: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
    """Wait until the screen satisfies ``ok`` (e.g. a text has gone)."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = term.screen()
        if ok(shown):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{what}; the screen shows:\n{shown}")


def login_as(term: Terminal, operator: str, pin: str) -> None:
    term.wait_for("職員IDとPINを入力して Enter")
    term.type(operator)
    term.keys("Enter")
    term.type(pin)
    term.keys("Enter")


def open_first_planned(term: Terminal) -> None:
    """Open today's first planned stop; at a time of day well outside its hours (the
    test runs whenever it runs) the kiosk asks why, and a reason is given."""
    term.keys("Enter")
    shown = wait_until(
        term, lambda s: "サービスを選ぶ" in s or "開く理由" in s, "the stop did not open"
    )
    if "サービスを選ぶ" not in shown:
        term.type("試験運用")
        term.keys("Enter")
        term.wait_for("サービスを選ぶ")


def choose_reason(term: Terminal, downs: int, label: str) -> None:
    """Open the 宣誓書 list (the Select has focus), move down, pick; wait until chosen."""
    term.keys("Enter")
    shown = term.wait_for("6 天災・悪天候で到達困難")  # the list is open
    # every reason reads whole in the terminal (no wide character cut by the overlay)
    for whole in ("1 仕事・学業・冠婚葬祭等の用務", "5 区域外の住所に居住"):
        assert whole in shown, shown
    term.keys(*["Down"] * downs, "Enter")
    wait_until(
        term,
        lambda s: label in s and "宣誓書の事由" not in s and "6 天災" not in s,
        f"the reason {label!r} was not chosen",
    )


def quit_kiosk(term: Terminal) -> None:
    term.keys("C-q")
    deadline = time.monotonic() + 15
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive(), "the kiosk did not quit on Ctrl+Q"


def fits(shown: str) -> None:
    lines = shown.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)


def run_the_day(term: Terminal, command: str, hub: DemoHub, van: Path) -> None:
    """The day, key by key; the tmux server is killed whatever happens."""
    try:
        term.tmux("new-session", "-d", "-s", "kiosk", "-x", "80", "-y", "24", command)
        # Log in as an operator (not a supervisor).
        term.wait_for("職員IDとPINを入力して Enter")
        term.type("op001")
        term.keys("Enter")
        term.type("123456")
        term.keys("Enter")
        shown = term.wait_for("本日の運行")
        term.wait_for("^q 終了")  # the footer's last key is not cut at 80 columns
        # Open today's first planned stop.
        open_first_planned(term)
        # A certificate: the common request.
        term.keys("1")
        term.wait_for("証明書の交付")
        term.type("佐藤 清")
        term.keys("Tab")
        term.type("いわき市川前町デモ3")
        term.keys("Tab", "Right", "C-s")
        shown = term.wait_for("領収書PDFを作成しました")
        fits(shown)
        term.keys("Enter")
        term.wait_for("この会場の利用者")
        # Void it, picked from today's list, previewed, approved by a supervisor's PIN.
        term.keys("v")
        term.wait_for("住民票の写し  300円")  # the list is filled (the search box has focus)
        term.keys("Down")
        time.sleep(0.5)  # the list takes focus before the letter V acts on it
        term.keys("v")
        shown = term.wait_for("書損(取消)にしますか")
        assert "300円" in shown
        term.keys("y")
        term.wait_for("監督者の職員ID")
        term.type("sv001")
        term.keys("Enter")
        term.type("999999")
        term.keys("Enter")
        shown = term.wait_for("書損として記録しました")
        assert "山田 花子" in shown  # the operator stays logged in
        term.keys("Escape")
        term.wait_for("この会場の利用者")
        # Early voting (issue 12): today's first stop is the demo election's mobile
        # station. The election clerk takes over the open stop (op001 is no clerk).
        term.keys("l")
        login_as(term, "cl001", "345678")
        shown = term.wait_for("サービスを選ぶ")
        assert "高橋 美咲" in shown and "田人支所 駐車場" in shown  # the stop stayed open
        term.keys("8")
        # the hub does not answer: said before the clerk starts
        shown = term.wait_for("ハブ: 接続できません")
        assert "期日前投票 名簿対照" in shown and "いわき市長選挙(デモ)" in shown
        fits(shown)
        # find the voter by フリガナ and a 和暦 birth date
        term.keys("Tab")
        term.type("タカハシ カズコ")
        term.keys("Tab")
        term.type("S25.3.2")
        term.keys("Enter")
        shown = term.wait_for("選挙人番号 D0003")
        assert "高橋 和子" in shown
        choose_reason(term, 3, "3 疾病・負傷・高齢等で歩行困難")
        term.keys("Tab", "Enter")  # 名簿対照
        shown = term.wait_for("仮投票として受け付ける")  # offered only when offline
        assert "名簿対照ができないため交付はできません" in shown and "交付可" not in shown
        message = next(line for line in shown.splitlines() if "名簿対照ができない" in line)
        assert not re.search("[A-Za-z]", message), message  # no exception's English name
        fits(shown)
        term.keys("Tab", "Enter")  # from もう一度ハブに照会 to 仮投票として受け付ける
        term.wait_for("仮投票として受け付けますか")  # asked once
        term.keys("y")
        shown = term.wait_for("仮投票として記録しました")
        # two minutes later the same voter is back (the ticket scanned): blocked here
        term.type("D0003")
        term.keys("Enter")
        term.wait_for("選挙人番号 D0003")
        choose_reason(term, 3, "3 疾病・負傷・高齢等で歩行困難")
        term.keys("Tab", "Enter")
        shown = term.wait_for("投票用紙を交付しないでください")
        assert "投票不可" in shown and "仮投票済み" in shown
        assert "この車両の記録による判定です" in shown
        fits(shown)
        # Escape does not leave it, and says how to; the clerk on duty cannot confirm
        # it alone
        term.keys("Escape")
        fits(term.wait_for("別の事務従事者のIDとPINで閉じます"))
        term.type("cl001")
        term.keys("Tab")
        term.type("345678")
        term.keys("Enter")
        term.wait_for("ログイン中の事務従事者とは別の人が確認してください")
        # a second clerk confirms (no ballot is handed out) and the block closes
        term.keys("BTab", "C-u")
        term.type("sv001")
        term.keys("Tab")
        term.type("999999")
        term.keys("Enter")
        shown = term.wait_for("投票不可として記録しました")
        assert "投票用紙を交付しないでください" not in shown
        # D0008 voted at 平支所 yesterday, which only the hub knows: offline, the van
        # can only say it cannot check the roll (a 仮投票 would be reconciled at the hub)
        term.type("D0008")
        term.keys("Enter")
        shown = term.wait_for("選挙人番号 D0008")
        assert "吉田 博" in shown
        choose_reason(term, 1, "1 仕事・学業・冠婚葬祭等の用務")
        term.keys("Tab", "Enter")
        shown = term.wait_for("仮投票として受け付ける")
        assert "名簿対照ができないため交付はできません" in shown
        assert "投票不可" not in shown and "平支所" not in shown and "交付可" not in shown
        term.keys("F2")  # 次の選挙人: nothing recorded for D0008
        wait_until(term, lambda s: "D0008" not in s, "F2 did not clear the voter")
        term.keys("Escape")
        term.wait_for("サービスを選ぶ")
        voting_with_the_hub(term, hub, van)
        # the operator takes the stop back for the cash part of the day
        term.keys("l")
        login_as(term, "op001", "123456")
        term.wait_for("サービスを選ぶ")
        # The top bar names the operator once it fits: while ハブ鍵不一致 (an automatic sync
        # that met the rotated key before the re-pin) is still shown, 80 columns leave the
        # name out by design, until the next automatic sync (its back-off) clears it.
        wait_until(
            term,
            lambda s: "山田 花子" in s and "サービスを選ぶ" in s,
            "the operator's name did not come back to the top bar",
            timeout=60.0,
        )
        # Close the stop, then the day (the voided fee is not cash to count).
        term.keys("c")
        term.wait_for("この会場を閉じますか")
        term.keys("y")
        term.wait_for("本日の運行")
        term.keys("d")
        term.wait_for("日計表(締め)")
        term.type("10000")
        term.keys("Tab")
        term.type("1")
        term.keys("C-s")
        term.wait_for("日計を締めました")
        term.keys("Escape")
        shown = term.wait_for("日計は締め済み")
        fits(shown)
        # Cash is refused after the close, even at a new stop.
        term.keys("u")
        term.wait_for("計画外の会場を開く")
        term.keys("Right", "Tab", "Tab")
        term.type("13:00-14:00")  # its hours: asked, never assumed
        term.keys("Tab")
        term.type("追加の依頼")
        term.keys("C-s")
        term.wait_for("サービスを選ぶ")
        term.keys("1")
        shown = term.wait_for("手数料の収納はできません")
        assert "サービスを選ぶ" in shown  # the form did not open
        term.keys("c")
        term.wait_for("この会場を閉じますか")
        term.keys("y")
        term.wait_for("本日の運行")
        # A supervisor re-opens the day at the counter (no logout), with a reason.
        term.keys("o")
        term.wait_for("日計の再開")
        term.type("sv001")
        term.keys("Enter")
        term.type("999999")
        term.keys("Enter")
        term.type("追加の証明書")
        term.keys("Enter")
        term.wait_for("日計を再開しました")
        quit_kiosk(term)
    finally:
        term.tmux("kill-server", check=False)


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_a_whole_day_on_the_demo_in_a_real_terminal(tmp_path: Path) -> None:
    van = build_demo(tmp_path / "demo")
    before = {p["receipt_no"] for p in records(van, "certificate.issue")}
    votes_before = {t: len(records(van, t)) for t in VOTE_TYPES}
    odekake = Path(sys.executable).parent / "odekake"
    log = tmp_path / "kiosk.log"
    term = Terminal(f"odekake-day-test-{os.getpid()}")
    command = f"env LANG=C.UTF-8 TERM=xterm-256color {odekake} kiosk --db {van} --log {log}"
    hub = DemoHub(tmp_path / "demo" / "hub.db", tmp_path / "hub.log")
    try:
        with unreachable_hub(van):
            run_the_day(term, command, hub, van)
        # Back at city hall: the van syncs, and the report counts people.
        hub.start()
        odekake_cli("sync", "push", "--db", str(van), "--hub", hub.url, "--retries", "1")
        report = odekake_cli(
            "vote", "report", "--db", str(hub.db), "--election", "demo-election",
            "--out", str(tmp_path / "vote-report.pdf"),
        )  # fmt: skip
    finally:
        hub.stop()
    issued = [p for p in records(van, "certificate.issue") if p["receipt_no"] not in before]
    assert len(issued) == 1
    [void] = [v for v in records(van, "record.void") if v["receipt_no"] == issued[0]["receipt_no"]]
    assert void["approved_by"] == "sv001" and void["operator_id"] == "op001"
    closes = records(van, "day.close")
    assert closes[-1]["voided_receipts"] == [issued[0]["receipt_no"]]
    [reopen] = records(van, "day.reopen")
    # the re-open reason is sealed to city hall: not readable on the van
    assert reopen["supervisor_id"] == "sv001" and "reason" not in reopen and "sealed" in reopen
    assert "login op001" in log.read_text(encoding="utf-8")
    # Voting: one 仮投票 for D0003 and no second one after the block; ballots for D0006
    # and D0002 (after the retry); D0001 withdrawn; the blocks recorded with the
    # second clerk; nothing for D0008 (the clerk moved on).
    new = {t: records(van, t)[votes_before[t] :] for t in VOTE_TYPES}
    assert [v["voter_no"] for v in new["vote.provisional"]] == ["D0003"]
    [provisional] = new["vote.provisional"]
    assert provisional["reason"] == "illness" and provisional["clerk_id"] == "cl001"
    assert provisional["station_id"] == "demo-van"
    assert [c["voter_no"] for c in new["vote.cast"]] == ["D0006", "D0002"]
    assert [c["voter_no"] for c in new["vote.checked_in"]] == ["D0006", "D0001", "D0002"]
    [withdrawn] = new["vote.withdrawn"]
    assert (withdrawn["voter_no"], withdrawn["reason"]) == ("D0001", "本人が辞退")
    blocked = new["vote.blocked"]
    assert [(b["voter_no"], b["first"]["kind"]) for b in blocked] == [
        ("D0003", "provisional"),
        ("D0006", "checkin"),
    ]
    assert {(b["clerk_id"], b["second_clerk_id"]) for b in blocked} == {("cl001", "sv001")}
    assert "login cl001" in log.read_text(encoding="utf-8")
    # Each person once: D0008 (平支所, yesterday), D0006, D0002 and D0003's 仮投票;
    # D0001 withdrew (released at the hub). 4 of the 8 on the roll.
    assert "全体(重複を除く): 投票者 4人 投票率 50.0%" in report, report
    assert "照合: 投票者 3人 = 名簿対照 3 − 取りやめ 1 + 仮投票 1" in report, report
    assert "インシデント 0件" in report, report
