"""The demo has an election to try voting with (issue 12 "Early voting")."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from kiosk.screens.voting import make_voting_screen
from odekake.access import clerk_keys
from odekake.demo import DEMO_ELECTION_ID, DEMO_HUB_URL, build_demo
from odekake.storage.db import connect
from odekake.sync.auth import hub_url_of
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl

DAY = date(2026, 11, 20)  # the day tests/conftest.py builds the demo for


def test_the_demo_van_serves_todays_first_stop_as_a_mobile_station(demo_dir: Path) -> None:
    hub = connect(demo_dir / "hub.db", role="hub")
    van = connect(demo_dir / "van.db", role="van")
    election = el.get_election(hub, DEMO_ELECTION_ID)
    assert election.early_from <= DAY.isoformat() <= election.early_to
    station = election.station("demo-van")
    assert (station.kind, station.date_from, station.vans) == (
        "mobile",
        DAY.isoformat(),
        ("van-1",),
    )
    visit = hub.execute(
        "SELECT site_id, services FROM plan_visits WHERE date = ? AND van_id = 'van-1' "
        "ORDER BY order_in_day LIMIT 1",
        [DAY.isoformat()],
    ).fetchone()
    assert station.site_id == visit[0] and "voting" in json.loads(visit[1])
    # the van has the election and a synthetic roll with デモ addresses, sealed until the
    # clerk's PIN opens it
    with pytest.raises(rl.RollLocked):
        rl.find_by_voter_no(van, DEMO_ELECTION_ID, "D0001")
    assert clerk_keys.unlock(van, "cl001", "345678")
    voters = [rl.find_by_voter_no(van, DEMO_ELECTION_ID, f"D{i:04d}") for i in range(1, 9)]
    assert all(v is not None and "デモ" in v.address for v in voters)
    assert {v.sex for v in voters if v is not None} == {"M", "F"}
    # one voter already voted at 平支所: the hub answers 投票不可 for them
    assert ck.voter_status(hub, DEMO_ELECTION_ID, "D0008")["first"]["station_id"] == "taira"
    assert ck.voter_status(hub, DEMO_ELECTION_ID, "D0001")["voted"] is False
    # the clerk's screen opens on the van for that stop
    screen = make_voting_screen(van, "http://127.0.0.1:9", "cl001", site_id=visit[0], day=DAY)
    assert screen.station.id == "demo-van"
    # key 8 knows the hub of the README's tour without a sync first
    assert hub_url_of(van) == DEMO_HUB_URL
    clerk_keys.lock(van)
    hub.close()
    van.close()


def test_the_demo_election_is_the_same_for_a_seed_and_day(tmp_path: Path) -> None:
    def roll_of(d: Path) -> list[tuple[str, ...]]:
        build_demo(d, seed=5, today=DAY)
        db = connect(d / "van.db")
        try:
            return [
                tuple(r)
                for r in db.execute(
                    "SELECT voter_no, name, kana, birth_date, sex, address, precinct FROM roll "
                    "ORDER BY voter_no"
                )
            ] + [
                tuple(r)
                for r in db.execute(
                    "SELECT id, name, date_from, site_id FROM election_stations ORDER BY id"
                )
            ]
        finally:
            db.close()

    assert roll_of(tmp_path / "a") == roll_of(tmp_path / "b")
