"""The kiosk's services write the audit log and enforce roles from the database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from odekake.access import audit
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.access.authz import PermissionDenied
from odekake.masterdata import master
from odekake.services import login

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_logins_failures_and_lockout_are_audited(city_db) -> None:
    master.add_operator(city_db, "op1", "窓口 一", ["operator"], "111111", kdf=TEST_ONLY_CHEAP_KDF)
    login.login(city_db, "op1", "111111", now=NOW)
    for _ in range(login.MAX_FAILURES):
        with pytest.raises((login.LoginFailed, login.LockedOut)):
            login.login(city_db, "op1", "0000", now=NOW)
    with pytest.raises(login.LoginFailed):
        login.login(city_db, "nobody", "0000", now=NOW)
    actions = [(e.actor, e.action) for e in audit.entries(city_db)]
    assert actions[0] == ("op1", "login")
    assert actions.count(("op1", "login.failed")) == login.MAX_FAILURES
    assert ("op1", "login.locked") in actions
    assert actions[-1] == ("nobody", "login.failed")
    assert audit.verify(city_db) == []


def test_void_checks_roles_in_the_database_not_the_caller(city_db) -> None:
    from odekake.services import certificates

    master.add_operator(city_db, "op1", "窓口 一", ["operator"], "111111", kdf=TEST_ONLY_CHEAP_KDF)
    with pytest.raises(PermissionDenied):
        # the UI claims supervisor, the operators table says otherwise
        certificates.void_receipt(
            city_db, "R2026-van-test-000001", operator_id="op1", roles=("supervisor",)
        )
    assert audit.entries(city_db)[-1].action == "role.denied"


def test_demo_plans_today_for_the_kiosk(demo_dir) -> None:
    from odekake.storage.db import connect

    van = connect(demo_dir / "van.db")
    days = [r[0] for r in van.execute("SELECT DISTINCT date FROM plan_visits ORDER BY date")]
    # The plan starts ten days before the demo's today (the van served those days) and
    # today is planned, with at least 15 planned days from today on.
    assert days[0] == "2026-11-10" and "2026-11-20" in days
    assert len([d for d in days if d >= "2026-11-20"]) >= 15
