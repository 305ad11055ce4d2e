"""The My Number guard and the shared form parsing."""

from __future__ import annotations

from datetime import date

import pytest

from odekake.errors import FormErrors
from odekake.services.common import Form, is_my_number, looks_like_my_number, my_number_check_digit


def test_check_digit_of_the_documented_example() -> None:
    assert my_number_check_digit("62149832025") == 7
    assert is_my_number("621498320257")
    assert not is_my_number("621498320258")


@pytest.mark.parametrize(
    "text",
    [
        "621498320257",
        "番号は621498320257です",
        "6214 9832 0257",
        "6214-9832-0257",
        "６２１４９８３２０２５７",
    ],
)
def test_my_number_is_caught_in_any_shape(text: str) -> None:
    assert looks_like_my_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "621498320258",  # wrong check digit
        "0246-22-1111",  # a phone number
        "12345678901234567890123",  # a 23-digit 申請書ID
        "いわき市平字梅本21",
        "",
    ],
)
def test_other_numbers_pass(text: str) -> None:
    assert not looks_like_my_number(text)


def test_form_refuses_my_number_in_free_text_and_explains() -> None:
    form = Form({"purpose": "621498320257"})
    form.text("purpose", "使用目的")
    with pytest.raises(FormErrors) as err:
        form.raise_if_any()
    assert "個人番号" in err.value.errors["purpose"]


def test_impossible_date_and_future_date() -> None:
    form = Form({"a": "2023-02-30", "b": "2999-01-01", "c": "19500401"})
    assert form.birth_date("a", "生年月日", today=date(2026, 11, 24)) == ""
    assert form.birth_date("b", "生年月日", today=date(2026, 11, 24)) == ""
    assert form.birth_date("c", "生年月日", today=date(2026, 11, 24)) == "1950-04-01"
    assert "存在しない日付" in form.errors["a"]
    assert "b" in form.errors and "c" not in form.errors


def test_phone_with_letters_is_refused() -> None:
    form = Form({"p": "0246-22-11a1", "q": "0246-22-1111", "r": "090 1234 5678"})
    assert form.phone("p", "電話番号") == ""
    assert form.phone("q", "電話番号") == "0246-22-1111"
    assert form.phone("r", "電話番号") == ""
    assert set(form.errors) == {"p", "r"}
