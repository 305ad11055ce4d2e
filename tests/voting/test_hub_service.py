"""The check-in service against a real hub subprocess (odekake vote serve)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from odekake.storage.db import connect
from odekake.voting.client import AlreadyVoted, Confirmed, Offline, Refused, VotingClient
from tests.voting.conftest import ELECTION_ID, HubProcess, free_port, make_hub, signed_client


def _ask(client: VotingClient, station: str, voter: str = "000101", **kw: str):  # type: ignore[no-untyped-def]
    return client.checkin(
        election_id=ELECTION_ID,
        voter_no=voter,
        station_id=station,
        clerk_id="cl001",
        device_id=getattr(client.auth, "device_id", "van-1"),
        reason="work",
        **kw,
    )


def _types(db_path: Path) -> list[str]:
    db = connect(db_path)
    try:
        return [r[0] for r in db.execute("SELECT type FROM records ORDER BY seq")]
    finally:
        db.close()


def test_thirty_concurrent_checkins_exactly_one_succeeds(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    """Thirty stations ask for one voter at the same moment: one 交付可, the rest 投票不可.
    (Thirty, not fifty: every test client shares 127.0.0.1, and the hub holds at most
    32 connections per client address — odekake.sync.connections.MAX_PER_ADDRESS.)"""
    n = 30
    db_path = make_hub(tmp_path / "hub.db", n_fixed=n)
    hub = start_hub(db_path)
    barrier = threading.Barrier(n)
    clients = {
        f"st{i:02d}": signed_client(db_path, f"van-st{i:02d}", hub.url, timeout=30)
        for i in range(1, n + 1)
    }
    results: dict[str, object] = {}

    def worker(i: int) -> None:
        station = f"st{i:02d}"
        client = clients[station]
        barrier.wait()
        results[station] = _ask(client, station)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(1, n + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert len(results) == n
    confirmed = [r for r in results.values() if isinstance(r, Confirmed)]
    refused = [r for r in results.values() if isinstance(r, AlreadyVoted)]
    assert len(confirmed) == 1
    assert len(refused) == n - 1
    winner = confirmed[0]
    assert results[winner.station_id] is winner
    assert {(r.station_id, r.station_name, r.checked_at) for r in refused} == {
        (winner.station_id, winner.station_name, winner.checked_at)
    }
    # the hub agrees: one check-in row, one vote.checkin record, the rest vote.refused
    db = connect(db_path)
    rows = db.execute("SELECT station_id, checked_at FROM vote_checkins").fetchall()
    assert rows == [(winner.station_id, winner.checked_at)]
    db.close()
    types = _types(db_path)
    assert types.count("vote.checkin") == 1
    assert types.count("vote.refused") == n - 1


def test_retry_after_timeout_returns_the_original_answer(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    # The hub decides and commits, then holds its answer for 0.8 s.
    hub = start_hub(db_path, env={"ODEKAKE_VOTE_TEST_DELAY": "0.8"})
    impatient = signed_client(db_path, "van-1", hub.url, timeout=0.3)
    first = _ask(impatient, "ogawa-van")
    assert isinstance(first, Offline)
    assert "時間切れ" in first.reason

    patient = VotingClient(hub.url, timeout=10, auth=impatient.auth)
    retried = _ask(patient, "ogawa-van", request_id=first.request_id)
    assert isinstance(retried, Confirmed)
    assert retried.request_id == first.request_id
    assert retried.ballots == (("senkyoku", "選挙区"), ("hirei", "比例代表"))

    again = _ask(patient, "ogawa-van", request_id=first.request_id)
    assert again == retried  # the stored answer, byte for byte the same facts

    other = _ask(patient, "taira")  # a new request (new id) for the same voter
    assert isinstance(other, AlreadyVoted)
    assert (other.station_id, other.checked_at) == ("ogawa-van", retried.checked_at)

    db = connect(db_path)
    assert db.execute("SELECT COUNT(*) FROM vote_requests").fetchone()[0] == 2
    assert db.execute("SELECT COUNT(*) FROM vote_checkins").fetchone()[0] == 1
    db.close()
    assert _types(db_path) == ["vote.checkin", "vote.refused"]


def test_client_retries_reuse_the_request_id(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    hub = start_hub(db_path, env={"ODEKAKE_VOTE_TEST_DELAY": "0.6"})
    client = signed_client(db_path, "van-1", hub.url, timeout=0.2, attempts=3)
    result = _ask(client, "ogawa-van")
    assert isinstance(result, Offline)
    # the hub may still be working through the abandoned attempts: let it finish
    time.sleep(1.0)
    # three attempts reached the hub, but one request id: one decision, no refusal
    assert _types(db_path) == ["vote.checkin"]
    db = connect(db_path)
    assert db.execute("SELECT request_id FROM vote_requests").fetchall() == [(result.request_id,)]
    db.close()


def test_refusals_are_records_and_reused_ids_are_rejected(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    hub = start_hub(db_path)
    client = signed_client(db_path, "van-1", hub.url, timeout=10)
    unknown = _ask(client, "ogawa-van", voter="999999")
    assert isinstance(unknown, Refused)
    assert unknown.code == "not_on_roll"
    assert unknown.message == "選挙人名簿に登録されていません"
    bad_station = _ask(client, "nowhere")
    assert isinstance(bad_station, Refused)
    assert bad_station.code == "unknown_station"

    ok = _ask(client, "ogawa-van")
    assert isinstance(ok, Confirmed)
    # the same id with different content: 409, never a confirmation
    body = {
        "request_id": ok.request_id,
        "election_id": ELECTION_ID,
        "voter_no": "000102",
        "station_id": "ogawa-van",
        "clerk_id": "cl001",
        "device_id": "van-1",
        "reason": "work",
    }
    r = httpx.post(f"{hub.url}/vote/checkin", json=body, timeout=10, auth=client.auth)
    assert r.status_code == 409
    assert _ask(client, "ogawa-van", voter="000102", request_id=ok.request_id) == Offline(
        ok.request_id, "ハブの応答が読めません (HTTP 409)"
    )
    bad = httpx.post(f"{hub.url}/vote/checkin", content=b"{not json", timeout=10, auth=client.auth)
    assert bad.status_code == 400

    status = httpx.get(
        f"{hub.url}/vote/status",
        params={"election_id": ELECTION_ID, "voter_no": "000101"},
        auth=client.auth,
    ).json()
    assert status["voted"] is True
    assert status["first"]["station_id"] == "ogawa-van"
    summary = httpx.get(
        f"{hub.url}/vote/status", params={"election_id": ELECTION_ID}, auth=client.auth
    ).json()
    assert summary["stations"] == {"ogawa-van": {"checkin": 1, "provisional": 0}}

    db = connect(db_path)
    refusals = [
        json.loads(p)["code"]
        for (p,) in db.execute(
            "SELECT payload FROM records WHERE type = 'vote.refused' ORDER BY seq"
        )
    ]
    db.close()
    assert refusals == ["not_on_roll", "unknown_station"]


def test_no_hub_is_offline_never_confirmed() -> None:
    client = VotingClient(f"http://127.0.0.1:{free_port()}", timeout=1, attempts=2)
    result = _ask(client, "ogawa-van")
    assert isinstance(result, Offline)
    assert "接続できません" in result.reason
