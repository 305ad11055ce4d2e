"""``odekake report`` and ``odekake history import`` through the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from odekake.access.audit import entries as audit_entries
from odekake.cli import main
from odekake.masterdata.master import seed_city
from odekake.reports.counting import Period
from odekake.storage.db import connect
from odekake.storage.records import effective, iter_records
from tests.reports import util as u
from tests.reports.conftest import build_november
from tests.reports.test_report import EXPECTED_NOVEMBER, HEADER
from tests.reports.test_tallies import EXAMPLE, FY2022, FY2022_FLAGS


@pytest.fixture
def hub_path(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    db = connect(path, role="hub", create=True)
    seed_city(db)
    build_november(db)
    db.close()
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_month_report_writes_pdf_csv_xlsx(hub_path: Path, tmp_path: Path) -> None:
    out, c, x = tmp_path / "nov.pdf", tmp_path / "nov.csv", tmp_path / "nov.xlsx"
    code, stdout, _ = run(
        "report", "--db", str(hub_path), "--month", "2023-11", "--out", str(out),
        "--csv", str(c), "--xlsx", str(x),
    )  # fmt: skip
    assert code == 0, stdout
    assert "2023年11月(令和5年11月) の利用実績を書き出しました" in stdout
    assert u.csv_sections(c)["table"] == [HEADER, *[u.as_csv_text(r) for r in EXPECTED_NOVEMBER]]
    assert u.xlsx_sections(x)["table"][1:] == EXPECTED_NOVEMBER
    assert u.contains_run(u.pdf_lines(out)[0], u.pdf_tokens_for_rows(EXPECTED_NOVEMBER))


def test_from_to_and_fiscal_year_forms(hub_path: Path, tmp_path: Path) -> None:
    c1, c2 = tmp_path / "a.csv", tmp_path / "b.csv"
    code, *_ = run(
        "report", "--db", str(hub_path), "--from", "2023-11-01", "--to", "2023-11-30",
        "--out", str(tmp_path / "a.pdf"), "--csv", str(c1),
    )  # fmt: skip
    assert code == 0
    code, *_ = run(
        "report", "--db", str(hub_path), "--fiscal-year", "R5",
        "--out", str(tmp_path / "b.pdf"), "--csv", str(c2),
    )  # fmt: skip
    assert code == 0
    # The fiscal year also holds December's stop I (中央台, 1 certificate).
    fy = {tuple(r[:2]): r for r in u.csv_sections(c2)["table"][1:]}
    assert fy[("地区定期巡回", "中央台")][2:4] == ["2", "1"]
    assert u.csv_sections(c1)["table"][1:] == [u.as_csv_text(r) for r in EXPECTED_NOVEMBER]


def test_history_import_then_report_flags(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    code, stdout, _ = run("init", "--db", str(path), "--role", "hub")
    assert code == 0
    code, stdout, _ = run("history", "import", "--db", str(path), str(EXAMPLE))
    assert code == 0
    assert "過去集計(2022年4月1日〜2023年3月31日): 18 行を登録しました。" in stdout
    c = tmp_path / "fy22.csv"
    code, stdout, stderr = run(
        "report", "--db", str(path), "--fiscal-year", "2022", "--out", str(tmp_path / "r.pdf"),
        "--csv", str(c),
    )  # fmt: skip
    assert code == 0
    assert u.csv_sections(c)["table"][1:] == [u.as_csv_text(r) for r in FY2022]
    assert stderr.splitlines() == [f"注意: {m}" for m in FY2022_FLAGS]
    code, stdout, _ = run("history", "import", "--db", str(path), str(EXAMPLE))
    assert (
        "過去集計(2022年4月1日〜2023年3月31日): 同じ期間の取り込み済みの表"
        "(「tallies_fy2022_fy2023.csv」から18 行)を18 行で置き換えました。"
    ) in stdout


def test_user_errors_are_one_japanese_line(hub_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("活動,地区,回数,計\n地区定期巡回,川前,1,1\n", encoding="utf-8")
    code, _out, err = run("history", "import", "--db", str(hub_path), str(bad))
    assert code == 1
    assert err.startswith("エラー: 過去集計の取り込みを中止しました")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _out, err = run(
        "report", "--db", str(hub_path), "--month", "2023/11", "--out", str(tmp_path / "x.pdf")
    )
    assert code == 1 and err.strip() == "エラー: --month は YYYY-MM で指定してください: 2023/11"
    code, _out, err = run(
        "report", "--db", str(hub_path), "--from", "2023-12-01", "--to", "2023-11-01",
        "--out", str(tmp_path / "x.pdf"),
    )  # fmt: skip
    assert code == 1 and "より前です" in err
    code, _out, err = run(
        "report", "--db", str(hub_path), "--month", "2023-11", "--fiscal-year", "2023",
        "--out", str(tmp_path / "x.pdf"),
    )  # fmt: skip
    assert code == 2 and "どれか1つ" in err
    code, _out, err = run(
        "report", "--db", str(tmp_path / "missing.db"), "--month", "2023-11",
        "--out", str(tmp_path / "x.pdf"),
    )  # fmt: skip
    assert code == 1 and "データベースファイルがありません" in err


def test_every_command_has_help() -> None:
    for args in (["report"], ["history"], ["history", "import"]):
        code, stdout, _ = run(*args, "--help")
        assert code == 0
        assert len(stdout.split("\n\n")[1].strip()) > 5


def test_demo_hub_renders(demo_dir: Path, tmp_path: Path) -> None:
    hub = demo_dir / "hub.db"
    out, c = tmp_path / "demo.pdf", tmp_path / "demo.csv"
    code, stdout, _ = run(
        "report", "--db", str(hub), "--fiscal-year", "2025", "--out", str(out), "--csv", str(c)
    )
    assert code == 0, stdout
    assert len(u.pdf_lines(out)) >= 2
    # Cross-check 運用回数 with an independent count of the stops in the period.
    db = connect(hub)
    period = Period.fiscal_year(2025)
    stops = [
        r
        for r in effective(iter_records(db, types=["stop.open", "record.void"]))
        if r.type == "stop.open"
        and r.payload is not None
        and period.contains(date.fromisoformat(r.payload["date"]))
    ]
    summary = u.csv_sections(c)["summary"]
    assert summary[0][:3] == ["運用回数", "", str(len(stops))]
    total = next(r for r in u.csv_sections(c)["table"] if r[:2] == ["地区定期巡回", "計"])
    regular = sum(1 for r in stops if r.payload and r.payload["activity"] == "regular")
    assert int(total[2]) == regular > 0


def test_costs_set_list_and_cost_per_user(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    assert run("init", "--db", str(path), "--role", "hub")[0] == 0
    code, out, _ = run("costs", "list", "--db", str(path))
    assert code == 0 and "事業費はまだ登録されていません" in out
    code, out, _ = run(
        "costs", "set", "--db", str(path), "--fiscal-year", "R4", "--amount", "5,920,000",
        "--note", "車両維持費・人件費",
    )  # fmt: skip
    assert code == 0 and out.strip() == "2022年度(令和4年度) の事業費 5,920,000円 を登録しました。"
    code, out, _ = run(
        "costs", "set", "--db", str(path), "--fiscal-year", "2022", "--amount", "5920000",
        "--note", "車両維持費・人件費",
    )  # fmt: skip
    assert "5,920,000円 から 5,920,000円 に置き換えました" in out
    code, out, _ = run("costs", "list", "--db", str(path))
    assert "2022年度(令和4年度)" in out and "5,920,000円" in out and "車両維持費" in out
    code, _out, err = run(
        "costs", "set", "--db", str(path), "--fiscal-year", "2022", "--amount", "-5"
    )
    assert code == 1 and err.startswith("エラー: ") and len(err.splitlines()) == 1
    assert run("history", "import", "--db", str(path), str(EXAMPLE))[0] == 0
    c = tmp_path / "fy22.csv"
    code, _o, err = run(
        "report", "--db", str(path), "--fiscal-year", "2022", "--out", str(tmp_path / "r.pdf"),
        "--csv", str(c), "--as-of", "2026-11-26",
    )  # fmt: skip
    assert code == 0, err
    council = u.csv_sections(c)["council"]
    i = council.index(["■ 事業費と利用者1人あたりの費用"])
    # 296 served (the printed サービス提供者数): 5,920,000 / 296 = 20,000 yen per user
    assert council[i + 2][:4] == ["2022年度(令和4年度)", "5920000", "296", "20000"]
    db = connect(path)
    kinds = [e.detail.get("kind") for e in audit_entries(db) if e.action == "import"]
    db.close()
    assert kinds.count("report_cost") == 2


def test_header_only_history_csv_is_one_japanese_line(hub_path: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(EXAMPLE.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    code, _out, err = run("history", "import", "--db", str(hub_path), str(empty))
    assert code == 1
    assert err.strip() == "エラー: 過去集計のCSVにデータの行がありません(見出しの行だけです)"
