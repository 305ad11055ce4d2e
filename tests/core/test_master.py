"""Master data: districts, sites CSV import/export, fees, holidays."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from odekake.access.auth import TEST_ONLY_CHEAP_KDF
from odekake.errors import ImportRejected, NotFound, OdekakeError, ValidationError
from odekake.masterdata import catalog, master, site_files

HEADER = "id,district,name,kind,lat,lon,open_weekdays,open_from,open_to,notes\n"


def test_thirteen_districts_with_coordinates(city_db) -> None:
    ds = master.districts(city_db)
    assert len(ds) == 13
    names = [d.name for d in ds]
    assert "中央台" in names and "川前" in names and "久之浜・大久" in names
    kawamae = master.district(city_db, "川前")
    assert (kawamae.lat, kawamae.lon) == (37.2072, 140.7512)
    assert master.district(city_db, "kawamae") == kawamae
    with pytest.raises(NotFound):
        master.district(city_db, "東京")


def test_import_sites_by_district_name_or_id(city_db, tmp_path: Path) -> None:
    f = tmp_path / "sites.csv"
    f.write_text(
        HEADER
        + "kawamae-01,川前,川前公民館,公民館,37.2,140.75,月水金,09:00,16:00,\n"
        + "tabito-01,tabito,田人集会所,集会所,36.95,140.70,,,,駐車場あり\n",
        encoding="utf-8",
    )
    assert site_files.import_sites(city_db, f) == 2
    s = master.site(city_db, "tabito-01")
    assert s["district_id"] == "tabito" and s["open_weekdays"] == "月火水木金"
    assert master.site(city_db, "kawamae-01")["open_to"] == "16:00"


def test_bad_rows_are_all_reported_and_nothing_is_imported(city_db, tmp_path: Path) -> None:
    f = tmp_path / "sites.csv"
    f.write_text(
        HEADER
        + "ok-01,川前,川前公民館,公民館,37.2,140.75,月水金,09:00,16:00,\n"
        + "bad-02,東京,どこか,公民館,37.2,140.75,,,,\n"
        + "bad-03,田人,田人,集会所,abc,140.7,,,,\n"
        + "bad-04,田人,田人2,集会所,36.9,140.7,月X,17:00,09:00,\n"
        + "ok-01,川前,重複,公民館,37.2,140.75,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as info:
        site_files.import_sites(city_db, f)
    lines = {n for n, _ in info.value.problems}
    assert lines == {3, 4, 5, 6}
    text = str(info.value)
    assert "3行目" in text and "東京" in text and "1件も登録していません" in text
    assert master.sites(city_db) == []


def test_shift_jis_and_japanese_headers_round_trip(city_db, tmp_path: Path) -> None:
    f = tmp_path / "sites_sjis.csv"
    f.write_text(
        "ID,地区,名称,種別,緯度,経度,利用可能曜日,開始時刻,終了時刻,備考\n"
        "ogawa-01,小川,小川公民館,公民館,37.12,140.86,月火水木金,09:00,17:00,\n",
        encoding="cp932",
    )
    assert site_files.import_sites(city_db, f) == 1
    exported = site_files.export_sites(city_db)
    assert exported.splitlines()[0].startswith("ID,地区,名称")
    assert "ogawa-01,小川,小川公民館" in exported
    again = tmp_path / "again.csv"
    again.write_text(exported, encoding="utf-8-sig")
    assert site_files.import_sites(city_db, again) == 1
    assert len(master.sites(city_db)) == 1


def test_missing_required_column_is_one_clear_error(city_db, tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_text("id,name\nx,y\n", encoding="utf-8")
    with pytest.raises(OdekakeError, match="必要な列"):
        site_files.import_sites(city_db, f)


def test_districts_csv_round_trip(city_db, tmp_path: Path) -> None:
    f = tmp_path / "d.csv"
    f.write_text(site_files.export_districts(city_db), encoding="utf-8-sig")
    assert site_files.import_districts(city_db, f) == 13
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,地区名,緯度,経度\nx,新地区,99,140\n", encoding="utf-8")
    with pytest.raises(ImportRejected, match="2行目"):
        site_files.import_districts(city_db, bad)
    assert len(master.districts(city_db)) == 13


def test_fees_are_dated_data(city_db) -> None:
    assert catalog.fee_for(city_db, "cert.juminhyo", date(2025, 1, 1)) == 300
    catalog.set_fee(city_db, "cert.juminhyo", 350, date(2027, 4, 1), "改定")
    assert catalog.fee_for(city_db, "cert.juminhyo", date(2027, 3, 31)) == 300
    assert catalog.fee_for(city_db, "cert.juminhyo", date(2027, 4, 1)) == 350
    with pytest.raises(ValidationError, match="料金表"):
        catalog.fee_for(city_db, "cert.juminhyo", date(2000, 1, 1))
    assert catalog.fee_for(city_db, "cert.koseki", date(2025, 1, 1)) == 450


def test_catalogue_categories_are_the_report_columns(city_db) -> None:
    cats = {s.category for s in catalog.services(city_db)}
    assert set(catalog.REPORT_COLUMNS) <= cats
    assert set(catalog.SERVICE_RECORD_TYPES.values()) <= set(catalog.CATEGORIES)


def test_holidays_and_closures(city_db) -> None:
    assert master.is_closed(city_db, date(2025, 11, 3))  # 文化の日
    assert master.is_closed(city_db, date(2025, 12, 30))  # 年末年始
    assert master.is_closed(city_db, date(2025, 11, 22))  # Saturday
    assert not master.is_closed(city_db, date(2025, 11, 4))


def test_operator_pin_is_hashed(city_db) -> None:
    from odekake.access.auth import check_pin

    master.add_operator(
        city_db, "op9", "試験 太郎", ["operator"], "654321", kdf=TEST_ONLY_CHEAP_KDF
    )
    stored = city_db.execute("SELECT pin_hash FROM operators WHERE id='op9'").fetchone()[0]
    assert "654321" not in stored and stored.startswith("scrypt$")
    assert check_pin("654321", stored) and not check_pin("654322", stored)
    with pytest.raises(OdekakeError):
        master.add_operator(city_db, "op10", "x", ["boss"], "123456", kdf=TEST_ONLY_CHEAP_KDF)
