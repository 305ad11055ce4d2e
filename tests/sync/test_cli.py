"""Enrollment and status commands (in process, through click's CliRunner)."""

from __future__ import annotations

import stat
from pathlib import Path

import click
from click.testing import CliRunner

from odekake.cli import main
from odekake.commands.sync import COMMANDS
from odekake.storage.db import connect
from odekake.sync.keys import key_path_for

from .conftest import Site, make_van


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_enroll_creates_a_private_key_file_readable_by_owner_only(site: Site) -> None:
    van = make_van(site.root, "van-a", 2)
    code, out = invoke("device", "enroll", "--db", str(van), "--hub-db", str(site.hub))
    assert code == 0, out
    assert "ハブに登録しました" in out
    key = key_path_for(van)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    row = connect(site.hub).execute("SELECT device_id, status FROM devices").fetchall()
    assert row == [("van-a", "active")]
    code, out = invoke("device", "enroll", "--db", str(van), "--hub-db", str(site.hub))
    assert code == 0 and "登録済みです(変更なし)" in out


def test_enroll_in_two_steps_van_then_hub(site: Site) -> None:
    van = make_van(site.root, "van-a", 1)
    code, out = invoke("device", "enroll", "--db", str(van))
    assert code == 0
    pub = out.split("公開鍵: ")[1].split("(")[0]
    assert connect(site.hub).execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 0
    code, out = invoke(
        "device", "enroll", "--hub-db", str(site.hub), "--device", "van-a", "--public-key", pub
    )
    assert code == 0 and "ハブに登録しました" in out
    stored = connect(site.hub).execute("SELECT public_key FROM devices").fetchone()[0]
    assert stored == pub


def test_key_readable_by_others_is_refused(site: Site) -> None:
    van = site.van("van-a", 1)
    key_path_for(van).chmod(0o644)
    code, out = invoke("sync", "export", "--db", str(van), "--out", str(site.root / "x.jsonl"))
    assert code == 1 and "chmod 600" in out


def test_revoked_device_needs_replace_to_enroll_again(site: Site) -> None:
    van = site.van("van-a", 1)
    assert invoke("device", "revoke", "--db", str(site.hub), "--device", "van-a")[0] == 0
    code, out = invoke("device", "list", "--db", str(site.hub))
    assert "van-a 車両 van-a 失効" in out
    code, out = invoke("device", "enroll", "--db", str(van), "--hub-db", str(site.hub))
    assert code == 1 and "失効済みです" in out and "--replace" in out
    code, out = invoke("device", "enroll", "--db", str(van), "--hub-db", str(site.hub), "--replace")
    assert code == 0 and "置き換えました" in out
    assert connect(site.hub).execute("SELECT status FROM devices").fetchone()[0] == "active"


def test_van_status_counts_unsynced_records(site: Site, tmp_path: Path) -> None:
    van = site.van("van-a", 12)
    code, out = invoke("sync", "status", "--db", str(van))
    assert code == 0
    assert "記録 12 件、未同期 12 件" in out and "最終同期 まだありません" in out
    code, out = invoke("sync", "import", "--db", str(site.hub), str(tmp_path / "none.jsonl"))
    assert code == 1 and "バンドルファイルがありません" in out


def test_every_sync_command_has_help() -> None:
    def walk(cmd: click.Command) -> list[click.Command]:
        if isinstance(cmd, click.Group):
            return [cmd, *[c for sub in cmd.commands.values() for c in walk(sub)]]
        return [cmd]

    commands = [c for top in COMMANDS for c in walk(top)]
    assert {c.name for c in commands} >= {
        "serve", "enroll", "revoke", "push", "export", "import", "pull", "status",
    }  # fmt: skip
    for c in commands:
        assert (c.help or "").strip(), c.name
        for p in c.params:
            if isinstance(p, click.Option):
                assert (p.help or "").strip(), f"{c.name} {p.name}"


def test_hub_serve_refuses_a_missing_database_and_a_bad_url(site: Site) -> None:
    code, out = invoke("hub", "serve", "--db", str(site.root / "typo.db"))
    assert code == 1 and "データベースファイルがありません" in out
    van = site.van("van-a", 1)
    code, out = invoke("sync", "push", "--db", str(van), "--hub", "localhost:8765")
    assert code == 1 and "http:// か https:// で始めてください" in out


def test_hub_serve_refuses_a_port_in_use(site: Site) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out = invoke("hub", "serve", "--db", str(site.hub), "--port", str(port))
    assert code == 1 and f"127.0.0.1:{port} で待ち受けできません" in out
