"""Check-in rules at a real hub (issue 11 §4): station, van, date, hours, clerk, bursts.

Every test runs ``odekake vote serve`` (the hub's own app, so the hub's device
signature guard) as a subprocess and talks to it over HTTP with signed requests.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from odekake.storage import records as rec
from odekake.storage.db import connect, memory_db, write
from odekake.sync.auth import DeviceAuth
from odekake.sync.bundle import export_range
from odekake.sync.keys import generate_key, public_key_text, register_device
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting.client import Confirmed, Refused, VotingClient
from tests.voting.conftest import (
    ELECTION_ID,
    HubProcess,
    election_data,
    hub_public_key,
    make_hub,
    signed_client,
    today_jst,
)


def _ask(client: VotingClient, station: str, voter: str = "000101", clerk: str = "cl001") -> Any:
    return client.checkin(
        election_id=ELECTION_ID,
        voter_no=voter,
        station_id=station,
        clerk_id=clerk,
        device_id=getattr(client.auth, "device_id", ""),
        reason="work",
    )


def _refusals(db_path: Path) -> list[str]:
    db = connect(db_path)
    try:
        return [
            json.loads(p)["code"]
            for (p,) in db.execute(
                "SELECT payload FROM records WHERE type = 'vote.refused' ORDER BY seq"
            )
        ]
    finally:
        db.close()


def _set(db_path: Path, **values: int) -> None:
    db = connect(db_path)
    with write(db):
        for k, v in values.items():
            db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [k, str(v)],
            )
    db.close()


def _closed_window() -> tuple[str, str]:
    """30 minutes of station hours today, 90–120 minutes away from the current JST time."""
    now = el.jst_now().replace(second=0, microsecond=0)
    if now.hour >= 2:  # ended 90 minutes ago
        start, end = now - timedelta(minutes=120), now - timedelta(minutes=90)
    else:  # opens in 90 minutes
        start, end = now + timedelta(minutes=90), now + timedelta(minutes=120)
    return f"{start:%H:%M}", f"{end:%H:%M}"


def test_each_refusal_is_named_and_the_assigned_van_is_confirmed(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    # a third station open today but outside its hours right now, served by van-3
    data = election_data()
    opens, closes = _closed_window()
    data["stations"].append(
        {
            "id": "yoshima-van",
            "name": "移動期日前投票所(好間)",
            "kind": "mobile",
            "date": today_jst().isoformat(),
            "opens": opens,
            "closes": closes,
            "vans": ["van-3"],
        }
    )
    # and one that opens tomorrow, also van-3's
    data["stations"].append(
        {
            "id": "tomorrow-van",
            "name": "移動期日前投票所(翌日)",
            "kind": "mobile",
            "date": (today_jst() + timedelta(days=1)).isoformat(),
            "opens": "00:00",
            "closes": "23:59",
            "vans": ["van-3"],
        }
    )
    hub_db = connect(db_path)
    el.save_election(hub_db, el.election_from_dict(data))
    with write(hub_db):
        hub_db.execute("UPDATE operators SET active = 0 WHERE id = 'cl002'")
    hub_db.close()
    hub = start_hub(db_path)
    van2 = signed_client(db_path, "van-2", hub.url, timeout=10)  # serves ogawa-van only
    van3 = signed_client(db_path, "van-3", hub.url, timeout=10)
    van9 = signed_client(db_path, "van-9", hub.url, timeout=10)  # serves nothing
    # a device whose van is assigned counts as assigned (devices.van_id)
    tablet = signed_client(db_path, "tablet-7", hub.url, van_id="van-2", timeout=10)

    cases = [
        (van2, "taira", "cl001", "wrong_station", "この投票所の担当ではありません"),
        (van9, "ogawa-van", "cl001", "device_not_assigned", "割り当てられていません"),
        (van3, "yoshima-van", "cl001", "outside_hours", "開設時間外"),
        (van3, "tomorrow-van", "cl001", "station_closed", "本日開設されていません"),
        (van2, "ogawa-van", "op001", "not_clerk", "投票事務従事者"),
        (van2, "ogawa-van", "nobody-at-all", "not_clerk", "投票事務従事者"),
        (van2, "ogawa-van", "cl002", "not_clerk", "投票事務従事者"),  # inactive
    ]
    for client, station, clerk, code, text in cases:
        answer = _ask(client, station, clerk=clerk)
        assert isinstance(answer, Refused), (station, clerk, answer)
        assert answer.code == code
        assert text in answer.message
        assert answer.message == ck.REFUSAL_MESSAGES[code]
    assert _refusals(db_path) == [c[3] for c in cases]

    # the margin setting widens the hours: 120 minutes early lets van-3 in
    _set(db_path, vote_minutes_early=120, vote_minutes_late=120)
    assert isinstance(_ask(van3, "yoshima-van", voter="000103"), Confirmed)
    # none of the refusals blocked the voter: the assigned van with a clerk is confirmed
    ok = _ask(tablet, "ogawa-van", clerk="cl001")
    assert isinstance(ok, Confirmed)
    db = connect(db_path)
    assert db.execute(
        "SELECT device_id, clerk_id FROM vote_checkins WHERE voter_no = '000101'"
    ).fetchall() == [("tablet-7", "cl001")]
    db.close()


def test_unsigned_checkin_is_refused_by_vote_serve(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    hub = start_hub(db_path)
    body = {
        "request_id": "req-unsigned",
        "election_id": ELECTION_ID,
        "voter_no": "000101",
        "station_id": "ogawa-van",
        "clerk_id": "cl001",
        "device_id": "van-1",
        "reason": "work",
    }
    r = httpx.post(f"{hub.url}/vote/checkin", json=body, timeout=10)
    assert r.status_code == 401
    assert "署名" in r.json()["error"]
    status = httpx.get(f"{hub.url}/vote/status", params={"election_id": ELECTION_ID}, timeout=10)
    assert status.status_code == 401
    # a key the hub does not know for van-1 is refused too
    stranger = VotingClient(
        hub.url, timeout=10, auth=DeviceAuth("van-1", generate_key(), hub_public_key(db_path))
    )
    assert not isinstance(_ask(stranger, "ogawa-van"), Confirmed)
    db = connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM vote_requests").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0
    db.close()
    # the same request, signed by the enrolled van, is processed
    signed = signed_client(db_path, "van-1", hub.url, timeout=10)
    assert isinstance(_ask(signed, "ogawa-van"), Confirmed)


def _push(url: str, van: Any, device: str, key: Any, hub_path: Path) -> dict[str, Any]:
    """Up-sync the van's records to the hub over HTTP (the sync client's /v1/push)."""

    top = van.execute("SELECT MAX(seq) FROM records").fetchone()[0]
    buf = io.BytesIO()
    export_range(van, buf, device_id=device, from_seq=1, to_seq=int(top), key=key)
    r = httpx.post(
        f"{url}/v1/push",
        content=buf.getvalue(),
        auth=DeviceAuth(device, key, hub_public_key(hub_path)),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_forged_provisionals_become_incidents_and_the_real_voter_still_votes(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    hub = start_hub(db_path)
    # a stolen or rogue device, enrolled but serving no station, writes straight into its
    # log (no login): provisional votes that must never count as votes
    key = generate_key()
    hub_db = connect(db_path)
    register_device(hub_db, "van-9", public_key_text(key))
    hub_db.close()
    rogue = memory_db("van", device_id="van-9")
    at = el.jst_now().isoformat(timespec="seconds")

    def forge(**over: str) -> rec.Record:
        payload = {
            "stop_id": "x",
            "election_id": ELECTION_ID,
            "station_id": "ogawa-van",
            "station_name": "移動期日前投票所(小川)",
            "voter_no": "000101",
            "sex": "M",
            "reason": "work",
            "clerk_id": "cl001",
            "request_id": ck.new_request_id(),
            "cause": "ハブに接続できません",
            "at": at,
            **over,
        }
        return rec.append(rogue, ck.PROVISIONAL, payload)

    forged = [
        forge(),  # a real voter, from a van that serves no station
        forge(voter_no="999999"),  # not on the roll
        forge(election_id="no-such-election"),  # unknown election
        forge(clerk_id="nobody-at-all"),  # not a clerk
    ]
    result = _push(hub.url, rogue, "van-9", key, db_path)
    assert result["stored"] == len(forged)

    hub_db = connect(db_path)
    found = [
        i
        for e in (ELECTION_ID, "no-such-election")
        for i in ck.incidents(hub_db, e)
        if i["kind"] == "provisional_invalid"
    ]
    assert {i["first_record_id"] for i in found} == {r.id for r in forged}
    by_record = {i["first_record_id"]: i for i in found}
    assert by_record[forged[0].id]["detail"]["code"] == "device_not_assigned"
    assert by_record[forged[1].id]["detail"]["code"] == "device_not_assigned"
    assert by_record[forged[2].id]["detail"]["code"] == "unknown_election"
    # the evidence: the whole forged record, with its device and time
    ev = by_record[forged[0].id]["first_event"]
    assert ev["device_id"] == "van-9" and ev["payload"]["voter_no"] == "000101"
    assert ck.voter_status(hub_db, ELECTION_ID, "000101")["voted"] is False
    hub_db.close()

    # a forgery from an ASSIGNED van with a made-up clerk is refused the same way
    van1 = memory_db("van", device_id="van-1")
    key1 = generate_key()
    hub_db = connect(db_path)
    register_device(hub_db, "van-1", public_key_text(key1))
    hub_db.close()
    payload = {
        "election_id": ELECTION_ID,
        "station_id": "ogawa-van",
        "voter_no": "000101",
        "sex": "M",
        "reason": "work",
        "clerk_id": "nobody-at-all",
        "request_id": ck.new_request_id(),
        "cause": "x",
        "at": at,
    }
    bad = rec.append(van1, ck.PROVISIONAL, payload)
    _push(hub.url, van1, "van-1", key1, db_path)
    hub_db = connect(db_path)
    (inc,) = [i for i in ck.incidents(hub_db, ELECTION_ID) if i["first_record_id"] == bad.id]
    assert inc["detail"]["code"] == "not_clerk"
    hub_db.close()

    # the real voter comes to the van and is confirmed

    real = VotingClient(
        hub.url, timeout=10, auth=DeviceAuth("van-1", key1, hub_public_key(db_path))
    )
    assert isinstance(_ask(real, "ogawa-van"), Confirmed)


def test_a_burst_of_checkins_from_one_device_raises_one_incident(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    _set(db_path, vote_burst_limit=2, vote_burst_minutes=10)
    hub = start_hub(db_path)
    van1 = signed_client(db_path, "van-1", hub.url, timeout=10)
    for voter in ("000101", "000102", "000103", "000104"):
        assert isinstance(_ask(van1, "ogawa-van", voter=voter), Confirmed)
    db = connect(db_path)
    (inc,) = ck.incidents(db, ELECTION_ID)
    assert inc["kind"] == "device_burst"
    assert inc["voter_no"] == "000103"  # the check-in that went over the limit
    assert inc["detail"]["device_id"] == "van-1"
    assert (inc["detail"]["count"], inc["detail"]["limit"]) == (3, 2)
    # every check-in still stands: a burst is for election staff to look at
    assert db.execute("SELECT COUNT(*) FROM vote_checkins").fetchone()[0] == 4
    db.close()
