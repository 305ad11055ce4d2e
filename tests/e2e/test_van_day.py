"""End to end across the parts: the demo van syncs with a real hub process, takes
down master data, the sealing key and an election roll, checks a voter in with a
signed request, and loses its roll copy when the election closes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from odekake.demo import build_demo
from odekake.storage import records as rec
from odekake.storage.canonical import canonical_json
from odekake.storage.db import connect
from odekake.storage.sealing import load_private_key, open_payload
from odekake.sync.auth import DeviceAuth, device_auth_for, hub_url_of
from odekake.sync.client import pull, push
from odekake.sync.keys import generate_key
from odekake.sync.wire import pinned_hub_key
from odekake.voting import elections as el
from odekake.voting import roll as rl
from odekake.voting.client import AlreadyVoted, Confirmed, VotingClient
from tests.voting.conftest import ELECTION_ID, election_data, free_port, write_roll


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    d = tmp_path / "demo"
    build_demo(d, seed=5)
    return d


@pytest.fixture
def hub(demo: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "odekake.cli",
            "hub",
            "serve",
            "--db",
            str(demo / "hub.db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "hub exited"
            assert time.monotonic() < deadline, "hub did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_van_day_end_to_end(demo: Path, hub: str) -> None:
    van_path, hub_path = demo / "van.db", demo / "hub.db"
    hub_db = connect(hub_path)
    el.save_election(hub_db, el.election_from_dict(election_data()))
    rl.import_roll(hub_db, ELECTION_ID, write_roll(demo / "roll.csv"))

    # Up: only the records the hub had not acknowledged travel, once each.
    van = connect(van_path)
    # (the hub's own records, such as the demo election's check-in, are not the van's)
    before = hub_db.execute("SELECT count(*) FROM records WHERE device_id = 'van-1'").fetchone()[0]
    unsynced = van.execute("SELECT count(*) FROM records").fetchone()[0] - before
    result = push(van_path, hub)
    assert result.sent == unsynced > 0
    van_hashes = [r[0] for r in van.execute("SELECT hash FROM records ORDER BY seq")]
    hub_hashes = [
        r[0]
        for r in hub_db.execute("SELECT hash FROM records WHERE device_id='van-1' ORDER BY seq")
    ]
    assert hub_hashes == van_hashes
    assert rec.verify(hub_db).ok

    # The hub can open what the van sealed; the van cannot read it back.
    private = load_private_key(demo / "hub-seal.key")
    cert = next(r for r in rec.iter_records(hub_db, types=["certificate.issue"]) if r.payload)
    assert cert.payload is not None and "requester" not in cert.payload
    assert open_payload(cert.payload, private)["requester"]["name"]

    # Down: settings (with the sealing key), referrals, the election and its roll.
    pull(van_path, hub)
    assert hub_url_of(van) == hub  # remembered for the voting screen
    # the roll arrives sealed (only a clerk's PIN opens it), never in the clear
    assert (
        van.execute(
            "SELECT count(*) FROM roll_sealed WHERE election_id = ?", [ELECTION_ID]
        ).fetchone()[0]
        == 1
    )
    assert van.execute("SELECT count(*) FROM roll").fetchone()[0] == 0
    assert rec.seal_key_of(van) == rec.seal_key_of(hub_db)
    assert van.execute("SELECT count(*) FROM referrals").fetchone()[0] > 0

    # Voting: the check-in endpoint refuses unsigned requests and confirms a signed one.
    unsigned = VotingClient(hub, timeout=5)
    args = dict(
        election_id=ELECTION_ID,
        voter_no="000101",
        station_id="ogawa-van",
        clerk_id="sv001",
        device_id="van-1",
        reason="work",
    )
    assert not isinstance(unsigned.checkin(**args), Confirmed)
    signed = VotingClient(hub, timeout=5, auth=device_auth_for(van_path, van))
    first = signed.checkin(**args)
    assert isinstance(first, Confirmed), first
    again = signed.checkin(**{**args, "station_id": "taira"})
    assert isinstance(again, AlreadyVoted) and again.station_id == "ogawa-van"
    stranger = VotingClient(
        hub, timeout=5, auth=DeviceAuth("van-1", generate_key(), pinned_hub_key(van))
    )
    assert not isinstance(stranger.checkin(**{**args, "voter_no": "000102"}), Confirmed)

    # Close the election at the hub: the next pull removes the van's roll copy.
    rl.close_election(hub_db, ELECTION_ID)
    pull(van_path, hub)
    assert (
        van.execute(
            "SELECT count(*) FROM roll_sealed WHERE election_id = ?", [ELECTION_ID]
        ).fetchone()[0]
        == 0
    )
    # The roll never travelled up in a record.
    for r in rec.iter_records(hub_db, device_id="van-1"):
        assert "ヤマダ" not in canonical_json(r.payload or {})
