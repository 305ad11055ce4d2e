"""Past tallies: the FY2022 and FY2023 tables of domain.md, reproduced cell for cell,
with every printed total that does not add up flagged; mixing tallies and records."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from odekake.errors import ImportRejected
from odekake.reports.counting import Period
from odekake.reports.pdf import render_report
from odekake.reports.table import build_report
from odekake.reports.tallies import parse_cell
from odekake.reports.tally_store import import_file, import_tallies, load_sheets
from tests.reports import util as u
from tests.reports.test_report import HEADER, assert_every_cell, render_all

D = u.DASH
EXAMPLE = Path(__file__).parents[2] / "examples" / "tallies_fy2022_fy2023.csv"
FY22_SRC = "過去集計(2022年4月1日〜2023年3月31日)"
FY23_SRC = "過去集計(2023年4月1日〜2023年11月30日)"
NOTE_OTHER_22 = (
    "・市総合防災訓練 ・防災EXPO ・ふくしま健康づくり フェスタ ・鹿島公民館まつり ・他市等行政視察"
)
NOTE_OTHER_23 = (
    "・地区講演会参加 ・市防災訓練参加 ・展示会出展、講演 (東京・仙台・いわき) ・地区祭事出展 "
    "・他市・市議会等 行政視察"
)

# domain.md / seed section IV, FY2022 (R4), as printed.
FY2022: list[list[Any]] = [
    [
        "地区定期巡回",
        "川前",
        5,
        0,
        5,
        1,
        12,
        9,
        27,
        "",
        "・山間部 ・市街地 ・R4.10~R5.3 毎月1回巡回",
    ],
    ["地区定期巡回", "久之浜・大久", 6, 2, 30, D, 8, 14, 54, "", ""],
    ["地区定期巡回", "田人", 6, 0, 1, 0, 8, 14, 23, "", ""],
    ["地区定期巡回", "中央台", 5, 1, 8, D, 3, 10, 22, "", ""],
    ["地区定期巡回", "計", 22, 3, 44, 1, 31, 47, 126, "", ""],
    ["予約訪問", "", 9, D, D, D, 5, 104, 109, 20, "・母子健康相談(2回) ・フレイル(7回)"],
    [
        "り災証明書出張申請受付",
        "",
        18,
        D,
        D,
        D,
        D,
        D,
        61,
        D,
        "・3.16福島県沖地震 (震度5強 4/8~4/26)",
    ],
    ["その他", "", 10, D, D, D, D, D, D, 746, NOTE_OTHER_22],
]
FY2022_SUMMARY: list[list[Any]] = [
    ["運用回数", "", 59, "回"],
    ["運用回数", "巡回4地区", 22, "回"],
    ["運用回数", "予約訪問", 9, "回"],
    ["運用回数", "り災", 18, "回"],
    ["運用回数", "その他", 10, "回"],
    ["サービス提供者数", "", 296, "人"],
    ["サービス提供者数", "証明書発行業務等", 48, "人"],
    ["サービス提供者数", "相談業務", "▲46", "人"],
    ["サービス提供者数", "フレイル予防", 151, "人"],
    ["サービス提供者数", "内訳の合計", "▲245", "人"],  # the breakdown is what is off
    ["その他車両見学・事業説明者数", "", "▲973", "人"],
]
# Checked by hand: 48 + 46 + 151 = 245, not 296 (the row 計s 126 + 109 + 61 do give 296);
# 相談 is 31 + 5 = 36, not 46; 説明者数 is 20 + 746 = 766, not 973. Everything else adds up
# (each district's 計, the 計 row against the districts, 運用回数 22 + 9 + 18 + 10 = 59).
FY2022_FLAGS = [
    f"{FY22_SRC} サービス提供者数 の内訳の合計: 印刷された値 245 が表の各欄から求めた値 296 と一致しません",
    f"{FY22_SRC} サービス提供者数 の相談業務: 印刷された値 46 が表の各欄から求めた値 36 と一致しません",
    f"{FY22_SRC} その他車両見学・事業説明者数: 印刷された値 973 が表の各欄から求めた値 766 と一致しません",
]
FY2022_SUMMARY_TEXT = [
    "■ 運用回数：59回(巡回4地区：22回、予約訪問：9回、り災：18回、その他：10回)",
    "■ サービス提供者数：296人(証明書発行業務等：48人、相談業務：46人▲、フレイル予防：151人)▲内訳の合計 245人",
    "※ その他車両見学・事業説明者数：973人▲",
]

# FY2023 (R5, to 2023-11), as printed: no フレイル column.
FY2023_HEADER = [h for h in HEADER if h != "フレイル"]
FY2023: list[list[Any]] = [
    ["地区定期巡回", "川前", 3, 0, 7, 0, 0, 7, 29, "・山間部"],
    ["地区定期巡回", "久之浜・大久", 5, 1, 7, D, 0, 8, 28, ""],
    ["地区定期巡回", "田人", 4, 0, 4, 0, 1, 5, 32, ""],
    ["地区定期巡回", "遠野", 1, 0, 6, 0, 0, 6, 20, ""],
    ["地区定期巡回", "小川", 1, 0, 5, 0, 0, 5, 10, "・市街地"],
    ["地区定期巡回", "好間", 1, 0, 7, 0, 0, 7, 30, ""],
    ["地区定期巡回", "中央台", 1, 2, 0, D, 0, 2, 3, ""],
    [
        "地区定期巡回",
        "計",
        16,
        3,
        36,
        0,
        1,
        40,
        152,
        "・R5.9～R5.10にかけては大雨被害対応のため実施なし",
    ],
    ["移動期日前投票所", "", 1, D, D, D, D, 40, D, "・投票者数"],
    ["り災証明書出張申請受付", "", 20, D, D, D, D, 87, D, "・9/8台風13号大雨 (9/13～9/30)"],
    ["その他", "", 15, D, D, D, D, D, 756, NOTE_OTHER_23],
]
FY2023_SUMMARY: list[list[Any]] = [
    ["運用回数", "", 52, "回"],
    ["運用回数", "巡回7地区", 16, "回"],
    ["運用回数", "移動期日前投票所", 1, "回"],
    ["運用回数", "り災", 20, "回"],
    ["運用回数", "その他", 15, "回"],
    ["サービス提供者数", "", 167, "人"],
    ["サービス提供者数", "証明書発行業務等", 39, "人"],
    ["サービス提供者数", "相談業務", 1, "人"],
    ["サービス提供者数", "内訳の合計", "▲40", "人"],
    ["その他車両見学・事業説明者数", "", 908, "人"],
]
# 167 = 40 + 40 + 87 (the row 計s), but its printed breakdown is 39 + 1 = 40.
FY2023_FLAGS = [
    f"{FY23_SRC} サービス提供者数 の内訳の合計: 印刷された値 40 が表の各欄から求めた値 167 と一致しません",
    # The text of the seed says 34 of 190 electors voted; the table printed 40.
    f"{FY23_SRC} 移動期日前投票所 の計: 印刷された値 40 が本文の投票者数 34 と一致しません",
]


@pytest.fixture
def tallied(hub: sqlite_utils.Database) -> sqlite_utils.Database:
    """The hub with examples/tallies_fy2022_fy2023.csv imported."""
    result = import_file(hub, EXAMPLE)
    assert [len(s.lines) for s in result.sheets] == [18, 20]
    return hub


def test_fy2022_round_trip_cell_for_cell(tallied: sqlite_utils.Database, tmp_path: Path) -> None:
    report = build_report(tallied, Period.fiscal_year(2022))
    assert report.as_printed
    pdf, csv, xlsx = render_all(report, tmp_path)
    assert_every_cell(pdf, csv, xlsx, HEADER, FY2022, FY2022_SUMMARY, FY2022_SUMMARY_TEXT)
    assert [f.message() for f in report.flags] == FY2022_FLAGS
    assert u.csv_sections(csv)["flags"] == [[m] for m in FY2022_FLAGS]
    assert u.xlsx_sections(xlsx)["flags"] == [[m] for m in FY2022_FLAGS]
    page = u.pdf_lines(pdf)[0]
    for m in FY2022_FLAGS:
        assert "・" + m in page
    assert "行政MaaS(お出かけ市役所) 利用実績 2022年度(令和4年度)" in page
    # A fiscal-year tally has no monthly breakdown: no point on the line, and it says why.
    assert {n for _m, n in report.monthly_sessions} == {None}
    chart = u.pdf_lines(pdf)[1]
    assert "月別の回数が分かる記録・過去集計はありません" in chart
    assert f"{FY22_SRC}は月別の内訳がないため、その期間の月は折れ線に点を打っていません。" in chart


def test_fy2023_round_trip_cell_for_cell(tallied: sqlite_utils.Database, tmp_path: Path) -> None:
    report = build_report(tallied, Period.fiscal_year(2023))
    pdf, csv, xlsx = render_all(report, tmp_path)
    assert_every_cell(pdf, csv, xlsx, FY2023_HEADER, FY2023, FY2023_SUMMARY)
    assert [f.message() for f in report.flags] == FY2023_FLAGS
    assert (
        "■ サービス提供者数：167人(証明書発行業務等：39人、相談業務：1人)▲内訳の合計 40人"
        in u.pdf_lines(pdf)[0]
    )


def _edited(old: str, new: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1
    return text.replace(old, new)


def test_a_row_total_that_does_not_add_up_is_flagged(
    hub: sqlite_utils.Database, tmp_path: Path
) -> None:
    import_tallies(hub, _edited("川前,5,0,5,1,12,9,27,", "川前,5,0,5,1,12,9,28,"))
    report = build_report(hub, Period.fiscal_year(2022))
    msg = f"{FY22_SRC} 地区定期巡回 川前 の計: 印刷された値 28 が各欄の合計 27 と一致しません"
    assert msg in [f.message() for f in report.flags]
    pdf, csv, xlsx = render_all(report, tmp_path)
    assert u.csv_sections(csv)["table"][1][8] == "▲28"  # shown as printed, marked …
    assert [msg] in u.csv_sections(csv)["flags"]  # … and flagged
    assert "▲28人" in u.pdf_lines(pdf)[0]
    assert "印刷された値" in (u.load_comment(xlsx, row_label="川前", column="計") or "")


def test_a_total_row_that_does_not_match_its_districts_is_flagged(
    hub: sqlite_utils.Database,
) -> None:
    import_tallies(hub, _edited("計,22,3,44,1,31,47,126,", "計,22,4,44,1,31,47,126,"))
    report = build_report(hub, Period.fiscal_year(2022))
    assert (
        f"{FY22_SRC} 地区定期巡回 計 の証明書: 印刷された値 4 が各地区の行の合計 3 と一致しません"
        in [f.message() for f in report.flags]
    )
    total = next(r for r in report.rows if r.is_total)
    assert total.cells["certificate"] == 4 and "certificate" in total.flagged


def test_a_district_count_that_is_off_is_flagged(hub: sqlite_utils.Database) -> None:
    import_tallies(hub, _edited("運用回数,巡回4地区", "運用回数,巡回5地区"))
    report = build_report(hub, Period.fiscal_year(2022))
    assert (
        f"{FY22_SRC} 運用回数 の巡回5地区(地区数): 印刷された値 5 が表の地区数 4 と一致しません"
        in [f.message() for f in report.flags]
    )


def test_tallies_and_records_do_not_double_count(
    tallied: sqlite_utils.Database, tmp_path: Path
) -> None:
    db = tallied
    # Inside FY2022, for 川前 (a district the FY2022 sheet lists): already in the tally.
    u.open_stop(db, "k", "regular", "kawamae", u.at("2022-11-10", "10:00"), ["mynumber"])
    u.mynumber(db, "k", u.at("2022-11-10", "10:10"))
    # Inside FY2022, for 三和 (not in the sheet): added.
    u.open_stop(
        db, "m", "regular", "miwa", u.at("2022-11-11", "10:00"), ["mynumber", "explanation"]
    )
    u.mynumber(db, "m", u.at("2022-11-11", "10:10"))
    u.explanation(db, "m", u.at("2022-11-11", "10:20"), 4)
    # FY2024: no tally there, counted.
    u.open_stop(db, "n", "reservation", "tono", u.at("2024-05-07", "10:00"), ["frailty"])
    u.frailty(db, "n", u.at("2024-05-07", "10:30"), 6)

    fy22 = build_report(db, Period.fiscal_year(2022))
    assert not fy22.as_printed  # computed: records were added
    rows = {(r.label, r.sublabel): r for r in fy22.rows}
    assert rows[("地区定期巡回", "川前")].sessions == 5
    assert rows[("地区定期巡回", "川前")].cells["mynumber"] == 5
    assert rows[("地区定期巡回", "三和")].sessions == 1
    assert rows[("地区定期巡回", "計")].sessions == 23
    assert rows[("地区定期巡回", "計")].cells["mynumber"] == 45
    assert fy22.summary_line("sessions").value == 60
    assert fy22.summary_line("sessions").parts[0] == ("巡回5地区", 23)
    # Computed from cells (not the printed 296): 126 + 1 + 109 + 61.
    assert fy22.summary_line("served").value == 297
    assert fy22.summary_line("explained").value == 770
    assert (
        "過去集計と重なる記録 1 回分は過去集計の値を使いました(二重に数えていません)。"
        in fy22.notes
    )
    # The sheet's own printed totals are still flagged.
    assert [f.message() for f in fy22.flags] == FY2022_FLAGS

    both = build_report(db, Period(date(2022, 4, 1), date(2025, 3, 31)))
    assert both.summary_line("sessions").value == 59 + 1 + 52 + 1
    reservation = next(r for r in both.rows if r.activity == "reservation")
    assert (reservation.sessions, reservation.cells["frailty"]) == (10, 110)
    assert [f.message() for f in both.flags] == FY2022_FLAGS + FY2023_FLAGS
    pdf = render_report(both, tmp_path / "both.pdf")
    assert "巡回8地区" in "".join(u.pdf_lines(pdf)[0])


def test_a_tally_only_partly_in_the_period_is_left_out(
    tallied: sqlite_utils.Database,
) -> None:
    u.open_stop(tallied, "x", "regular", "kawamae", u.at("2023-11-20", "10:00"), ["mynumber"])
    report = build_report(tallied, Period.month(2023, 11))
    assert [r.sessions for r in report.rows] == [1, 1]
    assert f"{FY23_SRC}は期間の一部だけが重なるため含めていません(分割できません)。" in report.notes
    assert report.flags == []


def test_a_month_tally_feeds_the_monthly_line(hub: sqlite_utils.Database) -> None:
    import_tallies(
        hub,
        "月,活動,地区,回数,証明書,マイナンバーカード,ごみ納付券,相談,フレイル,計,活動等説明者数\n"
        "2021-10,地区定期巡回,川前,2,0,3,–,–,–,3,\n"
        "2021-11,その他,,4,–,–,–,–,–,–,100\n",
    )
    report = build_report(hub, Period(date(2021, 10, 1), date(2021, 11, 30)))
    assert report.monthly_sessions == [((2021, 10), 2), ((2021, 11), 4)]
    assert report.chart_notes == []


def test_reimport_replaces_the_same_period(tallied: sqlite_utils.Database) -> None:
    result = import_file(tallied, EXAMPLE)
    assert len(result.replaced) == 2
    assert [len(s.lines) for s in load_sheets(tallied)] == [18, 20]
    assert build_report(tallied, Period.fiscal_year(2022)).summary_line("sessions").value == 59


def test_bad_lines_are_refused_and_nothing_is_imported(hub: sqlite_utils.Database) -> None:
    text = (
        "年度,活動,地区,回数,証明書,マイナンバーカード,ごみ納付券,相談,フレイル,計,活動等説明者数\n"
        "R4,地区定期巡回,川前,5,0,5,1,12,9,27,\n"
        "R4,地区定期巡回,どこか,1,0,0,0,0,0,0,\n"
        "R4,予約訪問,,9,x,–,–,5,104,109,20\n"
        "R4,巡回バス,,1,,,,,,,\n"
        "R4,地区定期巡回,川前,5,0,5,1,12,9,27,\n"
    )
    with pytest.raises(ImportRejected) as err:
        import_tallies(hub, text)
    lines = [n for n, _m in err.value.problems]
    assert lines == [3, 4, 5, 6]
    assert "地区「どこか」がありません" in str(err.value)
    assert load_sheets(hub) == []


def test_overlapping_periods_are_refused(tallied: sqlite_utils.Database) -> None:
    with pytest.raises(ImportRejected, match="期間が重なります"):
        import_tallies(
            tallied,
            "月,活動,地区,回数,証明書,マイナンバーカード,ごみ納付券,相談,フレイル,計,"
            "活動等説明者数\n2023-11,その他,,1,–,–,–,–,–,–,3\n",
        )
    assert len(load_sheets(tallied)) == 2


@pytest.mark.parametrize(
    ("text", "value"),
    [("5", 5), ("5回", 5), ("1,234人", 1234), ("-", D), ("—", D), ("–", D), ("", ""), (" 0 ", 0)],
)
def test_cells_are_read_as_printed(text: str, value: object) -> None:
    assert parse_cell(text) == value


def test_a_dash_where_the_cells_have_people_is_flagged(hub: sqlite_utils.Database) -> None:
    import_tallies(hub, _edited("計,22,3,44,1,31,47,126,", "計,22,3,44,–,31,47,126,"))
    report = build_report(hub, Period.fiscal_year(2022))
    assert (
        f"{FY22_SRC} 地区定期巡回 計 のごみ納付券: 印刷された値 – が各地区の行の合計 1 と一致しません"
        in [f.message() for f in report.flags]
    )
    total = next(r for r in report.rows if r.is_total)
    assert total.cells["garbage"] == D and total.flagged == {"garbage"}
