"""The demo: deterministic, plausible, and split between hub and van."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from odekake.demo import build_demo
from odekake.masterdata import master
from odekake.masterdata.catalog import SERVICE_RECORD_TYPES
from odekake.storage import records as rec
from odekake.storage.db import connect, get_meta


def _last_hash(path: Path) -> str:
    db = connect(path)
    return db.execute("SELECT hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()[0]


def test_same_seed_same_data(tmp_path: Path) -> None:
    day = date(2026, 3, 10)
    build_demo(tmp_path / "a", seed=11, today=day)
    build_demo(tmp_path / "b", seed=11, today=day)
    build_demo(tmp_path / "c", seed=12, today=day)
    assert _last_hash(tmp_path / "a" / "van.db") == _last_hash(tmp_path / "b" / "van.db")
    assert _last_hash(tmp_path / "a" / "van.db") != _last_hash(tmp_path / "c" / "van.db")


def test_demo_contents(demo_dir: Path) -> None:
    hub = connect(demo_dir / "hub.db", role="hub")
    van = connect(demo_dir / "van.db", role="van")
    sites = master.sites(hub)
    per_district = Counter(s["district_id"] for s in sites)
    assert len(per_district) == 13 and all(2 <= n <= 5 for n in per_district.values())
    # the van's records at the hub (the hub also has its own: the demo election's check-in)
    hub_n = hub.execute("SELECT count(*) FROM records WHERE device_id = 'van-1'").fetchone()[0]
    van_n = van.execute("SELECT count(*) FROM records").fetchone()[0]
    assert 0 < hub_n < van_n
    assert int(get_meta(van, "demo_synced_through_seq") or 0) == hub_n
    # The van's extra records are the last days; the hub's are an exact prefix.
    hub_last = hub.execute(
        "SELECT seq, hash FROM records WHERE device_id = 'van-1' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    assert (
        van.execute("SELECT hash FROM records WHERE seq = ?", [hub_last[0]]).fetchone()[0]
        == hub_last[1]
    )
    assert rec.verify(hub).ok and rec.verify(van).ok
    types = Counter(r.type for r in rec.iter_records(hub))
    assert types["stop.open"] == types["stop.close"] > 150
    for t in (
        "certificate.issue",
        "mynumber.apply",
        "consultation.hold",
        "frailty.check",
        "disaster.apply",
    ):
        assert types[t] > 0 and t in SERVICE_RECORD_TYPES
    assert hub.execute("SELECT count(*) FROM operators").fetchone()[0] == 4


def test_demo_rates_follow_fy2022(demo_dir: Path) -> None:
    """Per-visit My Number rate: 久之浜・大久 (5.0 in FY2022) far above 田人 (0.17)."""
    hub = connect(demo_dir / "hub.db")
    stops: dict[str, str] = {}
    per: Counter[str] = Counter()
    visits: Counter[str] = Counter()
    for r in rec.iter_records(hub):
        assert r.payload is not None
        if r.type == "stop.open" and r.payload["activity"] == "regular":
            stops[r.payload["stop_id"]] = r.payload["district_id"]
            visits[r.payload["district_id"]] += 1
        elif r.type == "mynumber.apply" and r.payload["stop_id"] in stops:
            per[stops[r.payload["stop_id"]]] += 1
    assert per["hisanohama"] / visits["hisanohama"] > 3.0
    assert per["tabito"] / visits["tabito"] < 1.0
    # garbage tickets are not offered where FY2022 printed "–"
    offered = [
        r.payload["services"]
        for r in rec.iter_records(hub, types=["stop.open"])
        if r.payload
        and r.payload["district_id"] == "chuodai"
        and r.payload["activity"] == "regular"
    ]
    assert offered and all("garbage" not in s for s in offered)
