"""職員 and 監査ログ: account changes through ``odekake.access.staff`` (audited, refused when wrong),
the audit log filtered by actor, action and day, and the chain verified from the page."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from odekake.access.staff import get_staff
from odekake.storage.db import connect
from tests.console.conftest import PASSWORDS, Browser


@pytest.fixture
def admin(browser: Browser) -> Browser:
    assert browser.login("admin").status_code == 303
    return browser


def _change(b: Browser, **data: str):  # type: ignore[no-untyped-def]
    return b.post("/console/staff", data, page="/console/staff")


def test_staff_list_add_role_reset_disable(admin: Browser, hub_path: Path) -> None:
    page = admin.client.get("/console/staff")
    assert page.status_code == 200
    for login in PASSWORDS:
        assert f'data-login="{login}"' in page.text
    added = _change(
        admin,
        op="add",
        login="kanri2",
        name="管理 次郎",
        role="manager",
        password="kanri2-pass-2026",
    )
    assert added.status_code == 303
    db = connect(hub_path, role="hub")
    assert get_staff(db, "kanri2").role == "manager"
    assert _change(admin, op="role", login="kanri2", role="election").status_code == 303
    assert get_staff(db, "kanri2").role == "election"
    assert _change(admin, op="disable", login="kanri2").status_code == 303
    assert not get_staff(db, "kanri2").active
    assert (
        _change(admin, op="reset", login="kanri2", password="another-pass-2026").status_code == 303
    )
    assert get_staff(db, "kanri2").active
    acts = [
        r[0]
        for r in db.execute(
            "SELECT action FROM audit_log WHERE actor = 'staff:admin' AND target = 'kanri2' ORDER BY seq"
        )
    ]
    assert acts == ["staff.add", "staff.role", "staff.disable", "staff.reset"]


def test_staff_errors_change_nothing(admin: Browser, hub_path: Path) -> None:
    short = _change(admin, op="add", login="tanaka", name="田中", role="manager", password="short")
    assert short.status_code == 400 and "10文字以上" in short.text
    assert 'value="tanaka"' in short.text  # what was typed stays
    bad_role = _change(admin, op="role", login="mgr", role="mayor")
    assert bad_role.status_code == 400 and "役割は" in bad_role.text
    itself = _change(admin, op="disable", login="admin")
    assert itself.status_code == 400 and "自分のアカウント" in itself.text
    db = connect(hub_path, role="hub")
    assert db.execute("SELECT COUNT(*) FROM staff WHERE login = 'tanaka'").fetchone()[0] == 0
    assert get_staff(db, "mgr").role == "manager" and get_staff(db, "admin").active


def test_staff_refusals(browser: Browser, hub_path: Path) -> None:
    assert browser.client.get("/console/staff", follow_redirects=False).status_code == 303
    assert browser.login("mgr").status_code == 303
    assert browser.client.get("/console/staff").status_code == 403
    tok = browser.token("/console/")
    refused = browser.client.post(
        "/console/staff", data={"op": "disable", "login": "coord", "csrftoken": tok}
    )
    assert refused.status_code == 403
    browser.client.post("/console/logout", data={"csrftoken": tok})
    assert browser.login("admin").status_code == 303
    no_csrf = browser.client.post("/console/staff", data={"op": "disable", "login": "coord"})
    assert no_csrf.status_code == 403
    db = connect(hub_path, role="hub")
    assert get_staff(db, "coord").active
    denied = db.execute(
        "SELECT COUNT(*) FROM audit_log WHERE actor = 'staff:mgr' AND action = 'role.denied' "
        "AND target = 'staff.manage'"
    ).fetchone()[0]
    assert denied == 2


def test_audit_filters(admin: Browser) -> None:
    _change(admin, op="role", login="mgr", role="election")
    by_action = admin.client.get("/console/audit?action=staff.role")
    assert by_action.status_code == 200
    assert "1 件" in by_action.text and "staff:admin" in by_action.text
    family = admin.client.get("/console/audit?action=staff.")
    assert "staff.add" in family.text and "staff.role" in family.text
    by_actor = admin.client.get("/console/audit?actor=staff:admin&action=login")
    assert by_actor.status_code == 200 and "1 件" in by_actor.text
    none = admin.client.get("/console/audit?since=2000-01-01&until=2000-01-31")
    assert "0 件" in none.text
    bad = admin.client.get("/console/audit?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


def test_audit_day_is_japan_time(admin: Browser, hub_path: Path) -> None:
    from datetime import UTC, datetime

    from odekake.access import audit

    db = connect(hub_path, role="hub")
    # 2026-11-19 23:30 UTC is 2026-11-20 08:30 in Japan
    audit.log(db, "cli:night", "export", "x.pdf", now=datetime(2026, 11, 19, 23, 30, tzinfo=UTC))
    on_20 = admin.client.get("/console/audit?actor=cli:night&since=2026-11-20&until=2026-11-20")
    on_19 = admin.client.get("/console/audit?actor=cli:night&since=2026-11-19&until=2026-11-19")
    assert "1 件" in on_20.text and "0 件" in on_19.text


def test_verify_from_the_page(admin: Browser, hub_path: Path) -> None:
    ok = admin.client.get("/console/audit?verify=1")
    assert "つながっています" in ok.text
    raw = sqlite3.connect(hub_path)
    with raw:
        raw.execute("DROP TRIGGER audit_no_update")  # what someone editing the file could do
        raw.execute("UPDATE audit_log SET target = 'changed' WHERE seq = 3")
    raw.close()
    broken = admin.client.get("/console/audit?verify=1")
    assert "監査ログ 3 番: 内容が書き換えられています" in broken.text


def test_audit_refusals(browser: Browser) -> None:
    assert browser.client.get("/console/audit", follow_redirects=False).status_code == 303
    for login in ("coord", "mgr", "elec"):
        assert browser.login(login).status_code == 303
        assert browser.client.get("/console/audit").status_code == 403
        browser.client.post("/console/logout", data={"csrftoken": browser.token("/console/")})


def test_audit_details_read_as_words_with_before_and_after(admin: Browser) -> None:
    """No Python notation (``files=['…']``, ``{'a': 1}``); changes as 前 → 後; reasons typed."""
    import re

    admin.post(
        "/console/sites/vans",
        {"id": "van-1", "name": "1号車(新)", "depot_name": "市役所", "lat": "37.05", "lon": "140.89",
         "shift": "08:00-17:00"},
        page="/console/sites",
    )  # fmt: skip
    page = admin.client.get("/console/audit?action=van.change").text
    detail = page.split('<dl class="detail">', 1)[1].split("</dl>", 1)[0]
    assert "変更(前 → 後)" in detail and "→ 1号車(新)" in detail
    assert "08:30-17:15 → 08:00-17:00" in detail
    whole = admin.client.get("/console/audit").text
    cells = re.findall(r'<dl class="detail">(.*?)</dl>', whole, re.S)
    assert cells
    for cell in cells:
        assert not re.search(r"\[\'|\{\'|=\[|': ", cell), cell
