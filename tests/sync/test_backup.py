"""Hub backups and restores: consistent while serving, verified, and nothing lost."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.operations import retention
from odekake.operations.backup import backup_mark, generations, restore, take_backup, verify_file
from odekake.storage import records as rec
from odekake.storage.db import connect

from .conftest import HubProcess, Site, add_personal, cli, rows


def payload_seqs(path: Path) -> tuple[list[int], list[int]]:
    """(seqs with a payload, seqs purged) of a van file."""
    db = connect(path)
    try:
        kept = [r[0] for r in db.execute("SELECT seq FROM records WHERE payload IS NOT NULL")]
        gone = [r[0] for r in db.execute("SELECT seq FROM records WHERE payload IS NULL")]
        return sorted(kept), sorted(gone)
    finally:
        db.close()


def test_backup_verifies_keeps_generations_and_marks(site: Site, tmp_path: Path) -> None:
    van = site.van("van-a", 5)
    assert cli("sync", "import", "--db", str(site.hub), str(_bundle(van, tmp_path))).returncode == 0
    out = tmp_path / "backups"
    made = [
        take_backup(site.hub, out, keep=2, now=datetime(2026, 11, 27, 1, i, tzinfo=UTC))
        for i in range(3)
    ]
    assert [p.name for p in generations(out)] == [made[1].path.name, made[2].path.name]
    assert not made[0].path.exists() and made[2].removed == [made[0].path]
    assert made[2].marks == {"van-a": 5} and made[2].records == 5
    assert oct(made[2].path.stat().st_mode & 0o777) == "0o600"
    assert verify_file(made[2].path).ok
    hub = connect(site.hub)
    assert backup_mark(hub, "van-a") == 5 and backup_mark(hub, "van-b") == 0
    assert [e.action for e in audit.entries(hub)].count("backup") == 3
    # a backup deleted by hand protects nothing: the mark falls back to what still exists
    made[2].path.unlink()
    made[1].path.unlink()
    assert backup_mark(hub, "van-a") == 0
    hub.close()


def _bundle(van: Path, tmp_path: Path) -> Path:
    bundle = tmp_path / f"{van.stem}.bundle"
    res = cli("sync", "export", "--db", str(van), "--out", str(bundle))
    assert res.returncode == 0, res.stderr
    return bundle


def test_backup_cli_prints_what_it_kept(site: Site, tmp_path: Path) -> None:
    res = cli("hub", "backup", "--db", str(site.hub), "--out", str(tmp_path / "b"), "--keep", "3")
    assert res.returncode == 0, res.stderr
    assert "バックアップを作成し、検証しました" in res.stdout and "保管中の世代(1)" in res.stdout
    bad = cli("hub", "backup", "--db", str(tmp_path / "nope.db"), "--out", str(tmp_path / "b"))
    assert (
        bad.returncode == 1 and bad.stderr.startswith("エラー:") and "Traceback" not in bad.stderr
    )


def test_a_damaged_backup_is_never_restored(site: Site, tmp_path: Path) -> None:
    van = site.van("van-a", 3)
    assert cli("sync", "import", "--db", str(site.hub), str(_bundle(van, tmp_path))).returncode == 0
    made = take_backup(site.hub, tmp_path / "b")
    before = site.hub.read_bytes()
    # a record changed inside the copy: the chain no longer verifies
    tampered = tmp_path / "tampered.db"
    tampered.write_bytes(made.path.read_bytes())
    conn = sqlite3.connect(tampered)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    for name in names:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE records SET payload = '{\"people\": 9}' WHERE seq = 2")
    conn.commit()
    conn.close()
    with pytest.raises(OdekakeError, match="目録"):
        restore(tampered, site.hub)
    # a cut-off copy
    cut = tmp_path / "cut.db"
    cut.write_bytes(made.path.read_bytes()[: made.path.stat().st_size // 2])
    with pytest.raises(OdekakeError, match="目録"):
        restore(cut, site.hub)
    assert site.hub.read_bytes() == before
    not_hub = tmp_path / "van.db"
    connect(not_hub, role="van", create=True, device_id="v").close()
    with pytest.raises(OdekakeError, match="目録"):
        restore(not_hub, site.hub)


def test_restore_refuses_while_a_hub_serves_the_file(
    site: Site, hub_process: Callable[[], HubProcess], tmp_path: Path
) -> None:
    made = take_backup(site.hub, tmp_path / "b")
    hub = hub_process()
    res = cli("hub", "restore", "--from", str(made.path), "--db", str(site.hub))
    assert res.returncode == 1 and "使用中" in res.stderr and "停止" in res.stderr
    # a second hub on the same file is refused too
    second = subprocess.run(
        [sys.executable, "-m", "odekake.cli", "hub", "serve", "--db", str(site.hub), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1 and "使用中" in second.stderr
    hub.stop()
    ok = cli("hub", "restore", "--from", str(made.path), "--db", str(site.hub))
    assert ok.returncode == 0, ok.stderr
    assert "置き換える前のファイル" in ok.stdout
    assert list(site.root.glob("hub.db.replaced-*"))


def test_restore_drill_loses_no_record(
    site: Site, hub_process: Callable[[], HubProcess], tmp_path: Path
) -> None:
    """Push, back up, push more, lose the hub's disk, restore, push again: nothing lost."""
    vans = {dev: site.van(dev, 0) for dev in ("van-a", "van-b")}
    for path in vans.values():
        add_personal(path, 20)
    hub = hub_process()
    for path in vans.values():
        assert cli("sync", "push", "--db", str(path), "--hub", hub.url).returncode == 0
    # Retention 0 days, yet nothing is purged: no backup holds the records yet.
    far = datetime.now(UTC) + timedelta(days=365)
    for path in vans.values():
        db = connect(path)
        assert retention.purge(db, now=far, days=0).count == 0
        db.close()
    backups = tmp_path / "backups"
    res = cli("hub", "backup", "--db", str(site.hub), "--out", str(backups))
    assert res.returncode == 0, res.stderr
    first = generations(backups)[-1]
    for path in vans.values():
        add_personal(path, 10)
        assert cli("sync", "push", "--db", str(path), "--hub", hub.url).returncode == 0
    for dev, path in vans.items():
        db = connect(path)
        assert db.execute("SELECT backup_seq FROM sync_state").fetchone()[0] == 20
        done = retention.purge(db, now=far, days=0)
        db.close()
        assert done.acked_through == 20, dev
        assert payload_seqs(path) == (list(range(21, 31)), list(range(1, 21)))

    # The hub's disk is lost.
    hub.kill()
    for suffix in ("", "-wal", "-shm"):
        side = site.hub.with_name(site.hub.name + suffix)
        if side.exists():
            side.write_bytes(b"\0" * 4096)
    res = cli("hub", "restore", "--from", str(first), "--db", str(site.hub))
    assert res.returncode == 0, res.stderr
    hub = hub_process()
    for path in vans.values():
        res = cli("sync", "push", "--db", str(path), "--hub", hub.url)
        assert res.returncode == 0, res.stderr
        assert "10 件を" in res.stdout
    hub.stop()
    for dev, path in vans.items():
        assert rows(site.hub, dev) == rows(path, dev)
        assert len(rows(site.hub, dev)) == 30
    db = connect(site.hub)
    assert rec.verify(db).ok
    # every record the vans purged is whole at the restored hub
    held = db.execute(
        "SELECT COUNT(*) FROM records WHERE device_id != 'hub' AND payload IS NOT NULL"
    ).fetchone()[0]
    assert held == 60
    assert [e.action for e in audit.entries(db)][-1] == "restore"
    db.close()
    verify = cli("records", "verify", "--db", str(site.hub))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_backup_while_four_vans_push(
    site: Site, hub_process: Callable[[], HubProcess], tmp_path: Path
) -> None:
    vans = [site.van(f"van-{i}", 1500) for i in range(4)]
    hub = hub_process()
    results: list[subprocess.CompletedProcess[str]] = []

    def push(path: Path) -> None:
        results.append(
            cli("sync", "push", "--db", str(path), "--hub", hub.url, "--batch-size", "100")
        )

    threads = [threading.Thread(target=push, args=(v,)) for v in vans]
    for t in threads:
        t.start()
    made = []
    while any(t.is_alive() for t in threads) or not made:
        res = cli("hub", "backup", "--db", str(site.hub), "--out", str(tmp_path / "b"))
        assert res.returncode == 0, res.stderr
        made.append(generations(tmp_path / "b")[-1])
    for t in threads:
        t.join()
    assert [r.returncode for r in results] == [0, 0, 0, 0], [r.stderr for r in results]
    for path in made[-3:]:
        check = verify_file(path)
        assert check.ok, check.problems
        assert all(0 <= seq <= 1500 for seq in check.marks.values())
    for i, path in enumerate(vans):
        assert rows(site.hub, f"van-{i}") == rows(path, f"van-{i}")
    marks = json.loads(
        connect(site.hub).execute("SELECT marks FROM hub_backups ORDER BY n DESC").fetchone()[0]
    )
    assert set(marks) <= {f"van-{i}" for i in range(4)}


def test_health_reports_backups_and_quarantine_for_monitoring(
    site: Site, hub_process: Callable[[], HubProcess], tmp_path: Path
) -> None:
    import httpx

    hub = hub_process()
    first = httpx.get(f"{hub.url}/health", timeout=5).json()
    assert first["status"] == "warning" and first["last_backup_at"] is None
    assert "検証済みのバックアップがありません" in first["warnings"]
    assert cli("hub", "backup", "--db", str(site.hub), "--out", str(tmp_path / "b")).returncode == 0
    after = httpx.get(f"{hub.url}/health", timeout=5).json()
    assert after["status"] == "ok" and after["warnings"] == []
    assert after["backup_age_hours"] is not None and after["backup_age_hours"] < 1


def test_hub_log_file_is_reopened_after_logrotate_moves_it(site: Site, tmp_path: Path) -> None:
    import time

    from .conftest import free_port

    log = tmp_path / "logs" / "hub.log"
    bad = cli("hub", "serve", "--db", str(site.hub), "--log", str(log), "--port", "0")
    assert bad.returncode == 1 and "ログファイルのフォルダがありません" in bad.stderr
    log.parent.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "odekake.cli", "hub", "serve", "--db", str(site.hub),
         "--port", str(port), "--log", str(log)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import httpx

        van = site.van("van-a", 3)
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(f"{url}/health", timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert cli("sync", "push", "--db", str(van), "--hub", url).returncode == 0
        assert "van-a" in log.read_text(encoding="utf-8")
        log.rename(log.with_name("hub.log.1"))  # what logrotate does
        site.van("van-b", 2)
        van_b = site.root / "van-b.db"
        assert cli("sync", "push", "--db", str(van_b), "--hub", url).returncode == 0
        assert "van-b" in log.read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
