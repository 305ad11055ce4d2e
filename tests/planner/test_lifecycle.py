"""Plans have a life: drafts, publishing that supersedes per van and day, discarding,
edits that make new drafts, and vans that receive and show only what is in force."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
import sqlite_utils

from odekake.access import audit
from odekake.errors import NotFound, OdekakeError
from odekake.masterdata import master
from odekake.services.stops import planned_visits
from odekake.storage.canonical import canonical_json
from odekake.storage.db import memory_db, write
from odekake.sync.snapshot import apply_snapshot, build_tables
from planner import lifecycle
from planner.draft_edits import AddVisit, MoveVisit, RemoveVisit
from planner.plan import DistrictTotal, Plan, PlanVisit, SolverReport

SITES = {
    "kawamae-01": ("kawamae", "川前公民館"),
    "kawamae-02": ("kawamae", "川前集会所"),
    "tabito-01": ("tabito", "田人公民館"),
    "miwa-01": ("miwa", "三和公民館"),
}


@pytest.fixture
def hub() -> Iterator[sqlite_utils.Database]:
    """A hub with four sites and two vans."""
    db = memory_db("hub", device_id="hub")
    master.seed_city(db)
    with write(db):
        for sid, (did, name) in SITES.items():
            master.upsert_site(
                db,
                {
                    "id": sid,
                    "district_id": did,
                    "name": name,
                    "kind": "公民館",
                    "lat": 37.2,
                    "lon": 140.7,
                    "open_weekdays": "月火水木金",
                    "open_from": "09:00",
                    "open_to": "17:00",
                    "notes": "",
                },
            )
    master.add_van(db, "van-1", "1号車")
    master.add_van(db, "van-2", "2号車")
    yield db
    db.close()


def visit(day: str, van: str, start: str, site: str, activity: str = "regular") -> PlanVisit:
    did, name = SITES[site]
    end = {"10:00": "12:00", "13:30": "15:30"}[start]
    return PlanVisit(
        date=day,
        van_id=van,
        window=f"{start}-{end}",
        start=start,
        end=end,
        site_id=site,
        site_name=name,
        district_id=did,
        district_name=did,
        activity=activity,
        arrive={"10:00": "09:45", "13:30": "13:15"}[start],
        depart={"12:00": "12:15", "15:30": "15:45"}[end],
        order=1 if start == "10:00" else 2,
        opened_day=False,
        travel_minutes=20,
        services=("certificate", "consultation"),
        expected_users=3.0,
    )


def make_plan(visits: list[PlanVisit], start: str = "2026-12-01", end: str = "2026-12-31") -> Plan:
    return Plan(
        id=str(uuid.uuid4()),
        created_at="2026-11-20T00:00:00+00:00",
        horizon_start=start,
        horizon_end=end,
        visits=visits,
        districts=[DistrictTotal("kawamae", "川前", 1, 1, 3.0, 1, 4)],
        solver=SolverReport("highs", "optimal", 10.0, 10.0, 0.0, 1.0),
        notes=["注意の例"],
        explanations={"kawamae": "川前: 1回。"},
    )


def in_force(db: sqlite_utils.Database, van: str, day: str) -> list[tuple[str, str]]:
    return [(v.start, v.site_id) for v in lifecycle.published_visits(db, van, day, day)]


def test_a_new_plan_is_a_draft_that_no_van_receives(hub: sqlite_utils.Database) -> None:
    plan = make_plan([visit("2026-12-02", "van-1", "10:00", "kawamae-01")])
    pid = lifecycle.save_draft(hub, plan, van_ids=["van-1"], label="第1案", actor="cli:test")
    [s] = lifecycle.list_plans(hub)
    assert (s.id, s.status, s.status_label, s.van_ids, s.visits, s.in_force) == (
        pid,
        "draft",
        "下書き",
        ("van-1",),
        1,
        0,
    )
    assert s.label == "第1案" and s.expected_users == 3.0
    assert lifecycle.published_visits(hub, "van-1", "2026-12-01", "2026-12-31") == []
    rows = build_tables(hub, van_id="van-1", device_id="van-1")
    assert rows["plan_visits"]["rows"] == [] and rows["plans"]["rows"] == []
    assert audit.entries(hub)[-1].action == "plan.create"


def test_load_plan_returns_what_was_stored(hub: sqlite_utils.Database) -> None:
    plan = make_plan(
        [
            visit("2026-12-02", "van-1", "10:00", "kawamae-01"),
            visit("2026-12-02", "van-1", "13:30", "tabito-01"),
        ]
    )
    pid = lifecycle.save_draft(hub, plan)
    got = lifecycle.load_plan(hub, pid[:8])
    assert got.id == pid
    assert [(v.start, v.site_id, v.expected_users) for v in got.visits] == [
        ("10:00", "kawamae-01", 3.0),
        ("13:30", "tabito-01", 3.0),
    ]
    assert all(v.id for v in got.visits)
    stored = {r[0] for r in hub.execute("SELECT id FROM plan_visits WHERE plan_id = ?", [pid])}
    assert {v.id for v in got.visits} == stored
    assert got.districts == plan.districts
    assert got.solver == plan.solver
    assert got.notes == plan.notes and got.explanations == plan.explanations


def test_publishing_supersedes_the_same_van_and_days_only(hub: sqlite_utils.Database) -> None:
    first = make_plan(
        [
            visit("2026-12-02", "van-1", "10:00", "kawamae-01"),
            visit("2026-12-02", "van-1", "13:30", "kawamae-02"),
            visit("2026-12-03", "van-1", "10:00", "tabito-01"),
            visit("2026-12-02", "van-2", "10:00", "miwa-01"),
        ]
    )
    a = lifecycle.save_draft(hub, first, van_ids=["van-1", "van-2"])
    ra = lifecycle.publish(hub, a, actor="cli:test")
    assert (ra.visits, ra.unchanged, ra.superseded) == (4, 0, {})
    # A re-plan of van-1 for 2 December only: the afternoon moves, the morning stays.
    second = make_plan(
        [
            visit("2026-12-02", "van-1", "10:00", "kawamae-01"),
            visit("2026-12-02", "van-1", "13:30", "tabito-01"),
        ],
        start="2026-12-02",
        end="2026-12-02",
    )
    b = lifecycle.save_draft(hub, second, van_ids=["van-1"])
    morning_id = next(
        r[0]
        for r in hub.execute(
            "SELECT id FROM plan_visits WHERE plan_id = ? AND start = '10:00' AND van_id = 'van-1'",
            [a],
        )
    )
    rb = lifecycle.publish(hub, b, actor="cli:test")
    assert rb.unchanged == 1
    assert rb.superseded == {a: 1}
    assert rb.superseded_plans == ()  # plan a still has visits in force
    assert in_force(hub, "van-1", "2026-12-02") == [
        ("10:00", "kawamae-01"),
        ("13:30", "tabito-01"),
    ]
    # The unchanged morning keeps its first id (a van's opened stop stays opened).
    first = lifecycle.published_visits(hub, "van-1", "2026-12-02", "2026-12-02")[0]
    assert first.id == morning_id
    # Other days and the other van are untouched.
    assert in_force(hub, "van-1", "2026-12-03") == [("10:00", "tabito-01")]
    assert in_force(hub, "van-2", "2026-12-02") == [("10:00", "miwa-01")]
    statuses = {s.id: s.status for s in lifecycle.list_plans(hub)}
    assert statuses == {a: "published", b: "published"}
    entry = audit.entries(hub)[-1]
    assert (entry.action, entry.target, entry.actor) == ("plan.publish", b, "cli:test")
    assert entry.detail["superseded"] == {a: 1}


def test_a_plan_with_nothing_left_in_force_is_superseded(hub: sqlite_utils.Database) -> None:
    a = lifecycle.save_draft(
        hub, make_plan([visit("2026-12-02", "van-1", "10:00", "kawamae-01")]), van_ids=["van-1"]
    )
    lifecycle.publish(hub, a, actor="t")
    # The new plan speaks for van-1 all month and has no visit on 2 December: the old
    # visit goes, even though nothing replaces it on that day.
    b = lifecycle.save_draft(
        hub, make_plan([visit("2026-12-04", "van-1", "10:00", "tabito-01")]), van_ids=["van-1"]
    )
    r = lifecycle.publish(hub, b, actor="t")
    assert r.superseded == {a: 1} and r.superseded_plans == (a,)
    assert in_force(hub, "van-1", "2026-12-02") == []
    assert lifecycle.summary(hub, a).status == "superseded"
    assert lifecycle.summary(hub, a).status_label == "差し替え済み"


def test_only_drafts_can_be_published_or_discarded(hub: sqlite_utils.Database) -> None:
    a = lifecycle.save_draft(hub, make_plan([visit("2026-12-02", "van-1", "10:00", "miwa-01")]))
    lifecycle.publish(hub, a, actor="t")
    with pytest.raises(OdekakeError, match=r"公開できるのは下書きの計画だけです.*「公開中」"):
        lifecycle.publish(hub, a, actor="t")
    with pytest.raises(OdekakeError, match="破棄できるのは下書きの計画だけです"):
        lifecycle.discard(hub, a, actor="t")
    b = lifecycle.save_draft(hub, make_plan([visit("2026-12-02", "van-1", "10:00", "tabito-01")]))
    assert lifecycle.discard(hub, b, actor="cli:test") == b
    assert lifecycle.summary(hub, b).status == "discarded"
    assert audit.entries(hub)[-1].action == "plan.discard"
    with pytest.raises(OdekakeError, match="「破棄」"):
        lifecycle.publish(hub, b, actor="t")
    assert in_force(hub, "van-1", "2026-12-02") == [("10:00", "miwa-01")]
    with pytest.raises(NotFound, match="計画がありません"):
        lifecycle.publish(hub, "no-such-plan", actor="t")


def test_a_status_outside_the_lifecycle_is_refused(hub: sqlite_utils.Database) -> None:
    with pytest.raises(Exception, match="plan status"), write(hub):
        hub.execute(
            "INSERT INTO plans(id, created_at, horizon_start, horizon_end, status)"
            " VALUES ('x', '2026-11-01', '2026-12-01', '2026-12-31', 'announced')"
        )


def test_the_van_receives_and_shows_only_visits_in_force(hub: sqlite_utils.Database) -> None:
    a = lifecycle.save_draft(
        hub,
        make_plan(
            [
                visit("2026-12-02", "van-1", "10:00", "kawamae-01"),
                visit("2026-12-02", "van-1", "13:30", "kawamae-02"),
            ]
        ),
        van_ids=["van-1"],
    )
    lifecycle.publish(hub, a, actor="t")
    b = lifecycle.save_draft(
        hub,
        make_plan(
            [
                visit("2026-12-02", "van-1", "10:00", "tabito-01"),
                visit("2026-12-02", "van-1", "13:30", "miwa-01"),
            ]
        ),
        van_ids=["van-1"],
    )
    lifecycle.publish(hub, b, actor="t")
    lifecycle.save_draft(  # a third plan, never published
        hub, make_plan([visit("2026-12-02", "van-1", "10:00", "kawamae-02")]), van_ids=["van-1"]
    )
    van = memory_db("van", device_id="van-1")
    master.seed_city(van)
    tables = build_tables(hub, van_id="van-1", device_id="van-1")
    apply_snapshot(
        van,
        {
            "format": "odekake-snapshot",
            "version": 1,
            "device_id": "van-1",
            "van_id": "van-1",
            "tables": tables,
            "sha256": hashlib.sha256(canonical_json(tables).encode("utf-8")).hexdigest(),
        },
    )

    shown = [(v.window, v.site_id) for v in planned_visits(van, "van-1", date(2026, 12, 2))]
    assert shown == [("10:00-12:00", "tabito-01"), ("13:30-15:30", "miwa-01")]
    assert van.execute("SELECT COUNT(*) FROM plan_visits").fetchone()[0] == 2


def test_edit_draft_moves_removes_and_adds(hub: sqlite_utils.Database) -> None:
    a = lifecycle.save_draft(
        hub,
        make_plan(
            [
                visit("2026-12-02", "van-1", "10:00", "kawamae-01"),
                visit("2026-12-02", "van-1", "13:30", "kawamae-02"),
                visit("2026-12-03", "van-1", "10:00", "tabito-01"),
            ]
        ),
        van_ids=["van-1"],
    )
    ids = {(v.date, v.start): v.id for v in lifecycle.load_plan(hub, a).visits}
    new = lifecycle.edit_draft(
        hub,
        a,
        [
            MoveVisit(ids[("2026-12-02", "13:30")], date="2026-12-04", site_id="miwa-01"),
            RemoveVisit(ids[("2026-12-03", "10:00")]),
            AddVisit("2026-12-07", "van-2", "13:30-15:30", "tabito-01"),
        ],
        actor="console:coordinator",
    )
    s = lifecycle.summary(hub, new)
    assert (s.status, s.parent_id, s.van_ids) == ("draft", a, ("van-1",))
    edited = lifecycle.load_plan(hub, new)
    assert [(v.date, v.van_id, v.start, v.site_id, v.order) for v in edited.visits] == [
        ("2026-12-02", "van-1", "10:00", "kawamae-01", 1),
        ("2026-12-04", "van-1", "13:30", "miwa-01", 1),
        ("2026-12-07", "van-2", "13:30", "tabito-01", 1),
    ]
    moved = edited.visits[1]
    assert (moved.arrive, moved.depart, moved.district_id) == ("13:15", "15:45", "miwa")
    assert edited.solver.status == "edited"
    assert any("手で編集" in n for n in edited.notes)
    totals = {t.district_id: (t.visits, t.stops) for t in edited.districts}
    assert totals["kawamae"] == (1, 1) and totals["miwa"] == (1, 1)
    # The original is untouched.
    assert len(lifecycle.load_plan(hub, a).visits) == 3
    assert audit.entries(hub)[-1].actor == "console:coordinator"


def test_edit_errors_are_japanese(hub: sqlite_utils.Database) -> None:
    a = lifecycle.save_draft(hub, make_plan([visit("2026-12-02", "van-1", "10:00", "miwa-01")]))
    with pytest.raises(NotFound, match="訪問 nope がありません"):
        lifecycle.edit_draft(hub, a, [RemoveVisit("nope")], actor="t")
    with pytest.raises(NotFound, match="会場がありません: zz"):
        lifecycle.edit_draft(
            hub, a, [AddVisit("2026-12-03", "van-1", "10:00-12:00", "zz")], actor="t"
        )
    with pytest.raises(OdekakeError, match="時間が重なります"):
        lifecycle.edit_draft(
            hub, a, [AddVisit("2026-12-02", "van-1", "11:00-12:30", "tabito-01")], actor="t"
        )
    with pytest.raises(OdekakeError, match="日付は YYYY-MM-DD"):
        lifecycle.edit_draft(
            hub, a, [AddVisit("12/3", "van-1", "10:00-12:00", "tabito-01")], actor="t"
        )


def test_published_keep_carries_event_ids(hub: sqlite_utils.Database) -> None:
    resv = dataclasses.replace(
        visit("2026-12-03", "van-1", "10:00", "miwa-01", "reservation"), event_id="resv-1"
    )
    a = lifecycle.save_draft(
        hub,
        make_plan([visit("2026-12-02", "van-1", "10:00", "kawamae-01"), resv]),
        van_ids=["van-1"],
    )
    lifecycle.publish(hub, a, actor="t")
    kept, parent = lifecycle.published_keep(hub, ["van-1"], date(2026, 12, 1), date(2026, 12, 31))
    assert parent == a
    assert [(k.date.isoformat(), k.site_id, k.activity, k.event_id) for k in kept] == [
        ("2026-12-02", "kawamae-01", "regular", None),
        ("2026-12-03", "miwa-01", "reservation", "resv-1"),
    ]
