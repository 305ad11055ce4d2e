"""Usage reports: charts that tell the truth (3), flags where the
README promises them (4), and what every page and file carries (5)."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pypdf
import pytest
import sqlite_utils
from openpyxl import load_workbook
from reportlab.graphics.shapes import Circle, Drawing, Group, Line, String

from odekake.documents.pdf import register_fonts
from odekake.reports.charts import SERIES_COLORS, bar_chart, line_chart, month_ticks, value_axis
from odekake.reports.counting import Period
from odekake.reports.export import write_csv, write_xlsx
from odekake.reports.model import DEFAULT_DEPARTMENT
from odekake.reports.pdf import render_report
from odekake.reports.table import build_report
from odekake.reports.tallies import DASH
from odekake.reports.tally_store import import_file
from odekake.storage.db import write
from tests.reports import util as u
from tests.reports.test_tallies import EXAMPLE

AS_OF = date(2026, 11, 26)


def _strings(d: Drawing | Group) -> list[String]:
    out: list[String] = []
    for x in d.contents:
        if isinstance(x, String):
            out.append(x)
        elif isinstance(x, Group):
            out += _strings(x)
    return out


@pytest.mark.parametrize("top", [1, 3, 7, 9, 13, 28, 46, 99, 151, 746, 973, 1234, 98765])
def test_tick_steps_are_round(top: int) -> None:
    step, vmax = value_axis(top)
    mantissa = step / 10 ** (len(str(step)) - 1)
    assert mantissa in (1, 2, 5), step
    assert vmax % step == 0 and vmax >= top and vmax // step <= 6


def test_line_labels_stay_on_their_points(november: sqlite_utils.Database) -> None:
    # September and October have no records: no point; November 9, December 1.
    report = build_report(november, Period(date(2023, 9, 1), date(2023, 12, 31)), today=AS_OF)
    assert [n for _m, n in report.monthly_sessions] == [None, None, 9, 1]
    d = line_chart(report, register_fonts(), 700, 180)
    points = [c for c in d.contents if isinstance(c, Circle)]
    assert len(points) == 2
    labels = {s.text: s.x for s in _strings(d)}
    assert labels["9"] == pytest.approx(points[0].cx)
    assert labels["1"] == pytest.approx(points[1].cx)


def test_future_months_are_not_zero_and_the_partial_month_is_marked(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    today = date(2023, 12, 10)
    report = build_report(november, Period.fiscal_year(2023), today=today)
    months = dict(report.monthly_sessions)
    assert months[(2023, 11)] == 9 and months[(2023, 12)] == 1
    assert [months[(2024, m)] for m in (1, 2, 3)] == [None, None, None]
    assert report.partial_month == (2023, 12)
    d = line_chart(report, register_fonts(), 700, 180)
    texts = [s.text for s in _strings(d)]
    assert "途中(10日現在)" in texts and "○ 月の途中(2023年12月10日現在)" in texts
    assert "┈ 途中の月へは点線" in texts
    pdf = render_report(report, tmp_path / "r.pdf")
    chart = next(p for p in u.pdf_lines(pdf) if p[0].startswith("グラフ"))
    assert "グラフ 2023年度(令和5年度)(2023年12月10日現在)" in chart
    assert "月別の運用回数(2023年12月10日現在)" in chart


def test_the_line_into_the_partial_month_is_dotted_not_a_fall(
    november: sqlite_utils.Database,
) -> None:
    # November: 9 sessions; December 10th: 1 so far. The segment into December is not the
    # series' solid line (it would read as a fall from 9 to 1), but a thin dotted one.
    report = build_report(november, Period.fiscal_year(2023), today=date(2023, 12, 10))
    d = line_chart(report, register_fonts(), 700, 180)
    points = {round(c.cx): c for c in d.contents if isinstance(c, Circle)}
    nov, dec = sorted(points)
    segment = next(
        x for x in d.contents if isinstance(x, Line) and round(x.x1) == nov and round(x.x2) == dec
    )
    assert segment.strokeDashArray, "the line into the month not yet over must be dotted"
    assert segment.strokeColor != SERIES_COLORS[0]
    assert points[dec].fillColor != SERIES_COLORS[0]  # a hollow point


def test_long_ranges_get_thinned_axis_labels(hub: sqlite_utils.Database) -> None:
    for k, (y, m) in enumerate(Period(date(2021, 4, 1), date(2025, 11, 30)).months()):
        u.open_stop(
            hub, f"s{k}", "regular", "ogawa", u.at(f"{y}-{m:02d}-10", "10:00"), ["mynumber"]
        )
    report = build_report(hub, Period(date(2021, 4, 1), date(2025, 11, 30)), today=AS_OF)
    assert len(report.monthly_sessions) == 56
    assert len(month_ticks([m for m, _n in report.monthly_sessions])) <= 12
    d = line_chart(report, register_fonts(), 700, 180)
    month_labels = [s for s in _strings(d) if s.text.endswith("月") and s.text[:-1].isdigit()]
    assert 5 <= len(month_labels) <= 12
    xs = sorted(s.x for s in month_labels)
    assert min(b - a for a, b in itertools.pairwise(xs)) > 30  # no smear


def test_not_offered_is_drawn_apart_from_zero(november: sqlite_utils.Database) -> None:
    report = build_report(november, Period.month(2023, 11), today=AS_OF)
    cells = [v for _n, c in report.district_cells() for v in c.values()]
    assert DASH in cells and 0 in cells
    d = bar_chart(report, register_fonts(), 700, 190)
    texts = [s.text for s in _strings(d)]
    assert texts.count(DASH) == cells.count(DASH)
    assert texts.count("0") >= cells.count(0)
    assert "– 実施なし" in texts


def test_a_tally_keeps_its_own_period_statement(hub: sqlite_utils.Database, tmp_path: Path) -> None:
    import_file(hub, EXAMPLE)
    report = build_report(hub, Period.fiscal_year(2023), today=AS_OF)
    assert report.period_statements == ["(R5.11まで)"]
    # Dec–Mar of FY2023 are not plotted as 0.
    assert {n for _m, n in report.monthly_sessions} == {None}
    pdf = render_report(report, tmp_path / "r.pdf")
    pages = u.pdf_lines(pdf)
    assert any("(R5.11まで)" in line for line in pages[0])
    assert any(line.startswith("グラフ 2023年度(令和5年度)(R5.11まで)") for line in pages[1])


def test_flags_in_csv_and_xlsx_including_summary_lines(
    hub: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_file(hub, EXAMPLE)
    report = build_report(hub, Period.fiscal_year(2022), today=AS_OF)
    c = write_csv(report, tmp_path / "r.csv")
    x = write_xlsx(report, tmp_path / "r.xlsx")
    summary = u.csv_sections(c)["summary"]
    # The correct Σ計 296 is not marked; the breakdown that does not add up is.
    assert ["サービス提供者数", "", "296", "人"] in summary
    assert ["サービス提供者数", "内訳の合計", "▲245", "人"] in summary
    assert ["サービス提供者数", "相談業務", "▲46", "人"] in summary
    assert ["その他車両見学・事業説明者数", "", "▲973", "人"] in summary
    ws = load_workbook(x).active
    assert ws is not None
    flagged = {
        (ws.cell(row=r, column=1).value, ws.cell(row=r, column=2).value): ws.cell(row=r, column=3)
        for r in range(1, ws.max_row + 1)
        if ws.cell(row=r, column=3).number_format == '"▲"#,##0'
    }
    assert set(flagged) == {
        ("サービス提供者数", "内訳の合計"),
        ("サービス提供者数", "相談業務"),
        ("その他車両見学・事業説明者数", None),
    }
    for cell in flagged.values():
        assert isinstance(cell.value, int) and cell.comment is not None
        assert cell.fill.fgColor.rgb.endswith("FFD7D7")


def test_early_voting_difference_is_flagged_in_every_output(
    hub: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_file(hub, EXAMPLE)
    report = build_report(hub, Period.fiscal_year(2023), today=AS_OF)
    t = next(t for t in report.council if t.key == "early_voting")
    assert t.rows[0][3:] == [190, 34, 17.9, 40] and t.flagged == {0: {6}}
    csv_rows = u.csv_sections(write_csv(report, tmp_path / "r.csv"))["council"]
    assert any(r[3:] == ["190", "34", "17.9", "▲40"] for r in csv_rows)
    pdf = render_report(report, tmp_path / "r.pdf")
    assert "▲40" in [line for page in u.pdf_lines(pdf) for line in page]


def test_every_page_and_file_says_date_department_and_page(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    report = build_report(november, Period.month(2023, 11), today=AS_OF)
    assert report.department == DEFAULT_DEPARTMENT
    with write(november):
        november.execute(
            "INSERT INTO settings(key, value) VALUES ('report_department', '市民協働部 地域振興課') "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        )
    report = build_report(november, Period.month(2023, 11), today=AS_OF)
    pdf = render_report(report, tmp_path / "r.pdf")
    pages = [p.extract_text() for p in pypdf.PdfReader(str(pdf)).pages]
    assert len(pages) >= 3
    for n, text in enumerate(pages, start=1):
        assert "作成日: 2026年11月26日(令和8年11月26日) 市民協働部 地域振興課" in text
        assert f"{n} / {len(pages)} ページ" in text
    head = u.csv_sections(write_csv(report, tmp_path / "r.csv"))["head"]
    assert ["作成日", "2026年11月26日(令和8年11月26日)"] in head
    assert ["作成", "市民協働部 地域振興課"] in head
    ws = load_workbook(write_xlsx(report, tmp_path / "r.xlsx")).active
    assert ws is not None
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
    header_row = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "活動")
    assert ws.print_title_rows == f"${header_row}:${header_row}"
    assert "&P / &N ページ" in ws.oddFooter.right.text
    assert "市民協働部 地域振興課" in ws.oddHeader.right.text
    numbers = [
        c
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, int) and not isinstance(c.value, bool)
    ]
    assert numbers
    assert [
        c.coordinate for c in numbers if c.number_format not in ("#,##0", '"▲"#,##0', "0.0")
    ] == []


def test_remarks_merged_from_several_tallies_are_not_repeated(hub: sqlite_utils.Database) -> None:
    import_file(hub, EXAMPLE)
    report = build_report(hub, Period(date(2022, 4, 1), date(2024, 3, 31)), today=AS_OF)
    kawamae = next(r for r in report.rows if r.sublabel == "川前")
    # FY2022 says ・山間部 ・市街地 …, FY2023 ・山間部 again: once.
    assert kawamae.note.count("・山間部") == 1
    assert kawamae.note == "・山間部 ・市街地 ・R4.10~R5.3 毎月1回巡回"
