"""Fault injection against a real hub process: every interrupted push, retried,
leaves the hub with exactly the van's records, once each."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from odekake.storage.db import connect
from odekake.sync.ingest import ingest_file

from .conftest import HubProcess, Site, cli, cli_bg, rows
from .proxy import Cut, CuttingProxy


def _hub_count(site: Site, device: str) -> int:
    conn = sqlite3.connect(site.hub, timeout=30)
    try:
        return int(
            conn.execute("SELECT COUNT(*) FROM records WHERE device_id = ?", [device]).fetchone()[0]
        )
    finally:
        conn.close()


def _wait_for(cond: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def _exactly_once(site: Site, van: Path, device: str) -> None:
    assert rows(site.hub, device) == rows(van, device)
    hub = connect(site.hub)
    assert hub.execute("SELECT COUNT(*) FROM sync_held").fetchone()[0] == 0
    assert hub.execute("SELECT COUNT(*) FROM sync_quarantine").fetchone()[0] == 0
    hub.close()


def test_kill_the_client_mid_push_then_retry(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    van = site.van("van-a", 12000)
    hub = hub_process()
    push = cli_bg("sync", "push", "--db", str(van), "--hub", hub.url, "--batch-size", "50")
    try:
        _wait_for(lambda: _hub_count(site, "van-a") >= 300)
        push.kill()
        push.wait(timeout=10)
    finally:
        push.communicate(timeout=10)
    assert 300 <= _hub_count(site, "van-a") < 12000
    out = cli("sync", "push", "--db", str(van), "--hub", hub.url, "--batch-size", "1000")
    assert out.returncode == 0, out.stderr
    _exactly_once(site, van, "van-a")


def test_kill_the_server_mid_push_then_retry(
    site: Site, hub_process: Callable[[], HubProcess]
) -> None:
    van = site.van("van-a", 12000)
    hub = hub_process()
    push = cli_bg(
        "sync", "push", "--db", str(van), "--hub", hub.url,
        "--batch-size", "50", "--retries", "1", "--backoff", "0.01",
    )  # fmt: skip
    _wait_for(lambda: _hub_count(site, "van-a") >= 300)
    hub.kill()
    _, err = push.communicate(timeout=30)
    assert push.returncode == 1
    assert "接続できません" in err and "Traceback" not in err
    assert _hub_count(site, "van-a") < 12000
    restarted = hub_process(hub.port)  # type: ignore[call-arg]
    out = cli("sync", "push", "--db", str(van), "--hub", restarted.url, "--batch-size", "1000")
    assert out.returncode == 0, out.stderr
    _exactly_once(site, van, "van-a")


@pytest.mark.parametrize(
    "cuts",
    [
        [Cut("up", 150)],  # inside the first request's headers
        [Cut("up", 40_000), Cut("up", 90_000)],  # inside a push body, twice in a row
        [Cut("down", 0, once_up=1000)],  # the hub committed the push, the answer is lost
        [Cut("down", 20, once_up=1000), Cut("up", 1)],  # half an answer, then a dead link
    ],
    ids=["headers", "body-twice", "answer-lost", "half-answer"],
)
def test_dropped_connection_is_retried_without_loss_or_duplicate(
    site: Site, hub_process: Callable[[], HubProcess], cuts: list[Cut]
) -> None:
    van = site.van("van-a", 800)
    hub = hub_process()
    # The client keeps its connection alive: byte counts run from the first request
    # (GET /v1/ack, a few hundred bytes) into the first push (~200 kB).
    proxy = CuttingProxy(hub.port, cuts).start()
    try:
        out = cli(
            "sync", "push", "--db", str(van), "--hub", f"http://127.0.0.1:{proxy.port}",
            "--batch-size", "400", "--retries", "4", "--backoff", "0.05",
        )  # fmt: skip
    finally:
        proxy.stop()
    assert out.returncode == 0, out.stderr
    assert proxy.done_cuts == len(cuts)
    _exactly_once(site, van, "van-a")


def test_several_vans_push_at_once(site: Site, hub_process: Callable[[], HubProcess]) -> None:
    vans = {f"van-{i}": site.van(f"van-{i}", 600) for i in range(4)}
    usb = site.van("van-usb", 1500)
    bundle = site.root / "usb.jsonl"
    assert cli("sync", "export", "--db", str(usb), "--out", str(bundle)).returncode == 0
    hub = hub_process()
    procs = [
        cli_bg("sync", "push", "--db", str(p), "--hub", hub.url, "--batch-size", "50")
        for p in vans.values()
    ]
    procs.append(cli_bg("sync", "import", "--db", str(site.hub), str(bundle)))
    outputs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in (out + err).lower()
    for dev, path in vans.items():
        assert rows(site.hub, dev) == rows(path, dev)
    assert rows(site.hub, "van-usb") == rows(usb, "van-usb")


def test_usb_bundle_cli_twice_and_out_of_order(site: Site, tmp_path: Path) -> None:
    van = site.van("van-a", 300)
    first = tmp_path / "first.jsonl"
    second = tmp_path / "second.jsonl"
    assert (
        cli("sync", "export", "--db", str(van), "--out", str(first), "--from-seq", "1").returncode
        == 0
    )
    from .conftest import add_records

    db = connect(van)
    add_records(db, 50)
    db.close()
    out = cli("sync", "export", "--db", str(van), "--out", str(second), "--from-seq", "301")
    assert "50 件(301〜350 番)" in out.stdout
    late = cli("sync", "import", "--db", str(site.hub), str(second))
    assert late.returncode == 0 and "保留 50" in late.stdout and "欠番: 1〜300 番" in late.stdout
    assert cli("sync", "import", "--db", str(site.hub), str(first)).returncode == 0
    _exactly_once(site, van, "van-a")
    again = cli("sync", "import", "--db", str(site.hub), str(first))
    assert "新規 0、重複のため無視 300" in again.stdout
    _exactly_once(site, van, "van-a")
    broken = tmp_path / "broken.jsonl"
    data = first.read_bytes()
    tampered = data.replace("福祉".encode(), "介護".encode(), 1)
    assert tampered != data
    broken.write_bytes(tampered)
    refused = cli("sync", "import", "--db", str(site.hub), str(broken))
    assert refused.returncode == 1
    assert "1件も取り込んでいません" in refused.stderr and "1 番の記録" in refused.stderr


def test_demo_van_is_enrolled_and_pushes_only_unsynced(demo_dir: Path, tmp_path: Path) -> None:
    for name in ("hub.db", "van.db"):  # consistent copies, WAL included
        src, dst = sqlite3.connect(demo_dir / name), sqlite3.connect(tmp_path / name)
        src.backup(dst)
        src.close()
        dst.close()
    shutil.copy2(demo_dir / "van.db.key", tmp_path / "van.db.key")
    shutil.copy2(demo_dir / "hub.db.sign.key", tmp_path / "hub.db.sign.key")  # the hub's own key
    van, hubdb = tmp_path / "van.db", tmp_path / "hub.db"
    n = int(
        connect(van)
        .execute("SELECT value FROM meta WHERE key='demo_synced_through_seq'")
        .fetchone()[0]
    )
    total = len(rows(van, "van-1"))
    assert 0 < n < total
    hub = HubProcess(hubdb).start()
    try:
        status = cli("sync", "status", "--db", str(hubdb))
        assert f"受領済み {n} 番まで" in status.stdout
        out = cli("sync", "push", "--db", str(van), "--hub", hub.url)
        assert out.returncode == 0, out.stderr
        assert f"{total - n} 件を 1 回に分けて送信しました" in out.stdout
    finally:
        hub.stop()
    assert rows(hubdb, "van-1") == rows(van, "van-1")
    # the hub import path sees the same thing: nothing new in a full re-export
    full = tmp_path / "full.jsonl"
    assert (
        cli("sync", "export", "--db", str(van), "--out", str(full), "--from-seq", "1").returncode
        == 0
    )
    res = ingest_file(connect(hubdb), full)
    assert (res.stored, res.duplicates) == (0, total)
