"""Receipt and 日計表 PDFs: embedded Japanese font, QR with number and check value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pypdf
import sqlite_utils

from odekake.masterdata.catalog import CATEGORIES
from odekake.receipts.receipt_pdf import (
    check_value,
    qr_text,
    wareki,
    write_day_close,
    write_receipt,
)
from odekake.services import certificates, dayclose, disaster, stops
from odekake.services.common import Actor

from .conftest import DAY, NOW
from .helpers import assert_receipt
from .test_services import cert_form, dis_form


def test_qr_text_carries_number_amount_and_check_code() -> None:
    # The code itself is a keyed MAC: tests/security/test_receipt_mac.py.
    assert qr_text("R2026-van-1-000001", 300, "0a1b2c3d4e") == (
        "ODEKAKE|R2026-van-1-000001|300|0a1b2c3d4e"
    )


def test_wareki() -> None:
    assert wareki(DAY) == "令和8年11月24日"
    assert wareki(DAY.replace(year=2019, month=5, day=1)) == "令和元年5月1日"


def test_certificate_receipt_pdf(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor], tmp_path: Path
) -> None:
    r = certificates.issue(kdb, cert_form(), open_stop())
    files = write_receipt(r, tmp_path / "receipts")
    assert_receipt(tmp_path / "receipts", r.payload["receipt_no"])
    reader = pypdf.PdfReader(files.pdf)
    text = reader.pages[0].extract_text()
    assert "領収書" in text and "住民票の写し" in text and "300" in text
    fonts = reader.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    names = [str(f.get_object()["/BaseFont"]) for f in fonts.values()]  # type: ignore[union-attr]
    assert any("IPAexGothic" in n for n in names)
    assert files.qr_text.endswith(check_value(r)) and len(check_value(r)) == 10
    assert f"確認コード {check_value(r)}" in text


def test_disaster_receipt_pdf(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor], tmp_path: Path
) -> None:
    r = disaster.apply(kdb, dis_form(), open_stop())
    write_receipt(r, tmp_path)
    assert_receipt(tmp_path, r.payload["application_no"])


def test_day_close_pdf(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor], tmp_path: Path
) -> None:
    actor = open_stop()
    certificates.issue(kdb, cert_form(), actor)
    stops.close_stop(kdb, actor.stop_id, now=NOW)
    r = dayclose.close_day(
        kdb,
        {"change_float": "10000", "count_10000": "1", "count_100": "3"},
        operator_id="op001",
        now=NOW,
    )
    pdf = write_day_close(r, tmp_path, CATEGORIES)
    text = pypdf.PdfReader(pdf).pages[0].extract_text()
    assert "日計表" in text and "10,300" in text and "証明書" in text
