"""A print failure reads in Japanese and names the printer (never lp's English); the
kiosk's log keeps what CUPS said."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from textual.widgets import Static

from kiosk.screens.receipt import ReceiptScreen
from odekake.receipts.printing import explain

from .conftest import FixedClock
from .test_app_flows import SIZE, app_for, open_first_stop

PRINTER = "odekake-no-such-printer"


def english_in(text: str) -> bool:
    """Latin letters beyond the printer's name and the words CUPS and PDF."""
    for word in (PRINTER, "CUPS", "PDF"):
        text = text.replace(word, "")
    return bool(re.search("[A-Za-z]", text))


def test_what_lp_says_becomes_a_japanese_message_naming_the_printer() -> None:
    said = {
        "lp: Error - The printer or class does not exist.": "見つかりません",
        "lp: Error - Scheduler not responding.": "CUPS",
        "lp: Error - The printer or class is not accepting jobs.": "停止中",
        "lp: something new": "ログ",
    }
    for english, japanese in said.items():
        text = explain(PRINTER, english)
        assert japanese in text and PRINTER in text
        assert not english_in(text), text


@pytest.mark.skipif(shutil.which("lp") is None, reason="lp (cups-client) is not installed")
async def test_a_missing_print_queue_is_said_in_japanese_and_logged_with_its_cause(
    kiosk_path: Path, clock: FixedClock
) -> None:
    log = kiosk_path.parent / "kiosk-print.log"
    app = app_for(kiosk_path, clock, printer=PRINTER, log_path=log)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("4", "ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReceiptScreen)
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            shown = str(screen.query_one("#pdf-status", Static).render())
            if "印刷できません" in shown:
                break
        last = shown.splitlines()[-1]
        assert "印刷できませんでした" in last and PRINTER in last, shown
        assert not english_in(last), last
    text = log.read_text(encoding="utf-8")
    assert f"on {PRINTER} failed" in text and "lp" in text
