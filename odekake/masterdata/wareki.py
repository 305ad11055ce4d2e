"""Japanese era (和暦) labels for dates, months and fiscal years.

Residents and city hall read dates both ways, e.g. ``2023年11月(令和5年11月)``.
Eras start on their first day (Reiwa 2019-05-01, Heisei 1989-01-08, Showa
1926-12-25, Taisho 1912-07-30, Meiji 1868-01-25 as the Gregorian calendar counts it);
the first year of an era is written 元年.

A fiscal year (April–March) is named by the year it starts in: fiscal year 2019 is
令和元年度 (the customary name after the era change, although April 2019 was still
平成31年), fiscal year 2022 is 令和4年度 (R4).
"""

from __future__ import annotations

from datetime import date

from odekake.errors import ValidationError

# (first day, name, one-letter abbreviation), newest first.
ERAS: tuple[tuple[date, str, str], ...] = (
    (date(2019, 5, 1), "令和", "R"),
    (date(1989, 1, 8), "平成", "H"),
    (date(1926, 12, 25), "昭和", "S"),
    (date(1912, 7, 30), "大正", "T"),
    (date(1868, 1, 25), "明治", "M"),
)


def era_of(day: date) -> tuple[str, int]:
    """The era name and era year of a day, e.g. ``("令和", 5)`` for 2023-11-08.

    Raises:
        ValidationError: The day is before the Meiji era.
    """
    for start, name, _abbr in ERAS:
        if day >= start:
            return name, day.year - start.year + 1
    raise ValidationError(f"明治より前の日付は和暦にできません: {day.isoformat()}")


def _year_text(year: int) -> str:
    return "元" if year == 1 else str(year)


def wareki_date(day: date) -> str:
    """``令和5年11月8日`` (元年 for an era's first year)."""
    name, year = era_of(day)
    return f"{name}{_year_text(year)}年{day.month}月{day.day}日"


def both_date(day: date) -> str:
    """``2023年11月8日(令和5年11月8日)``."""
    return f"{day.year}年{day.month}月{day.day}日({wareki_date(day)})"


def wareki_month(year: int, month: int) -> str:
    """``令和5年11月`` (the era of the month's first day)."""
    name, ey = era_of(date(year, month, 1))
    return f"{name}{_year_text(ey)}年{month}月"


def month_label(year: int, month: int) -> str:
    """``2023年11月(令和5年11月)``."""
    return f"{year}年{month}月({wareki_month(year, month)})"


def fiscal_era(fy: int) -> tuple[str, int]:
    """Era and era year naming a fiscal year (by the calendar year it starts in).

    The era is the one in force at the end of that calendar year, so fiscal
    year 2019 is 令和元年度 and 2018 is 平成30年度.
    """
    return era_of(date(fy, 12, 31))


def wareki_fiscal_year(fy: int) -> str:
    """``令和4年度`` for fiscal year 2022."""
    name, year = fiscal_era(fy)
    return f"{name}{_year_text(year)}年度"


def fiscal_year_short(fy: int) -> str:
    """``R4`` for fiscal year 2022 (the abbreviation city hall tables use)."""
    name, year = fiscal_era(fy)
    abbr = next(a for _s, n, a in ERAS if n == name)
    return f"{abbr}{year}"


def fiscal_year_label(fy: int) -> str:
    """``2022年度(令和4年度)``."""
    return f"{fy}年度({wareki_fiscal_year(fy)})"


def fiscal_year_of(day: date) -> int:
    """The fiscal year (April–March) a day belongs to."""
    return day.year if day.month >= 4 else day.year - 1


_ERA_BY_LETTER = {abbr: (start, name) for start, name, abbr in ERAS}
_ERA_BY_NAME = {name: (start, name) for start, name, _abbr in ERAS}


def parse_date(text: str) -> date:
    """Read a date as residents and clerks write it: the ONE date parser of the project.

    Accepted (full-width digits and letters too, spaces ignored): ``1948-05-06``,
    ``1948/5/6``, ``1948.5.6``, ``19480506``, ``1948年5月6日``, and 和暦 with the era
    name or its letter: ``昭和23年5月6日``, ``S23.5.6``, ``s23/5/6``, ``R5.1.2``,
    ``平成元年1月8日``, ``H1.1.8`` (M, T, S, H, R; 元 for the first year).

    An era date must fall inside its era (``H1.1.7`` was still 昭和64年).

    Raises:
        ValidationError: The text is not a date in any of these forms, or names a
            day that does not exist.
    """
    import re
    import unicodedata

    s = unicodedata.normalize("NFKC", text).strip().replace(" ", "").upper()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s)
    if m is None and re.fullmatch(r"\d{8}", s):
        m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
    era: tuple[date, str] | None = None
    if m is not None:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        m = re.fullmatch(
            r"(明治|大正|昭和|平成|令和|[MTSHR])(元|\d{1,2})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s
        )
        if m is None:
            raise ValidationError(f"日付として読めません({text})")
        era = _ERA_BY_LETTER.get(m[1]) or _ERA_BY_NAME[m[1]]
        year = era[0].year + (0 if m[2] == "元" else int(m[2]) - 1)
        month, day = int(m[3]), int(m[4])
    try:
        out = date(year, month, day)
    except ValueError as exc:
        raise ValidationError(f"存在しない日付です({text})") from exc
    if era is not None:
        start, name = era
        later = [s for s, _n, _a in ERAS if s > start]
        ends = min(later) if later else None
        if out < start or (ends is not None and out >= ends):
            raise ValidationError(f"{name}の期間にない日付です({text})")
    return out
