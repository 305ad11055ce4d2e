"""Sign-in, sessions, CSRF and roles of the console (every refusal)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from odekake.access import audit
from odekake.access.staff import (
    FIRST_DELAY_SECONDS,
    FREE_FAILURES,
    disable_staff,
    reset_password,
    set_role,
)
from odekake.storage.db import connect
from tests.console.conftest import PASSWORDS, Browser


@pytest.mark.parametrize("path", ["/console/", "/console/plans"])
def test_no_session_gets_the_login_page(browser: Browser, path: str) -> None:
    r = browser.client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/console/login?next=")
    page = browser.client.get(path)
    assert "<h1>ログイン</h1>" in page.text
    assert '<meta charset="utf-8">' in page.text


def test_a_post_without_session_goes_to_login_and_changes_nothing(browser: Browser) -> None:
    r = browser.client.post("/console/logout", data={}, follow_redirects=False)
    assert r.status_code == 303 and "/console/login" in r.headers["location"]


def test_login_sets_a_strict_httponly_cookie_and_shows_home(browser: Browser) -> None:
    r = browser.login("coord")
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie
    home = browser.client.get("/console/")
    assert "今日の車両" in home.text and "coord" in home.text


def test_cookie_is_secure_under_tls(hub_app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(hub_app, base_url="https://testserver") as client:
        r = client.get("/console/login")
        assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_is_refused_and_audited(browser: Browser, hub_path: Path) -> None:
    r = browser.login("coord", "wrong-password-1")
    assert r.status_code == 401
    assert "ログイン名またはパスワードが違います" in r.text
    assert browser.client.get("/console/", follow_redirects=False).status_code == 303
    entries = audit.entries(connect(hub_path))
    assert entries[-1].action == "login.failed" and entries[-1].actor == "staff:coord"


def test_failures_slow_down_that_login_from_that_address_only(
    browser: Browser, hub_app, hub_path: Path
) -> None:  # type: ignore[no-untyped-def]
    for _ in range(FREE_FAILURES):
        assert browser.login("coord", "wrong-password-1").status_code == 401
    r = browser.login("coord")  # the right password, but this address must wait
    assert r.status_code == 429 and "待ってから" in r.text and "ロック" not in r.text
    assert 0 < int(r.headers["retry-after"]) <= FIRST_DELAY_SECONDS
    assert "login.throttled" in [e.action for e in audit.entries(connect(hub_path))]
    # the real user, at another PC, is not locked out by someone else's guesses
    with TestClient(hub_app, base_url="http://testserver", client=("10.0.0.7", 50000)) as other:
        assert Browser(other).login("coord").status_code == 303
    # the administrator sees the throttle and clears it
    with TestClient(hub_app, base_url="http://testserver") as admin_client:
        admin = Browser(admin_client)
        assert admin.login("admin").status_code == 303
        page = admin.client.get("/console/sessions")
        assert page.status_code == 200 and "testclient" in page.text and "coord" in page.text
        cleared = admin.post(
            "/console/sessions/throttles/clear",
            {"login": "coord", "address": "testclient"},
            page="/console/sessions",
        )
        assert cleared.status_code == 303
    assert browser.login("coord").status_code == 303


def test_unknown_disabled_and_existing_logins_get_one_answer(
    browser: Browser, hub_path: Path
) -> None:
    disable_staff(connect(hub_path), "mgr", actor="test")
    answers = {who: browser.login(who, "wrong-password-1") for who in ("coord", "nobody", "mgr")}
    answers["mgr-right"] = browser.login("mgr")  # disabled: even the right password
    for r in answers.values():
        assert r.status_code == 401
        assert "ログイン名またはパスワードが違います" in r.text and "無効" not in r.text


def test_login_without_csrf_token_is_403(browser: Browser) -> None:
    browser.client.get("/console/login")
    r = browser.client.post(
        "/console/login", data={"login": "coord", "password": PASSWORDS["coord"]}
    )
    assert r.status_code == 403
    assert "確認用の値がありません" in r.text


def test_change_without_csrf_token_is_403(coordinator: Browser) -> None:
    r = coordinator.client.post("/console/logout", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert "この操作はできません" in r.text
    # still signed in: nothing happened
    assert coordinator.client.get("/console/", follow_redirects=False).status_code == 200


def test_csrf_token_of_another_session_is_refused(hub_app, coordinator: Browser) -> None:  # type: ignore[no-untyped-def]
    with TestClient(hub_app, base_url="http://testserver") as other:
        b = Browser(other)
        b.login("mgr")
        foreign = b.token("/console/")
    r = coordinator.client.post(
        "/console/logout", data={"csrftoken": foreign}, follow_redirects=False
    )
    assert r.status_code == 403


def test_logout_ends_the_session_and_is_audited(coordinator: Browser, hub_path: Path) -> None:
    r = coordinator.post("/console/logout", {})
    assert r.status_code == 303
    assert coordinator.client.get("/console/", follow_redirects=False).status_code == 303
    assert audit.entries(connect(hub_path))[-1].action == "logout"


def test_idle_session_times_out(coordinator: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    import console.web

    real = console.web.time.time
    monkeypatch.setattr(console.web.time, "time", lambda: real() + 31 * 60)
    r = coordinator.client.get("/console/", follow_redirects=False)
    assert r.status_code == 303 and "note=idle" in r.headers["location"]
    page = coordinator.client.get(r.headers["location"])
    assert "一定時間操作がなかったため" in page.text


def test_wrong_role_gets_a_japanese_403(browser: Browser, hub_path: Path) -> None:
    browser.login("elec")
    r = browser.client.get("/console/plans")
    assert r.status_code == 403
    assert "この操作には" in r.text and "企画担当" in r.text
    last = audit.entries(connect(hub_path))[-1]
    assert (last.action, last.actor) == ("role.denied", "staff:elec")


def test_disabled_account_loses_its_open_session(coordinator: Browser, hub_path: Path) -> None:
    disable_staff(connect(hub_path), "coord", actor="test")
    r = coordinator.client.get("/console/", follow_redirects=False)
    assert r.status_code == 303 and "/console/login" in r.headers["location"]


def test_a_cookie_replayed_after_logout_gets_the_login_page(coordinator: Browser) -> None:
    cookie = coordinator.client.cookies.get("odekake_console")
    assert cookie
    assert coordinator.post("/console/logout", {}).status_code == 303
    coordinator.client.cookies.set("odekake_console", cookie, path="/console")
    r = coordinator.client.get("/console/plans", follow_redirects=False)
    assert r.status_code == 303 and "/console/login" in r.headers["location"]


def test_role_change_and_password_reset_end_sessions(coordinator: Browser, hub_path: Path) -> None:
    set_role(connect(hub_path), "coord", "manager", actor="test")
    assert coordinator.client.get("/console/", follow_redirects=False).status_code == 303
    assert coordinator.login("coord").status_code == 303
    reset_password(connect(hub_path), "coord", "another-pass-2026", actor="test")
    assert coordinator.client.get("/console/", follow_redirects=False).status_code == 303


def test_own_password_change_asks_for_the_current_one(
    hub_app, coordinator: Browser, hub_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with TestClient(hub_app, base_url="http://testserver") as other:
        elsewhere = Browser(other)
        assert elsewhere.login("coord").status_code == 303
    page = "/console/account/password"
    new = "a-new-password-2026"
    wrong = coordinator.post(
        page, {"current": "not-it-at-all", "password": new, "confirm": new}, page=page
    )
    assert wrong.status_code == 400 and "いまのパスワードが違います" in wrong.text
    r = coordinator.post(
        page, {"current": PASSWORDS["coord"], "password": new, "confirm": new}, page=page
    )
    assert r.status_code == 303
    assert "変更しました" in coordinator.client.get(r.headers["location"]).text
    # the other browser's session ended; this one goes on
    assert other.get("/console/", follow_redirects=False).status_code == 303
    assert coordinator.client.get("/console/", follow_redirects=False).status_code == 200
    actions = [e.action for e in audit.entries(connect(hub_path))]
    assert "password.change" in actions and "password.change.refused" in actions


def test_admin_lists_and_ends_sessions(hub_app, coordinator: Browser) -> None:  # type: ignore[no-untyped-def]
    with TestClient(hub_app, base_url="http://testserver") as admin_client:
        admin = Browser(admin_client)
        assert admin.login("admin").status_code == 303
        page = admin.client.get("/console/sessions")
        assert page.status_code == 200
        rows = re.findall(
            r'<tr data-login="coord">.*?name="id" value="([0-9a-f]+)"', page.text, re.S
        )
        assert rows and "testclient" in page.text
        r = admin.post("/console/sessions/end", {"id": rows[0]}, page="/console/sessions")
        assert r.status_code == 303
    assert coordinator.client.get("/console/", follow_redirects=False).status_code == 303
    assert coordinator.client.get("/console/sessions").status_code in (200,)  # login page


def test_staff_session_is_not_device_auth(coordinator: Browser) -> None:
    r = coordinator.client.get("/v1/status")
    assert r.status_code == 401
    assert "署名のない要求" in r.json()["error"]


def test_device_headers_do_not_open_the_console(browser: Browser) -> None:
    r = browser.client.get(
        "/console/",
        headers={
            "X-Odekake-Device": "van-1",
            "X-Odekake-Timestamp": "0",
            "X-Odekake-Signature": "AAAA",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and "/console/login" in r.headers["location"]


def test_open_redirect_is_not_followed(browser: Browser) -> None:
    r = browser.client.post(
        "/console/login",
        data={
            "login": "coord",
            "password": PASSWORDS["coord"],
            "csrftoken": browser.token(),
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/console/"


def test_static_assets_are_local(browser: Browser) -> None:
    page = browser.client.get("/console/login").text
    assert "http://" not in page and "https://" not in page
    css = browser.client.get("/console/static/console.css")
    assert css.status_code == 200 and "Yu Gothic UI" in css.text and "IPAex" in css.text
    assert browser.client.get("/console/nothing-here").status_code == 404
