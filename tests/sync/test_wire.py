"""The wire between a van and its hub: the van believes only signed answers.

A real loopback proxy (tests/sync/proxy.py) sits between a van and a real hub
process and forges what an attacker on the city intranet would: a swapped sealing
key, an extra supervisor, a push acknowledgement the hub never gave, an old signed
answer replayed to a new request. The van refuses each, and nothing changes on it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from odekake.access import audit
from odekake.masterdata import master
from odekake.operations import retention
from odekake.storage.canonical import canonical_json
from odekake.storage.db import connect, write
from odekake.storage.records import SEAL_KEY_META
from odekake.storage.sealing import generate_keypair
from odekake.sync.auth import DeviceAuth
from odekake.sync.keys import generate_key, key_path_for, load_private_key, public_key_text
from odekake.sync.wire import (
    HEADER_HUB_SIGNATURE,
    HEADER_SIGNATURE,
    ensure_hub_key,
    local_ack,
    pin_hub_key,
    sign_answer,
    signed_headers,
)
from odekake.voting.client import Confirmed, Unknown, VotingClient

from .conftest import T0, HubProcess, Site, add_personal, cli, make_van, rows
from .proxy import Exchange, ForgingProxy

ATTACKER = generate_key()


def dump(path: Path) -> list[str]:
    """Every statement that would rebuild the database: equal dumps, equal databases."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def hub_with_master(site: Site) -> sqlite_utils.Database:
    """Give the hub a sealing key and one supervisor (what a snapshot carries)."""
    hub = connect(site.hub)
    _, public = generate_keypair()
    with write(hub):
        hub.execute(
            "INSERT INTO settings(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SEAL_KEY_META, public],
        )
    master.add_operator(hub, "sv001", "本庁 監督", ["supervisor"], "135790")
    return hub


def rewrite_snapshot(ex: Exchange, change: Callable[[dict], None]) -> Exchange:
    """Change a snapshot's tables and recompute its SHA-256, as the attacker did."""
    snap = json.loads(ex.body)
    change(snap["tables"])
    snap["sha256"] = hashlib.sha256(canonical_json(snap["tables"]).encode("utf-8")).hexdigest()
    ex.body = json.dumps(snap, ensure_ascii=False).encode("utf-8")
    return ex


def swap_seal_key(tables: dict) -> None:
    rows_ = tables["settings"]["rows"]
    key_col = tables["settings"]["columns"].index("key")
    value_col = tables["settings"]["columns"].index("value")
    for r in rows_:
        if r[key_col] == SEAL_KEY_META:
            r[value_col] = generate_keypair()[1]


def add_supervisor(tables: dict) -> None:
    ops = tables["operators"]
    fake = dict(zip(ops["columns"], ops["rows"][0], strict=True))
    fake.update(id="evil", name="偽の監督")
    ops["rows"].append([fake[c] for c in ops["columns"]])


@pytest.mark.parametrize("change", [swap_seal_key, add_supervisor], ids=["seal-key", "operator"])
def test_van_refuses_a_rewritten_snapshot_and_changes_nothing(
    site: Site, hub_process: Callable[[], HubProcess], change: Callable[[dict], None]
) -> None:
    hub_with_master(site).close()
    van = site.van("van-a", 3)
    hub = hub_process()
    with ForgingProxy(hub.url) as proxy:
        proxy.tamper = lambda ex: (
            rewrite_snapshot(ex, change) if ex.path.startswith("/v1/snapshot") else None
        )
        before = dump(van)
        out = cli("sync", "pull", "--db", str(van), "--hub", proxy.url)
        assert out.returncode == 1
        assert out.stderr.startswith("エラー: ハブの応答の署名を確認できません")
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
        assert dump(van) == before
        assert any(ex.path.startswith("/v1/snapshot") for ex in proxy.seen)
        # the same pull straight from the hub is believed (the forgery was the only problem)
        proxy.tamper = lambda ex: None
        assert cli("sync", "pull", "--db", str(van), "--hub", proxy.url).returncode == 0
    db = connect(van)
    assert db.execute("SELECT id FROM operators").fetchall() == [("sv001",)]
    seal = db.execute("SELECT value FROM settings WHERE key = ?", [SEAL_KEY_META]).fetchone()[0]
    assert (
        seal
        == connect(site.hub)
        .execute("SELECT value FROM settings WHERE key = ?", [SEAL_KEY_META])
        .fetchone()[0]
    )


def test_a_replayed_old_signed_snapshot_is_refused(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    hub_db = hub_with_master(site)
    van = site.van("van-a", 1)
    hub = hub_process()
    with ForgingProxy(hub.url) as proxy:
        assert cli("sync", "pull", "--db", str(van), "--hub", proxy.url).returncode == 0
        old = next(ex for ex in proxy.seen if ex.path.startswith("/v1/snapshot"))
        assert old.status == 200 and HEADER_HUB_SIGNATURE.lower() in {
            k.lower() for k in old.headers
        }
        # The hub locks the supervisor out (a new operator list); the attacker answers
        # the van's next pull with the old, genuinely signed snapshot.
        with write(hub_db):
            hub_db.execute("UPDATE operators SET active = 0 WHERE id = 'sv001'")
        proxy.answer_itself = lambda ex: (
            Exchange(ex.method, ex.path, ex.request_headers, b"", old.status, old.headers, old.body)
            if ex.path.startswith("/v1/snapshot")
            else None
        )
        before = dump(van)
        out = cli("sync", "pull", "--db", str(van), "--hub", proxy.url)
        assert out.returncode == 1 and "署名を確認できません" in out.stderr
        assert dump(van) == before
        proxy.answer_itself = lambda ex: None
        assert cli("sync", "pull", "--db", str(van), "--hub", proxy.url).returncode == 0
    assert connect(van).execute("SELECT active FROM operators").fetchall() == [(0,)]


def test_a_forged_push_ack_is_refused_and_purge_removes_only_what_the_hub_signed(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    van = make_van(site.root, "van-a", 0)
    assert cli("device", "enroll", "--db", str(van), "--hub-db", str(site.hub)).returncode == 0
    add_personal(van, 5)
    hub = hub_process()
    with ForgingProxy(hub.url) as proxy:
        assert cli("sync", "push", "--db", str(van), "--hub", proxy.url).returncode == 0
        # a verified hub backup holds records 1..5; the next signed ack says so
        backup = cli("hub", "backup", "--db", str(site.hub), "--out", str(site.root / "backups"))
        assert backup.returncode == 0, backup.stderr
        assert cli("sync", "push", "--db", str(van), "--hub", proxy.url).returncode == 0
        add_personal(van, 5)

        def forged_ack(ex: Exchange) -> Exchange | None:
            if ex.path != "/v1/push":
                return None
            body = json.dumps({"device_id": "van-a", "from_seq": 6, "to_seq": 10,
                               "acked_seq": 10, "stored": 5}).encode()  # fmt: skip
            sig = sign_answer(ATTACKER, "van-a", ex.request_headers[HEADER_SIGNATURE], 200, body)
            headers = {"content-type": "application/json", HEADER_HUB_SIGNATURE: sig}
            return Exchange(ex.method, ex.path, ex.request_headers, b"", 200, headers, body)

        proxy.answer_itself = forged_ack
        db = connect(van)
        watched = "SELECT seq, payload FROM records ORDER BY seq"
        before = (
            db.execute(watched).fetchall(),
            db.execute("SELECT * FROM hub_acks").fetchall(),
            db.execute("SELECT acked_seq FROM sync_state").fetchall(),
        )
        out = cli("sync", "push", "--db", str(van), "--hub", proxy.url)
        assert out.returncode == 1 and "署名を確認できません" in out.stderr
        assert "Traceback" not in out.stderr
        after = (
            db.execute(watched).fetchall(),
            db.execute("SELECT * FROM hub_acks").fetchall(),
            db.execute("SELECT acked_seq FROM sync_state").fetchall(),
        )
        assert after == before and before[2] == [(5,)]
        assert "未同期 5 件" in cli("sync", "status", "--db", str(van)).stdout
    assert len(rows(site.hub, "van-a")) == 5  # the hub never saw records 6..10
    # An acknowledgement slipped into the van's table without the hub's signature
    # (or signed by another key) does not count either.
    with write(db):
        db.execute("INSERT INTO hub_acks(seq, acked_at, evidence) VALUES (10, '2000-01-01', NULL)")
        db.execute(
            "INSERT INTO hub_acks(seq, acked_at, evidence) VALUES (10, '2000-01-01', ?)",
            [local_ack(ATTACKER, "van-a", 10).evidence()],
        )
    db.close()
    purge = cli("purge", "--db", str(van), "--days", "0")
    assert purge.returncode == 0 and "消去しました: 5 件(5 番まで" in purge.stdout
    db = connect(van)
    kept = db.execute("SELECT seq FROM records WHERE payload IS NOT NULL ORDER BY seq").fetchall()
    assert kept == [(6,), (7,), (8,), (9,), (10,)]


def test_hub_key_is_pinned_and_replaced_only_on_purpose(site: Site) -> None:
    van = site.van("van-a", 1)
    pinned = public_key_text(ensure_hub_key(site.hub))
    other = public_key_text(generate_key())
    refused = cli("device", "pin-hub", "--db", str(van), "--hub-key", other)
    assert refused.returncode == 1 and "--accept-new-hub-key" in refused.stderr
    db = connect(van)
    assert db.execute("SELECT value FROM meta WHERE key='hub_sign_public_key'").fetchone() == (
        pinned,
    )
    ok = cli("device", "pin-hub", "--db", str(van), "--hub-key", other, "--accept-new-hub-key")
    assert ok.returncode == 0 and "置き換えました" in ok.stdout
    last = audit.entries(db)[-1]
    assert last.action == "hub.key" and last.detail["new"] != last.detail["old"] != ""
    # rotating at the hub is audited there, and the van must accept the new key
    rot = cli("hub", "rotate-key", "--db", str(site.hub), "--yes")
    assert rot.returncode == 0 and "--accept-new-hub-key" in rot.stdout
    assert audit.entries(connect(site.hub))[-1].action == "hub.key"
    assert public_key_text(ensure_hub_key(site.hub)) != pinned


def test_a_hub_moved_without_its_signing_key_refuses_to_make_a_new_one(site: Site) -> None:
    van = site.van("van-a", 2)
    pinned = public_key_text(ensure_hub_key(site.hub))
    backups = site.root / "backups"
    assert cli("hub", "backup", "--db", str(site.hub), "--out", str(backups)).returncode == 0
    moved = site.root / "new" / "hub.db"
    moved.parent.mkdir()
    (backup,) = backups.glob("hub-*.db")
    # without the key the backup's signed manifest cannot be checked: nothing restored
    refused = cli("hub", "restore", "--from", str(backup), "--db", str(moved))
    assert refused.returncode == 1 and "hub.db.sign.key" in refused.stderr
    assert not moved.exists()
    copied = moved.parent / "hub.db.sign.key"
    copied.write_bytes((site.root / "hub.db.sign.key").read_bytes())
    copied.chmod(0o600)
    restored = cli("hub", "restore", "--from", str(backup), "--db", str(moved))
    assert restored.returncode == 0, restored.stderr
    # a hub started without its key refuses to make a new one the vans would refuse
    copied.rename(site.root / "kept.sign.key")
    served = cli("hub", "serve", "--db", str(moved), "--port", "0")
    assert served.returncode == 1 and "ハブの署名鍵" in served.stderr
    assert "Traceback" not in served.stderr
    assert not copied.exists()
    # with the key copied beside it, the hub signs as before and the van needs nothing
    (site.root / "kept.sign.key").rename(copied)
    assert public_key_text(ensure_hub_key(moved)) == pinned
    # a deliberate new key is still possible (rotate-key), and a fresh hub makes its own
    assert cli("hub", "rotate-key", "--db", str(moved), "--yes").returncode == 0
    fresh = site.root / "fresh.db"
    connect(fresh, role="hub", create=True).close()
    assert ensure_hub_key(fresh) is not None
    assert connect(van).execute(
        "SELECT value FROM meta WHERE key = 'hub_sign_public_key'"
    ).fetchone() == (pinned,)


def test_enrolment_refuses_a_shared_key_and_reserved_ids(site: Site) -> None:
    van = site.van("van-a", 1)
    pub = public_key_text(load_private_key(key_path_for(van)))
    for device, needle in (
        ("van-b", "すでに登録されています"),
        ("hub", "予約されて"),
        ("HUB", "予約されて"),
        ("van 1", "使えません"),
        ("../x", "使えません"),
    ):
        out = cli("device", "enroll", "--hub-db", str(site.hub), "--device", device,
                  "--public-key", pub)  # fmt: skip
        assert out.returncode == 1, device
        assert out.stderr.startswith("エラー: ") and needle in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    devices = connect(site.hub).execute("SELECT device_id FROM devices").fetchall()
    assert devices == [("van-a",)]
    (site.root / "vans").mkdir()
    hub_van = make_van(site.root / "vans", "hub", 0)  # a van that calls itself the hub
    out = cli("device", "enroll", "--db", str(hub_van), "--hub-db", str(site.hub))
    assert out.returncode == 1 and "予約されて" in out.stderr


def _signed(key, device: str, method: str, target: str, body: bytes = b"", **over: str):  # type: ignore[no-untyped-def]
    headers = signed_headers(key, device, method, target, body, timestamp=str(int(time.time())))
    headers.update(over)
    return headers


def test_bad_requests_get_a_clean_4xx(site: Site, hub_process: Callable[[], HubProcess]) -> None:
    van = site.van("van-a", 1)
    site.van("van-b", 1)
    key = load_private_key(key_path_for(van))
    hub = hub_process()
    url = hub.url
    for stamp in ("nan", "inf", "-inf", "1e308", "NaN", "1.5", "0x10", "+1"):
        headers = _signed(key, "van-a", "GET", "/v1/ack")
        headers["X-Odekake-Timestamp"] = stamp
        resp = httpx.get(f"{url}/v1/ack", headers=headers)
        assert resp.status_code == 400 and "時刻" in resp.json()["error"], stamp
    # a signature made for van-a does not pass as van-b or as the hub
    for other in ("van-b", "hub"):
        headers = _signed(key, "van-a", "GET", "/v1/ack")
        headers["X-Odekake-Device"] = other
        resp = httpx.get(f"{url}/v1/ack", headers=headers)
        assert resp.status_code == 401, other
    # deep nesting in a signed check-in: refused before any parser sees it
    deep = b"[" * 5000 + b"]" * 5000
    headers = _signed(key, "van-a", "POST", "/vote/checkin", deep)
    resp = httpx.post(f"{url}/vote/checkin", content=deep, headers=headers)
    assert resp.status_code == 400 and "入れ子" in resp.json()["error"]
    deep = b"[" * 100_000 + b"]" * 100_000 + b"\n"  # in a signed push: a 400, not a 500
    headers = _signed(key, "van-a", "POST", "/v1/push", deep)
    resp = httpx.post(f"{url}/v1/push", content=deep, headers=headers)
    assert 400 <= resp.status_code < 500 and resp.json()["error"]
    # over the route's cap (check-ins are tiny), declared or streamed in chunks
    big = b"x" * (64 * 1024)
    headers = _signed(key, "van-a", "POST", "/vote/checkin", big)
    resp = httpx.post(f"{url}/vote/checkin", content=big, headers=headers)
    assert resp.status_code == 413
    headers = _signed(key, "van-a", "POST", "/vote/checkin", big)
    resp = httpx.post(
        f"{url}/vote/checkin", content=iter([big[:1000], big[1000:]]), headers=headers
    )
    assert resp.status_code == 413
    headers = _signed(key, "van-a", "GET", "/v1/status", b"x")
    resp = httpx.request("GET", f"{url}/v1/status", content=b"x", headers=headers)
    assert resp.status_code == 413
    # a body that is not the one signed
    headers = _signed(key, "van-a", "POST", "/v1/push", b"signed body")
    resp = httpx.post(f"{url}/v1/push", content=b"other body!", headers=headers)
    assert resp.status_code == 400 and "署名と一致しません" in resp.json()["error"]
    log = hub.log.read_text()
    assert "Traceback" not in log and " 500" not in log
    headers = _signed(key, "van-a", "GET", "/v1/ack")
    assert httpx.get(f"{url}/v1/ack", headers=headers).status_code == 200


def test_check_in_answers_must_carry_the_hub_signature_for_this_request() -> None:
    van_key, hub_key = generate_key(), generate_key()
    auth = DeviceAuth("van-a", van_key, hub_key.public_key())
    replay: dict[str, tuple[bytes, str]] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        data = json.loads(request.content)
        body = json.dumps(
            {"status": "confirmed", "request_id": data["request_id"],
             "ballots": [{"kind": "senkyoku", "label": "選挙区"}], "station_id": "s",
             "station_name": "移動", "checked_at": "2026-11-27T10:00:00+09:00"}
        ).encode()  # fmt: skip
        signer = ATTACKER if data["voter_no"] == "forged" else hub_key
        sig = sign_answer(signer, "van-a", request.headers[HEADER_SIGNATURE], 200, body)
        if data["voter_no"] == "replayed":
            body, sig = replay.setdefault("old", (body, sig))
        return httpx.Response(200, content=body, headers={HEADER_HUB_SIGNATURE: sig})

    client = VotingClient("http://hub", auth=auth, transport=httpx.MockTransport(answer))
    args = dict(election_id="e", station_id="s", clerk_id="c", device_id="van-a", reason="work")
    assert isinstance(client.checkin(voter_no="000101", **args), Confirmed)
    forged = client.checkin(voter_no="forged", **args)
    # an answer that does not verify is an unknown outcome, never "no answer"
    assert isinstance(forged, Unknown) and "署名を確認できません" in forged.reason
    rid = "same-request-id"
    first = client.checkin(voter_no="replayed", request_id=rid, **args)
    assert isinstance(first, Confirmed)
    # the same request id retried is a new request (new nonce): the old answer fails
    again = client.checkin(voter_no="replayed", request_id=rid, **args)
    assert isinstance(again, Unknown) and "署名を確認できません" in again.reason


def test_purge_counts_only_acks_signed_by_a_pinned_hub_key(tmp_path: Path) -> None:
    db = connect(tmp_path / "van.db", role="van", create=True, device_id="van-a")
    hub_key = generate_key()
    pin_hub_key(db, public_key_text(hub_key))
    long_ago = T0 - timedelta(days=400)
    retention.record_ack(db, local_ack(hub_key, "van-a", 3), long_ago)
    retention.record_ack(db, local_ack(ATTACKER, "van-a", 9), long_ago)
    retention.record_ack(db, local_ack(hub_key, "van-b", 8), long_ago)  # another device's
    tampered = json.loads(local_ack(hub_key, "van-a", 2).evidence())
    tampered["body"] = tampered["body"].replace('"acked_seq": 2', '"acked_seq": 7')
    with write(db):
        db.execute(
            "INSERT INTO hub_acks(seq, acked_at, evidence) VALUES (7, ?, ?)",
            [long_ago.isoformat(), json.dumps(tampered)],
        )
    assert retention.signed_through(db, T0.isoformat()) == 3
    # after an audited key change the old key's acknowledgements still count
    pin_hub_key(db, public_key_text(generate_key()), accept_new=True)
    assert retention.signed_through(db, T0.isoformat()) == 3


def test_a_voting_only_hub_has_the_same_guard_and_signed_answers(site: Site) -> None:
    import asyncio

    from odekake.sync.hub import make_app

    van = site.van("van-a", 1)
    key = load_private_key(key_path_for(van))
    app = make_app(site.hub, only_voting=True)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            assert (await client.post("/vote/checkin", json={})).status_code == 401
            signed = _signed(key, "van-a", "GET", "/v1/ack")
            assert (await client.get("/v1/ack", headers=signed)).status_code == 404
            resp = await client.get("/vote/health")  # unauthenticated: never signed
            assert resp.status_code == 200 and HEADER_HUB_SIGNATURE.lower() not in resp.headers
            signed = _signed(key, "van-a", "GET", "/vote/status?election_id=none")
            resp = await client.get("/vote/status?election_id=none", headers=signed)
            assert HEADER_HUB_SIGNATURE.lower() in resp.headers

    asyncio.run(run())


def test_keys_init_makes_the_hub_signing_key_once_and_owner_only(site: Site) -> None:
    # (the site already has a test sealing key: replacing it needs --force)
    out = cli("keys", "init", "--db", str(site.hub), "--key-file", str(site.root / "seal.key"),
              "--force")  # fmt: skip
    assert out.returncode == 0, out.stderr
    path = site.root / "hub.db.sign.key"
    assert path.stat().st_mode & 0o777 == 0o600 and "ハブの署名鍵" in out.stdout
    first = public_key_text(ensure_hub_key(site.hub))
    again = cli("keys", "init", "--db", str(site.hub), "--key-file",
                str(site.root / "seal.key"), "--force")  # fmt: skip
    assert again.returncode == 0 and public_key_text(ensure_hub_key(site.hub)) == first
    # the van pinned at enrolment is the key the hub signs with
    van = site.van("van-a", 1)
    assert connect(van).execute(
        "SELECT value FROM meta WHERE key = 'hub_sign_public_key'"
    ).fetchone() == (first,)
