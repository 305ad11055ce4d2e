"""A sealed van, written through the kiosk's own services: the database, its WAL
and the receipts folder hold no resident's name, address or birth date."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils
from pypdf import PdfReader

from odekake import records as rec
from odekake.db import write
from odekake.receipt_pdf import write_receipt
from odekake.sealing import generate_keypair, open_payload
from odekake.services import certificates, mynumber
from odekake.services.common import Actor
from tests.kiosk.test_services import cert_form, mn_form

NAME, ADDRESS = "封印 タエ子", "いわき市田人町封印9-8-7"
MN_NAME, MN_BIRTH = "封印 次郎", "1939-12-31"


def test_kiosk_services_on_a_sealed_van_leave_no_plaintext(
    kdb: sqlite_utils.Database, kiosk_path: Path, open_stop: Callable[[], Actor]
) -> None:
    private, public = generate_keypair()
    with write(kdb):
        kdb.execute("INSERT INTO settings(key, value) VALUES (?, ?)", [rec.SEAL_KEY_META, public])
    cert = certificates.issue(kdb, cert_form(name=NAME, address=ADDRESS), open_stop())
    app = mynumber.apply(kdb, mn_form(name=MN_NAME, birth_date=MN_BIRTH), open_stop())
    receipts = kiosk_path.parent / "receipts"
    files = [write_receipt(cert, receipts), write_receipt(app, receipts)]
    assert cert.payload is not None and cert.payload["receipt_no"].endswith("-000001")
    assert cert.payload["amount"] == 300 and "requester" not in cert.payload

    raw = b"".join(p.read_bytes() for p in kiosk_path.parent.iterdir() if p.is_file())
    raw += b"".join(p.read_bytes() for p in receipts.iterdir())
    pdf_text = "".join(page.extract_text() for f in files for page in PdfReader(f.pdf).pages)
    for secret in (NAME, ADDRESS, MN_NAME, MN_BIRTH, "タエ子", "封印"):
        assert secret.encode("utf-8") not in raw, secret
        assert secret not in pdf_text, secret
    assert cert.payload["receipt_no"] in pdf_text  # the receipt still says what it is for

    # City hall can open them.
    assert open_payload(cert.payload, private)["requester"]["name"] == NAME
    assert app.payload is not None
    assert open_payload(app.payload, private)["applicant"]["birth_date"] == MN_BIRTH
