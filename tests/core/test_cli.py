"""The command line: help everywhere, one-line errors, the demo and verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from odekake.cli import main


def _walk(cmd: click.Command, path: tuple[str, ...] = ()):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, (*path, name))


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, cmd in _walk(main):
        if not (cmd.help or "").strip():
            missing.append(" ".join(path) or "odekake")
        for p in cmd.params:
            if (
                isinstance(p, click.Option)
                and not (p.help or "").strip()
                and p.name not in ("help", "version")
            ):
                missing.append(f"{' '.join(path)} {p.opts[0]}")
    assert missing == []


def test_missing_database_is_one_line_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["records", "verify", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 1
    assert result.output.strip().startswith("エラー: データベースファイルがありません")
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_bad_csv_exits_1_naming_rows(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "hub.db"
    assert runner.invoke(main, ["init", "--db", str(db), "--role", "hub"]).exit_code == 0
    f = tmp_path / "s.csv"
    f.write_text(
        "id,district,name,kind,lat,lon\nx-1,無い地区,会場,公民館,37,140\n", encoding="utf-8"
    )
    result = runner.invoke(main, ["sites", "import", "--db", str(db), str(f)])
    assert result.exit_code == 1
    assert "2行目" in result.output and "無い地区" in result.output
    missing = runner.invoke(main, ["sites", "import", "--db", str(db), str(tmp_path / "none.csv")])
    assert missing.exit_code == 1 and "ファイルがありません" in missing.output


def test_demo_then_verify_and_export(tmp_path: Path) -> None:
    runner = CliRunner()
    d = tmp_path / "x"
    result = runner.invoke(main, ["demo", "--dir", str(d), "--no-kiosk", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (d / "hub.db").exists() and (d / "van.db").exists()
    for name in ("van.db", "hub.db"):
        v = runner.invoke(main, ["records", "verify", "--db", str(d / name)])
        assert v.exit_code == 0 and "OK" in v.output
    again = runner.invoke(main, ["demo", "--dir", str(d), "--no-kiosk"])
    assert again.exit_code == 1 and "--force" in again.output
    out = tmp_path / "sites.csv"
    e = runner.invoke(main, ["sites", "export", "--db", str(d / "hub.db"), "--out", str(out)])
    assert e.exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "川前".encode() in raw


def test_verify_exits_1_on_a_broken_chain(tmp_path: Path) -> None:
    from odekake.storage import records as rec
    from odekake.storage.db import connect, write

    path = tmp_path / "van.db"
    db = connect(path, role="van", create=True, device_id="van-t")
    ids = [rec.append(db, "x", {"i": i}).id for i in range(3)]
    with write(db):
        db.execute("DROP TRIGGER records_no_update")
        db.execute("UPDATE records SET payload = '{\"i\":9}' WHERE id = ?", [ids[1]])
    db.close()
    result = CliRunner().invoke(main, ["records", "verify", "--db", str(path)])
    assert result.exit_code == 1 and ids[1] in result.output


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "odekake.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "odekake" in out.stdout
