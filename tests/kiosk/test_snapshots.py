"""Snapshot tests (pytest-textual-snapshot) of the key screens at 80×24, fixed clock.

Regenerate after an intended change with ``pytest tests/kiosk/test_snapshots.py
--snapshot-update`` and look at the SVGs before committing them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from kiosk.app import make_app

from .conftest import FixedClock
from .helpers import login

Step = Callable[[Pilot[Any]], Awaitable[None]]


def steady(then: Step) -> Step:
    """Run ``then``, drop toasts and stop cursors blinking so the picture is stable."""

    async def run(pilot: Pilot[Any]) -> None:
        await then(pilot)
        await pilot.pause()
        pilot.app.clear_notifications()
        for widget in pilot.app.screen.query(Input):
            widget.cursor_blink = False
        await pilot.pause()

    return run


async def to_menu(pilot: Pilot[Any]) -> None:
    await login(pilot)
    await pilot.press("enter")
    await pilot.pause()


def test_main_menu(snap_compare: Any, kiosk_path: Path) -> None:
    """The service menu of the open 川前公民館 stop: the top bar (fixed clock 2026-11-24
    10:05, operator 山田 花子, stop and window), keys 1–7 with their services, り災 marked
    as not offered at this regular stop, the tally line, and the footer keys
    (c 会場を閉じる, v 書損, ^q 終了)."""
    app = make_app(kiosk_path, clock=FixedClock())
    assert snap_compare(app, terminal_size=(80, 24), run_before=steady(to_menu))


def test_certificate_form(snap_compare: Any, kiosk_path: Path) -> None:
    """The certificate form, partly filled, after a save with errors: every field on one
    line within 80×24, the fee line (300円 × 1), and the errors next to 住所 and
    本人確認書類; footer ^s 保存 / esc 戻る."""

    async def fill(pilot: Pilot[Any]) -> None:
        await to_menu(pilot)
        await pilot.press("1")
        await pilot.pause()
        await pilot.press(*"遠藤 ヨシ子", "ctrl+s")

    app = make_app(kiosk_path, clock=FixedClock())
    assert snap_compare(app, terminal_size=(80, 24), run_before=steady(fill))


def test_day_close(snap_compare: Any, kiosk_path: Path) -> None:
    """The 日計表 after one 520-yen cash ticket at the planned stop, now closed: the
    summary (会場 1, 領収 1 件, 現金収納額 520円, ごみ納付券 1), float 10,000 typed, one
    10,000-yen note counted, the live line showing あるべき現金 10,520円 and 差額 -520円,
    and the 差額の理由 field."""

    async def close(pilot: Pilot[Any]) -> None:
        await login(pilot)
        await pilot.press("enter")  # open 川前公民館 (planned)
        await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.press("enter", "c", "y")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        await pilot.press(*"10000", "tab", "1")

    app = make_app(kiosk_path, clock=FixedClock())
    assert snap_compare(app, terminal_size=(80, 24), run_before=steady(close))
