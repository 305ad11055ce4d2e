"""USBへ書き出し: a supervisor writes the unsynced records to a folder from the kiosk menu."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.screens.usb import UsbExportScreen
from odekake.access import audit
from odekake.access.authz import PermissionDenied
from odekake.storage.db import connect
from odekake.sync.client import usb_export
from odekake.sync.enrolment import enroll
from odekake.sync.status import hub_status

from .conftest import FixedClock
from .helpers import login
from .test_app_flows import SIZE, app_for, saved


@pytest.fixture
def enrolled(kiosk_path: Path, tmp_path: Path) -> tuple[Path, Path]:
    hub = tmp_path / "hub.db"
    connect(hub, role="hub", create=True).close()
    enroll(kiosk_path, hub)
    return kiosk_path, hub


async def test_a_supervisor_writes_a_bundle_that_city_hall_imports(
    enrolled: tuple[Path, Path], clock: FixedClock, tmp_path: Path
) -> None:
    van, hub = enrolled
    usb = tmp_path / "usb"
    usb.mkdir()
    app = app_for(van, clock)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "sv001", "999999")
        await pilot.press("enter")  # today's first stop
        await pilot.pause()
        await pilot.press("4")  # a ごみ納付券
        await saved(pilot)
        await pilot.press("enter", "u")
        await pilot.pause()
        assert isinstance(app.screen, UsbExportScreen)
        field = app.screen.query_one("#usb-folder")
        field.value = str(tmp_path / "not-plugged-in")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "フォルダがありません" in str(app.screen.query_one("#usb-message").render())
        field.value = str(usb)  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "件を書き出しました" in str(app.screen.query_one("#usb-message").render())
    [bundle] = list(usb.glob("odekake-van-1-*.bundle"))
    from click.testing import CliRunner

    from odekake.cli import main

    res = CliRunner().invoke(main, ["sync", "import", "--db", str(hub), str(bundle)])
    assert res.exit_code == 0, res.output
    db = connect(van)
    top = db.execute("SELECT MAX(seq) FROM records").fetchone()[0]
    assert audit.entries(db)[-1].action == "export"
    db.close()
    [st] = [s for s in hub_status(connect(hub)) if s.device_id == "van-1"]
    assert st.acked_seq == top


def test_only_a_supervisor_may_write_to_usb(enrolled: tuple[Path, Path], tmp_path: Path) -> None:
    van, _ = enrolled
    with pytest.raises(PermissionDenied):
        usb_export(van, tmp_path, operator_id="op001")
    db = connect(van)
    assert audit.entries(db)[-1].action == "role.denied"
    db.close()
    assert list(tmp_path.glob("*.bundle")) == []
