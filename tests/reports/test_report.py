"""The usage report from raw records: every cell via CSV, XLSX and the PDF's text."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pypdf
import pytest
import sqlite_utils

from odekake.reports.counting import Period
from odekake.reports.export import write_csv, write_xlsx
from odekake.reports.model import Report
from odekake.reports.pdf import render_report
from odekake.reports.table import build_report
from tests.reports import util as u

D = u.DASH
HEADER = [
    "活動",
    "地区",
    "回数",
    "証明書",
    "マイナンバーカード",
    "ごみ納付券",
    "相談",
    "フレイル",
    "計",
    "活動等説明者数",
    "備考",
]
# Computed by hand from tests/reports/conftest.py::build_november.
EXPECTED_NOVEMBER: list[list[Any]] = [
    ["地区定期巡回", "川前", 2, 1, 3, 0, 0, D, 4, 3, ""],
    ["地区定期巡回", "久之浜・大久", 1, 1, 0, D, D, D, 1, D, ""],
    ["地区定期巡回", "田人", 1, 0, 0, 1, 0, 5, 6, D, ""],
    ["地区定期巡回", "中央台", 1, 0, 0, D, D, D, 0, D, ""],
    ["地区定期巡回", "計", 5, 2, 3, 1, 0, 5, 11, 3, ""],
    ["予約訪問", "", 1, D, D, D, 2, 8, 10, 0, ""],
    ["移動期日前投票所", "", 1, D, D, D, D, D, 3, D, ""],
    ["り災証明書出張申請受付", "", 1, D, D, D, D, D, 1, D, ""],
    ["その他", "", 1, D, D, D, D, D, D, 40, ""],
]
EXPECTED_NOVEMBER_SUMMARY: list[list[Any]] = [
    ["運用回数", "", 9, "回"],
    ["運用回数", "巡回4地区", 5, "回"],
    ["運用回数", "予約訪問", 1, "回"],
    ["運用回数", "移動期日前投票所", 1, "回"],
    ["運用回数", "り災", 1, "回"],
    ["運用回数", "その他", 1, "回"],
    ["サービス提供者数", "", 25, "人"],
    ["サービス提供者数", "証明書発行業務等", 6, "人"],
    ["サービス提供者数", "相談業務", 2, "人"],
    ["サービス提供者数", "フレイル予防", 13, "人"],
    ["サービス提供者数", "り災証明書申請", 1, "人"],
    ["サービス提供者数", "期日前投票", 3, "人"],
    ["その他車両見学・事業説明者数", "", 43, "人"],
]
SUMMARY_TEXT = [
    "■ 運用回数：9回(巡回4地区：5回、予約訪問：1回、移動期日前投票所：1回、り災：1回、その他：1回)",
    "■ サービス提供者数：25人(証明書発行業務等：6人、相談業務：2人、フレイル予防：13人、"
    "り災証明書申請：1人、期日前投票：3人)",
    "※ その他車両見学・事業説明者数：43人",
]


def render_all(report: Report, tmp_path: Path) -> tuple[Path, Path, Path]:
    """PDF, CSV and XLSX of one report."""
    pdf = render_report(report, tmp_path / "r.pdf")
    csv = write_csv(report, tmp_path / "r.csv")
    xlsx = write_xlsx(report, tmp_path / "r.xlsx")
    return pdf, csv, xlsx


def assert_every_cell(
    pdf: Path,
    csv: Path,
    xlsx: Path,
    header: list[str],
    rows: list[list[Any]],
    summary: list[list[Any]],
    summary_text: list[str] | None = None,
) -> None:
    """Compare the table and summary of all three outputs with the expected values."""
    c = u.csv_sections(csv)
    assert c["table"][0] == header
    assert c["table"][1:] == [u.as_csv_text(r) for r in rows]
    assert c["summary"] == [u.as_csv_text(r) for r in summary]
    x = u.xlsx_sections(xlsx)
    assert x["table"][0] == header
    assert x["table"][1:] == [u.unflag(r) for r in rows]  # numbers as numbers, "–" as text
    assert x["summary"] == [u.unflag(r) for r in summary]
    pages = u.pdf_lines(pdf)
    assert len(pages) >= 2, "table page and chart page"
    lines = u.merge_wrapped(pages[0], [str(r[-1]) for r in rows])
    assert u.contains_run(lines, u.pdf_tokens_for_rows(rows)), lines
    if summary_text is not None:
        for s in summary_text:
            assert s in lines


def test_november_every_cell(november: sqlite_utils.Database, tmp_path: Path) -> None:
    report = build_report(november, Period.month(2023, 11))
    assert not report.empty and not report.flags
    pdf, csv, xlsx = render_all(report, tmp_path)
    assert_every_cell(
        pdf, csv, xlsx, HEADER, EXPECTED_NOVEMBER, EXPECTED_NOVEMBER_SUMMARY, SUMMARY_TEXT
    )
    first = u.pdf_lines(pdf)[0]
    assert "行政MaaS(お出かけ市役所) 利用実績 2023年11月(令和5年11月)" in first
    assert "期間: 2023年11月1日(令和5年11月1日)〜2023年11月30日(令和5年11月30日)" in first


def test_dash_means_not_offered_zero_means_unused(november: sqlite_utils.Database) -> None:
    report = build_report(november, Period.month(2023, 11))
    kawamae = next(r for r in report.rows if r.sublabel == "川前")
    assert kawamae.cells["consultation"] == 0  # offered at A and B; the only one was voided
    assert kawamae.cells["frailty"] == D  # offered at neither stop
    assert kawamae.cells["garbage"] == 0  # offered at A only, unused


def test_december_keeps_the_stop_opened_after_midnight_jst(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    report = build_report(november, Period.month(2023, 12))
    pdf, csv, xlsx = render_all(report, tmp_path)
    header = ["活動", "地区", "回数", "証明書", "計", "活動等説明者数", "備考"]
    rows = [
        ["地区定期巡回", "中央台", 1, 1, 1, D, ""],
        ["地区定期巡回", "計", 1, 1, 1, D, ""],
    ]
    summary = [
        ["運用回数", "", 1, "回"],
        ["サービス提供者数", "", 1, "人"],
        ["その他車両見学・事業説明者数", "", 0, "人"],
    ]
    assert_every_cell(pdf, csv, xlsx, header, rows, summary)


def test_columns_never_offered_are_left_out(hub: sqlite_utils.Database) -> None:
    u.open_stop(hub, "s1", "regular", "kawamae", u.at("2024-05-10", "10:00"), ["mynumber"])
    u.mynumber(hub, "s1", u.at("2024-05-10", "10:10"))
    report = build_report(hub, Period.month(2024, 5))
    assert report.columns == ["mynumber"]
    assert report.header == [
        "活動",
        "地区",
        "回数",
        "マイナンバーカード",
        "計",
        "活動等説明者数",
        "備考",
    ]


def test_empty_period_says_so_and_renders_the_empty_table(
    hub: sqlite_utils.Database, tmp_path: Path
) -> None:
    report = build_report(hub, Period.month(2024, 2))
    assert report.empty
    pdf, csv, xlsx = render_all(report, tmp_path)
    rows = [
        ["地区定期巡回", "計", 0, D, D, D, D, D, D, D, ""],
        ["予約訪問", "", 0, D, D, D, D, D, D, D, ""],
        ["移動期日前投票所", "", 0, D, D, D, D, D, D, D, ""],
        ["り災証明書出張申請受付", "", 0, D, D, D, D, D, D, D, ""],
        ["その他", "", 0, D, D, D, D, D, D, D, ""],
    ]
    summary = [
        ["運用回数", "", 0, "回"],
        ["サービス提供者数", "", 0, "人"],
        ["その他車両見学・事業説明者数", "", 0, "人"],
    ]
    assert_every_cell(pdf, csv, xlsx, HEADER, rows, summary)
    pages = u.pdf_lines(pdf)
    assert "この期間の運行記録・過去集計はありません。" in pages[0]
    assert u.csv_sections(csv)["notes"][0] == ["この期間の運行記録・過去集計はありません。"]
    assert "この期間の地区定期巡回のデータはありません" in pages[1]


def test_chart_page_labels_months_both_ways(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    report = build_report(november, Period(date(2023, 10, 1), date(2023, 12, 31)))
    # October has no record (the first is in November): no point, not a 0.
    assert report.monthly_sessions == [((2023, 10), None), ((2023, 11), 9), ((2023, 12), 1)]
    pdf = render_report(report, tmp_path / "q.pdf")
    chart = u.pdf_lines(pdf)[1]
    for label in ("10月", "11月", "12月", "2023年"):
        assert label in chart
    for district in ("川前", "久之浜・大久", "田人", "中央台"):
        assert district in chart
    assert any(x.startswith("月別の運用回数") for x in chart)
    assert any(x.startswith("地区別・分野別の利用者数(地区定期巡回)") for x in chart)
    # Data labels of the line: 9, 1 sessions (none for October).
    assert u.contains_run(chart, ["9", "1", "10月"])


def test_pdf_embeds_the_japanese_font(november: sqlite_utils.Database, tmp_path: Path) -> None:
    pdf = render_report(build_report(november, Period.month(2023, 11)), tmp_path / "f.pdf")
    reader = pypdf.PdfReader(str(pdf))
    embedded = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for desc_font in font.get("/DescendantFonts", [font]):
                fd = desc_font.get_object().get("/FontDescriptor")
                if fd is not None and "/FontFile2" in fd.get_object():
                    embedded.add(str(font["/BaseFont"]))
    assert any("IPAexGothic" in f for f in embedded), embedded


def test_csv_has_bom_and_xlsx_keeps_numbers(
    november: sqlite_utils.Database, tmp_path: Path
) -> None:
    report = build_report(november, Period.month(2023, 11))
    _pdf, csv, xlsx = render_all(report, tmp_path)
    assert csv.read_bytes()[:3] == b"\xef\xbb\xbf"
    table = u.xlsx_sections(xlsx)["table"]
    assert type(table[1][2]) is int and table[1][2] == 2
    assert table[1][7] == D


@pytest.mark.parametrize(
    ("activity", "service", "label"),
    [("regular", "disaster", "り災申請"), ("reservation", "voting", "期日前投票")],
)
def test_people_without_a_column_are_named_in_the_note(
    hub: sqlite_utils.Database, activity: str, service: str, label: str
) -> None:
    u.open_stop(
        hub, "s", activity, "tabito", u.at("2024-06-03", "10:00"), ["consultation", service]
    )
    u.consultation(hub, "s", u.at("2024-06-03", "10:10"))
    (u.disaster if service == "disaster" else u.vote)(hub, "s", u.at("2024-06-03", "10:20"))
    report = build_report(hub, Period.month(2024, 6))
    row = next(r for r in report.rows if r.activity == activity and not r.is_total)
    assert row.total == 2
    assert row.note == f"計に{label} 1人を含む"


def test_many_districts_break_across_pages(hub: sqlite_utils.Database, tmp_path: Path) -> None:
    """A long 地区定期巡回 block cannot be one spanned cell (it would not split)."""
    for i in range(40):
        hub.execute(
            "INSERT INTO districts(id, name, lat, lon) VALUES (?, ?, 37.0, 140.9)",
            [f"x{i:02d}", f"試験地区{i:02d}"],
        )
        u.open_stop(hub, f"s{i}", "regular", f"x{i:02d}", u.at("2024-05-02", "10:00"), ["mynumber"])
    report = build_report(hub, Period.month(2024, 5))
    pdf = render_report(report, tmp_path / "long.pdf")
    pages = u.pdf_lines(pdf)
    assert len(pages) >= 3  # two table pages, then the chart
    chart = next(i for i, page in enumerate(pages) if page[0].startswith("グラフ"))
    assert chart >= 2  # two table pages, then the chart (then the council tables)
    text = [line for page in pages[:chart] for line in page]
    assert text.count("地区定期巡回") == 1
    assert "試験地区00" in pages[0] and "試験地区39" in text


def test_unknown_activity_is_reported_not_lost(hub: sqlite_utils.Database) -> None:
    u.open_stop(hub, "s", "festival", "ogawa", u.at("2024-05-02", "10:00"), ["explanation"])
    report = build_report(hub, Period.month(2024, 5))
    assert "活動の種類が不明な運行 1 回分('festival')は集計していません。" in report.notes
