"""Security round two (data), at the hub: no snapshot without a sealing key, a van
receives only its own operators' PIN verifiers, administrative actions are audited
with actor and device, and database and key files are created 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from odekake.access import audit
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.cli import main
from odekake.masterdata import master
from odekake.storage.db import connect, memory_db, write
from odekake.storage.records import SEAL_KEY_META
from odekake.sync.client import HubUnavailable, pull
from odekake.sync.keys import generate_key, key_path_for, public_key_text, register_device
from odekake.sync.snapshot import HubNotReady, apply_snapshot, deliver_snapshot, snapshot_for

from .conftest import HubProcess, Site, cli, make_van


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _hub_with_vans() -> sqlite_utils.Database:
    hub = memory_db("hub")
    master.seed_districts(hub)
    with write(hub):
        hub.execute("INSERT INTO settings(key, value) VALUES (?, 'k')", [SEAL_KEY_META])
    for van in ("van-1", "van-2"):
        master.add_van(hub, van, van)
        register_device(hub, f"{van}-dev", public_key_text(generate_key()), van_id=van)
    return hub


def _operator(hub: sqlite_utils.Database, oid: str, vans: list[str] | None = None) -> None:
    master.add_operator(hub, oid, oid, ["operator"], "246813", vans=vans, kdf=TEST_ONLY_CHEAP_KDF)


def _operator_ids(snap: dict[str, object]) -> list[str]:
    table = snap["tables"]["operators"]  # type: ignore[index]
    i = table["columns"].index("id")
    return [r[i] for r in table["rows"]]


# -- 4. PIN verifiers only to the vans an operator works on ------------------------------


def test_a_van_receives_only_its_own_operators_verifiers() -> None:
    hub = _hub_with_vans()
    _operator(hub, "everywhere")  # no van list: every van
    _operator(hub, "only-1", ["van-1"])
    _operator(hub, "only-2", ["van-2"])
    _operator(hub, "both", ["van-1", "van-2"])
    assert _operator_ids(snapshot_for(hub, "van-1-dev")) == ["both", "everywhere", "only-1"]
    assert _operator_ids(snapshot_for(hub, "van-2-dev")) == ["both", "everywhere", "only-2"]
    # Moving an operator off a van removes their verifier there at the next pull.
    van = memory_db("van", device_id="van-1-dev")
    apply_snapshot(van, snapshot_for(hub, "van-1-dev"))
    master.set_operator_vans(hub, "only-1", ["van-2"])
    apply_snapshot(van, snapshot_for(hub, "van-1-dev"))
    ids = [r[0] for r in van.execute("SELECT id FROM operators ORDER BY id")]
    assert ids == ["both", "everywhere"]
    with pytest.raises(Exception, match="登録されていない車両"):
        master.set_operator_vans(hub, "both", ["van-9"])


def test_operators_cli_add_set_list(tmp_path: Path) -> None:
    hub = tmp_path / "hub.db"
    db = connect(hub, role="hub", create=True)
    master.add_van(db, "van-1", "1号車")
    master.add_van(db, "van-2", "2号車")
    db.close()
    runner = CliRunner()
    short = runner.invoke(
        main,
        ["operators", "add", "--db", str(hub), "--id", "op9", "--name", "試験", "--roles",
         "operator", "--pin", "1234"],
    )  # fmt: skip
    assert short.exit_code == 1 and "PINは6〜8桁の数字です" in short.output
    added = runner.invoke(
        main,
        ["operators", "add", "--db", str(hub), "--id", "op9", "--name", "試験", "--roles",
         "operator", "--vans", "van-2"],
        input="135790\n135790\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["operators", "list", "--db", str(hub)])
    assert "op9  試験  operator  担当: van-2" in listed.output
    moved = runner.invoke(
        main, ["operators", "set", "--db", str(hub), "--id", "op9", "--vans", "van-1,van-2"]
    )
    assert moved.exit_code == 0, moved.output
    db = connect(hub)
    assert master.operator_vans(db, "op9") == ["van-1", "van-2"]
    every = runner.invoke(main, ["operators", "set", "--db", str(hub), "--id", "op9", "--all-vans"])
    assert every.exit_code == 0 and master.operator_vans(db, "op9") == []
    sets = [e for e in audit.entries(db) if e.action == "operator.set"]
    assert [e.detail["vans"] for e in sets] == [["van-2"], ["van-1", "van-2"], []]
    assert all(e.actor.startswith("cli") and e.detail["device"] == "hub" for e in sets)
    # The default KDF: the verifier carries its (expensive) parameters.
    stored = db.execute("SELECT pin_hash FROM operators WHERE id = 'op9'").fetchone()[0]
    assert stored.startswith(f"scrypt${2**17}$8$1$")


# -- 1. no snapshot from a hub without its sealing key ---------------------------------


def test_snapshot_refused_without_a_sealing_key() -> None:
    hub = _hub_with_vans()
    with write(hub):
        hub.execute("DELETE FROM settings WHERE key = ?", [SEAL_KEY_META])
    with pytest.raises(HubNotReady, match="odekake keys init"):
        snapshot_for(hub, "van-1-dev")


def test_real_hub_serves_no_snapshot_until_keys_init(
    site: Site, hub_process: Callable[[], HubProcess], tmp_path: Path
) -> None:
    db = connect(site.hub)
    with write(db):
        db.execute("DELETE FROM settings WHERE key = ?", [SEAL_KEY_META])
        db.execute("DELETE FROM meta WHERE key = ?", [SEAL_KEY_META])
    master.add_operator(db, "op1", "窓口", ["operator"], "246813", kdf=TEST_ONLY_CHEAP_KDF)
    db.close()
    van = site.van("van-1", 0)
    hub = hub_process()
    with pytest.raises(HubUnavailable) as err:
        pull(van, hub.url, retries=0)
    assert "封印用の鍵がないため" in str(err.value) and "HTTP 503" in str(err.value)
    v = connect(van)
    assert v.execute("SELECT count(*) FROM operators").fetchone()[0] == 0  # nothing changed
    assert v.execute("SELECT snapshot_version FROM sync_state").fetchone() in (None, (None,))
    v.close()

    doctor = CliRunner().invoke(main, ["doctor", "--db", str(site.hub)])
    assert doctor.exit_code == 1 and "odekake keys init" in doctor.output

    key_file = tmp_path / "hub-seal.key"
    made = cli("keys", "init", "--db", str(site.hub), "--key-file", str(key_file))
    assert made.returncode == 0, made.stderr
    assert _mode(key_file) == 0o600
    result = pull(van, hub.url, retries=0)
    assert result.changed and result.counts["operators"] == 1
    v = connect(van)
    assert v.execute("SELECT value FROM settings WHERE key = ?", [SEAL_KEY_META]).fetchone()
    assert v.execute("SELECT key FROM receipt_keys WHERE device_id = 'van-1'").fetchone()
    v.close()
    assert CliRunner().invoke(main, ["doctor", "--db", str(site.hub)]).exit_code == 0
    h = connect(site.hub)
    [init] = [e for e in audit.entries(h) if e.action == "keys.init"]
    assert init.actor.startswith("cli") and init.detail["device"] == "hub"
    [sent] = [e for e in audit.entries(h) if e.action == "snapshot.sensitive"]
    assert (sent.actor, sent.target) == ("hub", "van-1")
    assert sent.detail["operators"] == ["op1"] and sent.detail["roll_rows"] == 0
    h.close()


# -- 6. administrative actions are audited at the hub -----------------------------------


def test_snapshot_delivery_with_verifiers_is_audited_once_per_delivery() -> None:
    hub = _hub_with_vans()
    _operator(hub, "op1")
    snap = deliver_snapshot(hub, "van-1-dev")
    assert deliver_snapshot(hub, "van-1-dev", have=snap["sha256"])["unchanged"] is True
    sent = [e for e in audit.entries(hub) if e.action == "snapshot.sensitive"]
    assert len(sent) == 1 and sent[0].detail["device"] == "van-1-dev"
    assert sent[0].detail["van"] == "van-1"


def test_enrol_revoke_election_and_roll_are_audited(tmp_path: Path) -> None:
    from tests.voting.conftest import ELECTION_ID, write_roll

    hub = tmp_path / "hub.db"
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--db", str(hub), "--role", "hub"]).exit_code == 0
    van = make_van(tmp_path, "van-1", 0)
    r = runner.invoke(main, ["device", "enroll", "--db", str(van), "--hub-db", str(hub)])
    assert r.exit_code == 0, r.output
    assert _mode(key_path_for(van)) == 0o600
    r = runner.invoke(main, ["device", "revoke", "--db", str(hub), "--device", "van-1"])
    assert r.exit_code == 0, r.output
    toml = tmp_path / "e.toml"
    toml.write_text(
        f'id = "{ELECTION_ID}"\nname = "試験選挙"\nelection_day = "2030-11-10"\n'
        'early_from = "2030-11-01"\nearly_to = "2030-11-09"\n\n'
        '[[ballots]]\nkind = "senkyoku"\nlabel = "選挙区"\nopens_on = "2030-11-01"\n\n'
        '[[stations]]\nid = "taira"\nname = "平支所"\nkind = "fixed"\nopens = "08:30"\n'
        'closes = "20:00"\n',
        encoding="utf-8",
    )
    r = runner.invoke(main, ["election", "add", "--db", str(hub), str(toml)])
    assert r.exit_code == 0, r.output
    roll = write_roll(tmp_path / "roll.csv")
    r = runner.invoke(
        main, ["roll", "import", "--db", str(hub), "--election", ELECTION_ID, str(roll)]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["election", "close", "--db", str(hub), "--election", ELECTION_ID])
    assert r.exit_code == 0, r.output
    db = connect(hub)
    entries = [e for e in audit.entries(db) if e.action != "import"]
    got = [(e.action, e.target) for e in entries]
    assert got == [
        ("device.enrol", "van-1"),
        ("device.revoke", "van-1"),
        ("election.add", ELECTION_ID),
        ("election.assign", ELECTION_ID),
        ("roll.import", ELECTION_ID),
        ("election.close", ELECTION_ID),
    ]
    assert all(e.actor.startswith("cli") for e in entries)
    assert entries[0].detail["device"] == "van-1" and entries[0].detail["outcome"] == "registered"
    assert entries[2].detail["device"] == "hub" and entries[4].detail["voters"] > 0
    assert audit.verify(db) == []


# -- 7. files are created owner-only ---------------------------------------------------


def test_database_wal_and_key_files_are_created_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a default umask would otherwise give 0644
    try:
        path = tmp_path / "van.db"
        db = connect(path, role="van", create=True, device_id="van-1")
        master.seed_districts(db)
        assert _mode(path) == 0o600
        wal = path.with_name("van.db-wal")
        assert wal.exists() and _mode(wal) == 0o600
        db.close()
        key_file = tmp_path / "k" / "hub-seal.key"
        hub = tmp_path / "hub.db"
        r = CliRunner().invoke(main, ["init", "--db", str(hub), "--role", "hub"])
        assert r.exit_code == 0 and _mode(hub) == 0o600
        r = CliRunner().invoke(
            main, ["keys", "init", "--db", str(hub), "--key-file", str(key_file)]
        )
        assert r.exit_code == 0, r.output
        assert _mode(key_file) == 0o600
        key_file.chmod(0o644)
        r = CliRunner().invoke(
            main, ["keys", "init", "--db", str(hub), "--key-file", str(key_file), "--force"]
        )
        assert r.exit_code == 0 and _mode(key_file) == 0o600  # a replaced key, too
    finally:
        os.umask(old)


def test_a_pin_changed_on_the_van_outlives_pulls_until_city_hall_resets_it() -> None:
    from datetime import UTC, datetime

    from odekake.services import login

    hub = _hub_with_vans()
    _operator(hub, "op1")
    van = memory_db("van", device_id="van-1-dev")
    apply_snapshot(van, snapshot_for(hub, "van-1-dev"))
    login.change_pin(van, "op1", "246813", "135792", now=datetime.now(UTC))
    record = van.execute("SELECT payload FROM records WHERE type = 'operator.pin_change'")
    assert record.fetchone()[0] == '{"operator_id":"op1"}'  # no verifier leaves the van
    apply_snapshot(van, snapshot_for(hub, "van-1-dev"))
    assert login.verify_pin(van, "op1", "135792") and not login.verify_pin(van, "op1", "246813")
    # City hall resets the PIN: its new verifier wins at the next pull.
    master.add_operator(hub, "op1", "op1", ["operator"], "975310", kdf=TEST_ONLY_CHEAP_KDF)
    apply_snapshot(van, snapshot_for(hub, "van-1-dev"))
    assert login.verify_pin(van, "op1", "975310") and not login.verify_pin(van, "op1", "135792")
    assert van.execute("SELECT count(*) FROM local_pin_changes").fetchone()[0] == 0
