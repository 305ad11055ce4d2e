"""The usage report, from records written by the kiosk's own service functions.

The same code paths the operator drives (open a planned stop, issue, void, correct,
close) feed the month's report; every cell of the two rows is compared by hand.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from odekake.masterdata import master
from odekake.reports.counting import Period
from odekake.reports.export import write_csv, write_xlsx
from odekake.reports.table import build_report
from odekake.services import (
    certificates,
    consultation,
    disaster,
    explanation,
    frailty,
    mynumber,
    stops,
)
from odekake.services.common import Actor
from odekake.services.corrections import correct
from tests.kiosk.conftest import NOW
from tests.kiosk.test_services import cert_form, dis_form, mn_form
from tests.reports import util as u

D = "–"


def test_month_report_from_kiosk_services(kdb: sqlite_utils.Database, tmp_path: Path) -> None:
    # morning: the planned regular round at 川前
    am = stops.open_planned(kdb, "pv-1", operator_id="op001", now=NOW)
    actor = Actor(operator_id="op001", stop_id=str(am.payload["stop_id"]), now=NOW)  # type: ignore[index]
    offered = am.payload["services"]  # type: ignore[index]
    kept = certificates.issue(kdb, cert_form(), actor)
    spoiled = certificates.issue(kdb, cert_form(copies="2"), actor)
    certificates.void_receipt(
        kdb,
        spoiled.payload["receipt_no"],
        operator_id="sv001",
        roles=("supervisor",),  # type: ignore[index]
        now=NOW,
    )
    mynumber.apply(kdb, mn_form(), actor)
    consultation.hold(kdb, {"topic": "年金", "referral_id": ""}, actor)
    counted = frailty.check(kdb, {"people": "5"}, actor)
    correct(kdb, counted.id, {"people": 4}, operator_id="sv001", reason="数え直し")
    explanation.add_visitors(kdb, actor)
    explanation.add_visitors(kdb, actor, 2)
    stops.close_stop(kdb, actor.stop_id, now=NOW)
    # afternoon: the planned り災 session at 田人
    pm = stops.open_planned(
        kdb, "pv-2", operator_id="op001", now=NOW, hours_reason="午前から続けて開く"
    )
    actor_pm = Actor(operator_id="op001", stop_id=str(pm.payload["stop_id"]), now=NOW)  # type: ignore[index]
    disaster.apply(kdb, dis_form(), actor_pm)
    disaster.apply(kdb, dis_form(), actor_pm)
    stops.close_stop(kdb, actor_pm.stop_id, now=NOW)
    assert kept.payload is not None

    report = build_report(kdb, Period.month(2026, 11))
    csv_path = write_csv(report, tmp_path / "r.csv")
    xlsx_path = write_xlsx(report, tmp_path / "r.xlsx")
    garbage = 0 if "garbage" in offered else D
    kawamae = master.district(kdb, "kawamae").name
    # 証明書 1 (the voided receipt does not count), マイナンバー 1, 相談 1, フレイル 4 (corrected
    # from 5: replaced, not added), 計 7, 説明者数 3.
    expected = [
        ["地区定期巡回", kawamae, 1, 1, 1, garbage, 1, 4, 7, 3, ""],
        ["地区定期巡回", "計", 1, 1, 1, garbage, 1, 4, 7, 3, ""],
        ["り災証明書出張申請受付", "", 1, D, D, D, D, D, 2, D, ""],
    ]
    for sections in (u.csv_sections(csv_path), u.xlsx_sections(xlsx_path)):
        table = sections["table"]
        assert table[0][:3] == ["活動", "地区", "回数"]
        body = [[c if c != "" else "" for c in row] for row in table[1:]]
        as_text = [u.as_csv_text(r) for r in expected]
        got = [u.as_csv_text(r) for r in body]
        assert got == as_text, got
