"""The policy form's errors and planned versus actual in a real browser (Debian's
Chromium through Playwright). Screenshots go to docs/screenshots/ only when
``ODEKAKE_SCREENSHOTS=1`` (elsewhere to the test's temporary folder)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.conftest import PASSWORDS
from tests.sync.conftest import HubProcess

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return DOCS if os.environ.get("ODEKAKE_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture
def served(hub_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(hub_path).start()
    yield hub
    hub.stop()


def _login(page, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORDS[login])
    page.click("button[type=submit] >> text=ログイン")
    page.wait_for_selector("text=今日の車両")


def test_policy_errors_at_once_and_planned_versus_actual(chromium, served, shots) -> None:  # type: ignore[no-untyped-def]
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="ja-JP")
    page.set_default_timeout(30_000)
    base = f"{served.url}/console"
    _login(page, base, "coord")

    page.goto(f"{base}/plans/policy?month=2026-12")
    page.get_by_label("田人 重み").fill("-1")
    page.get_by_label("三和 最低回数").fill("3")
    page.get_by_label("三和 上限回数").fill("1")
    page.get_by_label("休む日").fill("2026-12-99")
    page.click("#save-policy")
    page.wait_for_selector("text=入力に誤りがあります")
    errors = page.locator(".field-error").all_inner_texts()
    assert len(errors) >= 3, errors
    assert not any("calendar." in e or "[[" in e for e in errors), errors
    assert page.get_by_label("休む日").input_value() == "2026-12-99"  # kept as typed
    page.locator("#e-d-tabito-weight").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "policy-errors.png"), full_page=False)

    page.goto(f"{base}/")
    page.click("#actual-today")
    page.wait_for_selector("#actual-day")
    states = page.locator("#actual-day tbody tr td:nth-child(5)").all_inner_texts()
    assert states and set(states) <= {"実施", "実施中", "未実施", "計画外"}
    page.screenshot(path=str(shots / "planned-actual-day.png"), full_page=False)
    page.goto(f"{base}/plans/actual?month=2026-11")
    page.wait_for_selector("#actual-month")
    page.screenshot(path=str(shots / "planned-actual-month.png"), full_page=False)
