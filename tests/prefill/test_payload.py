"""The pre-fill payload: what the page makes, the kiosk reads, and every way it is refused."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest

from odekake.residents.prefill import MAX_AGE_DAYS, PrefillError, decode, encode, looks_like_payload

TODAY = date(2026, 11, 27)
JUMINHYO = {
    "service_code": "cert.juminhyo",
    "copies": "1",
    "relation": "本人",
    "name": "いわき 花子",
    "address": "いわき市平字デモ1-2",
    "birth_date": "1948-05-06",
}


def test_round_trip_is_ascii_for_a_keyboard_wedge(city_db) -> None:
    text = encode("cert", JUMINHYO, TODAY)
    assert text.isascii() and text.startswith("ODK1:") and looks_like_payload(text)
    got = decode(city_db, text + "\n", today=TODAY)
    assert got.service == "cert" and got.menu_key == "1" and got.fields == JUMINHYO
    assert got.title == "証明書の請求" and got.created == TODAY


def _forge(doc: dict) -> str:
    import zlib

    body = base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    return f"ODK1:{body}:{zlib.crc32(body.encode()) & 0xFFFFFFFF:08x}"


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t[: len(t) // 2], "最後まで読み取れません"),
        (lambda t: t[:-12] + ("A" if t[-12] != "A" else "B") + t[-11:], "正しく読み取れません"),
        (lambda t: t.replace("ODK1:", "ODK2:"), "新しい形式"),
        (lambda t: "こんにちは", "最後まで読み取れません"),
    ],
    ids=["truncated", "one-character-wrong", "newer-version", "not-ours"],
)
def test_damaged_codes_fill_nothing(city_db, mangle, message) -> None:
    with pytest.raises(PrefillError, match=message):
        decode(city_db, mangle(encode("cert", JUMINHYO, TODAY)), today=TODAY)


def test_too_old_and_future_codes(city_db) -> None:
    from datetime import timedelta

    old = encode("cert", JUMINHYO, TODAY - timedelta(days=MAX_AGE_DAYS + 1))
    with pytest.raises(PrefillError, match="90日より前"):
        decode(city_db, old, today=TODAY)
    assert decode(city_db, encode("cert", JUMINHYO, TODAY - timedelta(days=90)), today=TODAY)
    with pytest.raises(PrefillError, match="未来"):
        decode(city_db, encode("cert", JUMINHYO, TODAY + timedelta(days=2)), today=TODAY)
    assert decode(city_db, encode("cert", JUMINHYO, TODAY + timedelta(days=1)), today=TODAY)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**JUMINHYO, "address": "平 1234 5678 9018"}, "マイナンバー"),
        ({**JUMINHYO, "name": "6214 9832 0257"}, "マイナンバー"),
        ({**JUMINHYO, "birth_date": "2099-01-01"}, "生年月日"),
        ({**JUMINHYO, "service_code": "cert.unknown"}, "証明書の種類"),
        ({**JUMINHYO, "phone": "電話して"}, "電話番号"),
        ({**JUMINHYO, "copies": "99"}, "部数"),
        ({**JUMINHYO, "id_doc1": "運転免許証"}, "知らない項目"),
    ],
    ids=["my-number-address", "my-number-name", "future-birth", "unknown-type", "phone",
         "copies", "unknown-field"],
)  # fmt: skip
def test_a_field_that_fails_validation_fills_nothing(city_db, fields, message) -> None:
    with pytest.raises(PrefillError, match=message):
        decode(city_db, encode("cert", fields, TODAY), today=TODAY)


def test_unknown_service_and_version_inside(city_db) -> None:
    with pytest.raises(PrefillError, match="受け付けていません"):
        decode(city_db, _forge({"v": 1, "d": "2026-11-27", "s": "passport", "f": {}}), today=TODAY)
    with pytest.raises(PrefillError, match="新しい形式"):
        decode(city_db, _forge({"v": 2, "d": "2026-11-27", "s": "cert", "f": {}}), today=TODAY)


def test_a_23_digit_application_id_is_not_a_my_number(city_db) -> None:
    fields = {"application_id": "1234 5678 9012 3456 7890 123", "name": "申請 太郎",
              "birth_date": "1950-01-02", "route": "申請時来庁方式"}  # fmt: skip
    got = decode(city_db, encode("mynumber", fields, TODAY), today=TODAY)
    assert got.menu_key == "2"
    with pytest.raises(PrefillError, match="23桁"):
        decode(city_db, encode("mynumber", {**fields, "application_id": "123"}, TODAY), today=TODAY)
