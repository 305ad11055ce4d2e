"""Power loss at the hub: SIGKILL at random points during ingest, 150 times, never
loses an acknowledged record nor corrupts the hub; a final retry completes it."""

from __future__ import annotations

import io
import random

import sqlite_utils

from odekake.storage import records as rec
from odekake.storage.db import connect
from odekake.sync.bundle import export_range
from odekake.sync.ingest import hub_mark, ingest_bytes
from odekake.sync.keys import key_path_for, load_private_key
from tests.security.test_power_loss import _kill_loop
from tests.sync.conftest import Site, rows


def test_sigkill_during_ingest_loses_nothing_acknowledged(site: Site) -> None:
    van_path = site.van("van-k", 1500)
    van = connect(van_path)
    key = load_private_key(key_path_for(van_path))
    batch = 25
    bundles: dict[int, bytes] = {}
    for start in range(1, 1501, batch):
        buf = io.BytesIO()
        export_range(van, buf, device_id="van-k", from_seq=start, to_seq=start + batch - 1, key=key)
        bundles[start] = buf.getvalue()
    rng = random.Random(3)

    def ingest_next(db: sqlite_utils.Database, i: int) -> str:
        mark = hub_mark(db, "van-k")[0]
        if mark >= 1500:
            return str(mark)
        # mostly the next batch, sometimes one already stored (a retry after a lost answer)
        start = mark + 1 if rng.random() < 0.8 else max(1, mark + 1 - batch)
        start = 1 + ((start - 1) // batch) * batch
        result = ingest_bytes(db, bundles[start], expected_device="van-k")
        return str(result.acked_seq)

    acknowledged = _kill_loop(site.hub, ingest_next, rounds=150, seed=4)
    hub = connect(site.hub)
    assert hub.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert rec.verify(hub).ok
    top = max(int(a) for a in acknowledged)
    assert hub_mark(hub, "van-k")[0] >= top > 0
    # Retrying after the last kill completes the device exactly, once each.
    while (mark := hub_mark(hub, "van-k")[0]) < 1500:
        ingest_bytes(hub, bundles[1 + (mark // batch) * batch], expected_device="van-k")
    assert rows(site.hub, "van-k") == rows(van_path, "van-k")
