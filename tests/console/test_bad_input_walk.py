"""Every console route, walked with wrong parameters, wrong methods and junk forms by
every role: never a 500, never an English error, always the console's page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from tests.console.conftest import ROLES, Browser

BAD_QUERY = (
    "?day=2026-02-31&month=2026-99&from=nope&to=2026-13-01&n=abc&id=..%2F..&id=%00"
    "&done=%3Cscript%3E&note=x&saved=x&imported=-1&next=//evil.example&kind=zz"
    "&district=zz&q=%25&actor=zz&action=zz&period=zz&year=abc&have=zz&page=-1"
)
BAD_PATH_VALUES = ["999999", "-1", "%00", "a" * 300]
REAL_IDS = ["demo-2026-11-20", "demo-election"]  # the demo's plan and election


def console_routes(app) -> list[Route]:  # type: ignore[no-untyped-def]
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/console":
            return [r for r in route.app.routes if isinstance(r, Route)]
    raise AssertionError("console not mounted")


@pytest.fixture
def browsers(hub_app) -> Iterator[dict[str, Browser]]:  # type: ignore[no-untyped-def]
    opened: dict[str, Browser] = {}
    clients = []
    for login in ROLES:
        client = TestClient(hub_app, base_url="http://testserver", raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        b = Browser(client)
        assert b.login(login).status_code == 303
        opened[login] = b
    yield opened
    for client in clients:
        client.__exit__(None, None, None)


def check(answer, what: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code < 500, f"{what}: {answer.status_code}"
    assert "Traceback" not in answer.text, what
    if answer.status_code >= 400 and "text/html" in answer.headers.get("content-type", ""):
        assert "Method Not Allowed" not in answer.text and "Not Found" not in answer.text, what
        assert 'lang="ja"' in answer.text, what
        # in the console's layout, with a way back (the error page's link, or the
        # page shown again with its error and the navigation)
        assert "ホームへ戻る" in answer.text or "ログアウト" in answer.text, what


def test_every_route_with_wrong_values_and_methods_answers_without_500(
    hub_app, browsers: dict[str, Browser]
) -> None:  # type: ignore[no-untyped-def]
    walked = 0
    for route in console_routes(hub_app):
        if route.path in ("/logout", "/login"):
            continue  # signing out would end the walk: both have their own tests
        names = re.findall(r"\{([^}:]+)[^}]*\}", route.path)
        values = [*BAD_PATH_VALUES, *REAL_IDS] if names else [""]
        for value in values:
            path = "/console" + re.sub(r"\{[^}]+\}", value, route.path)
            for method in sorted((route.methods or set()) - {"HEAD"}):
                for login, b in browsers.items():  # until a role that may use it
                    if method == "GET":
                        answer = b.client.get(path + BAD_QUERY, follow_redirects=False)
                    else:
                        token = b.token("/console/")
                        junk = {
                            "csrftoken": token,
                            "id": value or "zz",
                            "n": "abc",
                            "month": "2026-99",
                            "day": "nope",
                            "op": "zz",
                            "login": "zz",
                            "role": "zz",
                            "keep": "zz",
                            "payload": "%%%",
                            "station": "zz",
                            "van": "zz",
                            "lat": "north",
                            "order": "-1",
                            "toml": "[[[",
                        }
                        answer = b.client.request(
                            method, path + BAD_QUERY, data=junk, follow_redirects=False
                        )
                    check(answer, f"{login} {method} {path}")
                    location = answer.headers.get("location", "")
                    assert "/console/login" not in location, f"signed out at {method} {path}"
                    walked += 1
                    if answer.status_code != 403:
                        break
            for method in ("PUT", "DELETE", "PATCH"):
                answer = browsers["admin"].client.request(method, path, follow_redirects=False)
                assert answer.status_code == 405, f"{method} {path}: {answer.status_code}"
                check(answer, f"{method} {path}")
                assert "方法では使えません" in answer.text
    assert walked > 150
    for b in browsers.values():
        assert b.client.get("/console/", follow_redirects=False).status_code == 200
