"""Helpers shared by the kiosk services: clock, form parsing, the My Number guard."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import sqlite_utils

from odekake.access import authz
from odekake.errors import FormErrors, ValidationError
from odekake.masterdata import catalog
from odekake.receipts import fiscal_year

JST = timezone(timedelta(hours=9), "JST")

Clock = Callable[[], datetime]

PAYMENTS: dict[str, str] = {"cash": "現金", "cashless": "キャッシュレス"}

MY_NUMBER_MESSAGE = (
    "個人番号(マイナンバー)と思われる12桁の番号は入力できません。個人番号は記録しない決まりです"
)

_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_PHONE = re.compile(r"^[0-9]{2,5}-?[0-9]{1,4}-?[0-9]{3,4}$")
# The rules below are also written out for the residents' pre-fill page
# (odekake.residents.prefill.rules), so the page refuses exactly what the kiosk refuses.
PHONE_PATTERN = _PHONE.pattern
PHONE_DIGITS = (10, 11)
PHONE_MESSAGE = "{label}は数字とハイフンで入力してください(例: 0246-22-1111)"
TEXT_MAX_LEN = 100
TEXT_TOO_LONG = "{label}は{max_len}文字以内で入力してください"
UNPRINTABLE_MESSAGE = "{label}に絵文字や制御文字は使えません({bad})"
UNPRINTABLE_CATEGORIES = ("Cc", "Cf", "Co", "Cs", "Cn")
UNPRINTABLE_RANGES = ((0xFE00, 0xFE0F),)
# Pictographs: symbols (So) in these ranges; CJK symbols such as 〒 stay allowed.
UNPRINTABLE_SYMBOL_RANGES = ((0x1F000, 0x10FFFF), (0x2190, 0x2BFF))


# One exception for "not allowed", raised by the core's role checks (odekake.access.authz).
PermissionDenied = authz.PermissionDenied


def system_clock() -> datetime:
    """The current time (aware, UTC)."""
    return datetime.now(UTC)


def local_date(now: datetime) -> date:
    """The JST calendar day of an instant."""
    return now.astimezone(JST).date()


def local_hhmm(now: datetime) -> str:
    """``HH:MM`` in JST."""
    return now.astimezone(JST).strftime("%H:%M")


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII) and trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def my_number_check_digit(first11: str) -> int:
    """The check digit of an individual number from its first 11 digits."""
    total = sum(int(d) * w for d, w in zip(first11, _WEIGHTS, strict=True))
    r = total % 11
    return 0 if r <= 1 else 11 - r


def is_my_number(digits: str) -> bool:
    """True for exactly 12 digits whose last digit is the My Number check digit."""
    if len(digits) != 12 or not digits.isdigit():
        return False
    return my_number_check_digit(digits[:11]) == int(digits[11])


def looks_like_my_number(text: str) -> bool:
    """True when ``text`` contains a 12-digit run that passes the check digit.

    Full-width digits count, and spaces or hyphens between digits are ignored
    (``6214 9832 0257`` is caught). Longer digit runs (a 23-digit 申請書ID) and
    phone numbers are not 12-digit runs and pass.
    """
    joined = re.sub(r"(?<=\d)[\s\-ー－‐]+(?=\d)", "", normalise(text))
    return any(is_my_number(run) for run in re.findall(r"\d+", joined))


def unprintable(text: str) -> str:
    """The first emoji or control character in ``text`` (as ``U+XXXX``), or ``""``.

    Names and addresses go on certificates and to city hall's systems, which take
    neither: control and format characters (Cc, Cf, Co, Cs), variation selectors,
    and pictographs (So outside the CJK symbols a Japanese address may hold, such as 〒).
    """
    for ch in text:
        code = ord(ch)
        cat = unicodedata.category(ch)
        if (
            cat in UNPRINTABLE_CATEGORIES
            or any(lo <= code <= hi for lo, hi in UNPRINTABLE_RANGES)
            or (cat == "So" and any(lo <= code <= hi for lo, hi in UNPRINTABLE_SYMBOL_RANGES))
        ):
            return f"U+{code:04X}"
    return ""


class Form:
    """Collects field errors while a service parses a form; raises them all at once."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        """Record the first error of a field."""
        self.errors.setdefault(field, message)

    def raw(self, field: str) -> Any:
        """The value as given."""
        return self.values.get(field)

    def _typed(self, field: str, label: str, *, required: bool) -> str | None:
        """What every typed field does first: normalise, require, refuse a My Number.

        Returns the text, ``""`` when empty (an error recorded if required), or
        ``None`` when the text was refused as an individual number.
        """
        value = self.values.get(field)
        text = "" if value is None else normalise(str(value))
        if not text:
            if required:
                self.fail(field, f"{label}を入力してください")
            return ""
        if looks_like_my_number(text):
            self.fail(field, MY_NUMBER_MESSAGE)
            return None
        return text

    def fee(
        self, db: sqlite_utils.Database, code: str, day: date, field: str = "service_code"
    ) -> int:
        """The unit fee of a service on a day from the dated fee table (0 and an error if none)."""
        if not code:
            return 0
        try:
            return catalog.fee_for(db, code, day)
        except ValidationError as exc:
            self.fail(field, str(exc))
            return 0

    def text(
        self, field: str, label: str, *, required: bool = True, max_len: int = TEXT_MAX_LEN
    ) -> str:
        """A free-text field: trimmed, length-checked, never a My Number."""
        text = self._typed(field, label, required=required)
        if not text:
            return ""
        bad = unprintable(text)
        if bad:
            self.fail(field, UNPRINTABLE_MESSAGE.format(label=label, bad=bad))
            return ""
        if len(text) > max_len:
            self.fail(field, TEXT_TOO_LONG.format(label=label, max_len=max_len))
        return text

    def integer(
        self, field: str, label: str, *, lo: int, hi: int, default: int | None = None
    ) -> int:
        """A whole number between ``lo`` and ``hi``."""
        text = self._typed(field, label, required=default is None)
        if text is None:
            return lo
        if not text:
            return lo if default is None else default
        try:
            n = int(text.replace(",", ""))
        except ValueError:
            self.fail(field, f"{label}は数字で入力してください")
            return lo
        if not lo <= n <= hi:
            self.fail(field, f"{label}は{lo}〜{hi}の範囲で入力してください")
        return n

    def choice(self, field: str, label: str, options: Iterable[str]) -> str:
        """One of a fixed set of values."""
        value = self.values.get(field)
        opts = list(options)
        if value in (None, ""):
            self.fail(field, f"{label}を選んでください")
            return ""
        if value not in opts:
            self.fail(field, f"{label}の値が正しくありません({value})")
            return ""
        return str(value)

    def flag(self, field: str) -> bool:
        """A yes/no field."""
        return bool(self.values.get(field))

    def birth_date(self, field: str, label: str, *, today: date, required: bool = False) -> str:
        """A past date as ``YYYY-MM-DD``, read by :func:`odekake.masterdata.wareki.parse_date`
        (Western or 和暦: ``1948-05-06``, ``19480506``, ``S23.5.6``, ``昭和23年5月6日``)."""
        return self.date(field, label, today=today, required=required, past=True)

    def date(
        self, field: str, label: str, *, today: date, required: bool = False, past: bool = False
    ) -> str:
        """A date as ``YYYY-MM-DD`` (any form :func:`odekake.masterdata.wareki.parse_date` reads);
        ``past`` refuses a day after ``today``."""
        from odekake.masterdata.wareki import parse_date

        text = self._typed(field, label, required=required)
        if not text:
            return ""
        try:
            d = parse_date(text)
        except ValidationError as exc:
            if "読めません" in str(exc):
                self.fail(
                    field,
                    f"{label}は 1950-04-01・S25.4.1・昭和25年4月1日 のように入力してください",
                )
            else:  # a day that does not exist, or outside its era
                self.fail(field, f"{label}: {exc}")
            return ""
        if (past and d > today) or d.year < 1868:
            self.fail(field, f"{label}が正しくありません({text})")
            return ""
        return d.isoformat()

    def phone(self, field: str, label: str, *, required: bool = False) -> str:
        """A Japanese phone number: digits and hyphens only."""
        text = self._typed(field, label, required=required)
        if not text:
            return ""
        digits = text.replace("-", "")
        lo, hi = PHONE_DIGITS
        if not _PHONE.match(text) or not digits.isdigit() or not lo <= len(digits) <= hi:
            self.fail(field, PHONE_MESSAGE.format(label=label))
            return ""
        return text

    def raise_if_any(self) -> None:
        """Raise :class:`FormErrors` when any field failed; nothing was written."""
        if self.errors:
            raise FormErrors(self.errors)


@dataclass(frozen=True)
class Actor:
    """Who is acting, where and when (passed to every service call)."""

    operator_id: str
    stop_id: str
    now: datetime

    @property
    def day(self) -> date:
        """The JST day of the action."""
        return local_date(self.now)


def next_application_no(db: sqlite_utils.Database, prefix: str, field: str, day: date) -> str:
    """``<prefix><FY>-<device>-<5 digits>``, sequential per device and fiscal year.

    The number comes from the never-reused counter (``odekake.receipts.next_number``),
    so a purged or voided application keeps its number. Call inside the write
    transaction of the record that uses it.
    """
    from odekake.receipts import next_number
    from odekake.storage.db import device_id_of

    head = f"{prefix}{fiscal_year(day)}-{device_id_of(db)}-"
    return f"{head}{next_number(db, head, field):05d}"


def addressee_fields(addressee: str) -> dict[str, Any]:
    """The receipt's 宛名, only when one was entered.

    ``addressee_name`` is personal data (sealed by ``odekake.storage.records.append`` like
    every ``*_name`` key); ``addressee`` only says there is one, so a reprint
    leaves a line for it.
    """
    return {"addressee": True, "addressee_name": addressee} if addressee else {}


def require_counter_role(db: sqlite_utils.Database, actor: Actor) -> None:
    """Refuse (and audit) a counter service or fee by an operator without the 窓口 role.

    A supervisor covers every role; an election clerk alone (投票事務従事者) serves
    only at the voting station. Called before the write transaction, so the
    refusal's audit entry stays.
    """
    from odekake.access import authz

    authz.require(db, actor.operator_id, "serve")
