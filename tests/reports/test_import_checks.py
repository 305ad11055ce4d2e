"""History import refuses what it would lose silently (issue 16, item 1)."""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from odekake.access import audit
from odekake.errors import ImportRejected, OdekakeError
from odekake.reports.tally_store import import_file, import_tallies, load_sheets
from tests.reports.test_tallies import EXAMPLE

HEAD = "期間開始,期間終了,活動,地区,回数,証明書,マイナンバーカード,ごみ納付券,相談,フレイル,計,活動等説明者数,備考"


def _example_with(old: str, new: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_renamed_header_is_refused_naming_the_missing_column(hub: sqlite_utils.Database) -> None:
    import_file(hub, EXAMPLE)
    before = [(s.period, s.lines) for s in load_sheets(hub)]
    with pytest.raises(ImportRejected) as err:
        import_tallies(hub, _example_with("ごみ納付券", "住民票"))
    assert "見出し「住民票」が分かりません(「ごみ納付券」のことですか?)" in str(err.value)
    # The good FY2022 sheet is still there, untouched.
    assert [(s.period, s.lines) for s in load_sheets(hub)] == before


def test_misspelt_header_names_the_nearest_valid_one(hub: sqlite_utils.Database) -> None:
    text = _example_with("マイナンバーカード", "マイナンバカード")
    with pytest.raises(ImportRejected, match="「マイナンバーカード」のことですか"):
        import_tallies(hub, text)
    with pytest.raises(ImportRejected, match="見出しに「フレイル」の列がありません"):
        import_tallies(hub, _example_with(",フレイル,", ",,"))
    assert load_sheets(hub) == []


def test_unknown_summary_label_is_refused(hub: sqlite_utils.Database) -> None:
    text = _example_with(",サービス提供者数,相談業務,", ",サービス提供者数,相談ぎょうむ,")
    with pytest.raises(ImportRejected) as err:
        import_tallies(hub, text)
    assert (
        "サービス提供者数 の内訳「相談ぎょうむ」が分かりません(「相談業務」のことですか?)"
        in str(err.value)
    )
    assert load_sheets(hub) == []
    bad = _example_with(",運用回数,,", ",運用かいすう,,")
    with pytest.raises(ImportRejected) as err2:
        import_tallies(hub, bad)
    assert "活動「運用かいすう」が分かりません(「運用回数」のことですか?)" in str(err2.value)


def test_header_only_csv_says_there_are_no_rows(hub: sqlite_utils.Database) -> None:
    with pytest.raises(OdekakeError, match="データの行がありません"):
        import_tallies(hub, HEAD + "\n\n")


def test_replacing_a_sheet_says_so_and_is_audited(hub: sqlite_utils.Database) -> None:
    first = import_file(hub, EXAMPLE, actor="cli:clerk")
    assert "18 行を登録しました" in first.describe()
    again = import_file(hub, EXAMPLE, actor="cli:clerk")
    text = again.describe()
    assert "過去集計(2022年4月1日〜2023年3月31日): 同じ期間の取り込み済みの表" in text
    assert "置き換えました" in text and "登録しました" not in text
    entries = [e for e in audit.entries(hub) if e.action == "import"]
    replaced = [e for e in entries if e.detail.get("kind") == "tally_replace"]
    assert sorted(e.target for e in replaced) == [
        "2022-04-01..2023-03-31",
        "2023-04-01..2023-11-30",
    ]
    assert all(e.actor == "cli:clerk" for e in entries)
    assert [e.detail.get("kind") for e in entries].count("tally") == 2
    assert json.loads(json.dumps(replaced[0].detail))["old_lines"] in (18, 20)
