"""The calendar PDF never cuts a site name (issue 13 item 10): long names wrap inside
their day cell, a crowded day shrinks its type, and the PDF reads back whole."""

from __future__ import annotations

import re
from pathlib import Path

from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from odekake.documents.pdf import register_fonts
from planner.output import _day_lines, wrap, write_calendar_pdf
from planner.plan import DistrictTotal, Plan, PlanVisit, SolverReport

LONG = "久之浜ふれあい交流センター多目的ホール"
SHORT = "久之浜ふれあいセンター"


def _visit(day: str, van: str, start: str, site: str, activity: str = "regular") -> PlanVisit:
    end = {"10:00": "12:00", "13:30": "15:30"}[start]
    return PlanVisit(
        date=day,
        van_id=van,
        window=f"{start}-{end}",
        start=start,
        end=end,
        site_id="hisanohama-03",
        site_name=site,
        district_id="hisanohama",
        district_name="久之浜・大久",
        activity=activity,
        arrive=start,
        depart=end,
        order=1 if start == "10:00" else 2,
        opened_day=False,
        travel_minutes=0,
    )


def _plan(visits: list[PlanVisit]) -> Plan:
    return Plan(
        id="0f0e0d0c-0000-4000-8000-000000000000",
        created_at="2026-11-20T00:00:00+00:00",
        horizon_start="2026-12-01",
        horizon_end="2026-12-31",
        visits=visits,
        districts=[DistrictTotal("hisanohama", "久之浜・大久", 1, 1, 1.0, 0, 9)],
        solver=SolverReport("highs", "optimal", 1.0, 1.0, 0.0, 0.1),
    )


def test_wrap_keeps_every_character_within_the_width() -> None:
    font = register_fonts()
    lines = wrap(LONG, font, 6.5, 60)
    assert "".join(lines) == LONG and len(lines) > 1
    assert all(stringWidth(line, font, 6.5) <= 60 for line in lines)
    assert wrap(SHORT, font, 6.5, 500) == [SHORT]


def test_a_crowded_day_still_shows_each_whole_name() -> None:
    font = register_fonts()
    visits = [
        _visit("2026-12-02", van, start, LONG, activity)
        for van in ("van-1", "van-2")
        for start, activity in (("10:00", "regular"), ("13:30", "disaster"))
    ]
    lines = _day_lines(visits, font, 6.5, 106, many_vans=True)
    text = "".join(t for t, _indent in lines)
    assert text.count(LONG) == 4
    assert text.count("[り災証明書出張申請受付]") == 2


def test_calendar_pdf_reads_back_with_full_site_names(tmp_path: Path) -> None:
    visits = [
        _visit("2026-12-01", "van-1", "10:00", SHORT),
        _visit("2026-12-01", "van-1", "13:30", LONG),
        *(
            _visit("2026-12-16", van, start, LONG)
            for van in ("van-1", "van-2")
            for start in ("10:00", "13:30")
        ),
    ]
    path = tmp_path / "cal.pdf"
    write_calendar_pdf(_plan(visits), path)
    text = re.sub(r"\s+", "", PdfReader(path).pages[0].extract_text())
    assert SHORT in text
    assert text.count(LONG) == 5
