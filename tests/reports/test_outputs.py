"""No half-written report files (issue 16, item 2): all outputs or none, no export logged."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from odekake.access import audit
from odekake.cli import main
from odekake.errors import OdekakeError
from odekake.reports.output import write_all
from odekake.storage.db import connect
from tests.reports.test_cli import hub_path  # noqa: F401 (fixture)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _exports(path: Path) -> int:
    db = connect(path)
    try:
        return sum(1 for e in audit.entries(db) if e.action == "export")
    finally:
        db.close()


@pytest.mark.parametrize("bad", ["--csv", "--xlsx", "--out"])
def test_a_bad_path_writes_nothing_and_logs_nothing(
    hub_path: Path,  # noqa: F811
    tmp_path: Path,
    bad: str,
) -> None:
    paths = {
        "--out": tmp_path / "r.pdf",
        "--csv": tmp_path / "r.csv",
        "--xlsx": tmp_path / "r.xlsx",
    }
    paths[bad] = tmp_path / "missing" / f"r{paths[bad].suffix}"
    args = [x for k, p in paths.items() for x in (k, str(p))]
    code, _out, err = run("report", "--db", str(hub_path), "--month", "2023-11", *args)
    assert code == 1, err
    assert err.startswith("エラー: 出力先のフォルダがありません") and len(err.splitlines()) == 1
    assert "Traceback" not in err and "想定外" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub.db"]
    assert _exports(hub_path) == 0


def test_a_folder_as_output_is_refused(hub_path: Path, tmp_path: Path) -> None:  # noqa: F811
    code, _out, err = run(
        "report", "--db", str(hub_path), "--month", "2023-11", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 1 and "出力先がフォルダです" in err


def test_success_writes_all_and_logs_one_export(hub_path: Path, tmp_path: Path) -> None:  # noqa: F811
    out, c, x = tmp_path / "r.pdf", tmp_path / "r.csv", tmp_path / "r.xlsx"
    out.write_bytes(b"old")  # replaced whole, not appended to
    code, _o, err = run(
        "report", "--db", str(hub_path), "--month", "2023-11", "--out", str(out),
        "--csv", str(c), "--xlsx", str(x),
    )  # fmt: skip
    assert code == 0, err
    assert out.read_bytes().startswith(b"%PDF") and c.exists() and x.exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    assert _exports(hub_path) == 1


def test_a_writer_failing_midway_leaves_no_file(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pdf", tmp_path / "b.csv"
    a.write_text("keep")

    def fail(p: Path) -> None:
        p.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OdekakeError, match=r"b\.csv を書き出せませんでした"):
        write_all([(a, lambda p: p.write_text("new")), (b, fail)])
    assert a.read_text() == "keep" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf"]
