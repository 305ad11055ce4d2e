"""The lows: signing oracle, replay after restart, duplicate JSON keys, silent key
replacement, world-readable files, and an idle lock that never locks."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from odekake.cli import main
from odekake.errors import OdekakeError
from odekake.receipts.receipt_pdf import write_receipt
from odekake.storage.db import connect
from odekake.storage.records import GENESIS, SEAL_KEY_META, build_record
from odekake.sync.client import HubClient, export_bundle
from odekake.sync.keys import key_path_for, load_private_key, sign
from odekake.sync.wire import (
    HEADER_HUB_SIGNATURE,
    HEADER_SIGNATURE,
    hub_key_path_for,
    sign_answer,
    signed_headers,
)
from tests.security.conftest import HubAndVan
from tests.sync.conftest import HubProcess


def _signed(van: Path, device: str, method: str, target: str, body: bytes = b"") -> dict[str, str]:
    key = load_private_key(key_path_for(van))
    return signed_headers(key, device, method, target, body, timestamp=str(int(time.time())))


def test_the_hub_signs_only_answers_to_authenticated_requests(
    hub_and_van: HubAndVan, serve_hub: Callable[[Path], HubProcess]
) -> None:
    hub = serve_hub(hub_and_van.hub)
    headers = _signed(hub_and_van.van, "van-1", "GET", "/v1/ack")
    # the van's request signature replayed onto an unauthenticated route
    health = httpx.get(f"{hub.url}/health", headers=headers)
    assert health.status_code == 200 and HEADER_HUB_SIGNATURE.lower() not in health.headers
    stranger = {**headers, "X-Odekake-Device": "van-9"}
    refused = httpx.get(f"{hub.url}/v1/ack", headers=stranger)
    assert refused.status_code == 401 and HEADER_HUB_SIGNATURE.lower() not in refused.headers
    login = httpx.get(f"{hub.url}/console/login", headers=headers)
    assert HEADER_HUB_SIGNATURE.lower() not in login.headers
    ok = httpx.get(f"{hub.url}/v1/ack", headers=headers)
    assert ok.status_code == 200 and HEADER_HUB_SIGNATURE.lower() in ok.headers


def test_a_captured_request_is_refused_after_a_hub_restart(
    hub_and_van: HubAndVan, serve_hub: Callable[[Path], HubProcess]
) -> None:
    headers = _signed(hub_and_van.van, "van-1", "GET", "/v1/ack")
    first = serve_hub(hub_and_van.hub)
    assert httpx.get(f"{first.url}/v1/ack", headers=headers).status_code == 200
    first.stop()
    second = serve_hub(hub_and_van.hub)
    replay = httpx.get(f"{second.url}/v1/ack", headers=headers)
    assert replay.status_code == 401 and "同じ要求" in replay.json()["error"]


def test_duplicate_json_keys_are_refused_by_the_hub(
    hub_and_van: HubAndVan, serve_hub: Callable[[Path], HubProcess], tmp_path: Path
) -> None:
    hub = serve_hub(hub_and_van.hub)
    body = b'{"request_id": "r1", "election_id": "e1", "election_id": "e2"}'
    headers = _signed(hub_and_van.van, "van-1", "POST", "/vote/checkin", body)
    vote = httpx.post(f"{hub.url}/vote/checkin", content=body, headers=headers)
    assert vote.status_code == 400 and "重複" in vote.text
    # a bundle whose record line names a key twice, signed as the van would
    bundle = tmp_path / "van-1.bundle"
    export_bundle(hub_and_van.van, bundle)
    lines = bundle.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'{"kind":"record"', b'{"kind":"record","kind":"record"', 1)
    assert lines[1].count(b'"kind"') == 2
    import hashlib

    digest = hashlib.sha256(b"".join(lines[1:-1])).hexdigest()
    trailer = json.loads(lines[-1])
    trailer.update(
        sha256=digest,
        signature=sign(load_private_key(key_path_for(hub_and_van.van)), digest.encode()),
    )
    lines[-1] = (json.dumps(trailer, separators=(",", ":")) + "\n").encode()
    forged = b"".join(lines)
    headers = _signed(hub_and_van.van, "van-1", "POST", "/v1/push", forged)
    push = httpx.post(f"{hub.url}/v1/push", content=forged, headers=headers)
    assert push.status_code == 422, push.text
    db = connect(hub_and_van.hub, role="hub")
    assert db.execute("SELECT COUNT(*) FROM records WHERE device_id = 'van-1'").fetchone()[0] == 0
    db.close()


def test_the_van_refuses_a_signed_hub_answer_with_duplicate_keys(hub_and_van: HubAndVan) -> None:
    hub_key = load_private_key(hub_key_path_for(hub_and_van.hub))
    body = b'{"device_id": "van-1", "acked_seq": 3, "acked_seq": 0}'

    def answer(request: httpx.Request) -> httpx.Response:
        sig = sign_answer(hub_key, "van-1", request.headers[HEADER_SIGNATURE], 200, body)
        return httpx.Response(200, content=body, headers={HEADER_HUB_SIGNATURE: sig})

    client = HubClient(
        "http://127.0.0.1:9",
        "van-1",
        load_private_key(key_path_for(hub_and_van.van)),
        hub_key.public_key(),
        retries=0,
    )
    client._http = httpx.Client(
        base_url="http://127.0.0.1:9", transport=httpx.MockTransport(answer)
    )
    with pytest.raises(OdekakeError):
        client.request("GET", "/v1/ack")
    client.close()


def test_keys_init_never_replaces_the_sealing_key_without_force(hub_and_van: HubAndVan) -> None:
    runner = CliRunner()
    hub, folder = hub_and_van.hub, hub_and_van.hub.parent
    db = connect(hub, role="hub")
    before = db.execute("SELECT value FROM settings WHERE key = ?", [SEAL_KEY_META]).fetchone()
    db.close()
    other = runner.invoke(
        main, ["keys", "init", "--db", str(hub), "--key-file", str(folder / "other.pem")]
    )
    assert other.exit_code != 0 and "--force" in other.output
    assert not (folder / "other.pem").exists()
    db = connect(hub, role="hub")
    after = db.execute("SELECT value FROM settings WHERE key = ?", [SEAL_KEY_META]).fetchone()
    db.close()
    assert after == before
    forced = runner.invoke(
        main,
        ["keys", "init", "--db", str(hub), "--key-file", str(folder / "other.pem"), "--force"],
    )
    assert forced.exit_code == 0, forced.output


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_with_personal_data_or_keys_are_0600_in_0700_folders(
    hub_and_van: HubAndVan, demo_dir: Path, tmp_path: Path
) -> None:
    old = os.umask(0o022)
    try:
        record = build_record(
            device_id="van-1",
            seq=1,
            prev_hash=GENESIS,
            prev_hlc=None,
            type="certificate.issue",
            payload={
                "receipt_no": "van-1-000001",
                "amount": 300,
                "service_name": "住民票の写し",
                "copies": 1,
                "fee_each": 300,
                "payment": "cash",
                "addressee": True,
            },
            now=datetime(2026, 11, 24, 1, 0, tzinfo=UTC),
        )
        receipts = tmp_path / "receipts"
        files = write_receipt(record, receipts, addressee="遠藤 ヨシ子")
        from kiosk.app import start_log

        log_path = tmp_path / "kiosklogs" / "kiosk.log"
        handler = start_log(log_path)
        handler.close()
        bundle = tmp_path / "out.bundle"
        export_bundle(hub_and_van.van, bundle)
    finally:
        os.umask(old)
    assert _mode(receipts) == 0o700
    for path in (files.pdf, files.qr_png, log_path, bundle, demo_dir / "demo-roll.csv"):
        assert _mode(path) == 0o600, f"{path.name} is {oct(_mode(path))}"


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-5", "2.5", "100000"])
def test_idle_minutes_takes_a_positive_whole_number_up_to_the_maximum(
    value: str, tmp_path: Path
) -> None:
    res = CliRunner().invoke(
        main, ["kiosk", "--db", str(tmp_path / "van.db"), f"--idle-minutes={value}"]
    )
    assert res.exit_code != 0 and "1から120までの整数" in res.output
