"""Enrolling a new van from the browser with a one-time code, and that van's first
push: an admin makes the code in Chromium, the van's own command line (a real
process) redeems it against a real ``odekake hub serve``, records and pushes, and
the devices page shows the push. Screenshots go to docs/screenshots/ only when
``ODEKAKE_SCREENSHOTS=1`` (elsewhere to the test's temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from odekake.storage.db import connect
from tests.console.conftest import PASSWORDS
from tests.sync.conftest import HubProcess, add_records, cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("ODEKAKE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def served(hub_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(hub_path).start()
    yield hub
    hub.stop()


def test_enrol_a_new_van_with_a_code_then_its_first_push(  # type: ignore[no-untyped-def]
    chromium, served, shots, tmp_path: Path
) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page.set_default_timeout(30_000)
    base = f"{served.url}/console"
    page.goto(f"{base}/login")
    page.fill("input[name=login]", "admin")
    page.fill("input[name=password]", PASSWORDS["admin"])
    page.click("button[type=submit] >> text=ログイン")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/devices")
    form = page.locator("#code-form")
    form.get_by_label("新しい車両ID", exact=True).fill("van-9")
    form.get_by_label("あなたのパスワード(確認のため)").fill(PASSWORDS["admin"])
    page.click("#make-code")
    page.wait_for_selector("#new-code")
    code = page.inner_text("#code-text").strip()
    assert len(code) == 24 and page.locator("#code-qr svg").count() == 1
    assert "15分" in page.inner_text("#code-expires")
    page.locator("#new-code").screenshot(path=str(shots / "devices-enrol-code.png"))

    van = tmp_path / "van.db"
    made = cli("init", "--db", str(van), "--role", "van", "--device-id", "van-9")
    assert made.returncode == 0, made.stderr
    enrolled = cli("device", "enroll", "--db", str(van), "--code", code, "--hub", served.url)
    assert enrolled.returncode == 0, enrolled.stderr
    assert "ハブに端末を登録しました" in enrolled.stdout
    assert "ハブの署名鍵を登録しました" in enrolled.stdout
    again = cli("device", "enroll", "--db", str(van), "--code", code, "--hub", served.url)
    assert again.returncode != 0 and "すでに使われています" in again.stderr

    db = connect(van)
    add_records(db, 1)
    db.close()
    pushed = cli("sync", "push", "--db", str(van), "--hub", served.url)
    assert pushed.returncode == 0, pushed.stderr

    page.goto(f"{base}/devices")
    row = page.locator('tr[data-device="van-9"]')
    assert "有効" in row.inner_text()
    assert "1 番まで" in row.inner_text()
    cells = row.locator("td").all_inner_texts()
    assert cells[3] != "なし", cells  # 最終送信: the push just made
    assert "使用済み" in page.locator("#code-list").inner_text()
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "devices-first-push.png"), full_page=False)
