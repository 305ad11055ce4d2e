"""The kiosk's rules stay importable without the UI, and the CLI entry point works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from odekake.cli import main

CORE_MODULES = [
    "odekake.services.certificates",
    "odekake.services.consultation",
    "odekake.services.dayclose",
    "odekake.services.disaster",
    "odekake.services.explanation",
    "odekake.services.frailty",
    "odekake.services.garbage",
    "odekake.services.login",
    "odekake.services.mynumber",
    "odekake.services.stops",
    "odekake.receipts.receipt_pdf",
    "odekake.commands.kiosk",
]


def test_services_do_not_import_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {CORE_MODULES!r}: importlib.import_module(m)\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_kiosk_command_has_help_and_refuses_a_missing_db(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["kiosk", "--help"])
    assert result.exit_code == 0 and "窓口端末" in result.output
    result = runner.invoke(main, ["kiosk", "--db", str(tmp_path / "nope.db")])
    assert result.exit_code == 1
    assert "データベースファイルがありません" in result.output
