"""The report's files are written all or nothing, whatever step fails."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from odekake.cli import main
from odekake.masterdata.master import seed_city
from odekake.reports import output
from odekake.storage.db import connect
from tests.reports.conftest import build_november

NAMES = ("r.pdf", "r.csv", "r.xlsx")


@pytest.fixture
def hub_path(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    db = connect(path, role="hub", create=True)
    seed_city(db)
    build_november(db)
    db.close()
    return path


def _report(hub_path: Path, folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        ["report", "--db", str(hub_path), "--month", "2023-11", "--out", str(folder / "r.pdf"),
         "--csv", str(folder / "r.csv"), "--xlsx", str(folder / "r.xlsx")],
    )  # fmt: skip
    return result.exit_code, result.stdout + result.stderr


def _failing_at(n: int, real: Callable[..., Any], exc: OSError) -> Callable[..., Any]:
    calls = {"n": 0}

    def call(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return real(*args, **kwargs)

    return call


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("old_files", [False, True], ids=["new", "replacing"])
@pytest.mark.parametrize("failing_rename", [1, 2, 3])
def test_a_failed_rename_leaves_every_file_as_it_was(
    hub_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_rename: int,
    old_files: bool,
) -> None:  # fmt: skip
    folder = tmp_path / "out"
    folder.mkdir()
    if old_files:
        for name in NAMES:
            (folder / name).write_bytes(f"old {name}".encode())
    before = _contents(folder)
    fail = OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(output.os, "replace", _failing_at(failing_rename, os.replace, fail))
    code, text = _report(hub_path, folder)
    assert code == 1, text
    assert "エラー: " in text and "書き出せませんでした" in text and "障害" in text
    assert "想定外" not in text and "Error" not in text
    assert _contents(folder) == before  # no new file, no changed file, no temporary file


def test_all_three_are_written_when_nothing_fails(hub_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for name in NAMES:
        (folder / name).write_bytes(b"old")
    code, text = _report(hub_path, folder)
    assert code == 0, text
    files = _contents(folder)
    assert sorted(files) == sorted(NAMES)
    assert all(v != b"old" for v in files.values())


@pytest.mark.parametrize("failing_temp", [1, 2, 3])
def test_a_folder_unwritable_mid_write_says_why_in_japanese(
    hub_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_temp: int
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    denied = PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(
        output.tempfile, "mkstemp", _failing_at(failing_temp, tempfile.mkstemp, denied)
    )
    code, text = _report(hub_path, folder)
    assert code == 1, text
    assert "書き込む権限がありません" in text
    assert "PermissionError" not in text and "Permission denied" not in text
    assert _contents(folder) == {}
