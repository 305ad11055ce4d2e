"""One travel model: the solver, ``plan check``, hand edits and CSV imports price every
leg from the policy the same way, and every stored plan carries its driving."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from odekake.errors import ImportRejected
from odekake.masterdata import master
from odekake.storage.db import memory_db, write
from planner import lifecycle, tomlfile
from planner.check import check_plan
from planner.draft_edits import AddVisit, RemoveVisit
from planner.handedit import import_csv
from planner.model import build
from planner.output import csv_text
from planner.plan import Plan
from planner.policy import policy_from_dict
from planner.solve import solve

SITES = {"kawamae-01": "kawamae", "tabito-01": "tabito", "miwa-01": "miwa"}
# Minutes a coordinator measured; kawamae ↔ tabito is a long way round (400).
LEGS = {
    ("depot:van-1", "kawamae-01"): 30,
    ("depot:van-1", "tabito-01"): 40,
    ("depot:van-1", "miwa-01"): 50,
    ("kawamae-01", "tabito-01"): 400,
    ("kawamae-01", "miwa-01"): 25,
    ("tabito-01", "miwa-01"): 35,
}


def leg(a: str, b: str) -> int:
    return 0 if a == b else LEGS.get((a, b), LEGS.get((b, a), -1))


def day_driving(plan: Plan, day: str) -> int:
    on_day = sorted((v for v in plan.visits if v.date == day), key=lambda v: v.start)
    stops = ["depot:van-1", *(v.site_id for v in on_day), "depot:van-1"]
    return sum(leg(a, b) for a, b in itertools.pairwise(stops))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[sqlite_utils.Database, dict[str, Any]]]:
    db = memory_db("hub", device_id="hub")
    master.seed_city(db)
    with write(db):
        for k, (sid, did) in enumerate(SITES.items()):
            master.upsert_site(db, {
                "id": sid, "district_id": did, "name": f"{did}公民館", "kind": "公民館",
                "lat": 37.1 + k / 50, "lon": 140.7 + k / 50, "open_weekdays": "月火水木金",
                "open_from": "09:00", "open_to": "17:00", "notes": "",
            })  # fmt: skip
    master.add_van(db, "van-1", "1号車")
    matrix = tmp_path / "travel.csv"
    matrix.write_text(
        "from,to,minutes\n" + "".join(f"{a},{b},{m}\n" for (a, b), m in LEGS.items()),
        encoding="utf-8",
    )
    doc: dict[str, Any] = {
        "horizon": {"start": "2027-01-04", "days": 2},
        "vans": [{"id": "van-1", "shift": "08:30-17:15"}],
        "windows": {"default": ["10:00-12:00", "13:30-15:30"]},
        "travel": {"matrix": "travel.csv"},
        "districts": {"default": {"min_visits": 0, "max_visits": 1}, "kawamae": {"min_visits": 1}},
        "events": {"reservation": [{
            "id": "resv-1", "label": "予約訪問(相談)", "site": "miwa-01",
            "from": "2027-01-04", "to": "2027-01-05", "services": ["consultation"],
        }]},
    }  # fmt: skip
    yield db, doc
    db.close()


def _solved(
    db: sqlite_utils.Database, doc: dict[str, Any], base_dir: Path
) -> tuple[Any, Plan, str]:
    data = policy_from_dict(doc, db, today=date(2027, 1, 1), base_dir=base_dir)
    plan = solve(build(data), solver="highs", time_limit=30, gap=0)
    pid = lifecycle.save_draft(db, plan, policy_text=tomlfile.dumps(doc), actor="test")
    return data, plan, pid


def test_an_edit_prices_its_legs_from_the_policys_matrix(
    hub: tuple[sqlite_utils.Database, dict[str, Any]], tmp_path: Path
) -> None:
    db, doc = hub
    data, plan, pid = _solved(db, doc, tmp_path)
    stored = lifecycle.load_plan(db, pid)
    assert stored.driving == plan.driving and plan.driving
    assert stored.to_dict()["driving_minutes"]["total"] == sum(
        day_driving(plan, d) for d in {v.date for v in plan.visits}
    )
    # Put tabito right after kawamae on a kawamae day: the matrix says 400 minutes.
    kawamae = next(v for v in stored.visits if v.site_id == "kawamae-01")
    others = [v for v in stored.visits if v.date == kawamae.date and v.id != kawamae.id]
    free = "13:30-15:30" if kawamae.start == "10:00" else "10:00-12:00"
    edits: list[Any] = [RemoveVisit(v.id) for v in others]
    edits.append(AddVisit(kawamae.date, "van-1", free, "tabito-01"))
    edited = lifecycle.load_plan(db, lifecycle.edit_draft(db, pid, edits, actor="test"))
    on_day = sorted((v for v in edited.visits if v.date == kawamae.date), key=lambda v: v.start)
    assert [v.site_id for v in on_day] == (
        ["kawamae-01", "tabito-01"] if kawamae.start == "10:00" else ["tabito-01", "kawamae-01"]
    )
    assert on_day[1].travel_minutes == 400
    assert on_day[0].travel_minutes == leg("depot:van-1", on_day[0].site_id)
    days = {d["date"]: d["minutes"] for d in edited.driving}
    assert days == {d: day_driving(edited, d) for d in {v.date for v in edited.visits}}
    assert edited.to_dict()["driving_minutes"]["total"] == sum(days.values()) > 400
    # plan check reads the same matrix: the 400-minute leg cannot be driven in the break.
    travel = [x for x in check_plan(None, data, edited) if x.code == "travel"]
    assert len(travel) == 1 and "移動 400分" in travel[0].message


def test_the_csv_round_trip_keeps_events_explanations_and_driving(
    hub: tuple[sqlite_utils.Database, dict[str, Any]], tmp_path: Path
) -> None:
    db, doc = hub
    _data, plan, pid = _solved(db, doc, tmp_path)
    reservation = [v for v in plan.visits if v.event_id == "resv-1"]
    assert len(reservation) == 1 and plan.explanations
    path = tmp_path / "plan.csv"
    path.write_text(csv_text(lifecycle.load_plan(db, pid)), encoding="utf-8-sig")
    back = lifecycle.load_plan(db, import_csv(db, path, actor="test", parent_id=pid).plan_id)
    again = [v for v in back.visits if v.event_id == "resv-1"]
    assert [(v.date, v.start, v.site_id, v.label) for v in again] == [
        (v.date, v.start, v.site_id, "予約訪問(相談)") for v in reservation
    ]
    assert back.explanations == plan.explanations
    assert back.driving == plan.driving
    assert [v.travel_minutes for v in back.visits] == [v.travel_minutes for v in plan.visits]


def test_a_bad_date_or_event_in_the_plan_csv_is_japanese(
    hub: tuple[sqlite_utils.Database, dict[str, Any]], tmp_path: Path
) -> None:
    db, doc = hub
    _data, _plan, pid = _solved(db, doc, tmp_path)
    rows = list(csv.reader(io.StringIO(csv_text(lifecycle.load_plan(db, pid)))))
    rows[1][0] = "2027-13-04"
    rows[2][-1] = "resv-404"
    path = tmp_path / "bad.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    with pytest.raises(ImportRejected) as err:
        import_csv(db, path, actor="test", parent_id=pid)
    assert err.value.problems == [
        (2, "日付 '2027-13-04' はありません(月は1〜12、日はその月の日数まで)"),
        (3, "予定ID 'resv-404' は元の計画にありません"),
    ]
    assert "must be" not in str(err.value)
