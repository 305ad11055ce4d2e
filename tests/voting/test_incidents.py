"""Duplicates that reach the hub another way (provisional votes, ballots) become incidents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.cli import main
from odekake.storage import records as rec
from odekake.storage.db import connect
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import AlreadyVoted, Confirmed
from tests.voting.conftest import ELECTION_ID, HubProcess, clerk_van, make_hub, signed_client


def _van(hub: sqlite_utils.Database, device: str) -> sqlite_utils.Database:
    return clerk_van(hub, device)


def _provisional(
    van: sqlite_utils.Database, voter_no: str, station: str = "ogawa-van"
) -> rec.Record:
    return ck.record_provisional(
        van,
        election=el.get_election(van, ELECTION_ID),
        station_id=station,
        voter=rl.find_by_voter_no(van, ELECTION_ID, voter_no),  # type: ignore[arg-type]
        reason="illness",
        clerk_id="cl001",
        request_id=ck.new_request_id(),
        cause="ハブに接続できません",
    )


def _ingest(hub: sqlite_utils.Database, van: sqlite_utils.Database) -> None:
    """What up-sync does: copy the van's records into the hub as they are."""
    have = {r[0] for r in hub.execute("SELECT id FROM records")}
    for r in rec.iter_records(van):
        if r.id not in have:
            rec.insert_record(hub, r)


def _req(voter: str, station: str = "taira", rid: str | None = None) -> ck.CheckinRequest:
    return ck.CheckinRequest(
        request_id=rid or ck.new_request_id(),
        election_id=ELECTION_ID,
        voter_no=voter,
        station_id=station,
        clerk_id="cl002",
        device_id="van-1" if station == "ogawa-van" else "hub-counter",
        reason="work",
    )


def test_provisional_vote_of_a_checked_in_voter_is_an_incident_with_both_events(
    tmp_path: Path, start_hub: Callable[..., HubProcess]
) -> None:
    db_path = make_hub(tmp_path / "hub.db")
    hub_proc = start_hub(db_path)
    client = signed_client(db_path, "counter-1", hub_proc.url, timeout=10)
    first = client.checkin(
        election_id=ELECTION_ID,
        voter_no="000101",
        station_id="taira",
        clerk_id="cl002",
        device_id="counter-1",
        reason="work",
    )
    assert isinstance(first, Confirmed)

    hub = connect(db_path)
    van = _van(hub, "van-1")
    prov = _provisional(van, "000101")  # the van was offline and voted him provisionally
    _ingest(hub, van)
    result = CliRunner().invoke(main, ["vote", "reconcile", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "新しいインシデント 1 件" in result.output

    found = ck.incidents(hub, ELECTION_ID)
    assert len(found) == 1
    inc = found[0]
    assert inc["kind"] == "provisional_after_checkin"
    checkin_id = hub.execute(
        "SELECT record_id FROM vote_checkins WHERE voter_no = '000101'"
    ).fetchone()[0]
    assert (inc["first_record_id"], inc["second_record_id"]) == (checkin_id, prov.id)
    assert inc["first_event"]["type"] == "vote.checkin"
    assert inc["first_event"]["payload"]["station_id"] == "taira"
    assert inc["second_event"]["type"] == "vote.provisional"
    assert inc["second_event"]["device_id"] == "van-1"
    # both events stay in the log, and the incident itself is a hub record
    assert rec.get(hub, checkin_id).type == "vote.checkin"
    assert rec.get(hub, prov.id).type == "vote.provisional"
    incident_record = rec.get(hub, inc["record_id"])
    assert incident_record.type == "vote.incident" and incident_record.device_id == "hub"
    assert incident_record.payload["second"]["record_id"] == prov.id  # type: ignore[index]
    # nothing merged away: the check-in still names the first station
    assert ck.voter_status(hub, ELECTION_ID, "000101")["first"]["station_id"] == "taira"
    # reconciling again raises nothing new
    assert ck.reconcile(hub) == []
    result = CliRunner().invoke(
        main, ["vote", "incidents", "--db", str(db_path), "--election", ELECTION_ID]
    )
    assert "名簿対照済みの選挙人の仮投票" in result.output
    hub.close()


def test_provisional_first_blocks_later_checkins_and_a_second_provisional(
    hub_db: sqlite_utils.Database,
) -> None:
    van1, van2 = _van(hub_db, "van-1"), _van(hub_db, "van-2")
    p1 = _provisional(van1, "000102")
    _ingest(hub_db, van1)
    assert ck.reconcile(hub_db) == []  # registered as the voter's vote
    answer = ck.checkin(hub_db, _req("000102"))
    assert answer.body["status"] == "already_voted"
    assert answer.body["first"]["kind"] == "provisional"
    assert answer.body["first"]["station_id"] == "ogawa-van"

    p2 = _provisional(van2, "000102")
    _ingest(hub_db, van2)
    (inc,) = ck.reconcile(hub_db)
    assert inc.kind == "provisional_twice"
    assert (inc.first_record_id, inc.second_record_id) == (p1.id, p2.id)


def test_ballots_handed_out_are_matched_against_checkins(hub_db: sqlite_utils.Database) -> None:
    van = _van(hub_db, "van-1")
    e = el.get_election(van, ELECTION_ID)
    ok = ck.checkin(hub_db, _req("000101", "ogawa-van"))
    assert ok.body["status"] == "confirmed"

    def cast(voter: str, request_id: str) -> rec.Record:
        return ck.record_cast(
            van,
            election=e,
            station_id="ogawa-van",
            voter=rl.find_by_voter_no(van, ELECTION_ID, voter),  # type: ignore[arg-type]
            request_id=request_id,
            ballots=["senkyoku", "hirei"],
            clerk_id="cl001",
            checked_at=ok.body["checked_at"],
        )

    cast("000101", ok.body["request_id"])
    _ingest(hub_db, van)
    assert ck.reconcile(hub_db) == []  # matches its check-in

    twice = cast("000101", ok.body["request_id"])
    unchecked = cast("000104", ck.new_request_id())
    _ingest(hub_db, van)
    found = {i.kind: i for i in ck.reconcile(hub_db)}
    assert set(found) == {"cast_twice", "cast_without_checkin"}
    assert found["cast_twice"].second_record_id == twice.id
    assert found["cast_without_checkin"].first_record_id == unchecked.id
    assert hub_db.execute("SELECT COUNT(*) FROM vote_incidents").fetchone()[0] == 2


def test_second_clerk_pin(hub_db: sqlite_utils.Database) -> None:
    from odekake.errors import OdekakeError
    from odekake.masterdata import master

    master.add_operator(hub_db, "cl001", "高橋 美咲", ["clerk"], "345678", kdf=TEST_ONLY_CHEAP_KDF)
    master.add_operator(
        hub_db, "cl002", "佐藤 次郎", ["operator", "clerk"], "234567", kdf=TEST_ONLY_CHEAP_KDF
    )
    master.add_operator(
        hub_db, "op001", "山田 花子", ["operator"], "123456", kdf=TEST_ONLY_CHEAP_KDF
    )
    assert ck.verify_second_clerk(hub_db, "cl001", "cl002", "234567") == "佐藤 次郎"
    for clerk, pin, message in [
        ("cl001", "345678", "別の人"),
        ("cl002", "0000", "PINが違います"),
        ("op001", "123456", "投票事務従事者か監督者"),
        ("nobody", "123456", "PINが違います"),
    ]:
        try:
            ck.verify_second_clerk(hub_db, "cl001", clerk, pin)
        except OdekakeError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{clerk} released the block")


def test_already_voted_answer_names_station_and_time(hub_db: sqlite_utils.Database) -> None:
    from datetime import datetime

    from odekake.voting.client import interpret
    from odekake.voting.elections import JST

    at = el.jst_now().replace(hour=10, minute=15, second=30, microsecond=0)
    first = ck.checkin(hub_db, _req("000103", "ogawa-van"), now=at)
    second = ck.checkin(hub_db, _req("000103", "taira"), now=at.replace(hour=11))
    result = interpret(second.body["request_id"], second.status_code, second.body)
    assert isinstance(result, AlreadyVoted)
    assert result.station_name == "移動期日前投票所(小川)"
    assert datetime.fromisoformat(result.checked_at).astimezone(JST).strftime("%H:%M") == "10:15"
    assert first.body["checked_at"] == result.checked_at


def test_only_clerks_hand_out_ballots_in_the_core(hub_db: sqlite_utils.Database) -> None:
    """The role is checked in odekake, not only hidden in the kiosk."""
    from odekake.access.authz import PermissionDenied

    van = _van(hub_db, "van-r")
    election = el.get_election(van, ELECTION_ID)
    voter = rl.find_by_voter_no(van, ELECTION_ID, "000101")
    assert voter is not None
    with pytest.raises(PermissionDenied):
        ck.record_cast(
            van,
            election=election,
            station_id="ogawa-van",
            voter=voter,
            request_id="r-1",
            ballots=["senkyoku"],
            clerk_id="op001",
            checked_at="2026-11-24T10:00:00+09:00",
        )
    assert van.execute("SELECT count(*) FROM records WHERE type = 'vote.cast'").fetchone()[0] == 0
