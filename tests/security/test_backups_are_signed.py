"""Backups carry a manifest signed with the hub's key; nothing else restores or counts.

Attacks: a copy of a backup with a changed sealing key and an added admin, named to
sort last (``ls | tail -n 1`` picks it), restored with exit 0 and ``doctor`` said
正常; a backup truncated to 0 bytes kept the purge mark and ``/health`` said ok.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from odekake.operations import backup as backup_module
from odekake.operations.backup import backup_mark
from odekake.storage.db import connect
from odekake.storage.records import SEAL_KEY_META
from tests.security.conftest import ADMIN, ADMIN_PASSWORD, HubAndVan, run_cli
from tests.sync.conftest import HubProcess


def _backup(hub: HubAndVan) -> Path:
    out = hub.hub.parent / "backups"
    made = run_cli("hub", "backup", "--db", str(hub.hub), "--out", str(out))
    assert made.returncode == 0, made.stderr
    return sorted(out.glob("hub-*.db"))[-1]


def _tamper(genuine: Path) -> Path:
    """The attacker's copy: their sealing key and an admin, named to sort last."""
    forged = genuine.with_name("hub-99991231T235959999999Z.db")
    shutil.copyfile(genuine, forged)
    conn = sqlite3.connect(forged)
    conn.execute("UPDATE settings SET value = 'ATTACKER-KEY' WHERE key = ?", [SEAL_KEY_META])
    conn.execute("UPDATE meta SET value = 'ATTACKER-KEY' WHERE key = ?", [SEAL_KEY_META])
    conn.execute(
        "INSERT INTO staff(login, name, role, password_hash, created_at, password_changed_at) "
        "SELECT 'zzz-thief', '泥棒', 'admin', password_hash, created_at, password_changed_at "
        "FROM staff LIMIT 1"
    )
    conn.commit()
    conn.close()
    return forged


def _folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_tampered_copy_named_to_sort_last_is_refused_by_restore_and_doctor(
    hub_and_van: HubAndVan,
) -> None:
    genuine = _backup(hub_and_van)
    forged = _tamper(genuine)
    folders = hub_and_van.hub.parent
    newest = sorted((folders / "backups").glob("hub-*.db"))[-1]
    assert newest == forged  # what the guide's `ls … | tail -n 1` picks
    before_hub = hub_and_van.hub.read_bytes()
    before_backups = _folder_state(folders / "backups")
    refused = run_cli("hub", "restore", "--from", str(newest), "--db", str(hub_and_van.hub))
    assert refused.returncode == 1
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "目録" in lines[0] and "Traceback" not in refused.stderr
    doctor = run_cli("doctor", "--db", str(forged), "--hub-db", str(hub_and_van.hub))
    assert doctor.returncode == 1 and "目録" in doctor.stderr
    assert len([x for x in doctor.stderr.splitlines() if x.strip()]) == 1
    # the genuine manifest put beside the forged copy does not help
    shutil.copyfile(backup_module.manifest_path(genuine), backup_module.manifest_path(forged))
    again = run_cli("hub", "restore", "--from", str(forged), "--db", str(hub_and_van.hub))
    assert again.returncode == 1 and "目録は別のファイル" in again.stderr
    backup_module.manifest_path(forged).unlink()
    assert hub_and_van.hub.read_bytes() == before_hub
    assert _folder_state(folders / "backups") == before_backups
    db = connect(hub_and_van.hub, role="hub")
    assert db.execute("SELECT COUNT(*) FROM staff WHERE login = 'zzz-thief'").fetchone()[0] == 0
    db.close()
    # the genuine backup still restores (the hub is stopped: nothing serves the file)
    ok = run_cli("hub", "restore", "--from", str(genuine), "--db", str(hub_and_van.hub))
    assert ok.returncode == 0, ok.stderr


def test_doctor_and_records_verify_never_change_a_backup(hub_and_van: HubAndVan) -> None:
    genuine = _backup(hub_and_van)
    folder = genuine.parent
    before = _folder_state(folder)
    doctor = run_cli("doctor", "--db", str(genuine), "--hub-db", str(hub_and_van.hub))
    assert doctor.returncode == 0 and "正常" in doctor.stdout, doctor.stderr
    verify = run_cli("records", "verify", "--db", str(genuine))
    assert verify.returncode == 0 and "OK" in verify.stdout, verify.stderr
    assert _folder_state(folder) == before  # same files, same bytes: no -wal, no -shm
    no_key = run_cli("doctor", "--db", str(genuine))
    assert no_key.returncode == 1 and "--hub-db" in no_key.stderr


def test_a_truncated_backup_lowers_the_mark_and_health_and_home_say_so(
    hub_and_van: HubAndVan, serve_hub: Callable[[Path], HubProcess]
) -> None:
    hub = serve_hub(hub_and_van.hub)
    pushed = run_cli("sync", "push", "--db", str(hub_and_van.van), "--hub", hub.url)
    assert pushed.returncode == 0, pushed.stderr
    genuine = _backup(hub_and_van)
    db = connect(hub_and_van.hub, role="hub")
    assert backup_mark(db, "van-1") == 3
    assert httpx.get(f"{hub.url}/health").json()["status"] == "ok"
    with genuine.open("r+b") as fh:  # truncated to 0 bytes
        fh.truncate(0)
    assert backup_mark(db, "van-1") == 0
    db.close()
    health = httpx.get(f"{hub.url}/health").json()
    assert health["status"] == "warning"
    assert any(genuine.name in w and "検証できません" in w for w in health["warnings"])
    client = httpx.Client(base_url=hub.url, follow_redirects=False, timeout=30)
    try:
        page = client.get("/console/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token
        client.post(
            "/console/login",
            data={"login": ADMIN, "password": ADMIN_PASSWORD, "csrftoken": token.group(1)},
        )
        home = client.get("/console/")
        assert home.status_code == 200
        assert 'id="backup-warning"' in home.text and genuine.name in home.text
    finally:
        client.close()


def test_backups_are_0600_from_the_first_byte_in_a_0700_folder(
    hub_and_van: HubAndVan, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = hub_and_van.hub.parent / "backups"
    out.mkdir(mode=0o755)
    os.chmod(out, 0o755)
    seen: list[int] = []
    real = backup_module.verify_file

    def spy(path: Path):  # type: ignore[no-untyped-def]
        seen.append(stat.S_IMODE(path.stat().st_mode))
        return real(path)

    monkeypatch.setattr(backup_module, "verify_file", spy)
    chmod = os.chmod

    def dirs_only(path, mode, *args, **kwargs):  # type: ignore[no-untyped-def]
        if Path(path).is_dir():  # a file must be born 0600, not fixed afterwards
            chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(backup_module.os, "chmod", dirs_only)
    old = os.umask(0o022)
    try:
        made = backup_module.take_backup(hub_and_van.hub, out)
    finally:
        os.umask(old)
    assert seen and all(mode == 0o600 for mode in seen)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for p in (made.path, backup_module.manifest_path(made.path)):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
