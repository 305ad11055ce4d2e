"""The residents' page in a real browser (Debian's Chromium through Playwright).

The page is built from a seeded hub, opened from disk (no server), filled as a
resident would, and its QR code is read back off a screenshot with zxing-cpp.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from odekake.residents.prefill import decode
from odekake.storage.db import connect

from .conftest import Browser


@pytest.fixture
def site(tmp_path: Path, hub_db: Path) -> Path:
    from click.testing import CliRunner

    from odekake.cli import main

    out = tmp_path / "site"
    res = CliRunner().invoke(main, ["prefill", "site", "--db", str(hub_db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "事前記入ページを書き出しました" in res.output
    return out


def fill_juminhyo(page) -> None:
    page.check("#service-cert")
    page.select_option("#cert-service_code", "cert.juminhyo")
    page.fill("#cert-copies", "1")
    page.check("#cert-relation-0")  # 本人
    page.fill("#cert-name", "いわき 花子")
    page.fill("#cert-kana", "いわき はなこ")
    page.fill("#cert-address", "いわき市平字デモ1-2")
    page.select_option("#cert-birth-era", "昭和")
    page.fill("#cert-birth-year", "23")
    page.fill("#cert-birth-month", "5")
    page.fill("#cert-birth-day", "6")


def test_a_resident_makes_a_juminhyo_code_that_the_kiosk_reads(
    browser: Browser, site: Path, hub_db: Path, tmp_path: Path
) -> None:
    import zxingcpp
    from PIL import Image

    page = browser.page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((site / "index.html").as_uri())
    assert page.title().startswith("お出かけ市役所")
    assert "送信されません" in page.inner_text("header")
    fill_juminhyo(page)
    page.click("#make")
    page.wait_for_selector("#result:not([hidden])")
    shot = tmp_path / "qr.png"
    page.locator("#qr").screenshot(path=str(shot))
    browser.keep(page, "prefill-result.png")
    found = zxingcpp.read_barcodes(Image.open(shot))
    assert len(found) == 1
    payload = found[0].text
    assert payload == page.get_attribute("#qr", "data-payload")
    assert payload.isascii() and payload.startswith("ODK1:")
    contents = page.inner_text("#contents")
    assert (
        "住民票の写し" in contents
        and "昭和23年5月6日(1948-05-06)" in contents
        and "いわき 花子" in contents
    )
    db = connect(hub_db)
    got = decode(db, payload, today=date.today())
    db.close()
    assert got.service == "cert"
    assert got.fields == {
        "service_code": "cert.juminhyo",
        "copies": "1",
        "relation": "本人",
        "name": "いわき 花子",
        "kana": "いわき はなこ",
        "address": "いわき市平字デモ1-2",
        "birth_date": "1948-05-06",
    }
    # nothing but the page's own files was loaded
    assert requests and all(u.startswith("file://") for u in requests), requests


def test_the_page_checks_what_it_can_before_making_a_code(browser: Browser, site: Path) -> None:
    page = browser.page()
    page.goto((site / "index.html").as_uri())
    page.click("#make")
    assert "手続きを選んでください" in page.inner_text("#summary")
    page.check("#service-cert")
    page.check("#cert-relation-2")  # 代理人: the subject's name becomes required
    page.fill("#cert-address", "平 6214 9832 0257")
    page.fill("#cert-phone", "でんわ")
    page.select_option("#cert-birth-era", "令和")
    page.fill("#cert-birth-year", "2")
    page.fill("#cert-birth-month", "2")
    page.fill("#cert-birth-day", "30")
    page.click("#make")
    summary = page.inner_text("#summary")
    assert "入力内容を確認してください" in summary
    assert page.inner_text("#cert-name-error") == "氏名を入力してください"
    assert "マイナンバー" in page.inner_text("#cert-address-error")
    assert "存在しない日付" in page.inner_text("#cert-birth_date-error")
    assert "電話番号" in page.inner_text("#cert-phone-error")
    assert "証明が必要な方の氏名" in page.inner_text("#cert-subject_name-error")
    assert page.get_attribute("#cert-address", "aria-invalid") == "true"
    assert page.is_hidden("#result")
    browser.keep(page, "prefill-errors.png")
    # keyboard only: the summary's first link moves focus to its field
    page.focus("#summary a >> nth=0")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "cert-name"
