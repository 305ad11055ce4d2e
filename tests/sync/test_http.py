"""The hub as a real process: push, refusals, OpenAPI, down-sync, status."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.masterdata import master
from odekake.storage.db import connect, write
from odekake.sync.keys import generate_key, key_path_for, public_key_text, save_private_key
from odekake.sync.status import van_status
from odekake.sync.wire import ensure_hub_key, signed_headers

from .conftest import HubProcess, Site, cli, free_port, make_van, rows


def test_push_sends_everything_once_in_batches(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    van = site.van("van-a", 450)
    hub = hub_process()
    out = cli("sync", "push", "--db", str(van), "--hub", hub.url, "--batch-size", "100")
    assert out.returncode == 0, out.stderr
    assert "450 件を 5 回に分けて送信しました" in out.stdout
    assert rows(site.hub, "van-a") == rows(van, "van-a")
    st = van_status(connect(van))
    assert (st.acked_seq, st.unsynced) == (450, 0) and st.last_sync_at
    db = connect(van)
    from .conftest import add_records

    add_records(db, 7)
    assert van_status(db).unsynced == 7
    db.close()
    again = cli("sync", "push", "--db", str(van), "--hub", hub.url)
    assert "7 件を 1 回に分けて送信しました" in again.stdout
    assert rows(site.hub, "van-a") == rows(van, "van-a")
    status = cli("sync", "status", "--db", str(site.hub))
    assert "端末 van-a [有効]" in status.stdout and "受領済み 457 番まで" in status.stdout


def test_revoked_and_unknown_devices_are_refused_over_http(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    van = site.van("van-a", 5)
    stranger = make_van(site.root, "van-x", 5)
    save_private_key(generate_key(), key_path_for(stranger))
    # the stranger even knows the hub's public key: the hub still refuses it
    hub_pub = public_key_text(ensure_hub_key(site.hub))
    assert cli("device", "pin-hub", "--db", str(stranger), "--hub-key", hub_pub).returncode == 0
    hub = hub_process()
    unknown = cli("sync", "push", "--db", str(stranger), "--hub", hub.url)
    assert unknown.returncode == 1
    assert "未登録の端末です: van-x" in unknown.stderr and "Traceback" not in unknown.stderr
    assert cli("device", "revoke", "--db", str(site.hub), "--device", "van-a").returncode == 0
    revoked = cli("sync", "push", "--db", str(van), "--hub", hub.url)
    assert revoked.returncode == 1
    assert "端末 van-a は失効しています" in revoked.stderr
    assert rows(site.hub, "van-a") == [] and rows(site.hub, "van-x") == []


def test_requests_must_carry_a_valid_signature(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    van = site.van("van-a", 1)
    hub = hub_process()
    assert httpx.get(f"{hub.url}/v1/ack").status_code == 401
    stamp = str(int(time.time()))
    wrong_key = generate_key()
    headers = signed_headers(wrong_key, "van-a", "GET", "/v1/ack", b"", timestamp=stamp)
    resp = httpx.get(f"{hub.url}/v1/ack", headers=headers)
    assert resp.status_code == 401 and "署名が正しくありません" in resp.json()["error"]
    from odekake.sync.keys import load_private_key

    key = load_private_key(key_path_for(van))
    old = str(int(time.time()) - 3600)
    headers = signed_headers(key, "van-a", "GET", "/v1/ack", b"", timestamp=old)
    resp = httpx.get(f"{hub.url}/v1/ack", headers=headers)
    assert resp.status_code == 401 and "時計" in resp.json()["error"]
    headers = signed_headers(key, "van-a", "GET", "/v1/ack", b"", timestamp=stamp)
    resp = httpx.get(f"{hub.url}/v1/ack", headers=headers)
    assert resp.status_code == 200 and resp.json()["acked_seq"] == 0
    # the same signed request a second time is a replay: refused
    again = httpx.get(f"{hub.url}/v1/ack", headers=headers)
    assert again.status_code == 401 and "もう一度" in again.json()["error"]
    spec = httpx.get(f"{hub.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.") and {"/v1/push", "/v1/ack", "/v1/snapshot"} <= set(
        spec["paths"]
    )


def test_hub_down_gives_a_clear_message(site: Site) -> None:
    van = site.van("van-a", 3)
    url = f"http://127.0.0.1:{free_port()}"
    out = cli("sync", "push", "--db", str(van), "--hub", url, "--retries", "2", "--backoff", "0.01")
    assert out.returncode == 1
    assert f"ハブ {url} に接続できません(3 回試行" in out.stderr
    assert "記録は車両に安全に残っています" in out.stderr
    assert "Traceback" not in out.stderr and "locked" not in out.stderr


def test_pull_brings_master_data_and_this_vans_plan(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    hubdb = connect(site.hub)
    master.seed_city(hubdb)
    master.add_van(hubdb, "van-a", "1号車")
    master.add_van(hubdb, "van-b", "2号車")
    master.add_operator(
        hubdb, "op001", "山田 花子", ["operator"], "123456", kdf=TEST_ONLY_CHEAP_KDF
    )
    with write(hubdb):
        hubdb.execute(
            "INSERT INTO sites(id, district_id, name, kind, lat, lon) "
            "VALUES ('kawamae-01', 'kawamae', '川前公民館', '公民館', 37.2, 140.75)"
        )
        for pid, van_id in (("p-a", "van-a"), ("p-b", "van-b")):
            hubdb.execute(
                "INSERT INTO plans(id, created_at, horizon_start, horizon_end, status) "
                "VALUES (?, '2026-11-01', '2026-12-01', '2026-12-31', 'published')",
                [pid],
            )
            hubdb.execute(
                "INSERT INTO plan_visits(id, plan_id, date, van_id, service_window, start, "
                "\"end\", site_id, district_id) VALUES (?, ?, '2026-12-02', ?, 'am', "
                "'10:00', '12:00', 'kawamae-01', 'kawamae')",
                [f"v-{van_id}", pid, van_id],
            )
    van = site.van("van-a", 1)
    vandb = connect(van)
    master.seed_city(vandb)
    with write(vandb):  # a stale site the hub no longer has
        vandb.execute(
            "INSERT INTO sites(id, district_id, name, kind, lat, lon) "
            "VALUES ('old-01', 'kawamae', '廃止した会場', '公民館', 37.2, 140.75)"
        )
    hub = hub_process()
    out = cli("sync", "pull", "--db", str(van), "--hub", hub.url)
    assert out.returncode == 0, out.stderr
    assert "マスタデータ 版 1 を適用しました" in out.stdout
    for table in ("districts", "sites", "services", "fees", "operators", "vans", "disasters"):
        q = f"SELECT * FROM {table} ORDER BY 1"
        assert vandb.execute(q).fetchall() == hubdb.execute(q).fetchall(), table
    assert vandb.execute("SELECT id FROM plan_visits").fetchall() == [("v-van-a",)]
    assert vandb.execute("SELECT id FROM plans").fetchall() == [("p-a",)]
    assert van_status(vandb).snapshot_version == 1
    same = cli("sync", "pull", "--db", str(van), "--hub", hub.url)
    assert "マスタデータは最新です(版 1)" in same.stdout
    master.add_disaster(hubdb, "d1", "大雨", __import__("datetime").date(2026, 11, 1))
    changed = cli("sync", "pull", "--db", str(van), "--hub", hub.url)
    assert "版 2 を適用しました" in changed.stdout
    assert vandb.execute("SELECT id FROM disasters").fetchall() == [("d1",)]
    assert van_status(vandb).snapshot_version == 2


def test_a_pull_says_what_it_applied_in_japanese() -> None:
    """Every table a snapshot carries has a Japanese name in what ``sync pull`` prints."""
    from odekake.sync.client import TABLE_LABELS, PullResult
    from odekake.sync.snapshot import SNAPSHOT_TABLES

    assert {t.name for t in SNAPSHOT_TABLES} <= TABLE_LABELS.keys()
    said = PullResult(3, True, {t.name: 1 for t in SNAPSHOT_TABLES}).describe()
    assert not any(t.name in said for t in SNAPSHOT_TABLES), said
    assert "選挙人名簿(暗号化) 1件" in said
