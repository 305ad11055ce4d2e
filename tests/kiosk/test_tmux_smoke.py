"""A real-terminal smoke test: ``odekake kiosk`` in a detached tmux session at 80×24.

Start, log in as a demo operator, open an unplanned stop, issue one certificate
(the common request), quit; the screen is read with ``tmux capture-pane -p``.
The tmux server runs on its own socket and is killed in ``finally``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import records

TMUX = shutil.which("tmux")


class Terminal:
    """A tmux session on a private socket."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert TMUX is not None
        return subprocess.run(
            [TMUX, "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=20,
        )

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "kiosk").stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen shows:\n{shown}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "kiosk", key)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "kiosk", "-l", text)
        time.sleep(0.15)

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", "kiosk", check=False).returncode == 0


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_kiosk_in_a_real_terminal(kiosk_path: Path) -> None:
    odekake = Path(sys.executable).parent / "odekake"
    term = Terminal(f"odekake-kiosk-test-{os.getpid()}")
    command = f"env LANG=C.UTF-8 TERM=xterm-256color {odekake} kiosk --db {kiosk_path}"
    try:
        term.tmux("new-session", "-d", "-s", "kiosk", "-x", "80", "-y", "24", command)
        term.wait_for("職員IDとPINを入力して Enter")
        term.type("op001")
        term.keys("Enter")
        term.type("123456")
        term.keys("Enter")
        term.wait_for("本日の運行")
        term.keys("u")
        term.wait_for("計画外の会場を開く")
        term.keys("Right", "Tab", "Tab")  # first site, default activity
        term.type("10:00-12:00")  # the hours: asked, never assumed
        term.keys("Tab")
        term.type("臨時開設")
        term.keys("C-s")
        term.wait_for("サービスを選ぶ")
        term.keys("1")
        term.wait_for("証明書の交付")
        term.type("佐藤 清")
        term.keys("Tab")
        term.type("いわき市川前町デモ3")
        term.keys("Tab", "Right", "C-s")  # 運転免許証, everything else as it comes
        shown = term.wait_for("領収書PDFを作成しました")
        assert "保存しました" in shown
        match = re.search(r"番号: (R\d{4}-van-1-000001)", shown)
        assert match, shown
        assert "300円" in shown
        lines = shown.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        term.keys("Enter")
        term.wait_for("この会場の利用者: 証明書 1")
        term.keys("C-q")
        deadline = time.monotonic() + 15
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not term.alive(), "the kiosk did not quit on Ctrl+Q"
    finally:
        term.tmux("kill-server", check=False)
    [p] = records(kiosk_path, "certificate.issue")
    assert p["receipt_no"] == match.group(1)
    assert (
        p["requester"]["name"] == "佐藤 清" and p["requester"]["address"] == "いわき市川前町デモ3"
    )
    assert (p["service_code"], p["amount"], p["payment"]) == ("cert.juminhyo", 300, "cash")
    assert p["id_check"]["documents"] == ["運転免許証"]
    assert (kiosk_path.parent / "receipts" / f"{match.group(1)}.pdf").exists()
