"""``odekake plan`` end to end on the demo: plan.json, hub DB, PDF, iCalendar, CSV, notices."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from odekake.cli import main
from odekake.storage.db import connect
from planner.policy import read_keep
from tests.planner.checker import check_files

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan.toml"
TODAY = "2026-11-20"  # the demo fixture's "today": the example plans December 2026


@pytest.fixture(scope="module")
def planned(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example policy planned on a copy of the demo hub, with every output."""
    out = tmp_path_factory.mktemp("plan")
    # The demo hub is in WAL mode: copy through SQLite's backup API, not file by file.
    src, dst = sqlite3.connect(demo_dir / "hub.db"), sqlite3.connect(out / "hub.db")
    src.backup(dst)
    src.close()
    dst.close()
    result = CliRunner().invoke(
        main,
        [
            "plan",
            "--db",
            str(out / "hub.db"),
            "--policy",
            str(EXAMPLE),
            "--out",
            str(out / "plan.json"),
            "--today",
            TODAY,
            "--time-limit",
            "60",
            "--gap",
            "0.02",
            "--pdf",
            str(out / "plan.pdf"),
            "--ics-dir",
            str(out / "ics"),
            "--csv",
            str(out / "plan.csv"),
            "--notices-dir",
            str(out / "notices"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "計画を作成しました: 2026-12-01〜2026-12-31" in result.output
    # The example policy says driving = "approximate"; the minutes are the real order's.
    doc = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert doc["solver"]["driving_mode"] == "approximate"
    total = doc["driving_minutes"]["total"]
    assert f"移動時間: 計 {total}分(目的関数での扱い: 概算)" in result.output
    yield out


def test_plan_json_keeps_every_rule(planned: Path) -> None:
    doc = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    db = connect(planned / "hub.db")
    # The checker reads the example policy file itself.
    assert check_files(doc, EXAMPLE, db, today=date.fromisoformat(TODAY)) == []
    assert doc["solver"]["name"] == "highs"
    # "optimal" only when the proven gap meets the target (--gap 0.02); on a loaded
    # machine the time limit may end with a feasible plan and its honest gap (or none).
    status, gap = doc["solver"]["status"], doc["solver"]["gap"]
    assert status in ("optimal", "feasible")
    assert status == "feasible" or gap <= 0.02 + 1e-9
    assert (
        doc["solver"]["bound"] is None
        or doc["solver"]["bound"] >= doc["solver"]["objective"] - 1e-6
    )
    days = doc["driving_minutes"]["days"]
    assert doc["driving_minutes"]["total"] == sum(d["minutes"] for d in days) > 0
    assert {(d["date"], d["van_id"]) for d in days} == {
        (v["date"], v["van_id"]) for v in doc["visits"]
    }
    acts = {v["activity"] for v in doc["visits"]}
    assert {"regular", "voting", "reservation"} <= acts
    v = doc["visits"][0]
    for field in (
        "date",
        "van_id",
        "window",
        "start",
        "end",
        "site_id",
        "district_id",
        "arrive",
        "depart",
        "order",
    ):
        assert field in v
    assert sum(t["visits"] for t in doc["districts"]) >= 13  # every district min 1
    assert set(doc["explanations"]) == {t["district_id"] for t in doc["districts"]}


def test_plan_is_stored_in_the_hub(planned: Path) -> None:
    doc = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    db = connect(planned / "hub.db")
    row = db.execute(
        "SELECT horizon_start, horizon_end, solver FROM plans WHERE id = ?", [doc["plan_id"]]
    ).fetchone()
    assert row[0] == "2026-12-01" and row[1] == "2026-12-31"
    assert json.loads(row[2])["status"] == doc["solver"]["status"]
    n = db.execute(
        "SELECT count(*) FROM plan_visits WHERE plan_id = ?", [doc["plan_id"]]
    ).fetchone()[0]
    assert n == len(doc["visits"])


def test_calendar_pdf_reads_back(planned: Path) -> None:
    reader = PdfReader(planned / "plan.pdf")
    text = reader.pages[0].extract_text()
    assert "巡回計画 2026年12月(令和8年12月)" in text
    doc = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    assert doc["visits"][0]["district_name"] in text
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert any("IPAexGothic" in str(f.get_object()["/BaseFont"]) for f in fonts.values())


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.split("\r\n"):
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def test_icalendar_parses(planned: Path) -> None:
    raw = (planned / "ics" / "van-1.ics").read_bytes()
    text = raw.decode("utf-8")
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    lines = _unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    stack: list[str] = []
    events: list[dict[str, str]] = []
    for line in lines:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                events.append({})
        elif name == "END":
            assert stack.pop() == value
        elif stack and stack[-1] == "VEVENT":
            events[-1][name] = value
    assert stack == []
    doc = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    assert len(events) == len([v for v in doc["visits"] if v["van_id"] == "van-1"])
    first = doc["visits"][0]
    day = first["date"].replace("-", "")
    assert events[0]["DTSTART;TZID=Asia/Tokyo"] == f"{day}T{first['start'].replace(':', '')}00"
    assert first["site_name"] in events[0]["LOCATION"]
    assert len({e["UID"] for e in events}) == len(events)
    assert "TZID:Asia/Tokyo" in lines


def test_csv_has_bom_and_rows(planned: Path) -> None:
    raw = (planned / "plan.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = raw.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("日付,曜日,車両")
    doc = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    assert len(rows) == 1 + len(doc["visits"])


def test_notices_with_qr(planned: Path) -> None:
    import zxingcpp

    doc = json.loads((planned / "plan.json").read_text(encoding="utf-8"))
    districts = {v["district_id"] for v in doc["visits"]}
    files = sorted((planned / "notices").glob("notice-*.pdf"))
    assert {f.stem.removeprefix("notice-") for f in files} == districts
    page = PdfReader(planned / "notices" / "notice-kawamae.pdf").pages[0]
    text = page.extract_text()
    assert "川前地区 巡回のお知らせ" in text and "令和8年12月" in text
    images = list(page.images)
    assert images
    found = zxingcpp.read_barcodes(images[0].image)
    assert found and found[0].text.startswith("お出かけ市役所 川前 巡回日程")
    kawamae = [v for v in doc["visits"] if v["district_id"] == "kawamae"]
    assert f"{kawamae[0]['date']} {kawamae[0]['start']}-{kawamae[0]['end']}" in found[0].text


def test_replan_keeps_the_plan(planned: Path) -> None:
    out = planned / "replan.json"
    result = CliRunner().invoke(
        main,
        [
            "plan",
            "--db",
            str(planned / "hub.db"),
            "--policy",
            str(EXAMPLE),
            "--out",
            str(out),
            "--today",
            TODAY,
            "--replan-from",
            "2026-12-14",
            "--keep",
            str(planned / "plan.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["moved_visits"] == []
    old = read_keep(planned / "plan.json")
    new = read_keep(out)
    assert {(k.date, k.site_id) for k in old if k.date < date(2026, 12, 14)} == {
        (k.date, k.site_id) for k in new if k.date < date(2026, 12, 14)
    }


def test_errors_are_one_japanese_line(planned: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "plan",
            "--db",
            str(planned / "hub.db"),
            "--policy",
            str(tmp_path / "none.toml"),
            "--out",
            str(tmp_path / "p.json"),
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"エラー: 計画の設定ファイルがありません: {tmp_path / 'none.toml'}"
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[districts."川前"]\nmin_visits = 3\nmax_visits = 3\nmin_days_between = 14\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main,
        [
            "plan",
            "--db",
            str(planned / "hub.db"),
            "--policy",
            str(bad),
            "--out",
            str(tmp_path / "p.json"),
            "--today",
            TODAY,
        ],
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("エラー: 計画を作れません")
    assert "川前は31日間の計画期間(12月1日〜12月31日)に最低3回の訪問が必要" in lines[0]
    assert "最大2回しか入りません" in lines[0] and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[districts.default]\nmin_visits = "three"\n',
            "エラー: 内郷の min_visits は整数で書きます('three')",
        ),
        (
            '[[vans]]\nid = "van-1"\nmaintainance = ["+2"]\n',
            "エラー: 設定ファイルの [[vans]] に不明な項目 maintainance があります"
            "(maintenance のことですか?)",
        ),
    ],
)
def test_policy_typos_are_one_japanese_line(
    planned: Path, tmp_path: Path, text: str, expected: str
) -> None:
    policy = tmp_path / "typo.toml"
    policy.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "plan",
            "--db",
            str(planned / "hub.db"),
            "--policy",
            str(policy),
            "--out",
            str(tmp_path / "p.json"),
            "--today",
            TODAY,
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [expected]
