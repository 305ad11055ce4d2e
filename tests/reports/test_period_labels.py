"""What a report says about its own period: a tally's end, the as-of day, and where the
XLSX repeats its header."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlite_utils
from openpyxl import load_workbook

from odekake.reports.counting import Period
from odekake.reports.export import write_xlsx
from odekake.reports.pdf import render_report
from odekake.reports.svg import chart_svgs
from odekake.reports.table import build_report
from odekake.reports.tally_store import import_file
from tests.reports import util as u
from tests.reports.test_tallies import EXAMPLE


def test_records_after_a_tally_drop_its_until_label(
    hub: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_file(hub, EXAMPLE)  # FY2023 up to 2023-11-30: "(R5.11まで)"
    u.open_stop(hub, "Z", "regular", "kawamae", u.at("2024-01-15", "10:00"), ["certificate"])
    u.certificate(hub, "Z", u.at("2024-01-15", "10:10"))
    report = build_report(hub, Period.fiscal_year(2023), today=date(2026, 11, 26))
    assert report.period_statements == []
    assert "(R5.11まで)" not in report.period_text
    pages = u.pdf_lines(render_report(report, tmp_path / "r.pdf"))
    assert not any("R5.11まで" in line for page in pages for line in page)


def test_a_closed_year_is_not_said_to_be_as_of_today(
    hub: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_file(hub, EXAMPLE)
    report = build_report(hub, Period.fiscal_year(2022), today=date(2026, 11, 26))
    pages = u.pdf_lines(render_report(report, tmp_path / "r.pdf"))
    assert not any("現在" in line for page in pages for line in page)
    assert all("現在" not in caption for caption, _svg in chart_svgs(report))
    # A year still running keeps it.
    running = build_report(hub, Period.fiscal_year(2026), today=date(2026, 11, 26))
    assert any("2026年11月26日現在" in caption for caption, _svg in chart_svgs(running))


def test_the_xlsx_repeats_the_table_header_only_above_the_table(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    report = build_report(november, Period.month(2023, 11), today=date(2026, 11, 26))
    wb = load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))
    main, extra = wb.worksheets
    assert main.print_title_rows
    assert not any(
        isinstance(c.value, str) and c.value.startswith("■ ")
        for row in main.iter_rows()
        for c in row
    )
    titles = [r[0] for r in extra.iter_rows(values_only=True) if r and str(r[0]).startswith("■ ")]
    assert titles == [f"■ {t.title}" for t in report.council]
    assert not extra.print_title_rows
    assert extra.page_setup.orientation == "landscape"
    assert "&P / &N ページ" in extra.oddFooter.right.text
