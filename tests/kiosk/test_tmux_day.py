"""A whole day on the demo in a real terminal (tmux, 80×24): log in, open a stop,
issue a certificate, void it from today's list (a supervisor's PIN at the counter),
close the stop and the day, see cash refused, and re-open the day as a supervisor.

The kiosk's stderr is never redirected: Textual draws there. The screen is read
with ``tmux capture-pane``; the tmux server has its own socket and is killed in
``finally``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .test_tmux_smoke import TMUX, Terminal


def records(path: Path, type_: str) -> list[dict[str, Any]]:
    """Payloads as stored: the demo van seals personal fields to the demo hub's key, and
    what this test reads (receipt numbers, amounts, day-close totals) is never sealed."""
    import json

    from odekake.db import connect

    db = connect(path)
    try:
        return [
            json.loads(r[0])
            for r in db.execute("SELECT payload FROM records WHERE type = ? ORDER BY seq", [type_])
        ]
    finally:
        db.close()


def build_demo(directory: Path) -> Path:
    odekake = Path(sys.executable).parent / "odekake"
    subprocess.run(
        [str(odekake), "demo", "--dir", str(directory), "--seed", "7", "--no-kiosk"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return directory / "van.db"


def quit_kiosk(term: Terminal) -> None:
    term.keys("C-q")
    deadline = time.monotonic() + 15
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive(), "the kiosk did not quit on Ctrl+Q"


def fits(shown: str) -> None:
    lines = shown.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_a_whole_day_on_the_demo_in_a_real_terminal(tmp_path: Path) -> None:
    van = build_demo(tmp_path / "demo")
    before = {p["receipt_no"] for p in records(van, "certificate.issue")}
    odekake = Path(sys.executable).parent / "odekake"
    log = tmp_path / "kiosk.log"
    term = Terminal(f"odekake-day-test-{os.getpid()}")
    command = f"env LANG=C.UTF-8 TERM=xterm-256color {odekake} kiosk --db {van} --log {log}"
    try:
        term.tmux("new-session", "-d", "-s", "kiosk", "-x", "80", "-y", "24", command)
        # Log in as an operator (not a supervisor).
        term.wait_for("職員IDとPINを入力して Enter")
        term.type("op001")
        term.keys("Enter")
        term.type("123456")
        term.keys("Enter")
        term.wait_for("本日の運行")
        # Open today's first planned stop.
        term.keys("Enter")
        term.wait_for("サービスを選ぶ")
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
        # Close the stop, then the day (the voided fee is not cash to count).
        term.keys("c")
        term.wait_for("この会場を閉じますか")
        term.keys("y")
        term.wait_for("本日の運行")
        # VOTING HOOK (issue 12): once the voting helper's work is merged, the early-
        # voting part of the day goes here — open the demo election's mobile station,
        # check a voter in, and see the second ballot for the same voter blocked
        # (投票不可) — before the day close below.
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
        term.keys("Right", "Tab", "Tab", "Tab")
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
    issued = [p for p in records(van, "certificate.issue") if p["receipt_no"] not in before]
    assert len(issued) == 1
    [void] = [v for v in records(van, "record.void") if v["receipt_no"] == issued[0]["receipt_no"]]
    assert void["approved_by"] == "sv001" and void["operator_id"] == "op001"
    closes = records(van, "day.close")
    assert closes[-1]["voided_receipts"] == [issued[0]["receipt_no"]]
    [reopen] = records(van, "day.reopen")
    assert reopen["supervisor_id"] == "sv001" and reopen["reason"] == "追加の証明書"
    assert "login op001" in log.read_text(encoding="utf-8")
