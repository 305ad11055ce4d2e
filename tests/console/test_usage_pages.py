"""利用実績: the table is the CSV's cells, flags marked, charts drawn, downloads read back,
and the tally import previews, refuses bad files naming their lines, and imports whole."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from odekake.reports.counting import Period
from odekake.reports.export import sheet_layout, to_csv
from odekake.reports.layout import category_heads, cell_text, summary_texts, table_lines
from odekake.reports.table import build_report
from odekake.reports.tally_store import import_file, load_sheets
from odekake.storage.db import connect
from tests.console.conftest import TODAY, Browser

EXAMPLE = Path(__file__).parents[2] / "examples" / "tallies_fy2022_fy2023.csv"


def _unescape(text: str) -> str:
    text = re.sub(r"<br>", "", text)
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def _rows(html: str, table_id: str) -> list[list[str]]:
    """A table of the page as rows of cell texts (th and td, ▲ kept)."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)
    return [
        [_unescape(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)]
        for r in rows
    ]


def _number(text: str) -> int | str:
    """``▲296人`` → 296; ``–`` and blank stay text."""
    bare = text.removeprefix("▲").removesuffix("人").removesuffix("回").replace(",", "")
    return int(bare) if bare.isdigit() else bare


@pytest.fixture
def manager(browser: Browser) -> Browser:
    assert browser.login("mgr").status_code == 303
    return browser


def _upload(b: Browser, name: str, text: str):  # type: ignore[no-untyped-def]
    return b.client.post(
        "/console/usage/import/preview",
        data={"csrftoken": b.token("/console/usage/import")},
        files={"file": (name, text.encode("utf-8"), "text/csv")},
    )


def test_fiscal_year_table_is_laid_out_as_the_pdf_with_the_csv_values(
    manager: Browser, hub_path: Path
) -> None:
    db = connect(hub_path, role="hub")
    import_file(db, EXAMPLE, actor="test")
    report = build_report(db, Period.fiscal_year(2022), today=TODAY.date())
    db.close()
    assert report.flags, "the example's FY2022 sheet prints totals that do not add up"
    page = manager.client.get("/console/usage?kind=fy&fy=2022")
    assert page.status_code == 200
    head, sub, *body = _rows(page.text, "usage-sheet")
    # The PDF's two-line head: 利用(相談)者数 over the categories and 計.
    assert head == ["活動", "回数", "利用(相談)者数", "活動等説明者数", "備考"]
    assert sub == [*("".join(h) for h in category_heads(report)), "計"]
    lines = table_lines(report)
    assert len(body) == len(lines) == len(report.rows)
    regular = [line for line in lines if line.activity == "regular"]
    for i, (shown, line) in enumerate(zip(body, lines, strict=True)):
        # 地区定期巡回 is written once, spanning its district lines, as in the PDF.
        names = (
            [line.label, line.sublabel]
            if i == 0 and regular
            else ([line.sublabel] if line.activity == "regular" else [line.label])
        )
        assert shown == [*names, *line.values, line.note]
    # Every value is the CSV's value (the downloads and the page show one report).
    csv_rows = list(csv.reader(io.StringIO(to_csv(report))))
    start = csv_rows.index(report.header) + 1
    for line, csv_row in zip(lines, csv_rows[start : start + len(lines)], strict=True):
        assert [_number(v) for v in line.values] == [_number(v) for v in csv_row[2:-1]]
    _rows_csv, flagged = sheet_layout(report)
    in_table = {(i, j) for i, j in flagged if start <= i < start + len(lines)}
    assert len(re.findall(r'<td class="num flag"', page.text)) == len(in_table)
    # FY2022's printed summary does not add up: its lines carry ▲ as in the PDF.
    summary = [
        _unescape(li)
        for li in re.findall(
            r"<li>(.*?)</li>", page.text.split('id="usage-summary"')[1].split("</ul>")[0]
        )
    ]
    assert summary == summary_texts(report) and any("▲" in text for text in summary)
    for f in report.flags:
        assert f.message() in page.text
    assert page.text.count("<svg") == 2  # the PDF's two charts, as SVG


def test_month_by_category_is_the_pdf_table_turned(manager: Browser, hub_path: Path) -> None:
    """Categories down, months across: each cell is the PDF's 月別・分野別 cell."""
    db = connect(hub_path, role="hub")
    report = build_report(db, Period.fiscal_year(2026), today=TODAY.date())
    db.close()
    monthly = next(t for t in report.council if t.key == "monthly_users")
    assert len(monthly.rows) >= 2
    page = manager.client.get("/console/usage?kind=fy&fy=2026")
    head, *rows = _rows(page.text, "usage-months")
    assert head == ["区分", *(str(r[0]) for r in monthly.rows)]
    assert [r[0] for r in rows] == monthly.header[1:]
    for j, row in enumerate(rows, start=1):
        assert row[1:] == [cell_text(m[j]) for m in monthly.rows]


def test_downloads_are_the_report_functions(manager: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    import_file(db, EXAMPLE, actor="test")
    report = build_report(db, Period.fiscal_year(2023), today=TODAY.date())
    db.close()
    q = "kind=fy&fy=2023"
    got = manager.client.get(f"/console/usage/report.csv?{q}")
    assert got.status_code == 200 and got.content.startswith("\ufeff".encode())
    assert got.content.decode("utf-8-sig") == to_csv(report)
    pdf = manager.client.get(f"/console/usage/report.pdf?{q}")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert report.title.replace(" ", "") in text.replace(" ", "")
    xlsx = manager.client.get(f"/console/usage/report.xlsx?{q}")
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None and ws.cell(1, 1).value == report.title
    db = connect(hub_path, role="hub")
    exports = [
        r[0]
        for r in db.execute(
            "SELECT target FROM audit_log WHERE action = 'export' AND actor = 'staff:mgr'"
        )
    ]
    assert len(exports) == 3 and exports[0].endswith(".csv")


def test_month_and_range_and_a_bad_period(manager: Browser) -> None:
    month = manager.client.get("/console/usage?kind=month&month=2026-10")
    assert month.status_code == 200 and "2026年10月" in month.text
    rng = manager.client.get("/console/usage?kind=range&from=2026-09-01&to=2026-10-31")
    assert rng.status_code == 200 and 'id="usage-sheet"' in rng.text
    bad = manager.client.get("/console/usage?kind=month&month=2026-13")
    assert bad.status_code == 400 and "YYYY-MM" in bad.text


def test_import_preview_then_import(manager: Browser, hub_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    preview = _upload(manager, "tallies.csv", text)
    assert preview.status_code == 200 and "取り込む内容の確認" in preview.text
    db = connect(hub_path, role="hub")
    assert load_sheets(db) == []  # a preview writes nothing
    payload = re.search(r'name="payload" value="([^"]+)"', preview.text)
    assert payload
    done = manager.post(
        "/console/usage/import",
        {"payload": payload.group(1), "source": "tallies.csv"},
        page="/console/usage/import",
    )
    assert done.status_code == 303 and "fy=2022" in done.headers["location"]
    sheets = load_sheets(db)
    assert [s.source for s in sheets] == ["tallies.csv", "tallies.csv"]
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='import' AND actor='staff:mgr'"
        ).fetchone()[0]
        == 1
    )


def test_bad_upload_names_each_line_and_imports_nothing(manager: Browser, hub_path: Path) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("地区定期巡回,田人", "地区定期巡回,田人町")
    lines[6] = lines[6].replace(",5,", ",五,", 1)
    got = _upload(manager, "bad.csv", "\n".join(lines) + "\n")
    assert got.status_code == 400
    assert "4行目" in got.text and "田人町" in got.text
    assert "7行目" in got.text
    db = connect(hub_path, role="hub")
    assert load_sheets(db) == []


def test_not_utf8_and_no_file(manager: Browser) -> None:
    got = manager.client.post(
        "/console/usage/import/preview",
        data={"csrftoken": manager.token("/console/usage/import")},
        files={"file": ("sjis.csv", "期間開始".encode("cp932"), "text/csv")},
    )
    assert got.status_code == 400 and "UTF-8" in got.text
    none = manager.post("/console/usage/import/preview", {}, page="/console/usage/import")
    assert none.status_code == 400 and "ファイルを選んで" in none.text


def test_refusals(browser: Browser, hub_path: Path) -> None:
    anon = browser.client.get("/console/usage", follow_redirects=False)
    assert anon.status_code == 303 and "/console/login" in anon.headers["location"]
    assert browser.login("coord").status_code == 303
    assert browser.client.get("/console/usage").status_code == 403
    browser.client.post("/console/logout", data={"csrftoken": browser.token("/console/")})
    assert browser.login("admin").status_code == 303
    assert browser.client.get("/console/usage").status_code == 200  # admin may look
    text = EXAMPLE.read_text(encoding="utf-8")
    assert _upload(browser, "t.csv", text).status_code == 403  # but not import
    browser.client.post("/console/logout", data={"csrftoken": browser.token("/console/")})
    assert browser.login("mgr").status_code == 303
    no_csrf = browser.client.post(
        "/console/usage/import/preview", files={"file": ("t.csv", text.encode(), "text/csv")}
    )
    assert no_csrf.status_code == 403
    db = connect(hub_path, role="hub")
    assert load_sheets(db) == []


def test_each_period_has_its_own_form_so_a_typed_month_is_never_read_as_the_year(
    manager: Browser,
) -> None:
    """Typing a month used to show the fiscal year when 年度 was selected: now the month's
    own form sends only the month."""
    import re

    page = manager.client.get("/console/usage").text
    forms = dict(
        re.findall(
            r'<form method="get" action="/console/usage" id="(period-\w+)">(.*?)</form>', page, re.S
        )
    )
    assert set(forms) == {"period-fy", "period-month", "period-range"}
    assert 'name="fy"' not in forms["period-month"] and 'value="month"' in forms["period-month"]
    shown = manager.client.get("/console/usage?kind=month&month=2026-10").text
    assert "2026年10月" in shown or "令和8年10月" in shown
