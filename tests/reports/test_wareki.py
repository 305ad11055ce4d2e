"""和暦 labels."""

from __future__ import annotations

from datetime import date

import pytest

from odekake.errors import ValidationError
from odekake.masterdata.wareki import (
    both_date,
    era_of,
    fiscal_year_label,
    fiscal_year_of,
    fiscal_year_short,
    month_label,
    wareki_date,
    wareki_fiscal_year,
)


def test_era_boundaries() -> None:
    assert era_of(date(2019, 4, 30)) == ("平成", 31)
    assert era_of(date(2019, 5, 1)) == ("令和", 1)
    assert era_of(date(1989, 1, 7)) == ("昭和", 64)
    assert era_of(date(1989, 1, 8)) == ("平成", 1)
    assert era_of(date(1945, 1, 2)) == ("昭和", 20)
    with pytest.raises(ValidationError):
        era_of(date(1800, 1, 1))


def test_dates_and_months() -> None:
    assert wareki_date(date(2023, 11, 8)) == "令和5年11月8日"
    assert wareki_date(date(2019, 5, 1)) == "令和元年5月1日"
    assert both_date(date(2025, 10, 1)) == "2025年10月1日(令和7年10月1日)"
    assert month_label(2023, 11) == "2023年11月(令和5年11月)"
    assert month_label(2019, 4) == "2019年4月(平成31年4月)"
    assert month_label(2019, 5) == "2019年5月(令和元年5月)"


def test_fiscal_years() -> None:
    assert wareki_fiscal_year(2022) == "令和4年度"
    assert fiscal_year_short(2022) == "R4"
    assert fiscal_year_short(2023) == "R5"
    assert wareki_fiscal_year(2019) == "令和元年度"
    assert wareki_fiscal_year(2018) == "平成30年度"
    assert fiscal_year_short(2018) == "H30"
    assert fiscal_year_label(2023) == "2023年度(令和5年度)"
    assert fiscal_year_of(date(2023, 3, 31)) == 2022
    assert fiscal_year_of(date(2023, 4, 1)) == 2023
