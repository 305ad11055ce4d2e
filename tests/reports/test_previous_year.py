"""The year-over-year table: 運用回数 under the 回数 columns, a missing year never 0."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pypdf
import sqlite_utils

from odekake.reports.counting import Period
from odekake.reports.export import write_csv, write_xlsx
from odekake.reports.pdf import render_report
from odekake.reports.table import build_report
from tests.reports import util as u

AS_OF = date(2026, 11, 26)
DASH = "–"


def _rows_from(lines: list[str], start: str, width: int, count: int) -> list[list[str]]:
    i = lines.index(start)
    return [lines[i + k * width : i + (k + 1) * width] for k in range(count)]


def test_summary_lines_sit_under_their_own_columns_in_every_output(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    u.open_stop(november, "Z", "regular", "kawamae", u.at("2024-11-05", "10:00"), ["certificate"])
    u.certificate(november, "Z", u.at("2024-11-05", "10:10"))
    report = build_report(november, Period.month(2024, 11), today=AS_OF)
    t = next(t for t in report.council if t.key == "previous_year")
    assert t.header[2:5] == ["回数", "前年同期 回数", "増減"]
    assert ["運用回数", "", 1, 9, -8, "", "", ""] in t.rows
    assert ["サービス提供者数", "", "", "", "", 1, 25, -24] in t.rows
    csv_rows = u.csv_sections(write_csv(report, tmp_path / "r.csv"))["council"]
    assert ["運用回数", "", "1", "9", "-8", "", "", ""] in csv_rows
    assert ["サービス提供者数", "", "", "", "", "1", "25", "-24"] in csv_rows
    xlsx_rows = u.xlsx_sections(write_xlsx(report, tmp_path / "r.xlsx"))["council"]
    assert ["運用回数", "", 1, 9, -8] in xlsx_rows
    assert ["サービス提供者数", "", "", "", "", 1, 25, -24] in xlsx_rows
    # In the PDF: every value of the 運用回数 row left of the 利用者数(計) column, every value
    # of サービス提供者数 right of it.
    words = _pdf_words(render_report(report, tmp_path / "r.pdf"), "■ 前年度同期との比較")
    users_x = next(x for text, x, _y in words if text == "利用者数(計)")
    sessions_y = next(y for text, _x, y in words if text == "運用回数")
    served_y = next(y for text, _x, y in words if text.startswith("サービス提供者"))
    sessions = [(t, x) for t, x, y in words if abs(y - sessions_y) < 5 and t != "運用回数"]
    served = [(t, x) for t, x, y in words if abs(y - served_y) < 5 and x > users_x - 20]
    assert [t for t, _x in sessions] == ["1", "9", "-8"]
    assert all(x < users_x for _t, x in sessions)
    assert [t for t, _x in served] == ["1", "25", "-24"]


def _pdf_words(path: Path, page_marker: str) -> list[tuple[str, float, float]]:
    """(text, x, y) of every text run on the page that holds ``page_marker``."""
    for page in pypdf.PdfReader(str(path)).pages:
        words = _page_words(page)
        if any(w[0] == page_marker for w in words):
            return words
    raise AssertionError(f"no page with {page_marker}")


def test_a_missing_previous_year_is_a_dash_not_zero(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    report = build_report(november, Period.month(2023, 11), today=AS_OF)
    t = next(t for t in report.council if t.key == "previous_year")
    assert "前年同期の運行記録・過去集計はありません。" in t.notes
    for row in t.rows:
        assert 0 not in (row[3], row[6]), row
    assert ["地区定期巡回", "川前", 2, DASH, DASH, 4, DASH, DASH] in t.rows
    assert ["運用回数", "", 9, DASH, DASH, "", "", ""] in t.rows
    csv_rows = u.csv_sections(write_csv(report, tmp_path / "r.csv"))["council"]
    assert ["地区定期巡回", "川前", "2", DASH, DASH, "4", DASH, DASH] in csv_rows


def _page_words(page: pypdf.PageObject) -> list[tuple[str, float, float]]:
    words: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_a: object) -> None:
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            words.append((text.strip(), x, y))

    page.extract_text(visitor_text=visit)
    return words
