"""A van auto-syncs with an https hub signed by the city's CA once it is given the CA
(``odekake kiosk --ca-file`` / ``sync push|pull --ca-file``, kept in the van's
settings), and its top bar tells an untrusted certificate and a hub key mismatch
from being offline. A real https hub on 127.0.0.1 with a CA made in the test."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from textual.pilot import Pilot

from kiosk.app import KioskApp, KioskSettings, make_app
from odekake.storage.db import connect, set_meta, write
from odekake.sync.auto import CERT_UNTRUSTED, IDLE, KEY_MISMATCH, OFFLINE
from odekake.sync.client import ca_file_for
from odekake.sync.wire import HUB_KEY_META
from tests.sync.conftest import HubProcess, Site, cli, give_sealing_key, rows
from tests.sync.test_tls import make_tls

from .conftest import FixedClock

SIZE = (80, 24)


def van_app(van: Path, clock: FixedClock, url: str, ca: Path | None = None) -> KioskApp:
    settings = KioskSettings(
        van_id="van-a",
        hub_url=url,
        ca_file=ca,
        sync_every=0.2,
        sync_first_backoff=0.2,
        sync_max_backoff=0.5,
        log_path=van.parent / "kiosk.log",
    )
    return make_app(van, clock=clock, settings=settings)


async def wait_phase(pilot: Pilot[None], phase: str) -> None:
    app = pilot.app
    assert isinstance(app, KioskApp)
    for _ in range(300):  # ≤ 15 s
        st = app.autosync.state if app.autosync else None
        synced = st is not None and st.unsynced == 0 and st.last_sync_at is not None
        if st is not None and st.phase == phase and (phase != IDLE or synced):
            return
        await pilot.pause(0.05)
    raise AssertionError(f"sync never reached {phase}: {app.autosync and app.autosync.state}")


async def test_the_ca_file_is_kept_and_the_top_bar_names_what_stops_sync(
    tmp_path: Path, clock: FixedClock
) -> None:
    hub_db = tmp_path / "hub.db"
    connect(hub_db, role="hub", create=True).close()
    give_sealing_key(hub_db)
    site = Site(tmp_path, hub_db)
    van = site.van("van-a", 6)
    cert, key, ca = make_tls(tmp_path)
    hub = HubProcess(hub_db, tls=(cert, key, ca)).start()
    try:
        refused = cli("sync", "push", "--db", str(van), "--hub", hub.url)
        assert refused.returncode == 1
        assert "odekake kiosk --ca-file" in refused.stderr  # what to do, exactly

        app = van_app(van, clock, hub.url)
        async with app.run_test(size=SIZE) as pilot:
            await wait_phase(pilot, CERT_UNTRUSTED)
            assert "証明書未確認" in app.status_line(78)

        app = van_app(van, clock, hub.url, ca=ca)  # odekake kiosk --ca-file ca.pem
        async with app.run_test(size=SIZE) as pilot:
            await wait_phase(pilot, IDLE)
        assert rows(hub_db, "van-a") == rows(van, "van-a")

        # kept: a later start and a later push need no option
        assert ca_file_for(van, None) == ca.resolve()
        app = van_app(van, clock, hub.url)
        again = cli("sync", "pull", "--db", str(van), "--hub", hub.url)
        assert again.returncode == 0, again.stderr

        # a hub answering with another key than the one pinned
        other = (
            Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        db = connect(van)
        with write(db):
            set_meta(db, HUB_KEY_META, base64.b64encode(other).decode())
        db.close()
        async with app.run_test(size=SIZE) as pilot:
            await wait_phase(pilot, KEY_MISMATCH)
            assert "ハブ鍵不一致" in app.status_line(78)
    finally:
        hub.stop()

    # nothing listening: offline
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        app = van_app(van, clock, f"http://127.0.0.1:{held.getsockname()[1]}")
        async with app.run_test(size=SIZE) as pilot:
            await wait_phase(pilot, OFFLINE)
            assert "接続なし" in app.status_line(78)
