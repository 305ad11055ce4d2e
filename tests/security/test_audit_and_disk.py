"""The audit chain, and a full disk that leaves no partial write."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from odekake.access import audit
from odekake.cli import main
from odekake.errors import OdekakeError
from odekake.storage import records as rec
from odekake.storage.db import connect, write


def test_audit_chain_verifies_and_names_a_changed_line(tmp_path: Path) -> None:
    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="v")
    audit.log(db, "op001", "login")
    audit.log(db, "op001", "login.failed", "op002")
    audit.log(db, "sv001", "record.void", "rid-1", {"reason": "書損"})
    assert audit.verify(db) == []
    assert [e.action for e in audit.entries(db)] == ["login", "login.failed", "record.void"]
    with pytest.raises(Exception, match="append-only"), write(db):
        db.execute("DELETE FROM audit_log")
    result = CliRunner().invoke(main, ["audit", "verify", "--db", str(path)])
    assert result.exit_code == 0 and "3 件" in result.output
    with write(db):
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("UPDATE audit_log SET actor = 'op999' WHERE seq = 2")
    assert audit.verify(db) == ["監査ログ 2 番: 内容が書き換えられています"]
    db.close()
    result = CliRunner().invoke(main, ["audit", "verify", "--db", str(path)])
    assert result.exit_code == 1 and "2 番" in result.output


def test_unknown_audit_action_is_a_bug(fresh_db) -> None:
    with pytest.raises(ValueError):
        audit.log(fresh_db, "x", "made.up")


def test_full_disk_gives_a_clear_message_and_no_partial_write(tmp_path: Path) -> None:
    db = connect(tmp_path / "van.db", role="van", create=True, device_id="v")
    rec.append(db, "x", {"i": 0})
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(OdekakeError, match="空きがありません") as info:
        for i in range(1, 200):
            rec.append(db, "x", {"i": i, "pad": "あ" * 3000})
    assert "保存していません" in str(info.value)
    n = db.execute("SELECT count(*) FROM records").fetchone()[0]
    seqs = [r[0] for r in db.execute("SELECT seq FROM records ORDER BY seq")]
    assert seqs == list(range(1, n + 1))
    assert rec.verify(db).ok
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_keys_init_registers_the_public_key(tmp_path: Path) -> None:
    runner = CliRunner()
    hub = tmp_path / "hub.db"
    assert runner.invoke(main, ["init", "--db", str(hub), "--role", "hub"]).exit_code == 0
    res = runner.invoke(
        main, ["keys", "init", "--db", str(hub), "--key-file", str(tmp_path / "k.pem")]
    )
    assert res.exit_code == 0, res.output
    db = connect(hub)
    assert db.execute("SELECT value FROM meta WHERE key = ?", [rec.SEAL_KEY_META]).fetchone()[0]
    again = runner.invoke(
        main, ["keys", "init", "--db", str(hub), "--key-file", str(tmp_path / "k.pem")]
    )
    assert again.exit_code != 0 and "--force" in again.output


def test_viewing_personal_data_and_exports_are_audited(demo_dir: Path, tmp_path: Path) -> None:
    import shutil

    d = tmp_path / "demo"
    shutil.copytree(demo_dir, d)
    runner = CliRunner()
    hub = connect(d / "hub.db")
    cert = next(rec.iter_records(hub, types=["certificate.issue"]))
    hub.close()
    sealed = runner.invoke(main, ["records", "show", "--db", str(d / "hub.db"), "--id", cert.id])
    assert sealed.exit_code == 0 and '"sealed"' in sealed.output and "いわき市" not in sealed.output
    opened = runner.invoke(
        main,
        [
            "records",
            "show",
            "--db",
            str(d / "hub.db"),
            "--id",
            cert.id,
            "--key-file",
            str(d / "hub-seal.key"),
        ],
    )
    assert opened.exit_code == 0 and "いわき市" in opened.output
    out = tmp_path / "sites.csv"
    assert (
        runner.invoke(
            main, ["sites", "export", "--db", str(d / "hub.db"), "--out", str(out)]
        ).exit_code
        == 0
    )
    hub = connect(d / "hub.db")
    actions = [(e.action, e.target) for e in audit.entries(hub)]
    assert ("view.personal", cert.id) in actions and ("export", "sites") in actions
    assert audit.verify(hub) == []
