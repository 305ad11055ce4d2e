"""After a crash (kill -9 just after a save) the next start tells the operator the last
record saved before it; after a clean stop it says nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from textual.widgets import Static

from .conftest import FixedClock
from .test_app_flows import SIZE, app_for

# A kiosk process that saves a certificate (its receipt committed) and is killed
# with SIGKILL before it can stop cleanly.
CRASHING_KIOSK = """
import os, signal, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from kiosk.app import make_app
from odekake.services import certificates
from odekake.services.stops import open_planned
from odekake.services.common import Actor
from tests.kiosk.conftest import NOW
from tests.kiosk.test_services import cert_form

app = make_app(Path({db!r}), clock=lambda: NOW)
opened = open_planned(app.db, "pv-1", operator_id="op001", now=NOW)
actor = Actor(operator_id="op001", stop_id=str(opened.payload["stop_id"]), now=NOW)
r = certificates.issue(app.db, cert_form(), actor)
print(r.payload["receipt_no"], flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


async def test_after_a_kill_the_kiosk_names_the_last_record_saved(
    kiosk_path: Path, clock: FixedClock
) -> None:
    root = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_KIOSK.format(root=root, db=str(kiosk_path))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    number = done.stdout.strip()
    assert number.startswith("R2026-van-1-")
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        notice = str(app.screen.query_one("#crash-notice", Static).render())
        assert "正常に終了しませんでした" in notice
        assert f"証明書 {number}" in notice and "10:05" in notice
    # that run stopped cleanly: the next start says nothing
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query("#crash-notice")
