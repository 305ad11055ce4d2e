"""No CSV or XLSX the project writes carries a formula typed by a user (OWASP "CSV
injection"): one helper, :func:`odekake.documents.spreadsheet.neutralise`, checked per export."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from odekake.documents.spreadsheet import neutralise
from odekake.masterdata import master, site_files
from odekake.masterdata.master import seed_city
from odekake.reports.counting import Period
from odekake.reports.export import to_csv, write_xlsx
from odekake.reports.table import build_report
from odekake.storage.db import connect, memory_db, write
from odekake.voting import elections as el
from odekake.voting.report import csv_text as election_csv
from odekake.voting.tally import tally
from planner.output import csv_text as plan_csv
from planner.plan import Plan, PlanVisit
from tests.reports.conftest import build_november
from tests.voting.conftest import election_data

FORMULAS = ['=HYPERLINK("http://evil.example","開く")', "@SUM(1+1)", "+cmd|' /C calc'!A0"]
EVIL = FORMULAS[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-3", "-3"),  # a number stays a number
        ("+12", "+12"),
        ("-0.5", "-0.5"),
        ("1,234", "1,234"),
        (-3, -3),
        (2.5, 2.5),
        ("小川町", "小川町"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
    ],
)
def test_neutralise(value: object, expected: object) -> None:
    assert neutralise(value) == expected


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def assert_no_formula(values: list[object]) -> None:
    for v in values:
        if isinstance(v, str) and v[:1] in ("=", "@", "\t", "\r", "+", "-"):
            assert neutralise(v) == v, f"formula left in a cell: {v!r}"


def test_sites_and_districts_csv(tmp_path: Path) -> None:
    db = memory_db("hub")
    seed_city(db)
    district = master.districts(db)[0]
    site_files.save_site(
        db,
        {
            "id": "evil-1",
            "district": district.id,
            "name": EVIL,
            "kind": "集会所",
            "lat": "37.1",
            "lon": "140.8",
            "open_weekdays": "",
            "open_from": "",
            "open_to": "",
            "notes": FORMULAS[1],
        },
        actor="test",
    )
    with write(db):
        db.execute("UPDATE districts SET notes = ? WHERE id = ?", [FORMULAS[2], district.id])
    sites = cells(site_files.export_sites(db))
    assert "'" + EVIL in sites and "'" + FORMULAS[1] in sites
    assert_no_formula(sites)
    districts = cells(site_files.export_districts(db))
    assert "'" + FORMULAS[2] in districts
    assert_no_formula(districts)


def test_plan_csv() -> None:
    visit = PlanVisit(
        date="2026-12-01",
        van_id="van-1",
        window="am",
        start="10:00",
        end="12:00",
        site_id="evil-1",
        site_name=EVIL,
        district_id="ogawa",
        district_name=FORMULAS[1],
        activity="regular",
        arrive="09:50",
        depart="12:10",
        order=1,
        opened_day=True,
        travel_minutes=-5,
    )
    plan = Plan.__new__(Plan)
    fields = {f.name: None for f in dataclasses.fields(Plan)}
    fields.update(visits=[visit], moved=[], notes=[], explanations={}, driving=[])
    for k, v in fields.items():
        object.__setattr__(plan, k, v)
    got = cells(plan_csv(plan))
    assert "'" + EVIL in got and "'" + FORMULAS[1] in got
    assert_no_formula(got)


def test_usage_report_csv_and_xlsx(tmp_path: Path) -> None:
    db = memory_db("hub")
    seed_city(db)
    build_november(db)
    with write(db):
        db.execute("UPDATE districts SET name = ? || '#' || id", [EVIL])
    report = build_report(db, Period.month(2023, 11))
    got = cells(to_csv(report))
    assert any(c.startswith("'" + EVIL) for c in got)
    assert_no_formula(got)
    ws = load_workbook(write_xlsx(report, tmp_path / "r.xlsx")).active
    assert ws is not None
    values = [c.value for row in ws.iter_rows() for c in row]
    assert any(isinstance(v, str) and v.startswith("'" + EVIL) for v in values)
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert_no_formula(values)
    assert any(isinstance(v, int) and v > 0 for v in values)  # numbers stay numbers


def test_election_report_csv(tmp_path: Path) -> None:
    db = connect(tmp_path / "hub.db", role="hub", create=True)
    master.seed_districts(db)
    data = election_data()
    data["stations"][0]["name"] = EVIL
    el.save_election(db, el.election_from_dict(data))
    got = cells(election_csv(tally(db, data["id"])))
    assert "'" + EVIL in got
    assert_no_formula(got)
