"""Receipts: what a municipal receipt carries, a sealed 宛名, reprints from
today's list, printing through a real CUPS, and the kiosk's log file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pypdf
import pytest
from textual.widgets import Static

from kiosk.app import KioskApp, KioskSettings, make_app
from kiosk.screens.menu import MenuScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.void import VoidScreen
from kiosk.widgets.tick import Tick
from odekake.storage import sealing
from odekake.storage.db import connect, set_meta
from odekake.storage.records import SEAL_KEY_META

from .conftest import FixedClock
from .cups import PdfPrinter
from .helpers import choose, login, type_into

SIZE = (80, 24)


def app_for(path: Path, clock: FixedClock, **settings: Any) -> KioskApp:
    return make_app(path, clock=clock, settings=KioskSettings(**settings))


def pdf_text(path: Path) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


async def issue_certificate(pilot: Any, addressee: str = "") -> ReceiptScreen:
    await pilot.press("1")
    await type_into(pilot, "#f-name", "遠藤 ヨシ子")
    await type_into(pilot, "#f-address", "いわき市川前町デモ1")
    await pilot.press("tab", "right")
    if addressee:
        await type_into(pilot, "#f-addressee", addressee)
    await pilot.press("ctrl+s")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ReceiptScreen)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


def seal_the_van(path: Path) -> None:
    db = connect(path)
    try:
        _private, public = sealing.generate_keypair()
        set_meta(db, SEAL_KEY_META, public)
    finally:
        db.close()


async def test_a_receipt_carries_time_site_issuer_proviso_and_a_sealed_addressee(
    kiosk_path: Path, clock: FixedClock
) -> None:
    seal_the_van(kiosk_path)
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")
        await pilot.pause()
        with_name = await issue_certificate(pilot, addressee="遠藤商店")
        assert with_name.files is not None
        await pilot.press("enter")
        without = await issue_certificate(pilot)
        assert without.files is not None
        status = str(without.query_one("#pdf-status", Static).render())
        assert "領収書PDFを作成しました" in status
    text = pdf_text(with_name.files.pdf)
    assert "10:05" in text  # the time
    assert "川前公民館" in text  # the site
    assert "山田 花子" in text  # the issuer
    assert "上記の金額を領収しました" in text
    assert "但し 住民票の写し 交付手数料として" in text
    assert "遠藤商店 様" in text
    assert "様" not in pdf_text(without.files.pdf)  # no 宛名 unless one was entered
    db = connect(kiosk_path)
    try:
        raw = [
            r[0] for r in db.execute("SELECT payload FROM records WHERE type='certificate.issue'")
        ]
    finally:
        db.close()
    assert "遠藤商店" not in raw[0] and "sealed" in json.loads(raw[0])  # sealed on disk
    assert json.loads(raw[0])["addressee"] is True and "addressee" not in json.loads(raw[1])


async def test_slips_say_uketsukehikae_not_ryoshusho(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("2")
        await type_into(pilot, "#f-application_id", "1" * 23)
        await type_into(pilot, "#f-name", "遠藤 ヨシ子")
        await type_into(pilot, "#f-birth_date", "S23.5.6")
        app.screen.query_one("#f-photo_taken", Tick).value = True
        await choose(pilot, "id_doc1", "マイナンバーカード")
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReceiptScreen), app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(screen.query_one("#pdf-status", Static).render())
        assert "受付控PDFを作成しました" in status and "領収書" not in status


async def test_any_of_todays_receipts_is_reprinted_from_the_list(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")
        await pilot.pause()
        first = await issue_certificate(pilot)
        await pilot.press("enter")
        await issue_certificate(pilot)
        await pilot.press("enter", "v")
        await pilot.pause()
        assert isinstance(app.screen, VoidScreen)
        await pilot.press("down", "p")  # the first receipt of the day
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReceiptScreen) and screen.reprint
        assert screen.number == first.number
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.files is not None
        assert screen.files.pdf.name == f"{first.number}-再発行.pdf"
        assert "再発行" in pdf_text(screen.files.pdf)
        assert first.files is not None and first.files.pdf.exists()  # the original stays
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, VoidScreen)


async def test_receipts_print_through_cups(
    kiosk_path: Path, clock: FixedClock, pdf_printer: PdfPrinter
) -> None:
    app = app_for(kiosk_path, clock, printer=pdf_printer.name)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")
        await pilot.pause()
        screen = await issue_certificate(pilot)
        status = str(screen.query_one("#pdf-status", Static).render())
        assert f"印刷しました(プリンタ {pdf_printer.name})" in status, status
        assert screen.job and screen.job.startswith(pdf_printer.name)
        assert screen.files is not None and screen.files.pdf.exists()  # the PDF stays
    printed = pdf_printer.wait_for_output(str(screen.number))
    assert str(screen.number) in pdf_text(printed)


async def test_a_missing_printer_is_said_and_the_pdf_is_kept(
    kiosk_path: Path, clock: FixedClock, pdf_printer: PdfPrinter
) -> None:
    app = app_for(kiosk_path, clock, printer="no-such-printer")
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await pilot.press("enter")
        await pilot.pause()
        screen = await issue_certificate(pilot)
        status = str(screen.query_one("#pdf-status", Static).render())
        assert "印刷できませんでした" in status and "PDFは保存済み" in status
        assert screen.files is not None and screen.files.pdf.exists()
    log = (kiosk_path.parent / "kiosk.log").read_text(encoding="utf-8")
    assert "no-such-printer" in log


async def test_the_kiosk_log_holds_errors_with_tracebacks(
    kiosk_path: Path, clock: FixedClock, tmp_path: Path
) -> None:
    log_file = tmp_path / "support" / "kiosk.log"
    app = app_for(kiosk_path, clock, log_path=log_file)

    def broken() -> None:
        raise RuntimeError("わざと起こした障害")

    with pytest.raises(RuntimeError):  # the test harness re-raises what the app hit
        async with app.run_test(size=SIZE) as pilot:
            await login(pilot)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, MenuScreen)
            app.screen.action_void = broken  # type: ignore[method-assign]
            await pilot.press("v")
            await pilot.pause()
    text = log_file.read_text(encoding="utf-8")
    assert "login op001" in text
    assert "Traceback" in text and "RuntimeError: わざと起こした障害" in text
