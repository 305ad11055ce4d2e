"""The voting station's state machine (odekake.voting.station), every path, against a
real hub subprocess: online, offline, hub lost mid-answer, an answer the van cannot
verify (the hub's key rotated), retries, 交付取りやめ released at the hub, 投票不可."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlite_utils

from odekake.access import clerk_keys
from odekake.errors import ValidationError
from odekake.storage import records as rec
from odekake.storage.db import connect
from odekake.sync.auth import DeviceAuth
from odekake.sync.keys import generate_key, public_key_text, register_device
from odekake.sync.wire import rotate_hub_key
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import Confirmed, Offline, Refused, VotingClient
from odekake.voting.station import Phase, StationBusy, StationFlow
from tests.voting.conftest import (
    ELECTION_ID,
    HubProcess,
    clerk_van,
    free_port,
    hub_public_key,
    make_hub,
)


@pytest.fixture
def hub_path(tmp_path: Path) -> Path:
    return make_hub(tmp_path / "hub.db")


@pytest.fixture
def van(hub_path: Path) -> Iterator[sqlite_utils.Database]:
    """The van as a pull leaves it (operators with sealed keys, election, sealed roll),
    with cl001 logged in so the roll is readable and vote records are signed."""
    hub = connect(hub_path)
    db = clerk_van(hub, "van-1")
    hub.close()
    yield db
    db.close()


class Van:
    """The van's key, enrolled at the hub, and a client that trusts the hub key it pinned."""

    def __init__(self, hub_path: Path, device_id: str = "van-1") -> None:
        self.hub_path = hub_path
        self.device_id = device_id
        self.key = generate_key()
        self.pinned = hub_public_key(hub_path)  # made before any van is enrolled
        db = connect(hub_path, role="hub")
        register_device(db, device_id, public_key_text(self.key), replace=True)
        db.close()
        self.url = f"http://127.0.0.1:{free_port()}"

    def repin(self) -> None:
        """`odekake device pin-hub --accept-new-hub-key`: trust the hub's current key."""
        self.pinned = hub_public_key(self.hub_path)

    def client(self, timeout: float = 10) -> VotingClient:
        return VotingClient(
            self.url, timeout=timeout, auth=DeviceAuth(self.device_id, self.key, self.pinned)
        )


def _flow(van_db: sqlite_utils.Database, v: Van, timeout: float = 10) -> StationFlow:
    return StationFlow(
        van_db,
        v.client(timeout),
        el.get_election(van_db, ELECTION_ID),
        "ogawa-van",
        "cl001",
        stop_id="stop-1",
        renew_client=lambda: v.client(timeout),
    )


def _ask(flow: StationFlow, voter_no: str = "000101", reason: str = "illness") -> None:
    voter = flow.find_ticket(voter_no)
    assert voter is not None
    req = flow.start(reason)
    assert req is not None and flow.phase is Phase.WAITING
    assert flow.answered(req.request_id, flow.send(req))


def _retry(flow: StationFlow) -> str:
    req = flow.start(None)
    assert req is not None and flow.phase is Phase.WAITING
    assert flow.answered(req.request_id, flow.send(req))
    return req.request_id


def _types(db: sqlite_utils.Database) -> list[str]:
    return [r.type for r in rec.iter_records(db)]


def _hub_checkins(hub_path: Path) -> list[tuple[str, str]]:
    db = connect(hub_path)
    try:
        return [
            (str(r[0]), str(r[1]))
            for r in db.execute("SELECT voter_no, request_id FROM vote_checkins ORDER BY voter_no")
        ]
    finally:
        db.close()


def test_a_kiosk_killed_between_the_hub_s_yes_and_its_record_gets_the_same_yes_again(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    """The check-in is written ahead (vote.pending) before the hub is asked: a kiosk
    that dies after the hub confirmed, before 交付可 was recorded, resends the very
    request after the restart and gets 交付可 — not 投票不可 for a voter with no ballot."""
    v = Van(hub_path)
    hub = start_hub(hub_path)
    v.url = hub.url
    flow = _flow(van, v)
    assert flow.find_ticket("000101") is not None
    req = flow.start("illness")
    assert req is not None
    assert _types(van) == ["vote.pending"]  # written before the hub is asked
    answer = flow.send(req)
    assert isinstance(answer, Confirmed)
    # ... the kiosk is killed here: answered() never runs, nothing more is recorded.
    restarted = _flow(van, v)
    assert restarted.find_ticket("000101") is not None
    again = restarted.start("illness")
    assert again is not None and again.request_id == req.request_id
    assert restarted.answered(again.request_id, restarted.send(again))
    assert restarted.phase is Phase.ISSUABLE, restarted.message
    assert _hub_checkins(hub_path) == [("000101", req.request_id)]
    assert _types(van) == ["vote.pending", "vote.checked_in"]


def test_confirmed_is_recorded_at_once_and_the_voter_is_blocked_here_after(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    """The D0006 sequence: 交付可, then the clerk tries to move on, then the hub is gone
    and the same voter comes back: 投票不可 from the van's own record, no 仮投票."""
    v = Van(hub_path)
    hub = start_hub(hub_path)
    v.url = hub.url
    flow = _flow(van, v)
    _ask(flow)
    assert flow.phase is Phase.ISSUABLE and flow.message.startswith("交付可")
    assert _types(van) == ["vote.pending", "vote.checked_in"]  # before the clerk does anything
    # 次の選挙人, another voter, Escape: refused while a 交付可 voter is unsettled
    for move_on in (flow.next_voter, lambda: flow.find_ticket("000102")):
        with pytest.raises(StationBusy, match="交付取りやめ"):
            move_on()
    assert flow.phase is Phase.ISSUABLE and flow.hold() is not None
    flow.handed()
    assert flow.phase is Phase.SEARCHING and flow.hold() is None
    hub.stop()
    flow.find_ticket("000101")
    assert flow.start("illness") is None
    assert flow.phase is Phase.BLOCKED and flow.blocked is not None
    assert flow.blocked.local and flow.blocked.kind == "checkin"
    assert _types(van) == ["vote.pending", "vote.checked_in", "vote.cast"]
    _assert_vote_records_signed(van, hub_path)


def _assert_vote_records_signed(van: sqlite_utils.Database, hub_path: Path) -> None:
    """Every vote record the station made (not the written-ahead request) carries the
    logged-in clerk's proof, and the hub verifies it."""
    hub = connect(hub_path)
    try:
        for r in rec.iter_records(van):
            if r.type in ("vote.pending", "vote.resolved"):
                continue
            p = r.payload or {}
            assert clerk_keys.proof_problem(hub, r.type, r.device_id, p, "cl001") is None, r.type
    finally:
        hub.close()


def test_checked_in_without_ballot_blocks_even_after_a_crash(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    v = Van(hub_path)
    v.url = start_hub(hub_path).url
    _ask(_flow(van, v))  # 交付可, then the kiosk dies before any key
    again = _flow(van, v)
    again.find_ticket("000101")
    assert again.start("illness") is None and again.phase is Phase.BLOCKED


def test_withdrawal_is_recorded_and_released_at_the_hub(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    v = Van(hub_path)
    v.url = start_hub(hub_path).url
    flow = _flow(van, v)
    _ask(flow)
    first_request = flow.request
    assert first_request is not None
    with pytest.raises(ValidationError):
        flow.withdraw("  ")  # a reason is required
    assert flow.phase is Phase.ISSUABLE
    release = flow.withdraw("本人が体調不良で帰宅")
    assert flow.phase is Phase.SEARCHING
    assert _types(van) == ["vote.pending", "vote.checked_in", "vote.withdrawn"]
    flow.released(flow.send_release(release))
    assert "ハブの名簿対照を取り消しました" in flow.message
    assert _hub_checkins(hub_path) == []
    hub = connect(hub_path)
    (released,) = [r for r in rec.iter_records(hub) if r.type == "vote.released"]
    assert released.payload is not None and released.payload["reason"] == "本人が体調不良で帰宅"
    audit = hub.execute("SELECT actor, action FROM audit_log WHERE action = 'vote.release'")
    assert audit.fetchall() == [("device:van-1", "vote.release")]
    hub.close()
    # a replay of the old request never confirms again
    replay = flow.send(first_request)
    assert not isinstance(replay, Confirmed)
    # the voter comes back later: not blocked here, and the hub checks them in anew
    _ask(flow)
    assert flow.phase is Phase.ISSUABLE
    assert flow.request is not None and flow.request.request_id != first_request.request_id
    _assert_vote_records_signed(van, hub_path)


def test_withdrawal_offline_reaches_the_hub_by_sync(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    v = Van(hub_path)
    hub = start_hub(hub_path)
    v.url = hub.url
    flow = _flow(van, v)
    _ask(flow)
    release = flow.withdraw("投票用紙の受け取りを辞退")
    hub.stop()
    flow.released(flow.send_release(release))
    assert "次の同期でハブの名簿対照が取り消されます" in flow.message
    assert len(_hub_checkins(hub_path)) == 1
    hub_db = connect(hub_path)
    for r in rec.iter_records(van):
        rec.insert_record(hub_db, r)
    assert ck.reconcile(hub_db) == []
    assert hub_db.execute("SELECT COUNT(*) FROM vote_checkins").fetchone()[0] == 0
    assert ck.reconcile(hub_db) == []  # once only
    hub_db.close()


def test_release_rules_at_the_hub(hub_path: Path) -> None:
    db = connect(hub_path)
    register_device(db, "van-1", public_key_text(generate_key()))
    req = ck.CheckinRequest("r-1", ELECTION_ID, "000101", "ogawa-van", "cl001", "van-1", "work")
    assert ck.checkin(db, req).body["status"] == "confirmed"
    fields = {**req.to_json(), "reason": "辞退"}
    other = ck.ReleaseRequest.from_json({**fields, "device_id": "van-2"})
    assert ck.release(db, other).body["code"] == "other_device"
    wrong = ck.ReleaseRequest.from_json({**fields, "request_id": "r-9"})
    assert ck.release(db, wrong).body["code"] == "no_checkin"
    ok = ck.ReleaseRequest.from_json(fields)
    assert ck.release(db, ok).body["status"] == "released"
    assert ck.release(db, ok).body == {
        "request_id": "r-1",
        "election_id": ELECTION_ID,
        "voter_no": "000101",
        "status": "released",
        "again": True,
    }
    assert ck.checkin(db, req).body["code"] == "released"  # the old request is spent
    db.close()


def test_offline_then_retry_with_the_same_request_id(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    v = Van(hub_path)  # nothing listens at its URL yet
    flow = _flow(van, v, timeout=3)
    _ask(flow)
    assert flow.phase is Phase.OFFLINE and "仮投票のみ" in flow.message
    first = flow.request
    assert first is not None
    with pytest.raises(StationBusy):
        flow.handed()  # no ballot without a confirmation
    # the clerk moves on; the voter comes back once the hub is up again
    flow.next_voter()
    hub = start_hub(hub_path)
    v.url = hub.url
    flow = _flow(van, v)
    flow.find_ticket("000101")
    req = flow.start("work")  # another reason chosen: the pending request is resent as it was
    assert req == first
    assert flow.answered(req.request_id, flow.send(req))
    assert flow.phase is Phase.ISSUABLE
    assert _hub_checkins(hub_path) == [("000101", first.request_id)]


def test_provisional_only_when_the_hub_could_not_answer(
    van: sqlite_utils.Database, hub_path: Path
) -> None:
    v = Van(hub_path)
    flow = _flow(van, v, timeout=3)
    flow.find_ticket("000102")
    with pytest.raises(StationBusy):
        flow.provisional("work")  # not asked yet
    _ask(flow, "000102", "work")
    assert flow.phase is Phase.OFFLINE
    with pytest.raises(ValidationError):
        flow.provisional(None)
    flow.provisional("work")
    assert flow.phase is Phase.SEARCHING
    assert _types(van) == ["vote.pending", "vote.provisional"]
    assert ck.pending_request(van, ELECTION_ID, "000102") is None  # settled by the 仮投票
    flow.find_ticket("000102")
    assert flow.start("work") is None and flow.phase is Phase.BLOCKED
    assert flow.blocked is not None and flow.blocked.kind == "provisional"


def test_hub_lost_mid_answer_then_the_retry_gets_the_original_answer(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    v = Van(hub_path)
    slow = start_hub(hub_path, env={"ODEKAKE_VOTE_TEST_DELAY": "4"})
    v.url = slow.url
    flow = _flow(van, v, timeout=1.5)
    _ask(flow)  # the hub decides, then holds its answer past the timeout
    assert flow.phase is Phase.OFFLINE and "時間切れ" in flow.message
    ((_, first_id),) = _hub_checkins(hub_path)
    slow.kill()  # the answer never arrives
    v.url = start_hub(hub_path).url
    assert _retry(flow) == first_id
    assert flow.phase is Phase.ISSUABLE


def test_an_answer_that_fails_verification_is_an_unknown_outcome(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    """After `hub rotate-key`, before the van pins the new key: the hub checks the voter
    in but the van cannot trust the answer. It must say so, never claim nothing
    changed, and once the key is pinned again the retry gets the original answer."""
    v = Van(hub_path)
    rotate_hub_key(hub_path)
    hub = start_hub(hub_path)
    v.url = hub.url
    flow = _flow(van, v)
    _ask(flow)
    assert flow.phase is Phase.UNKNOWN
    assert "結果不明" in flow.message and "何も変更していません" not in flow.message
    assert "仮投票" not in flow.message
    with pytest.raises(StationBusy):
        flow.provisional("illness")  # the hub may have checked the voter in
    ((_, first_id),) = _hub_checkins(hub_path)
    assert _retry(flow) == first_id  # still the old key: still unknown, same request
    assert flow.phase is Phase.UNKNOWN
    # the clerk moves on; the key is pinned again; the voter comes back
    flow.next_voter()
    v.repin()
    flow = _flow(van, v)
    flow.find_ticket("000101")
    req = flow.start("illness")
    assert req is not None and req.request_id == first_id
    assert flow.answered(req.request_id, flow.send(req))
    assert flow.phase is Phase.ISSUABLE
    assert _hub_checkins(hub_path) == [("000101", first_id)]


def test_already_voted_and_closing_the_block(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    v = Van(hub_path)
    v.url = start_hub(hub_path).url
    hub = connect(hub_path)
    register_device(hub, "counter-1", public_key_text(generate_key()))
    ck.checkin(
        hub, ck.CheckinRequest("c-1", ELECTION_ID, "000101", "taira", "cl002", "counter-1", "work")
    )
    ck.checkin(
        hub, ck.CheckinRequest("c-2", ELECTION_ID, "000102", "taira", "cl002", "counter-1", "work")
    )
    hub.close()
    flow = _flow(van, v)
    _ask(flow)
    assert flow.phase is Phase.BLOCKED and flow.blocked is not None
    assert not flow.blocked.local and flow.blocked.station_name == "平支所"
    with pytest.raises(StationBusy):
        flow.next_voter()
    with pytest.raises(Exception, match="別の人"):
        flow.close_blocked("cl001", "345678")
    assert flow.phase is Phase.BLOCKED
    flow.close_blocked("cl002", "234567")
    assert "投票不可として記録しました" in flow.message
    _ask(flow, "000102")
    flow.close_blocked_on_quit()
    blocks = [r.payload for r in rec.iter_records(van) if r.type == "vote.blocked"]
    assert [(b["voter_no"], b["closed_by"], b["second_clerk_id"]) for b in blocks] == [  # type: ignore[index]
        ("000101", "second_clerk", "cl002"),
        ("000102", "quit", ""),
    ]


def test_refused_and_an_answer_for_another_request_is_ignored(
    van: sqlite_utils.Database, hub_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    v = Van(hub_path)
    v.url = start_hub(hub_path).url
    flow = _flow(van, v)
    flow.find_ticket("000101")
    req = flow.start("work")
    assert req is not None
    assert not flow.answered("another", Offline("another", "x"))
    assert flow.phase is Phase.WAITING
    assert flow.answered(req.request_id, flow.send(req))
    assert flow.phase is Phase.ISSUABLE
    flow.handed()
    flow.find_ticket("000104")
    bad = flow.start("weather")
    assert bad is not None
    flow.answered(bad.request_id, Offline(bad.request_id, "x"))  # pending ...
    flow.next_voter()
    flow.find_ticket("000104")
    again = flow.start("weather")
    assert again == bad
    flow.answered(again.request_id, Refused(again.request_id, "outside_hours", "時間外"))
    assert flow.phase is Phase.REFUSED and "outside_hours" in flow.message
    assert ck.pending_request(van, ELECTION_ID, "000104") is None  # ... and settled


def test_search_by_surname_prefix_and_birth_date_lists_candidates() -> None:
    def voter(no: str, kana: str, birth: str) -> rl.Voter:
        return rl.Voter(ELECTION_ID, no, "名", kana, birth, "M", "住所", "区")

    rows = [
        voter("1", "ヤマダ タロウ", "1950-03-02"),
        voter("2", "ヤマダ ハナコ", "1950-03-02"),
        voter("3", "ヤマモト タロウ", "1950-03-02"),
        voter("4", "ヤマダ ジロウ", "1951-03-02"),
    ]
    found = rl.match_voters(rows, "ﾔﾏﾀﾞ", "S25.3.2")
    assert [v.voter_no for v in found] == ["1", "2"]
    assert [v.voter_no for v in rl.match_voters(rows, "やま", "1950/3/2")] == ["1", "2", "3"]
    assert rl.match_voters(rows, "ヤマダタロウ", "1950-03-02")[0].voter_no == "1"
    with pytest.raises(ValidationError):
        rl.match_voters(rows, " ", "1950-03-02")


def test_the_flow_search_chooses_a_single_match(van: sqlite_utils.Database) -> None:
    flow = StationFlow(
        van, VotingClient("http://127.0.0.1:9"), el.get_election(van, ELECTION_ID), "ogawa-van",
        "cl001",
    )  # fmt: skip
    assert [v.voter_no for v in flow.find("スズキ", "S20.1.5")] == ["000103"]
    assert flow.phase is Phase.CHOSEN and flow.voter is not None
    assert flow.find("サトウ", "1950-03-02") == [] and flow.voter is None
    assert "見つかりません" in flow.message
