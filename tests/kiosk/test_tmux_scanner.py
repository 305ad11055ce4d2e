"""A stray scan in a real terminal (tmux, 80×24): a web address scanned at the login
screen, the service menu, a form and the voting screen is refused as
「読み取れないコードです」 and none of its letters acts as a key (at the menu ``c``
would ask to close the stop, ``y`` confirm it, ``l`` log out).

The scanner is tmux typing the address and Enter in one burst; the kiosk's stderr is
never redirected (its log file is read instead).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from kiosk.scanner import UNREADABLE

from .test_tmux_day import build_demo, login_as, open_first_planned, quit_kiosk, unreachable_hub
from .test_tmux_smoke import TMUX, Terminal

CITY_URL = "https://www.city.iwaki.lg.jp/"


def scan(term: Terminal, text: str) -> str:
    """The scanner: the code and Enter in one burst; the refusal it must get."""
    term.tmux("send-keys", "-t", "kiosk", "-l", text + "\r")
    term.wait_for(UNREADABLE)
    time.sleep(0.5)  # anything the letters could have set off has had time to show
    return term.screen()


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_a_stray_scan_is_refused_everywhere_and_never_read_as_keys(tmp_path: Path) -> None:
    van = build_demo(tmp_path / "demo")
    odekake = Path(sys.executable).parent / "odekake"
    log = tmp_path / "kiosk.log"
    term = Terminal(f"odekake-scan-test-{os.getpid()}")
    command = f"env LANG=C.UTF-8 TERM=xterm-256color {odekake} kiosk --db {van} --log {log}"
    with unreachable_hub(van):
        try:
            term.tmux("new-session", "-d", "-s", "kiosk", "-x", "80", "-y", "24", command)
            term.wait_for("職員IDとPINを入力して Enter")
            shown = scan(term, CITY_URL)
            assert "iwaki.lg" not in shown  # nothing landed in the 職員ID field
            login_as(term, "op001", "123456")  # (would fail with the address in the id)
            term.wait_for("本日の運行")
            open_first_planned(term)
            shown = scan(term, CITY_URL)
            assert "サービスを選ぶ" in shown and "閉じますか" not in shown
            assert "職員IDとPIN" not in shown  # not logged out
            term.keys("1")
            term.wait_for("証明書の交付")
            shown = scan(term, CITY_URL)
            assert "証明書の交付" in shown and "iwaki.lg" not in shown
            term.keys("Escape")  # nothing typed: leaves without a question
            term.wait_for("サービスを選ぶ")
            term.keys("l")
            login_as(term, "cl001", "345678")
            term.wait_for("サービスを選ぶ")
            term.keys("8")
            term.wait_for("ハブ: 接続できません")
            shown = scan(term, CITY_URL)
            assert "名簿対照" in shown and "iwaki.lg" not in shown
            quit_kiosk(term)
        finally:
            term.tmux("kill-server", check=False)
    text = log.read_text(encoding="utf-8")
    assert "scan read" in text and "Traceback" not in text
