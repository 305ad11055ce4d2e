"""The council tables of the usage report (issue 16, item 6), from records written by the
kiosk's own service functions: issue, void, correct, close, vote."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from odekake.access import clerk_keys
from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.masterdata import master
from odekake.reports.costs import set_cost
from odekake.reports.counting import Period
from odekake.reports.export import write_csv, write_xlsx
from odekake.reports.model import Report
from odekake.reports.pdf import render_report
from odekake.reports.table import build_report
from odekake.services import certificates, consultation, frailty, garbage, mynumber, stops
from odekake.services.common import Actor
from odekake.services.corrections import correct
from odekake.storage.db import write
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from tests.kiosk.conftest import DAY, NOW
from tests.kiosk.test_services import cert_form, mn_form
from tests.reports import util as u

D = "–"
AS_OF = date(2026, 11, 26)
ROLL = (
    "選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区\n"
    "000101,山田 太郎,ヤマダ タロウ,1950-03-02,男,いわき市田人町1,田人第1\n"
    "000102,佐藤 花子,サトウ ハナコ,1948-07-15,女,いわき市田人町2,田人第1\n"
    "000103,鈴木 京子,スズキ キョウコ,1945-01-05,女,いわき市田人町3,田人第1\n"
)


def _election(electors: int) -> el.Election:
    return el.election_from_dict(
        {
            "id": "e-2026",
            "name": "いわき市議会議員一般選挙(試験)",
            "election_day": (DAY + timedelta(days=3)).isoformat(),
            "early_from": (DAY - timedelta(days=3)).isoformat(),
            "early_to": (DAY + timedelta(days=2)).isoformat(),
            "ballots": [{"kind": "senkyoku", "label": "選挙区", "opens_on": DAY.isoformat()}],
            "stations": [
                {
                    "id": "tabito-van",
                    "name": "移動期日前投票所(田人)",
                    "kind": "mobile",
                    "date": DAY.isoformat(),
                    "opens": "09:00",
                    "closes": "17:00",
                    "district": "tabito",
                    "electors": electors,
                }
            ],
        }
    )


def _day_of_services(kdb: sqlite_utils.Database, tmp_path: Path) -> dict[str, Any]:
    """The morning round at 川前 and an afternoon voting stop at 田人, as the kiosk does it."""
    master.add_operator(kdb, "cl001", "高橋 美咲", ["clerk"], "345678", kdf=TEST_ONLY_CHEAP_KDF)
    with write(kdb):
        kdb.execute(
            'INSERT INTO plan_visits(id, plan_id, date, van_id, service_window, start, "end", '
            "site_id, district_id, activity, services, order_in_day) VALUES "
            "('pv-3', 'plan-1', ?, 'van-1', 'pm', '15:45', '17:00', 'tabito-01', 'tabito', "
            "'voting', '[\"voting\"]', 3)",
            [DAY.isoformat()],
        )
    am = stops.open_planned(kdb, "pv-1", operator_id="op001", now=NOW)
    actor = Actor(operator_id="op001", stop_id=str(am.payload["stop_id"]), now=NOW)  # type: ignore[index]
    kept = certificates.issue(kdb, cert_form(), actor)  # 1 copy, cash
    three = certificates.issue(kdb, cert_form(copies="3", payment="cashless"), actor)
    spoiled = certificates.issue(kdb, cert_form(copies="2"), actor)
    certificates.void_receipt(
        kdb,
        spoiled.payload["receipt_no"],  # type: ignore[index]
        operator_id="sv001",
        roles=("supervisor",),
        now=NOW,
    )
    code = garbage.ticket_kinds(kdb)[0].code
    tickets = garbage.sell(
        kdb, {"service_code": code, "quantity": "2", "payment": "cashless"}, actor
    )
    mynumber.apply(kdb, mn_form(), actor)
    consultation.hold(kdb, {"topic": "年金", "referral_id": ""}, actor)
    counted = frailty.check(kdb, {"people": "5"}, actor)
    correct(kdb, counted.id, {"people": 4}, operator_id="sv001", reason="数え直し")
    stops.close_stop(kdb, actor.stop_id, now=NOW)
    # afternoon: the mobile early-voting station at 田人; 2 of the station's 190 electors vote
    election = _election(190)
    el.save_election(kdb, election)
    roll_csv = tmp_path / "roll.csv"
    roll_csv.write_text(ROLL, encoding="utf-8")
    rl.import_roll(kdb, election.id, roll_csv)  # sealed on the van
    assert clerk_keys.unlock(kdb, "cl001", "345678")  # the clerk's login opens it
    later = NOW + timedelta(hours=6)
    pm = stops.open_planned(kdb, "pv-3", operator_id="op001", now=later)
    stop_id = str(pm.payload["stop_id"])  # type: ignore[index]
    for no in ("000101", "000102"):
        ck.record_cast(
            kdb,
            election=election,
            station_id="tabito-van",
            voter=rl.find_by_voter_no(kdb, election.id, no),  # type: ignore[arg-type]
            request_id=ck.new_request_id(),
            ballots=["senkyoku"],
            clerk_id="cl001",
            checked_at=later.isoformat(),
            stop_id=stop_id,
            now=later,
        )
    stops.close_stop(kdb, stop_id, now=later + timedelta(hours=1))
    return {
        "cash": kept.payload["amount"],  # type: ignore[index]
        "cert_cashless": three.payload["amount"],  # type: ignore[index]
        "garbage_cashless": tickets.payload["amount"],  # type: ignore[index]
    }


def _table(report: Report, key: str) -> Any:
    return next(t for t in report.council if t.key == key)


def test_council_tables_from_kiosk_services(kdb: sqlite_utils.Database, tmp_path: Path) -> None:
    fees = _day_of_services(kdb, tmp_path)
    set_cost(kdb, 2026, 12_000_000, note="車両・人件費")
    report = build_report(kdb, Period.month(2026, 11), today=AS_OF)
    kawamae = master.district(kdb, "kawamae").name
    tabito = master.district(kdb, "tabito").name

    # certificate copies beside people: the voided receipt (2 copies) is not counted
    copies = _table(report, "copies")
    assert copies.rows[0][:4] == ["地区定期巡回", kawamae, 2, 4]
    assert copies.rows[0][4:] == [1, 2]  # 1 person bought 2 garbage tickets
    # fees by payment method (現金 / キャッシュレス); the voided receipt's fee is not in
    f = {r[0]: r[1:] for r in _table(report, "fees").rows}
    assert f["証明書"][:3] == [
        fees["cash"],
        fees["cert_cashless"],
        fees["cash"] + fees["cert_cashless"],
    ]
    assert f["ごみ納付券"][:3] == [0, fees["garbage_cashless"], fees["garbage_cashless"]]
    total = fees["cash"] + fees["cert_cashless"] + fees["garbage_cashless"]
    assert f["計"][:3] == [fees["cash"], total - fees["cash"], total]
    assert f["計"][3] == round(100 * (total - fees["cash"]) / total, 1)
    # users per session: 川前 1 回, 2 certificates + 1 garbage + 1 My Number + 1 consultation
    # + 4 frailty (corrected from 5: replaced, not added) = 9
    per = {(r[0], r[1]): r[2:] for r in _table(report, "users_per_session").rows}
    assert per[("地区定期巡回", kawamae)] == [1, 9, 9.0]
    assert per[("移動期日前投票所", "")] == [1, 2, 2.0]
    # monthly users by category: November, marked as partial (as-of the 26th)
    monthly = _table(report, "monthly_users")
    assert monthly.header[:2] == ["月", "回数"]
    nov = monthly.rows[0]
    assert nov[0] == "2026年11月(26日現在)" and nov[1] == 2 and nov[-1] == 11
    by = dict(zip(monthly.header, nov, strict=True))
    assert (by["証明書"], by["フレイル"], by["期日前投票"]) == (2, 4, 2)
    # early voting: electorate from the election's station, voters from vote.cast
    voting = _table(report, "early_voting").rows
    assert voting == [["記録", DAY.isoformat(), tabito, 190, 2, 1.1, 2]]
    # previous year (same period): nothing a year earlier, so "–" (not 0)
    prev = {(r[0], r[1]): r for r in _table(report, "previous_year").rows}
    assert prev[("地区定期巡回", kawamae)][2:5] == [1, D, D]
    assert prev[("サービス提供者数", "")][5:] == [11, D, D]
    # costs: a month is only part of the fiscal year, so no cost per user
    cost = _table(report, "costs").rows
    assert cost[0][:4] == ["2026年度(令和8年度)", 12_000_000, 11, D]

    fy = build_report(kdb, Period.fiscal_year(2026), today=AS_OF)
    row = _table(fy, "costs").rows[0]
    assert row[:4] == ["2026年度(令和8年度)", 12_000_000, 11, round(12_000_000 / 11)]
    assert "2026年11月26日現在" in row[4]
    # Dec–Mar are after the as-of day: no point, not 0
    assert [n for m, n in fy.monthly_sessions if m > (2026, 11)] == [None] * 4
    assert dict(fy.monthly_sessions)[(2026, 11)] == 2

    # the same tables in the CSV, the XLSX and the PDF
    c = write_csv(fy, tmp_path / "fy.csv")
    x = write_xlsx(fy, tmp_path / "fy.xlsx")
    pdf = render_report(fy, tmp_path / "fy.pdf")
    csv_council = u.csv_sections(c)["council"]
    xlsx_council = u.xlsx_sections(x)["council"]
    for title in ("■ 前年度同期との比較", "■ 手数料の収納額(支払方法別)", "■ 移動期日前投票所の選挙人数と投票率",
                  "■ 事業費と利用者1人あたりの費用", "■ 証明書の通数・ごみ納付券の枚数(利用者数との比較)"):  # fmt: skip
        assert [title] in csv_council and [title] in xlsx_council
    assert ["記録", DAY.isoformat(), tabito, "190", "2", "1.1", "2"] in csv_council
    assert ["記録", DAY.isoformat(), tabito, 190, 2, 1.1, 2] in xlsx_council
    text = [line for page in u.pdf_lines(pdf) for line in page]
    assert "■ 手数料の収納額(支払方法別)" in text and "12,000,000" in text
