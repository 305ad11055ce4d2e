"""Counter services and fees need the 窓口 role: an election clerk alone takes no
certificate fee (refused in the core and audited, and said at the menu); a supervisor
covers every role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from kiosk.screens.menu import MenuScreen
from odekake.access import audit
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.access.authz import PermissionDenied
from odekake.masterdata import master
from odekake.services import certificates, garbage
from odekake.services.common import Actor

from .conftest import FixedClock
from .helpers import login, records
from .test_app_flows import SIZE, app_for
from .test_services import cert_form


def add_clerk(db: sqlite_utils.Database) -> None:
    master.add_operator(db, "cl001", "高橋 美咲", ["clerk"], "345678", kdf=TEST_ONLY_CHEAP_KDF)


def test_a_clerk_alone_takes_no_fee_and_a_supervisor_may(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor]
) -> None:
    add_clerk(kdb)
    actor = open_stop()
    clerk = Actor(operator_id="cl001", stop_id=actor.stop_id, now=actor.now)
    with pytest.raises(PermissionDenied, match="窓口担当"):
        certificates.issue(kdb, cert_form(), clerk)
    with pytest.raises(PermissionDenied):
        garbage.sell(
            kdb, {"service_code": "garbage.large_s", "quantity": "1", "payment": "cash"}, clerk
        )
    refusals = [e for e in audit.entries(kdb) if e.actor == "cl001"]
    assert refusals, "the refusal is audited"
    supervisor = Actor(operator_id="sv001", stop_id=actor.stop_id, now=actor.now)
    assert certificates.issue(kdb, cert_form(), supervisor).payload["receipt_no"]


async def test_the_menu_tells_a_clerk_the_counter_needs_the_counter_role(
    kiosk_path: Path, clock: FixedClock, kdb: sqlite_utils.Database, open_stop: Any
) -> None:
    add_clerk(kdb)
    open_stop()
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot, "cl001", "345678")
        assert isinstance(app.screen, MenuScreen)
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, MenuScreen)
        assert any("窓口担当" in n.message for n in app._notifications)
    assert records(kiosk_path, "certificate.issue") == []
