"""What a thief holding one van's files can do: forge votes, read the roll, guess PINs.

Everything runs against a real ``odekake hub serve`` and real van files (a pull, a
push, live check-ins over HTTP).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from odekake.access import clerk_keys
from odekake.cli import main
from odekake.services import login
from odekake.storage import records as rec
from odekake.storage.db import connect
from odekake.sync.client import pull, push
from odekake.sync.enrolment import enroll
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import AlreadyVoted, Confirmed
from tests.sync.conftest import HubProcess
from tests.voting.conftest import (
    ELECTION_ID,
    ROLL_ROWS,
    election_data,
    make_hub,
    signed_client,
    today_jst,
)

ROOT = Path(__file__).resolve().parents[2]
PIN = "345678"  # cl001's PIN at the test hub (tests/voting/conftest.py)


def _hub_with_tomorrows_stop(path: Path) -> Path:
    """The test hub, plus a van stop of van-1 tomorrow."""
    make_hub(path)
    data = election_data()
    tomorrow = (today_jst() + timedelta(days=1)).isoformat()
    data["stations"].append(
        {
            "id": "ogawa-tomorrow",
            "name": "移動期日前投票所(小川・明日)",
            "kind": "mobile",
            "date": tomorrow,
            "opens": "00:00",
            "closes": "23:59",
            "vans": ["van-1"],
        }
    )
    db = connect(path)
    el.save_election(db, el.election_from_dict(data))
    db.close()
    return path


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubProcess]:
    proc = HubProcess(_hub_with_tomorrows_stop(tmp_path / "hub" / "hub.db")).start()
    yield proc
    proc.stop()


def _van(tmp_path: Path, hub: HubProcess) -> Path:
    folder = tmp_path / "van"
    folder.mkdir()
    path = folder / "van.db"
    # held open across the pull, as the kiosk holds it: the WAL stays on disk
    holder = connect(path, role="van", create=True, device_id="van-1")
    _held.append(holder)
    enroll(path, hub.db)
    pull(path, hub.url, retries=1)
    return path


_held: list[sqlite_utils.Database] = []


@pytest.fixture(autouse=True)
def _close_held() -> Iterator[None]:
    yield
    while _held:
        _held.pop().close()


def _forge(van_path: Path, voter_no: str, station_id: str, at: str) -> rec.Record:
    """A 仮投票 written straight into van.db: no login, no PIN, a real clerk's id."""
    db = connect(van_path)
    try:
        return rec.append(
            db,
            ck.PROVISIONAL,
            {
                "stop_id": station_id,
                "election_id": ELECTION_ID,
                "station_id": station_id,
                "station_name": station_id,
                "voter_no": voter_no,
                "sex": "M",
                "reason": "illness",
                "clerk_id": "cl001",
                "request_id": ck.new_request_id(),
                "cause": "ハブに接続できません",
                "at": at,
            },
        )
    finally:
        db.close()


def test_forged_provisional_votes_become_incidents_and_never_block_the_voter(
    tmp_path: Path, hub: HubProcess
) -> None:
    van_path = _van(tmp_path, hub)
    now = el.jst_now()
    tomorrow_10 = now.replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    forged = {
        # 18 hours ahead, at the fixed station van-1 serves all period
        "000101": _forge(van_path, "000101", "taira", (now + timedelta(hours=18)).isoformat()),
        # at tomorrow's stop, dated tomorrow
        "000102": _forge(van_path, "000102", "ogawa-tomorrow", tomorrow_10.isoformat()),
        # today, at today's stop: only the missing clerk's proof gives it away
        "000103": _forge(van_path, "000103", "ogawa-van", now.isoformat(timespec="seconds")),
    }
    assert push(van_path, hub.url, retries=1).sent >= 3

    hub_db = connect(hub.db)
    codes = {
        i["voter_no"]: i["detail"]["code"]
        for i in ck.incidents(hub_db, ELECTION_ID)
        if i["kind"] == "provisional_invalid"
    }
    assert codes == {"000101": "future_time", "000102": "future_time", "000103": "no_clerk_proof"}
    evidence = {i["first_record_id"] for i in ck.incidents(hub_db, ELECTION_ID)}
    assert {r.id for r in forged.values()} <= evidence
    hub_db.close()

    # the real voters still vote (counter-1 serves 平支所)
    client = signed_client(hub.db, "counter-1", hub.url, timeout=10)
    for voter_no in forged:
        answer = client.checkin(
            election_id=ELECTION_ID,
            voter_no=voter_no,
            station_id="taira",
            clerk_id="cl002",
            device_id="counter-1",
            reason="work",
        )
        assert isinstance(answer, Confirmed), (voter_no, answer)


def test_a_clerks_provisional_vote_counts_and_names_the_clerk_at_the_next_station(
    tmp_path: Path, hub: HubProcess
) -> None:
    van_path = _van(tmp_path, hub)
    van = connect(van_path)
    with pytest.raises(rl.RollLocked):
        rl.find_by_voter_no(van, ELECTION_ID, "000104")
    login.login(van, "cl001", PIN, now=el.jst_now())  # offline: the PIN opens the key
    voter = rl.find_by_voter_no(van, ELECTION_ID, "000104")
    assert voter is not None and voter.name == "高橋 一郎"
    made = ck.record_provisional(
        van,
        election=el.get_election(van, ELECTION_ID),
        station_id="ogawa-van",
        voter=voter,
        reason="illness",
        clerk_id="cl001",
        request_id=ck.new_request_id(),
        cause="ハブに接続できません",
    )
    assert clerk_keys.PROOF_KEY in (made.payload or {})
    clerk_keys.lock(van)
    van.close()
    push(van_path, hub.url, retries=1)

    client = signed_client(hub.db, "counter-1", hub.url, timeout=10)
    answer = client.checkin(
        election_id=ELECTION_ID,
        voter_no="000104",
        station_id="taira",
        clerk_id="cl002",
        device_id="counter-1",
        reason="work",
    )
    assert isinstance(answer, AlreadyVoted)
    hub_db = connect(hub.db)
    first = ck.voter_status(hub_db, ELECTION_ID, "000104")["first"]
    hub_db.close()
    assert first["station_name"] == "移動期日前投票所(小川)"
    assert (first["clerk_id"], first["clerk_name"], first["device_id"]) == (
        "cl001",
        "高橋 美咲",
        "van-1",
    )
    assert first["checked_at"] == (made.payload or {})["at"]


def _roll_values() -> dict[str, list[str]]:
    """Every personal value of the test roll, in the forms a file could hold it."""
    out: dict[str, list[str]] = {"name": [], "kana": [], "birth_date": [], "address": []}
    for line in ROLL_ROWS:
        _no, name, kana, birth, _sex, address, _precinct = line.split(",")
        out["name"] += [name, name.replace(" ", "")]
        out["kana"] += [kana, kana.replace(" ", ""), rl.normalise_kana(kana)]
        iso = rl.parse_birth_date(birth)
        out["birth_date"] += [iso, iso.replace("-", ""), birth]
        out["address"].append(address)
    return out


def van_files(folder: Path) -> dict[str, bytes]:
    """Every file of a van's folder (database, WAL, keys), by name."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_the_roll_on_a_van_is_sealed_until_a_clerk_logs_in(tmp_path: Path, hub: HubProcess) -> None:
    van_path = _van(tmp_path, hub)
    files = van_files(van_path.parent)
    assert any(name.endswith("-wal") for name in files)  # the WAL is searched too
    for kind, values in _roll_values().items():
        for value in values:
            for name, data in files.items():
                assert value.encode("utf-8") not in data, (kind, value, name)
    # after a clerk's login (offline) the clerk's screen finds every voter
    van = connect(van_path)
    login.login(van, "cl001", PIN, now=el.jst_now())
    assert len(rl.voters_of(van, ELECTION_ID)) == len(ROLL_ROWS)
    assert rl.find_by_kana(van, ELECTION_ID, "ｽｽﾞｷｷｮｳｺ", "S20.1.5")[0].voter_no == "000103"
    clerk_keys.lock(van)  # logout
    with pytest.raises(rl.RollLocked):
        rl.voters_of(van, ELECTION_ID)
    # a wrong PIN opens nothing (and an operator without the role has no key)
    assert not clerk_keys.unlock(van, "cl001", "111222")
    assert not clerk_keys.unlock(van, "op001", "123456")
    van.close()


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("123456", "連続"),
        ("654321", "連続"),
        ("111111", "くり返し"),
        ("121212", "くり返し"),
        ("123123", "くり返し"),
        ("159753", "よく使われる"),
        ("112233", "よく使われる"),
    ],
)
def test_operators_add_reset_and_the_pin_change_refuse_weak_pins(
    tmp_path: Path, pin: str, reason: str
) -> None:
    hub = tmp_path / "hub.db"
    connect(hub, role="hub", create=True).close()
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(main, [*args, "--db", str(hub)])
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    base = ("operators", "add", "--id", "cl9", "--name", "試験", "--roles", "clerk")
    code, out = cli(*base, "--pin", pin)
    assert code == 1 and reason in out
    assert cli(*base, "--pin", "481516")[0] == 0
    code, out = cli("operators", "reset", "--id", "cl9", "--pin", pin)
    assert code == 1 and reason in out
    assert cli("operators", "reset", "--id", "cl9", "--pin", "620849")[0] == 0
    db = connect(hub)
    with pytest.raises(Exception, match=reason):
        login.change_pin(db, "cl9", "620849", pin, now=el.jst_now())
    db.close()


def test_a_pin_reset_makes_a_new_key_and_the_old_one_still_verifies(tmp_path: Path) -> None:
    hub = tmp_path / "hub.db"
    connect(hub, role="hub", create=True).close()
    runner = CliRunner()
    add = ["operators", "add", "--db", str(hub), "--id", "cl9", "--name", "試験"]
    assert runner.invoke(main, [*add, "--roles", "clerk", "--pin", "481516"]).exit_code == 0
    assert runner.invoke(main, [*add, "--roles", "operator", "--pin", "481517"]).exit_code == 0
    reset = ["operators", "reset", "--db", str(hub), "--id", "cl9", "--pin", "620849"]
    assert runner.invoke(main, reset).exit_code == 0
    db = connect(hub)
    # the reset keeps the role (operator: no key) and the hub keeps every key it issued
    row = db.execute("SELECT roles, key_sealed FROM operators WHERE id = 'cl9'").fetchone()
    assert tuple(row) == ("operator", "")
    assert db.execute("SELECT COUNT(*) FROM operator_keys").fetchone()[0] == 1
    db.close()


SECTION = "## What a stolen van exposes"


def _exposure_table() -> list[list[str]]:
    text = (ROOT / "docs" / "sync.md").read_text(encoding="utf-8")
    assert SECTION in text
    body = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = body.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break  # the first table only (the timing table follows)
        table.append([c.strip() for c in line.strip().strip("|").split("|")])
    return table[2:]  # no header, no ---|--- line


def test_the_stolen_van_table_in_docs_holds_for_real_van_files(
    tmp_path: Path, hub: HubProcess
) -> None:
    """Every row that says "not readable" is checked against a van's files after a pull,
    a clerk's day and a push (the table's tag in backticks names the check)."""
    van_path = _van(tmp_path, hub)
    van = connect(van_path)
    login.login(van, "cl001", PIN, now=el.jst_now())
    voter = rl.find_by_voter_no(van, ELECTION_ID, "000101")
    assert voter is not None
    ck.record_provisional(
        van,
        election=el.get_election(van, ELECTION_ID),
        station_id="ogawa-van",
        voter=voter,
        reason="illness",
        clerk_id="cl001",
        request_id=ck.new_request_id(),
        cause="ハブに接続できません",
    )
    resident = {"name": "磐城 澄子", "address": "いわき市遠野町滝字沢目9-9"}
    rec.append(van, "consultation.hold", {"stop_id": "s", "people": 1, **resident})
    secret = clerk_keys.secret_of(van, "cl001")
    assert secret is not None
    clerk_keys.lock(van)
    hub_db = connect(hub.db)
    roll_key = str(hub_db.execute("SELECT key FROM roll_keys").fetchone()[0])
    hub_db.close()
    van.close()
    files = van_files(van_path.parent)
    values = _roll_values()
    secrets: dict[str, list[bytes]] = {
        "roll-name": [v.encode() for v in values["name"]],
        "roll-kana": [v.encode() for v in values["kana"]],
        "roll-birth-date": [v.encode() for v in values["birth_date"]],
        "roll-address": [v.encode() for v in values["address"]],
        "roll-key": [roll_key.encode()],
        "clerk-key": [secret, secret.hex().encode(), clerk_keys._b64(secret).encode()],
        "residents": [v.encode() for v in resident.values()],
    }
    readable: dict[str, Callable[[], bool]] = {
        "operator-names": lambda: "高橋 美咲".encode() in b"".join(files.values()),
        "pin-verifiers": lambda: b"scrypt$" in b"".join(files.values()),
        "voter-numbers": lambda: b"000101" in b"".join(files.values()),
    }
    rows = _exposure_table()
    assert len(rows) >= len(secrets)
    checked = set()
    for row in rows:
        tag = re.search(r"`([a-z-]+)`", row[0])
        assert tag, f"row without a tag: {row}"
        name = tag.group(1)
        if row[1].lower().startswith("no"):
            assert name in secrets, f"no check for the 'not readable' row {name}"
            for value in secrets[name]:
                for fname, data in files.items():
                    assert value not in data, (name, fname)
        elif name in readable:
            assert row[1].lower().startswith("yes") and readable[name](), name
        checked.add(name)
    assert set(secrets) <= checked


def test_a_clerks_own_pin_change_keeps_the_key_across_pulls(tmp_path: Path) -> None:
    """The van re-seals the same key under the new PIN; a pull does not undo it."""
    from odekake.masterdata.master import reapply_local_pins
    from odekake.voting.elections import jst_now
    from tests.voting.conftest import clerk_van, copy_operators

    hub_db = connect(make_hub(tmp_path / "hub.db"))
    van = clerk_van(hub_db, "van-1")
    public = str(van.execute("SELECT sign_public FROM operators WHERE id = 'cl001'").fetchone()[0])
    login.change_pin(van, "cl001", PIN, "481516", now=jst_now())
    clerk_keys.lock(van)
    copy_operators(hub_db, van)  # a pull brings the hub's row (old PIN) back ...
    reapply_local_pins(van)  # ... and the van's own change is put back
    assert not clerk_keys.unlock(van, "cl001", PIN)
    assert clerk_keys.unlock(van, "cl001", "481516")
    secret = clerk_keys.secret_of(van, "cl001")
    assert secret is not None and clerk_keys.public_keys(secret)[0] == public
    assert len(rl.voters_of(van, ELECTION_ID)) == len(ROLL_ROWS)  # the roll still opens
    hub_db.close()


def test_a_clerk_who_does_not_work_on_the_van_is_refused_live_and_after_sync(
    tmp_path: Path,
) -> None:
    from odekake.masterdata import master
    from tests.voting.conftest import clerk_van

    hub_db = connect(make_hub(tmp_path / "hub.db"))
    master.add_van(hub_db, "van-1", "1号車")
    master.add_van(hub_db, "van-2", "2号車")
    van = clerk_van(hub_db, "van-1")  # cl001 logged in on van-1 ...
    master.set_operator_vans(hub_db, "cl001", ["van-2"])  # ... but works on van-2 only
    req = ck.CheckinRequest(
        ck.new_request_id(), ELECTION_ID, "000101", "ogawa-van", "cl001", "van-1", "work"
    )
    answer = ck.checkin(hub_db, req)
    assert (answer.status_code, answer.body["code"]) == (422, "clerk_not_assigned")
    made = ck.record_provisional(
        van,
        election=el.get_election(van, ELECTION_ID),
        station_id="ogawa-van",
        voter=rl.find_by_voter_no(van, ELECTION_ID, "000102"),  # type: ignore[arg-type]
        reason="illness",
        clerk_id="cl001",
        request_id=ck.new_request_id(),
        cause="ハブに接続できません",
    )
    rec.insert_record(hub_db, made)
    (incident,) = ck.reconcile(hub_db)
    assert incident.kind == "provisional_invalid"
    assert ck.incidents(hub_db, ELECTION_ID)[0]["detail"]["code"] == "clerk_not_assigned"
    assert ck.voter_status(hub_db, ELECTION_ID, "000102")["voted"] is False
    hub_db.close()
