"""A sealed van, written through the kiosk's own services: the database, its WAL
and the receipts folder hold no resident's name, address, birth date, 使用目的,
unplanned-stop reason or マイナンバーカード 申請書ID."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlite_utils
from pypdf import PdfReader

from odekake.receipts.receipt_pdf import write_receipt
from odekake.services import certificates, mynumber, stops
from odekake.services.common import Actor
from odekake.storage.sealing import open_payload
from tests.kiosk.conftest import NOW, SEAL_PRIVATE
from tests.kiosk.test_services import cert_form, mn_form

NAME, ADDRESS = "封印 タエ子", "いわき市田人町封印9-8-7"
MN_NAME, MN_BIRTH = "封印 次郎", "1939-12-31"
PURPOSE = "娘の封印保育園の入園手続き"
REASON = "封印さんの家の前で臨時に開設"
APP_ID = "98765432109876543210987"


def test_kiosk_services_on_a_sealed_van_leave_no_plaintext(
    kdb: sqlite_utils.Database, kiosk_path: Path, open_stop: Callable[[], Actor]
) -> None:
    cert = certificates.issue(
        kdb, cert_form(name=NAME, address=ADDRESS, purpose=PURPOSE), open_stop()
    )
    app = mynumber.apply(
        kdb, mn_form(name=MN_NAME, birth_date=MN_BIRTH, application_id=APP_ID), open_stop()
    )
    stops.close_stop(kdb, open_stop().stop_id, now=NOW)
    unplanned = stops.open_unplanned(
        kdb,
        {"site_id": "tabito-01", "activity": "other", "window": "13:00-14:00", "reason": REASON},
        operator_id="op001",
        now=NOW,
    )
    receipts = kiosk_path.parent / "receipts"
    files = [write_receipt(cert, receipts), write_receipt(app, receipts)]
    assert cert.payload is not None and cert.payload["receipt_no"].endswith("-000001")
    assert cert.payload["amount"] == 300 and "requester" not in cert.payload
    assert "purpose" not in cert.payload and app.payload is not None
    assert "application_id" not in app.payload
    assert unplanned.payload is not None and "reason" not in unplanned.payload

    # The raw van database and its WAL (and anything else next to it).
    raw_db = b"".join(p.read_bytes() for p in kiosk_path.parent.iterdir() if p.is_file())
    assert any(p.name.endswith("-wal") for p in kiosk_path.parent.iterdir())
    for secret in (NAME, ADDRESS, MN_NAME, MN_BIRTH, "タエ子", "封印", PURPOSE, REASON, APP_ID):
        assert secret.encode("utf-8") not in raw_db, secret
    # The receipts hold no name, address, birth date, purpose or reason either.
    raw_receipts = b"".join(p.read_bytes() for p in receipts.iterdir())
    pdf_text = "".join(page.extract_text() for f in files for page in PdfReader(f.pdf).pages)
    for secret in (NAME, ADDRESS, MN_NAME, MN_BIRTH, "タエ子", "封印", PURPOSE):
        assert secret.encode("utf-8") not in raw_receipts, secret
        assert secret not in pdf_text, secret
    assert cert.payload["receipt_no"] in pdf_text  # the receipt still says what it is for
    # The resident's own slip, made at intake, still shows the 申請書ID they typed.
    assert APP_ID in pdf_text

    # City hall can open them.
    opened = open_payload(cert.payload, SEAL_PRIVATE)
    assert opened["requester"]["name"] == NAME and opened["purpose"] == PURPOSE
    assert open_payload(app.payload, SEAL_PRIVATE)["applicant"]["birth_date"] == MN_BIRTH
    assert open_payload(app.payload, SEAL_PRIVATE)["application_id"] == APP_ID
    assert open_payload(unplanned.payload, SEAL_PRIVATE)["reason"] == REASON
