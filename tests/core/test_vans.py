"""``odekake vans add|list|set``: vans from the command line, Japanese errors, audited,
and a second van is planned for without writing Python."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from odekake.access import audit
from odekake.cli import main
from odekake.masterdata import master
from odekake.storage.db import connect, write


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    db = connect(path, role="hub", create=True, device_id="hub")
    master.seed_city(db)
    db.close()
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_add_list_and_set(hub: Path) -> None:
    db = str(hub)
    r = run("vans", "add", "--db", db, "van-1", "--name", "1号車")
    assert r.exit_code == 0, r.output
    assert "van-1  1号車  車庫 いわき市役所(平)(37.05050, 140.88770)  勤務 08:30-17:15" in r.output
    r = run(
        "vans", "add", "--db", db, "van-2", "--name", "2号車", "--depot-name", "小名浜支所",
        "--lat", "36.9465", "--lon", "140.9034", "--shift", "9:00-17:00",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    listed = run("vans", "list", "--db", db)
    assert listed.output.splitlines() == [
        "van-1  1号車  車庫 いわき市役所(平)(37.05050, 140.88770)  勤務 08:30-17:15",
        "van-2  2号車  車庫 小名浜支所(36.94650, 140.90340)  勤務 09:00-17:00",
    ]
    r = run("vans", "set", "--db", db, "van-2", "--shift", "08:00-16:30", "--name", "2号車(小名浜)")
    assert r.exit_code == 0, r.output
    row = (
        connect(hub)
        .execute("SELECT name, depot_name, shift_start, shift_end FROM vans WHERE id = 'van-2'")
        .fetchone()
    )
    assert row == ("2号車(小名浜)", "小名浜支所", "08:00", "16:30")
    changes = [(e.action, e.target) for e in audit.entries(connect(hub))]
    assert changes == [("van.change", "van-1"), ("van.change", "van-2"), ("van.change", "van-2")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("add", "van 1", "--name", "x"),
            "エラー: 車両IDは英数字・ハイフン・下線(32文字まで)で書きます",
        ),
        (
            ("add", "van-1", "--name", "もう一台"),
            "エラー: 車両 van-1 はすでに登録されています(変更は odekake vans set)",
        ),
        (
            ("add", "van-3", "--name", "3号車", "--lat", "37.0"),
            "エラー: 車庫の緯度と経度は両方指定します",
        ),
        (
            (
                "add",
                "van-3",
                "--name",
                "3号車",
                "--lat",
                "137.0",
                "--lon",
                "37.0",
                "--depot-name",
                "x",
            ),
            "エラー: 車庫の緯度 137.0 が日本の範囲(20.0〜46.0)外です",
        ),
        (
            ("add", "van-3", "--name", "3号車", "--shift", "17:00-08:30"),
            "エラー: 勤務時間の終わりは始まりより後です(17:00-08:30)",
        ),
        (
            ("add", "van-3", "--name", "3号車", "--shift", "朝から"),
            "エラー: 勤務時間は 08:30-17:15 の形で書きます(朝から)",
        ),
        (
            ("set", "van-9", "--name", "x"),
            "エラー: 車両がありません: van-9(一覧は odekake vans list)",
        ),
        (("set", "van-1"), "エラー: 変更する項目を指定してください"),
    ],
)
def test_errors_are_one_japanese_line(hub: Path, args: tuple[str, ...], message: str) -> None:
    assert run("vans", "add", "--db", str(hub), "van-1", "--name", "1号車").exit_code == 0
    r = run("vans", args[0], "--db", str(hub), *args[1:])
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), r.output
    assert connect(hub).execute("SELECT COUNT(*) FROM vans").fetchone()[0] == 1


def test_a_van_added_from_the_cli_is_planned_for(hub: Path, tmp_path: Path) -> None:
    from datetime import date

    from planner.policy import policy_from_dict

    db = connect(hub)
    with write(db):
        master.upsert_site(
            db,
            {
                "id": "onahama-01", "district_id": "onahama", "name": "小名浜公民館",
                "kind": "公民館", "lat": 36.95, "lon": 140.9, "open_weekdays": "月火水木金",
                "open_from": "09:00", "open_to": "17:00", "notes": "",
            },
        )  # fmt: skip
    run("vans", "add", "--db", str(hub), "van-1", "--name", "1号車")
    run(
        "vans", "add", "--db", str(hub), "van-2", "--name", "2号車", "--depot-name", "小名浜支所",
        "--lat", "36.9465", "--lon", "140.9034", "--shift", "09:00-16:00",
    )  # fmt: skip
    data = policy_from_dict(
        {"horizon": {"start": "2026-12-01", "end": "2026-12-04"}},
        connect(hub),
        today=date(2026, 11, 20),
    )
    v2 = data.van("van-2")
    assert (v2.depot_name, v2.shift_start, v2.shift_end) == ("小名浜支所", 9 * 60, 16 * 60)
    assert data.minutes(v2.depot, "onahama-01") < data.minutes(
        data.van("van-1").depot, "onahama-01"
    )
