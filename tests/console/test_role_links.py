"""Every role is offered only what it may do: a crawl of every link and form sees no 403."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from odekake.access.authz import STAFF_PERMISSIONS
from odekake.sync.hub import make_app
from tests.console.conftest import ROLES, TODAY, Browser, console_state
from tests.console.crawl import crawl


@pytest.mark.parametrize("login", sorted(ROLES))
def test_every_link_and_form_a_role_sees_is_allowed(
    login: str, planned_hub: tuple[Path, str]
) -> None:
    app = make_app(planned_hub[0])
    console_state(app).clock = lambda: TODAY
    with TestClient(app, base_url="http://testserver") as client:
        b = Browser(client)
        assert b.login(login).status_code == 303
        found = crawl(b, limit=150, avoid=("login", login))
    assert not found.refused, f"{login} is offered what answers 403: {found.refused}"
    assert not found.failed, found.failed
    assert len(found.seen) > 3, found.seen


def test_the_403_page_names_the_role(hub_app) -> None:  # type: ignore[no-untyped-def]
    with TestClient(hub_app, base_url="http://testserver") as client:
        b = Browser(client)
        b.login("admin")
        page = client.get("/console/plans/solve-nothing/publish")
        assert page.status_code == 403
        assert "admin(システム管理者)" in page.text
        assert "admin()" not in page.text


def test_links_come_from_the_same_table_the_routes_check(
    planned_hub: tuple[Path, str],
) -> None:
    """A manager sees the plans and the policy but no way to change them."""
    app = make_app(planned_hub[0])
    console_state(app).clock = lambda: TODAY
    assert "manager" not in STAFF_PERMISSIONS["plan.edit"]
    with TestClient(app, base_url="http://testserver") as client:
        b = Browser(client)
        b.login("mgr")
        plans = client.get("/console/plans?month=2026-12").text
        assert 'id="create-plan"' not in plans
        policy = client.get("/console/plans/policy?month=2026-12").text
        assert 'id="save-policy"' not in policy and "見るだけです" in policy
        plan = client.get(f"/console/plans/{planned_hub[1]}").text
        assert "固定" not in plan.split("<tbody>", 2)[-1] and 'id="publish"' not in plan
        usage = client.get("/console/usage").text
        assert "過去の集計を取り込む" in usage  # a manager imports tallies
        b.client.post("/console/logout", data={"csrftoken": b.token("/console/")})
        b.login("admin")
        assert "過去の集計を取り込む" not in client.get("/console/usage").text
