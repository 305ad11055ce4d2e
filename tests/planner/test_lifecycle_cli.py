"""Issue 13 item 3 on the demo, through the command line: a plan and a re-plan no longer
pile up on the van. ``odekake plan`` makes drafts, ``plan publish`` supersedes, the
van receives (down-sync snapshot) and lists (kiosk day list) only what is in force.
Also ``plan list|show|discard``, ``plan import-csv`` and ``plan check``."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from odekake.access import audit
from odekake.cli import main
from odekake.services.stops import planned_visits
from odekake.storage.db import connect
from odekake.sync.snapshot import apply_snapshot, snapshot_for
from planner import lifecycle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plan.toml"
TODAY = "2026-11-20"  # the demo's "today"; the example plans December 2026
DEC = [date(2026, 12, 1) + timedelta(days=i) for i in range(31)]


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _copy(src: Path, dst: Path) -> None:
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    a.close()
    b.close()


def _plan_id(result: Result) -> str:
    m = re.search(r"下書きとして保存しました\(計画ID ([0-9a-f-]{36})\)", result.output)
    assert m, result.output
    return m.group(1)


def _sync(hub: Path, van: Path) -> None:
    apply_snapshot(connect(van), snapshot_for(connect(hub), "van-1"))


def _van_day(van: Path, d: date) -> list[tuple[str, str]]:
    return [(v.window, v.site_id) for v in planned_visits(connect(van), "van-1", d)]


def _hub_day(hub: Path, d: date) -> list[tuple[str, str]]:
    return [
        (f"{v.start}-{v.end}", v.site_id)
        for v in lifecycle.published_visits(connect(hub), "van-1", d, d)
    ]


@pytest.fixture(scope="module")
def demo(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("life")
    _copy(demo_dir / "hub.db", out / "hub.db")
    _copy(demo_dir / "van.db", out / "van.db")
    yield out


@pytest.fixture(scope="module")
def replanned(demo: Path) -> dict[str, str]:
    """Plan December (draft), publish it, re-plan from 14 December without --keep
    (from the published plan), publish that: the ids of both plans."""
    hub, van = demo / "hub.db", demo / "van.db"
    _sync(hub, van)
    demo_day = _van_day(van, date(2026, 12, 2))
    assert len(demo_day) == 2  # the demo's published plan, as the van had it
    (demo_plan,) = lifecycle.list_plans(connect(hub), status="published")
    first = cli(
        "plan", "--db", str(hub), "--policy", str(EXAMPLE), "--today", TODAY,
        "--time-limit", "30", "--csv", str(demo / "plan.csv"), "--out", str(demo / "plan.json"),
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    a = _plan_id(first)
    assert "公開するまで車両には届きません" in first.output
    # A draft changes nothing on the van.
    _sync(hub, van)
    assert _van_day(van, date(2026, 12, 2)) == demo_day
    pub = cli("plan", "publish", "--db", str(hub), a, "--today", TODAY)
    assert pub.exit_code == 0, pub.output
    assert f"計画 {a} を公開しました" in pub.output
    assert f"差し替え: 計画 {demo_plan.id[:8]} の訪問" in pub.output
    second = cli(
        "plan", "--db", str(hub), "--policy", str(EXAMPLE), "--today", TODAY,
        "--time-limit", "30", "--replan-from", "2026-12-14", "--label", "再計画",
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    b = _plan_id(second)
    assert cli("plan", "publish", "--db", str(hub), b[:8], "--today", TODAY).exit_code == 0
    _sync(hub, van)
    return {"first": a, "second": b}


def test_after_a_plan_and_a_replan_the_van_lists_only_published_stops(
    demo: Path, replanned: dict[str, str]
) -> None:
    hub, van = demo / "hub.db", demo / "van.db"
    db = connect(hub)
    stored = db.execute(
        "SELECT COUNT(*) FROM plan_visits WHERE van_id = 'van-1' AND date = '2026-12-15'"
    ).fetchone()[0]
    assert stored >= 4  # demo, first plan and re-plan all stored for that day...
    for d in DEC:
        shown = _van_day(van, d)
        # ...but each day on the van is exactly what is in force at the hub,
        assert shown == _hub_day(hub, d), d
        # never two stops at once (the old bug listed demo, old and new together).
        assert len({w for w, _s in shown}) == len(shown), d
    # The December days come from the two planner runs, none from the demo's rotation
    dec = (
        connect(van)
        .execute("SELECT DISTINCT plan_id FROM plan_visits WHERE date >= '2026-12-01'")
        .fetchall()
    )
    # (or from the demo's own planner-made plan, where a run kept an identical visit in
    # force under its first id)
    demo_id = next(p.id for p in lifecycle.list_plans(db) if p.label.startswith("デモの計画"))
    assert {r[0] for r in dec} <= {replanned["first"], replanned["second"], demo_id}
    # After 14 December the re-plan speaks; before it, the first plan's visits stay
    # in force under their first ids (unchanged visits are not re-issued).
    late = (
        connect(van)
        .execute("SELECT DISTINCT plan_id FROM plan_visits WHERE date >= '2026-12-14'")
        .fetchall()
    )
    early = (
        connect(van)
        .execute(
            "SELECT DISTINCT plan_id FROM plan_visits WHERE date BETWEEN '2026-12-01' AND '2026-12-13'"
        )
        .fetchall()
    )
    assert replanned["first"] in {r[0] for r in early}
    assert {r[0] for r in early} <= {replanned["first"], demo_id}
    assert {r[0] for r in late} <= {replanned["first"], replanned["second"]}


def test_the_replan_starts_from_the_published_plan(demo: Path, replanned: dict[str, str]) -> None:
    db = connect(demo / "hub.db")
    s = lifecycle.summary(db, replanned["second"])
    assert (s.parent_id, s.replan_from, s.label) == (replanned["first"], "2026-12-14", "再計画")
    first = {
        (v.date, v.start, v.site_id) for v in lifecycle.load_plan(db, replanned["first"]).visits
    }
    second = {
        (v.date, v.start, v.site_id) for v in lifecycle.load_plan(db, replanned["second"]).visits
    }
    before = {x for x in first if x[0] < "2026-12-14"}
    assert before and before == {x for x in second if x[0] < "2026-12-14"}
    # The reservation (3-16 December) happened once; the re-plan knows it (event ids are
    # read back from the published plan) and neither repeats nor moves it.
    for pid in (replanned["first"], replanned["second"]):
        resv = [v for v in lifecycle.load_plan(db, pid).visits if v.activity == "reservation"]
        assert len(resv) == 1, pid
    assert lifecycle.load_plan(db, replanned["second"]).moved == []


def test_list_show_and_the_audit_trail(demo: Path, replanned: dict[str, str]) -> None:
    hub = str(demo / "hub.db")
    out = cli("plan", "list", "--db", hub)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert any(line.startswith(replanned["second"][:8]) and "公開中" in line for line in lines)
    # The demo plan (20 November - 17 December) keeps its November days in force.
    demo_line = next(line for line in lines if "デモの計画" in line)
    assert "公開中" in demo_line
    nov = len(
        lifecycle.published_visits(connect(demo / "hub.db"), "van-1", "2026-11-20", "2026-11-30")
    )
    kept = int(demo_line.split("(うち有効 ", 1)[1].split(")", 1)[0])
    assert nov > 0 and kept >= nov  # and December visits the later plans kept identical
    drafts = cli("plan", "list", "--db", hub, "--status", "draft")
    assert replanned["first"][:8] not in drafts.output
    show = cli("plan", "show", "--db", hub, replanned["second"][:8])
    assert show.exit_code == 0, show.output
    assert "2026-12-15" in show.output and "訪問ID" in show.output
    actions = [(e.action, e.target) for e in audit.entries(connect(demo / "hub.db"))]
    assert ("plan.publish", replanned["first"]) in actions
    assert ("plan.publish", replanned["second"]) in actions
    assert ("plan.create", replanned["second"]) in actions


def test_publish_and_discard_refusals_are_one_japanese_line(
    demo: Path, replanned: dict[str, str]
) -> None:
    hub = str(demo / "hub.db")
    again = cli("plan", "publish", "--db", hub, replanned["second"], "--today", TODAY)
    assert again.exit_code == 1
    assert again.output.strip().splitlines() == [
        f"エラー: 公開できるのは下書きの計画だけです(計画 {replanned['second'][:8]} は「公開中」です)"
    ]
    gone = cli("plan", "discard", "--db", hub, "nothere1")
    assert gone.exit_code == 1 and gone.output.startswith("エラー: 計画がありません: nothere1")
    no_policy = cli("plan", "--db", hub)
    assert no_policy.exit_code == 1 and "--policy" in no_policy.output


def test_import_csv_saved_by_excel_then_check(demo: Path, replanned: dict[str, str]) -> None:
    hub = str(demo / "hub.db")
    text = (demo / "plan.csv").read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    # Excel re-saves as Shift_JIS and shows dates as 2026/12/01; nothing else changes.
    path = demo / "excel.csv"
    resaved = [lines[0]] + [r.replace("2026-12-", "2026/12/", 1) for r in lines[1:]]
    path.write_bytes(("\r\n".join(resaved) + "\r\n").encode("cp932"))
    r = cli("plan", "import-csv", "--db", hub, str(path))
    assert r.exit_code == 0, r.output
    m = re.search(r"計画ID ([0-9a-f-]{36})、訪問 (\d+)件\(元の計画 ([\w-]{8})\)", r.output)
    assert m, r.output
    assert int(m.group(2)) == len(lines) - 1
    assert m.group(3) in (replanned["first"][:8], replanned["second"][:8])
    db = connect(demo / "hub.db")
    new = lifecycle.load_plan(db, m.group(1))
    old = lifecycle.load_plan(db, replanned["first"])
    assert lifecycle.summary(db, new.id).status == "draft"
    assert [(v.date, v.van_id, v.start, v.site_id, v.activity, v.services) for v in new.visits] == [
        (v.date, v.van_id, v.start, v.site_id, v.activity, v.services) for v in old.visits
    ]
    for plan in (str(demo / "plan.json"), new.id):
        check = cli("plan", "check", "--db", hub, "--policy", str(EXAMPLE), plan)
        assert check.exit_code == 0, check.output
        assert check.output.startswith("OK: 計画")


def test_check_names_a_moved_stop_on_a_sunday(demo: Path, replanned: dict[str, str]) -> None:
    hub = str(demo / "hub.db")
    text = (demo / "plan.csv").read_text(encoding="utf-8-sig").splitlines()
    header, row = text[0], text[1].split(",")
    row[0] = "2026-12-06"  # a Sunday
    path = demo / "sunday.csv"
    path.write_text("\r\n".join([header, ",".join(row), *text[2:]]) + "\r\n", encoding="utf-8-sig")
    r = cli("plan", "import-csv", "--db", hub, str(path), "--from", replanned["first"][:8])
    assert r.exit_code == 0, r.output
    new_id = re.search(r"計画ID ([0-9a-f-]{36})", r.output).group(1)  # type: ignore[union-attr]
    check = cli("plan", "check", "--db", hub, "--policy", str(EXAMPLE), new_id)
    assert check.exit_code == 1
    assert "NG: 12月6日(日) van-1 " in check.output
    assert "稼働日ではありません(土日・祝日・休業日)" in check.output


def test_import_csv_names_every_bad_line(demo: Path, replanned: dict[str, str]) -> None:
    """Reads the plan.csv the replan wrote (it asks for that fixture, so it never runs first)."""
    hub = str(demo / "hub.db")
    text = (demo / "plan.csv").read_text(encoding="utf-8-sig").splitlines()
    header = text[0]
    bad = [r.split(",") for r in text[1:4]]
    bad[0][0] = "12月1日"
    bad[1][2] = "van-9"
    bad[2][8] = "nowhere-01"
    path = demo / "bad.csv"
    path.write_text(
        "\r\n".join([header, *(",".join(r) for r in bad)]) + "\r\n", encoding="utf-8-sig"
    )
    before = len(lifecycle.list_plans(connect(demo / "hub.db")))
    r = cli("plan", "import-csv", "--db", hub, str(path))
    assert r.exit_code == 1
    out = r.output.strip()
    assert out.startswith("エラー: 計画CSVの取り込みを中止しました(1件も登録していません)")
    assert "2行目: 日付 '12月1日' は 2026-12-08 の形で書きます" in out
    assert "3行目: 車両 'van-9' がマスタにありません" in out
    assert "4行目: 会場ID 'nowhere-01' がマスタにありません" in out
    assert len(lifecycle.list_plans(connect(demo / "hub.db"))) == before


def test_the_example_hand_edits_hold_when_uncommented(demo: Path, tmp_path: Path) -> None:
    """The commented [[pins]] and [[forbid]] of examples/plan.toml, switched on."""
    text = EXAMPLE.read_text(encoding="utf-8")
    head, edits = text.split("# Hand edits", 1)
    switched = [line[2:] for line in edits.splitlines() if re.match(r"# (\[\[|[a-z]+ =)", line)]
    policy = tmp_path / "plan.toml"
    policy.write_text(head + "\n".join(switched) + "\n", encoding="utf-8")
    out = tmp_path / "plan.json"
    r = cli(
        "plan", "--db", str(demo / "hub.db"), "--policy", str(policy), "--today", TODAY,
        "--time-limit", "30", "--out", str(out),
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    plan = lifecycle.load_plan(connect(demo / "hub.db"), _plan_id(r))
    stops = {(v.date, v.start, v.site_id, v.van_id) for v in plan.visits}
    assert ("2026-12-08", "10:00", "kawamae-01", "van-1") in stops
    assert not any(
        v.site_id in ("tabito-01", "tabito-02") and v.date in ("2026-12-02", "2026-12-03")
        for v in plan.visits
    )
    assert not any(
        v.district_id == "ogawa" and "2026-12-20" <= v.date <= "2026-12-25" for v in plan.visits
    )
    check = cli("plan", "check", "--db", str(demo / "hub.db"), "--policy", str(policy), str(out))
    assert check.exit_code == 0, check.output
