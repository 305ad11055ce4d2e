"""A local demo: Iwaki's districts, plausible stops, a van, operators and a year of
synthetic history whose per-visit rates follow the FY2022 usage table.

Only synthetic residents: every name and address is made up (addresses say デモ).
Deterministic for a given ``seed`` and ``today``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.demo.election import DEMO_ELECTION_ID, DEMO_HUB_URL, _demo_election
from odekake.demo.history import _make_sites, _working_days, generate_history, serve_plan
from odekake.demo.synthetic import (
    DEVICE_ID,
    JST,
    OPERATORS,
    VAN_ID,
)
from odekake.errors import OdekakeError
from odekake.masterdata import master
from odekake.storage.db import connect, set_meta, write
from odekake.storage.records import SEAL_KEY_META, Record, insert_record
from odekake.storage.sealing import generate_keypair, save_private_key

HUB_KEY_FILE = "hub-seal.key"


@dataclass
class DemoSummary:
    """What the demo built."""

    directory: Path
    sites: int = 0
    hub_records: int = 0
    van_records: int = 0
    stops: int = 0
    first_day: date | None = None
    last_day: date | None = None
    unsynced_days: list[date] = field(default_factory=list)
    voters: int = 0

    def describe(self) -> str:
        """A short Japanese summary for the terminal."""
        return (
            f"デモデータを作成しました: {self.directory}\n"
            f"  hub.db: 記録 {self.hub_records} 件({self.first_day}〜{self.last_day}、{self.stops} 回の運行)\n"
            f"  van.db: 記録 {self.van_records} 件(うち未同期 {self.van_records - self.hub_records} 件)\n"
            f"  会場 {self.sites} か所、車両 1 台、職員 {len(OPERATORS)} 名"
            f"(PIN: op001=123456, sv001=999999 ほか README 参照)\n"
            f"  選挙 {DEMO_ELECTION_ID}: 本日の午前の会場が移動期日前投票所、"
            f"名簿 {self.voters} 人(投票事務 cl001=345678)\n" + console_help(self.directory)
        )


# City-hall staff of the demo (console accounts): login, name, role, password.
DEMO_STAFF = (
    ("coord", "企画 太郎(デモ)", "coordinator", "coord-demo-2026"),
    ("manager", "管理 花子(デモ)", "manager", "manager-demo-2026"),
)


def console_help(directory: Path) -> str:
    """How to open the demo's city-hall console and sign in (Japanese lines)."""
    accounts = "、".join(f"{login} / {pw}" for login, _, _, pw in DEMO_STAFF)
    return (
        f"管理画面(ブラウザ): odekake hub serve --db {directory / 'hub.db'} --port 8765 を起動し、\n"
        f"  http://127.0.0.1:8765/console/ を開いてログイン(企画担当・管理職: {accounts})"
    )


def _seed_master(
    db: sqlite_utils.Database,
    sites: list[dict[str, Any]],
    flood: dict[str, Any],
    operators_from: sqlite_utils.Database | None = None,
) -> None:
    master.seed_city(db)
    with write(db):
        for s in sites:
            master.upsert_site(db, s)
    master.add_van(db, VAN_ID, "お出かけ市役所 1号車")
    if operators_from is None:
        for oid, name, roles, pin in OPERATORS:
            master.add_operator(db, oid, name, roles, pin)
    else:  # the van gets the hub's verifiers, as a pull would (each PIN hashed once)
        cols = "id, name, roles, pin_hash, sign_public, box_public, key_sealed"
        rows = operators_from.execute(f"SELECT {cols} FROM operators").fetchall()
        with write(db):
            db.conn.executemany(f"INSERT INTO operators({cols}) VALUES (?,?,?,?,?,?,?)", rows)
    master.add_disaster(db, "r5-typhoon13", "令和5年台風第13号", date(2023, 9, 8), "浸水")
    master.add_disaster(db, flood["id"], flood["name"], date.fromisoformat(flood["date"]), "浸水")


def _publish_demo_plan(
    hub: sqlite_utils.Database,
    van: sqlite_utils.Database,
    sites: list[dict[str, Any]],
    rng: random.Random,
    today: date,
) -> None:
    """The planner's plan for four weeks from today, checked and published on the hub and
    copied to the van (as its first pull would bring it); today's stop is pinned at the
    first site of a district drawn by ``rng``.
    """
    from planner.demo_plan import copy_published, publish_demo_plan

    order = [d.id for d in master.IWAKI_DISTRICTS]
    rng.shuffle(order)
    site_id = next(s["id"] for s in sites if s["district_id"] == order[0])
    plan_id = publish_demo_plan(hub, today, site_id)
    copy_published(hub, van, plan_id)


def _insert_records(
    hub: sqlite_utils.Database, van: sqlite_utils.Database, records: list[Record], cut_utc: str
) -> None:
    """The van holds every record; the hub those before ``cut_utc`` (synced)."""
    with write(hub):
        for r in records:
            if r.wall_time < cut_utc:
                insert_record(hub, r)
    with write(van):
        for r in records:
            insert_record(van, r)


def build_demo(
    directory: Path, *, seed: int = 7, today: date | None = None, force: bool = False
) -> DemoSummary:
    """Create ``directory/hub.db`` and ``directory/van.db``.

    The hub holds a year of history from the van (as if synced); the van holds the
    same chain plus the last few working days' records, not yet synced.
    """
    today = today or datetime.now(JST).date()
    directory.mkdir(parents=True, exist_ok=True)
    hub_path, van_path = directory / "hub.db", directory / "van.db"
    demo_files = (hub_path, van_path, directory / HUB_KEY_FILE, directory / "van.db.key")
    for p in (*demo_files, directory / "hub.db.sign.key"):
        if p.exists():
            if not force:
                raise OdekakeError(f"{p} はすでにあります。作り直すときは --force を付けてください")
            for suffix in ("", "-wal", "-shm"):
                Path(str(p) + suffix).unlink(missing_ok=True)
    rng = random.Random(seed)
    sites = _make_sites(rng)
    hub = connect(hub_path, role="hub", create=True)
    van = connect(van_path, role="van", create=True, device_id=DEVICE_ID)
    start = today - timedelta(days=365)
    master.seed_holidays(hub, start.year, today.year + 1)
    recent = _working_days(hub, today - timedelta(days=10), today - timedelta(days=1))
    unsynced = recent[-3:]
    cut = unsynced[0] if unsynced else today
    # City hall's sealing key: vans seal residents' personal fields to it (see
    # odekake.storage.sealing); the private key stays next to hub.db, never on the van.
    private, public = generate_keypair(random.Random(seed * 7919 + 1))
    save_private_key(private, directory / HUB_KEY_FILE)
    from planner.demo_plan import plan_start

    # The history follows its own rotation up to the published plan's first day; from
    # then on the van serves the plan (below), so planned versus actual has days to show.
    first_planned = plan_start(today)
    gen, flood = generate_history(
        hub, sites, rng, start, today - timedelta(days=1), public, until=first_planned
    )
    for db in (hub, van):
        _seed_master(db, sites, flood, None if db is hub else hub)
        master.seed_holidays(db, start.year, today.year + 1)
        with write(db):
            set_meta(db, SEAL_KEY_META, public)
            db.execute("INSERT INTO settings(key, value) VALUES (?, ?)", [SEAL_KEY_META, public])
    cut_utc = (
        datetime.combine(cut, time(0, 0), tzinfo=JST)
        .astimezone(UTC)
        .isoformat(timespec="milliseconds")
    )
    history = list(gen.chain.records)
    _insert_records(hub, van, history, cut_utc)
    # Today is always planned, even on a holiday, so the demo kiosk has stops to open
    # (an opened day, as a coordinator would open a weekend for an event). The planner
    # reads the history above to forecast users, so the plan comes after it.
    _publish_demo_plan(hub, van, sites, random.Random(seed + 1), today)
    serve_plan(gen, hub, first_planned, today - timedelta(days=1))
    _insert_records(hub, van, gen.chain.records[len(history) :], cut_utc)
    synced = [r for r in gen.chain.records if r.wall_time < cut_utc]
    with write(van):
        set_meta(van, "demo_synced_through_seq", str(len(synced)))
    voters = _demo_election(hub, van, directory, today)
    from odekake.sync.enrolment import enroll_synced

    enroll_synced(
        van, hub, van_path, len(synced), hub_path
    )  # the demo van is enrolled and synced up to here
    from odekake.storage.receipt_mac import ensure_device_key

    # The receipts' 確認コード key, as the van's first pull would bring it.
    receipt_key = ensure_device_key(hub, DEVICE_ID)
    with write(van):
        van.execute(
            "INSERT INTO receipt_keys(device_id, key) VALUES (?, ?) "
            "ON CONFLICT(device_id) DO UPDATE SET key = excluded.key",
            [DEVICE_ID, receipt_key],
        )
    from odekake.sync.client import remember_hub_url

    # The hub of the README's tour (odekake hub serve --port 8765): key 8 then knows
    # where to check voters in, and says so when that hub is not running.
    remember_hub_url(van, DEVICE_ID, DEMO_HUB_URL)
    from odekake.access.staff import add_staff

    for login, name, role, password in DEMO_STAFF:
        add_staff(hub, login, name, role, password, actor="demo")
    return DemoSummary(
        directory=directory,
        sites=len(sites),
        hub_records=len(synced),
        van_records=len(gen.chain.records),
        stops=gen.stops,
        first_day=start,
        last_day=today - timedelta(days=1),
        unsynced_days=unsynced,
        voters=voters,
    )
