"""The receipt's 確認コード is a keyed MAC: computable only with the van's key, and
city hall verifies it from its own secret."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pypdf
import sqlite_utils
from click.testing import CliRunner

from odekake.cli import main
from odekake.receipts.receipt_pdf import write_receipt
from odekake.services import certificates
from odekake.services.common import Actor
from odekake.storage import receipt_mac
from odekake.storage.db import connect, memory_db, set_meta, write
from tests.kiosk.conftest import RECEIPT_KEY, RECEIPT_SECRET, VAN
from tests.kiosk.test_services import cert_form


def test_check_code_needs_the_key_and_city_hall_verifies_it(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor], tmp_path: Path
) -> None:
    r = certificates.issue(kdb, cert_form(), open_stop())
    assert r.payload is not None
    number, amount, code = r.payload["receipt_no"], r.payload["amount"], r.payload["check_code"]
    assert code == receipt_mac.code(RECEIPT_KEY, number, amount)
    # What anyone could compute before: the unkeyed hash is not the code any more.
    unkeyed = hashlib.sha256(f"{number}|{amount}".encode()).hexdigest()
    assert code not in unkeyed
    # Another key (another van, a guessed secret) gives another code.
    assert code != receipt_mac.code(receipt_mac.derive_device_key(b"x" * 32, VAN), number, amount)
    assert code != receipt_mac.code(
        receipt_mac.derive_device_key(RECEIPT_SECRET, "van-2"), number, amount
    )

    # City hall holds the secret and verifies; a changed amount or van fails.
    hub = memory_db("hub")
    with write(hub):
        set_meta(hub, receipt_mac.SECRET_META, RECEIPT_SECRET.hex())
    assert receipt_mac.verify(hub, VAN, number, amount, code)
    assert not receipt_mac.verify(hub, VAN, number, amount + 100, code)
    assert not receipt_mac.verify(hub, "van-2", number, amount, code)

    # The same from the command line, with the QR code's text.
    hub_path = tmp_path / "hub.db"
    hubdb = connect(hub_path, role="hub", create=True)
    with write(hubdb):
        set_meta(hubdb, receipt_mac.SECRET_META, RECEIPT_SECRET.hex())
    hubdb.close()
    qr = f"ODEKAKE|{number}|{amount}|{code}"
    ok = CliRunner().invoke(main, ["receipt", "verify", "--db", str(hub_path), qr])
    assert ok.exit_code == 0 and "OK" in ok.output, ok.output
    forged = qr.replace(f"|{amount}|", f"|{amount * 10}|")
    bad = CliRunner().invoke(main, ["receipt", "verify", "--db", str(hub_path), forged])
    assert bad.exit_code == 1 and "一致しません" in bad.output

    # The slip prints it.
    files = write_receipt(r, tmp_path)
    assert f"確認コード {code}" in pypdf.PdfReader(files.pdf).pages[0].extract_text()
    assert files.qr_text == f"ODEKAKE|{number}|{amount}|{code}"


def test_hub_gives_each_device_its_own_key_in_its_snapshot() -> None:
    hub = memory_db("hub")
    k1 = receipt_mac.ensure_device_key(hub, "van-1")
    k2 = receipt_mac.ensure_device_key(hub, "van-2")
    assert k1 != k2 and len(k1) == 64
    assert k1 == receipt_mac.derive_device_key(receipt_mac.hub_secret(hub), "van-1")
