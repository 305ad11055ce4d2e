"""Counting rules: one 回 per effective stop.open, people per effective service record."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from odekake.errors import NotFound, ValidationError
from odekake.reports.counting import (
    Counts,
    Period,
    count_period,
    count_records,
    day_summary,
    stop_summary,
)
from odekake.reports.pdf import render_day_summary, render_stop_summary
from odekake.reports.table import build_report
from odekake.storage import records
from tests.reports import util as u


def test_sessions_are_effective_stops_of_the_period(november: sqlite_utils.Database) -> None:
    counts = count_period(november, Period.month(2023, 11))
    # J was voided; I opened on Dec 1 (JST) although it is still Nov 30 in UTC.
    assert [s.stop_id for s in counts.stops] == ["A", "C", "E", "D", "G", "K", "F", "B", "H"]
    assert counts.orphans == 0


def test_a_correction_replaces_and_never_adds(november: sqlite_utils.Database) -> None:
    stops = {s.stop_id: s for s in count_period(november, Period.month(2023, 11)).stops}
    assert stops["A"].people["certificate"] == 1  # corrected record replaced the first
    assert stops["A"].amounts["cash"] == 600  # the correction's two copies
    assert stops["C"].people["frailty"] == 5  # 4 corrected to 5, not 9
    assert stops["K"].district_id == "hisanohama"  # stop.open corrected


def test_a_void_removes(november: sqlite_utils.Database) -> None:
    stops = {s.stop_id: s for s in count_period(november, Period.month(2023, 11)).stops}
    assert stops["A"].people["consultation"] == 0
    assert stops["G"].people["disaster"] == 1
    assert "J" not in stops


def test_correction_of_a_correction_counts_once(hub: sqlite_utils.Database) -> None:
    u.open_stop(hub, "s", "regular", "tabito", u.at("2024-04-02", "10:00"), ["frailty"])
    a = u.frailty(hub, "s", u.at("2024-04-02", "10:10"), 3)
    b = u.frailty(hub, "s", u.at("2024-04-02", "10:20"), 7, supersedes=a.id)
    u.frailty(hub, "s", u.at("2024-04-02", "10:30"), 6, supersedes=b.id)
    (stop,) = count_period(hub, Period.month(2024, 4)).stops
    assert stop.people["frailty"] == 6


def test_fiscal_year_boundary_uses_the_local_date(hub: sqlite_utils.Database) -> None:
    # 23:50 JST on March 31 and 00:10 JST on April 1 are both March 31 in UTC.
    late = u.at("2023-03-31", "23:50")
    early = u.at("2023-04-01", "00:10")
    assert late.date() == early.date() == date(2023, 3, 31)
    u.open_stop(hub, "mar", "regular", "kawamae", late, ["mynumber"])
    first = u.mynumber(hub, "mar", u.at("2023-03-31", "23:55"))
    u.open_stop(hub, "apr", "regular", "kawamae", early, ["mynumber"])
    u.mynumber(hub, "apr", u.at("2023-04-01", "00:20"))
    u.mynumber(hub, "apr", u.at("2023-04-01", "00:30"))
    # A void made in May (next fiscal year) still takes effect on March's stop.
    records.append(
        hub,
        records.VOID,
        {"reason": "取消", "operator_id": "op001", "target": first.id},
        supersedes=first.id,
        now=u.at("2023-05-10", "09:00"),
    )
    fy22 = count_period(hub, Period.fiscal_year(2022))
    fy23 = count_period(hub, Period.fiscal_year(2023))
    assert [s.stop_id for s in fy22.stops] == ["mar"]
    assert fy22.stops[0].people["mynumber"] == 0
    assert [s.stop_id for s in fy23.stops] == ["apr"]
    assert fy23.stops[0].people["mynumber"] == 2
    assert Period.fiscal_year(2022) == Period(date(2022, 4, 1), date(2023, 3, 31), "fiscal_year")


def test_service_without_a_stop_is_reported_not_counted(hub: sqlite_utils.Database) -> None:
    u.open_stop(hub, "s", "regular", "ogawa", u.at("2024-07-01", "10:00"), ["mynumber"])
    u.mynumber(hub, "nowhere", u.at("2024-07-01", "10:10"))
    counts = count_period(hub, Period.month(2024, 7))
    assert counts.orphans == 1
    assert counts.stops[0].people["mynumber"] == 0
    report = build_report(hub, Period.month(2024, 7))
    assert "停車記録のない利用記録 1 件は集計していません。" in report.notes


def test_purged_payloads_are_reported(hub: sqlite_utils.Database) -> None:
    u.open_stop(hub, "s", "regular", "ogawa", u.at("2024-07-01", "10:00"), ["certificate"])
    c = u.certificate(hub, "s", u.at("2024-07-01", "10:10"))
    hub.execute("UPDATE records SET payload = NULL WHERE id = ?", [c.id])
    report = build_report(hub, Period.month(2024, 7))
    assert "保存期間経過で内容が消去された記録 1 件は集計できません。" in report.notes


def test_day_summary_for_the_van_day_close(november: sqlite_utils.Database) -> None:
    day = day_summary(november, date(2023, 11, 6))
    assert [s.stop_id for s in day.stops] == ["A"]
    assert day.sessions == 1
    assert dict(day.people) == {"certificate": 1, "mynumber": 2, "explanation": 3}
    assert day.lines() == [("証明書", 1), ("マイナンバーカード", 2), ("説明/見学", 3)]
    assert dict(day.amounts) == {"cash": 600}
    assert day_summary(november, date(2023, 11, 5)).stops == []


def test_day_summary_pdf(november: sqlite_utils.Database, tmp_path: Path) -> None:
    pdf = render_day_summary(day_summary(november, date(2023, 11, 7)), tmp_path / "day.pdf")
    (page,) = u.pdf_lines(pdf)
    assert "日計表 2023年11月7日(令和5年11月7日)" in page
    # One stop (C, 田人): garbage 1, frailty 5; 1,040 yen cashless; then the day's 計.
    assert u.contains_run(page, ["ごみ納付券", "フレイル", "現金", "キャッシュレス"])
    assert u.contains_run(page, ["1人", "5人", "0円", "1,040円", "計", "1回", "1人", "5人"]), page
    empty = render_day_summary(day_summary(november, date(2023, 11, 5)), tmp_path / "e.pdf")
    assert "この日の運行記録はありません。" in u.pdf_lines(empty)[0]


def test_stop_summary_pdf(november: sqlite_utils.Database, tmp_path: Path) -> None:
    pdf = render_stop_summary(stop_summary(november, "K"), tmp_path / "stop.pdf")
    (page,) = u.pdf_lines(pdf)
    assert "停車集計 2023年11月14日(令和5年11月14日) 10:00-12:00" in page[1]
    # K (corrected to 久之浜・大久): one certificate paid cashless, 300 yen; then 計.
    row = ["10:00-12:00", "hisanohama 公民館", "地区定期巡回", "1人", "0円", "300円"]
    assert u.contains_run(page, [*row, "計", "1回", "1人", "0円", "300円"]), page


def test_stop_summary_by_category(november: sqlite_utils.Database) -> None:
    c = stop_summary(november, "C")
    assert c.people["garbage"] == 1 and c.people["frailty"] == 5
    assert c.served == 6
    assert dict(c.amounts) == {"cashless": 1040}
    assert c.offered == {"certificate", "mynumber", "garbage", "consultation", "frailty"}
    k = stop_summary(november, "K")
    assert (k.district_id, k.people["certificate"], dict(k.amounts)) == (
        "hisanohama",
        1,
        {"cashless": 300},
    )
    with pytest.raises(NotFound):
        stop_summary(november, "J")  # voided


def test_period_rules() -> None:
    assert Period.month(2024, 2).end == date(2024, 2, 29)
    assert Period.month(2023, 12).end == date(2023, 12, 31)
    with pytest.raises(ValidationError):
        Period(date(2024, 2, 2), date(2024, 2, 1))
    assert Period.fiscal_year(2022).label() == "2022年度(令和4年度)"
    assert Period.month(2023, 11).label() == "2023年11月(令和5年11月)"
    assert Period(date(2023, 9, 13), date(2023, 9, 30)).label() == (
        "2023年9月13日(令和5年9月13日)〜2023年9月30日(令和5年9月30日)"
    )
    assert datetime(2023, 3, 31, 15, 10, tzinfo=UTC) == u.at("2023-04-01", "00:10")


def _snapshot(counts: Counts) -> tuple[object, ...]:
    return (
        [
            (
                s.stop_id,
                s.activity,
                s.district_id,
                s.day,
                s.services,
                s.closed_at,
                s.site_name,
                {k: v for k, v in s.people.items() if v},
                {k: v for k, v in s.records.items() if v},
                {k: v for k, v in s.amounts.items() if v},
                {k: v for k, v in s.units.items() if v},
                {k: v for k, v in s.fees.items() if v},
            )
            for s in counts.stops
        ],
        counts.orphans,
        counts.purged,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_counting_agrees_with_iter_records_and_effective(
    hub: sqlite_utils.Database, seed: int
) -> None:
    """count_period (SQL) == count_records(iter_records + effective) on a messy log."""
    rng = random.Random(seed)
    days = ["2023-03-30", "2023-03-31", "2023-04-01", "2023-04-02"]
    stops: list[str] = []
    services: list[records.Record] = []
    for k in range(40):
        day, hhmm = rng.choice(days), rng.choice(["00:10", "10:00", "23:50"])
        sid = f"s{k}" if rng.random() > 0.05 or not stops else rng.choice(stops)  # duplicate id
        offered = rng.sample(["certificate", "mynumber", "garbage", "frailty", "explanation"], 2)
        r = u.open_stop(
            hub, sid, rng.choice(["regular", "other", "disaster"]), rng.choice(["tabito", "ogawa"]),
            u.at(day, hhmm), offered,
        )  # fmt: skip
        stops.append(sid)
        if rng.random() < 0.1:
            records.void(hub, r.id, "誤り")
        if rng.random() < 0.1:
            u.open_stop(hub, sid, "regular", "miwa", u.at(day, hhmm), offered, supersedes=r.id)
        for _ in range(rng.randint(0, 5)):
            when = u.at(day, "12:00")
            maker = rng.choice(
                [
                    lambda s, w: u.certificate(hub, s, w, copies=rng.randint(1, 3)),
                    lambda s, w: u.mynumber(hub, s, w),
                    lambda s, w: u.garbage(hub, s, w, quantity=2),
                    lambda s, w: u.frailty(hub, s, w, rng.randint(0, 9)),
                    lambda s, w: u.explanation(hub, s, w, rng.randint(1, 9)),
                ]
            )
            target = sid if rng.random() > 0.05 else "no-such-stop"
            services.append(maker(target, when))
        if rng.random() < 0.5:
            u.close_stop(hub, sid, u.at(day, "15:00"))
    for rec in rng.sample(services, len(services) // 5):
        roll = rng.random()
        if roll < 0.4:
            records.void(hub, rec.id, "取消")
        elif roll < 0.8 and rec.payload is not None:
            fixed = records.append(hub, rec.type, {**rec.payload, "people": 2}, supersedes=rec.id)
            if rng.random() < 0.5:
                records.append(hub, rec.type, {**fixed.payload, "people": 3}, supersedes=fixed.id)  # type: ignore[dict-item]
        else:
            hub.execute("UPDATE records SET payload = NULL WHERE id = ?", [rec.id])
    for period in (
        Period.fiscal_year(2022),
        Period.fiscal_year(2023),
        Period(date(2023, 3, 31), date(2023, 4, 1)),
    ):
        fast = count_period(hub, period)
        reference = count_records(records.iter_records(hub), period)
        assert _snapshot(fast) == _snapshot(reference)
    assert _snapshot(count_period(hub, Period.fiscal_year(2022)))[0]  # not vacuous
