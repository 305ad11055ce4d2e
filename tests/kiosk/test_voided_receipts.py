"""A voided receipt stays void everywhere: printed only with a 書損(無効) stamp, a
reprint says 再発行 and its date, and ``odekake receipt verify`` says it was voided,
when and by whom."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pypdf
import sqlite_utils
from click.testing import CliRunner

from kiosk.screens.receipt import ReceiptScreen
from kiosk.screens.void import VoidScreen
from odekake.cli import main
from odekake.masterdata import master
from odekake.receipts.receipt_pdf import write_receipt
from odekake.services import certificates
from odekake.services.common import Actor
from odekake.services.receipt_book import receipt_status
from odekake.storage import receipt_mac
from odekake.storage.db import connect, set_meta, write

from .conftest import RECEIPT_SECRET, TEST_ONLY_CHEAP_KDF, FixedClock
from .test_app_flows import SIZE, app_for, open_first_stop
from .test_services import cert_form


def pdf_text(path: Path) -> str:
    return pypdf.PdfReader(path).pages[0].extract_text()


async def test_p_reprints_a_dated_reissue_and_a_voided_receipt_prints_stamped(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock)
    folder = kiosk_path.parent / "receipts"
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("4", "ctrl+s")  # a ごみ納付券, cash
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReceiptScreen) and screen.number
        number = screen.number
        await app.workers.wait_for_complete()
        assert "上記の金額を領収しました" in pdf_text(folder / f"{number}.pdf")
        original = (folder / f"{number}.pdf").read_bytes()
        clock.advance(minutes=20)
        await pilot.press("p")
        await pilot.pause()
        await app.workers.wait_for_complete()
        # P printed a 再発行 beside the original, with today's date and time
        again = pdf_text(folder / f"{number}-再発行.pdf")
        assert "再発行" in again and "2026-11-24 10:25" in again
        assert (folder / f"{number}.pdf").read_bytes() == original
        await pilot.press("enter")
        await pilot.pause()
        certificates.void_receipt(app.db, number, operator_id="sv001", now=clock.now)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, VoidScreen)
        await pilot.press("down", "p")  # to the list; P reprints
        await pilot.pause()
        await app.workers.wait_for_complete()
    text = pdf_text(folder / f"{number}-書損.pdf")
    assert "書損(無効)" in text and "鈴木 一郎(sv001)" in text and "10:25" in text
    assert "領収しました" not in text


def test_receipt_verify_says_a_voided_receipt_was_voided_when_and_by_whom(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor], tmp_path: Path
) -> None:
    actor = open_stop()
    kept = certificates.issue(kdb, cert_form(), actor)
    spoiled = certificates.issue(kdb, cert_form(), actor)
    certificates.void_receipt(
        kdb, spoiled.payload["receipt_no"], operator_id="sv001", now=actor.now
    )
    # city hall's copy of the van's records (as a sync leaves them)
    hub_path = tmp_path / "hub.db"
    hub = connect(hub_path, role="hub", create=True)
    with write(hub):
        set_meta(hub, receipt_mac.SECRET_META, RECEIPT_SECRET.hex())
    master.add_operator(
        hub, "sv001", "鈴木 一郎", ["supervisor"], "999999", kdf=TEST_ONLY_CHEAP_KDF
    )
    cols = [c.name for c in kdb["records"].columns]
    rows = kdb.execute(f"SELECT {', '.join(cols)} FROM records").fetchall()
    with write(hub):
        for row in rows:
            hub["records"].insert(dict(zip(cols, row, strict=True)))
    hub.close()

    def verify(r: object) -> tuple[int, str]:
        p = r.payload  # type: ignore[attr-defined]
        qr = f"ODEKAKE|{p['receipt_no']}|{p['amount']}|{p['check_code']}"
        out = CliRunner().invoke(main, ["receipt", "verify", "--db", str(hub_path), qr])
        return out.exit_code, out.output

    code, out = verify(kept)
    assert code == 0 and "本物の確認コードです" in out and "書損" not in out
    code, out = verify(spoiled)
    assert code == 2, out
    assert "書損(無効)" in out and "鈴木 一郎(sv001)" in out and "2026-11-24 10:05" in out


def test_a_voided_receipt_pdf_carries_the_stamp_seen_as_an_image(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor], tmp_path: Path
) -> None:
    r = certificates.issue(kdb, cert_form(), open_stop())
    certificates.void_receipt(
        kdb, r.payload["receipt_no"], operator_id="sv001", now=r.wall_datetime
    )
    status = receipt_status(kdb, r.payload["receipt_no"])
    assert status is not None and status.void is not None
    files = write_receipt(r, tmp_path, void=status.void.describe())
    assert "書損(無効)" in pdf_text(files.pdf)
    # rendered: the red stamp is there (many clearly red pixels)
    out = tmp_path / "page"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-singlefile", str(files.pdf), str(out)],
        check=True,
        timeout=60,
    )
    from PIL import Image

    img = Image.open(f"{out}.png").convert("RGB")
    raw = img.tobytes()
    pixels = (raw[i : i + 3] for i in range(0, len(raw), 3))
    red = sum(1 for r, g, b in pixels if r > 150 and g < 90 and b < 90)
    assert red > 200, red
