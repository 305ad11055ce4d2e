"""The card reader in a real terminal: ``odekake kiosk`` in tmux at 80×24 reads an
emulated My Number card through a real pcscd into a 住民票 request and saves it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from odekake.cardreader.emulator import EmulatedCard, Resident
from tests.cardstack import Inserted

from .helpers import records
from .test_tmux_smoke import TMUX, Terminal


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed")
def test_card_read_into_a_certificate_in_a_real_terminal(
    kiosk_path: Path, insert: Inserted
) -> None:
    card = insert(EmulatedCard(Resident(name="草野\ue010江", sex="2"), pin="5931"))
    odekake = Path(sys.executable).parent / "odekake"
    socket_name = os.environ["PCSCLITE_CSOCK_NAME"]
    term = Terminal(f"odekake-card-test-{os.getpid()}")
    command = (
        f"env LANG=C.UTF-8 TERM=xterm-256color PCSCLITE_CSOCK_NAME={socket_name} "
        f"{odekake} kiosk --db {kiosk_path}"
    )
    keys = 0

    def key(*names: str) -> None:
        nonlocal keys
        keys += len(names)
        term.keys(*names)

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
        key("1")
        term.wait_for("証明書の交付")
        shown = term.wait_for("f4 カード読取")  # the key is in the footer
        key("F4")
        shown = term.wait_for("キーボードをお客様に向けてください")
        term.type("5931")  # the resident's PIN (not counted)
        shown = term.screen()
        assert "5931" not in shown  # masked on the screen
        term.keys("Enter")
        shown = term.wait_for("ICチップから入力しました")
        assert "草野〓江" in shown and "外字" in shown
        # the card's address in full (the field shows only its start)
        assert "".join(card.resident.address.split()) in "".join(shown.split())
        lines = shown.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        key("C-s")
        shown = term.wait_for("領収書PDFを作成しました")
        key("Enter")
        term.wait_for("この会場の利用者: 証明書 1")
        term.keys("C-q")
        deadline = time.monotonic() + 15
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        term.tmux("kill-server", check=False)
    assert keys <= 6, keys  # 1 · F4 · Ctrl+S · ⏎ — no name or address typed
    [p] = records(kiosk_path, "certificate.issue")
    assert p["requester"]["name"] == "草野〓江"
    assert p["requester"]["name_on_chip"] == "草野\ue010江"
    assert p["id_check"]["chip"] is True
    assert not card.touched_number
    log = (kiosk_path.parent / "kiosk.log").read_text(encoding="utf-8")
    assert "5931" not in log and "草野" not in log
