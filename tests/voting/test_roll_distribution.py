"""The roll goes only to vans serving a station of its election (issue 11 §5).

A real hub (``odekake vote serve`` = the hub app) and real ``sync pull`` over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from odekake.access import clerk_keys
from odekake.storage.db import connect
from odekake.sync.auth import hub_url_of
from odekake.sync.client import pull
from odekake.sync.enrolment import enroll
from odekake.sync.keys import ensure_van_key, public_key_text, register_device
from odekake.sync.snapshot import snapshot_for
from odekake.voting import elections as el
from odekake.voting import roll as rl
from tests.voting.conftest import ELECTION_ID, HubProcess, make_hub, today_jst


def _van(root: Path, hub_path: Path, device: str) -> Path:
    path = root / f"{device}.db"
    connect(path, role="van", create=True, device_id=device).close()
    enroll(path, hub_path)  # the van's key at the hub, the hub's key pinned on the van
    return path


def _roll_rows(path: Path) -> int:
    """How many voters the van can read once its clerk logs in (none in the clear)."""
    db = connect(path)
    try:
        assert db.execute("SELECT COUNT(*) FROM roll").fetchone()[0] == 0
        clerk_keys.unlock(db, "cl001", "345678")
        return len(rl.voters_of(db, ELECTION_ID))
    finally:
        clerk_keys.lock(db)
        db.close()


def test_roll_only_to_assigned_vans_and_gone_when_unassigned_or_closed(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    hub_path = make_hub(tmp_path / "hub.db")  # van-1 serves ogawa-van and taira
    hub = start_hub(hub_path)
    van1 = _van(tmp_path, hub_path, "van-1")
    van9 = _van(tmp_path, hub_path, "van-9")
    pull(van1, hub.url, retries=1)
    pull(van9, hub.url, retries=1)
    assert _roll_rows(van1) == 4
    assert _roll_rows(van9) == 0  # serves no station: no roll at all
    # both know the election and who serves it (not personal data)
    db9 = connect(van9)
    assert el.get_election(db9, ELECTION_ID).station("ogawa-van").vans == ("van-1", "van-2")
    # a pull alone records the hub (the kiosk's key 8 needs it)
    assert hub_url_of(db9) == hub.url
    db9.close()

    db = connect(hub_path)
    el.assign_van(db, ELECTION_ID, "ogawa-van", "van-1", on=False)
    pull(van1, hub.url, retries=1)
    assert _roll_rows(van1) == 4  # still serves taira
    el.assign_van(db, ELECTION_ID, "taira", "van-1", on=False)
    pull(van1, hub.url, retries=1)
    assert _roll_rows(van1) == 0  # no longer assigned: the copy is deleted

    el.assign_van(db, ELECTION_ID, "ogawa-van", "van-9")
    pull(van9, hub.url, retries=1)
    assert _roll_rows(van9) == 4
    election = el.get_election(db, ELECTION_ID)
    el.save_election(db, replace(election, closed=True))
    pull(van9, hub.url, retries=1)
    assert _roll_rows(van9) == 0  # the election closed: deleted at the next pull
    db.close()


def test_no_roll_after_the_early_voting_period(tmp_path: Path) -> None:
    hub_path = make_hub(tmp_path / "hub.db")
    db = connect(hub_path)
    register_device(db, "van-1", public_key_text(ensure_van_key(tmp_path / "v.db")))
    assert len(snapshot_for(db, "van-1")["tables"]["roll_sealed"]["rows"]) == 1
    election = el.get_election(db, ELECTION_ID)
    yesterday = today_jst() - timedelta(days=1)
    ended = replace(
        election,
        early_from=(yesterday - timedelta(days=2)).isoformat(),
        early_to=yesterday.isoformat(),
        ballots=tuple(
            replace(b, opens_on=(yesterday - timedelta(days=2)).isoformat())
            for b in election.ballots
        ),
        stations=tuple(
            replace(s, date_from=yesterday.isoformat(), date_to=yesterday.isoformat())
            for s in election.stations
        ),
    )
    el.save_election(db, ended)
    assert snapshot_for(db, "van-1")["tables"]["roll_sealed"]["rows"] == []
    db.close()
