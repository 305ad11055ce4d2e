"""Helpers for the headless (Pilot) kiosk tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pypdf
import zxingcpp
from PIL import Image
from textual.pilot import Pilot
from textual.widgets import Input

from kiosk.widgets.choice import Choice
from odekake.storage.db import connect


async def login(pilot: Pilot[Any], operator: str = "op001", pin: str = "123456") -> None:
    """Type the operator id and PIN."""
    await pilot.press(*operator, "enter", *pin, "enter")
    await pilot.pause()


async def type_into(pilot: Pilot[Any], selector: str, text: str) -> None:
    """Focus an input and replace its text (as a paste would; typing key by key is
    exercised where it matters, e.g. the key-count test)."""
    control = pilot.app.screen.query_one(selector, Input)
    control.focus()
    control.value = text
    await pilot.pause()


async def choose(pilot: Pilot[Any], field: str, value: Any) -> None:
    """Set a choice field's value (the arrow keys are exercised by the key-count test)."""
    pilot.app.screen.query_one(f"#f-{field}", Choice).value = value
    await pilot.pause()


def records(path: Path, type_: str) -> list[dict[str, Any]]:
    """Payloads of one record type, in order (sealed fields opened as city hall would)."""
    from odekake.storage.sealing import open_payload
    from tests.kiosk.conftest import SEAL_PRIVATE

    db = connect(path)
    try:
        return [
            open_payload(json.loads(r[0]), SEAL_PRIVATE)
            for r in db.execute("SELECT payload FROM records WHERE type = ? ORDER BY seq", [type_])
        ]
    finally:
        db.close()


def assert_receipt(folder: Path, number: str) -> None:
    """The receipt PDF exists, names the number, and its QR decodes back to the number."""
    pdf = folder / f"{number}.pdf"
    png = folder / f"{number}.png"
    assert pdf.exists() and png.exists()
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    assert number in text
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(png))]
    assert len(decoded) == 1
    assert decoded[0].split("|")[1] == number


async def open_afternoon_visit(pilot: Pilot[Any], reason: str = "前倒しで開く") -> None:
    """From Today, open the afternoon り災 visit (13:30-15:30) at the test clock's 10:05:
    more than 30 minutes early, so the reason asked for is typed."""
    from kiosk.widgets.approval import SupervisorApproval

    await pilot.press("down", "enter")
    await pilot.pause()
    assert isinstance(pilot.app.screen, SupervisorApproval)
    await pilot.press(*reason, "enter")
    await pilot.pause()
