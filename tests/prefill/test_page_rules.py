"""The page can only make codes the kiosk accepts: it is filled in Chromium with
generated awkward input, and every code it makes is decoded by the kiosk's decoder to
exactly what the field held (as the kiosk reads typing: NFKC, trimmed), or the page
refused the value beside its field — and then the kiosk refuses it too."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from odekake.residents.prefill import PrefillError, decode, encode, rules
from odekake.services.common import normalise
from odekake.storage.db import connect

from .conftest import Browser

VALID = {
    "service_code": "cert.juminhyo",
    "copies": "1",
    "relation": "本人",
    "name": "いわき 花子",
    "address": "いわき市平字梅本21",
}
PIECES = [
    "'", "＇", '"', "＂", "`", "\\", "\\\\", "</script>", "<b>", "&amp;", "${x}", "%s",
    "O'Brien", "山田 太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "ｲﾜｷｼ", "ｶﾞ", "㈱", "①", "〒970-8686", "№",
    "😀", "👨‍👩‍👧", "❤️", "☎", "→", "𠮷", "髙", "﨑", "\u3000", "\u00a0", " ", "\t",
    "\u200b", "\u200d", "e\u0301", "ＡＢＣ", "１２３", "ー", "・", "〜", "～", "―",
]  # fmt: skip
PHONES = [
    "0246-22-1111", "0246221111", "０２４６－２２－１１１１", "22-1111", "(0246)22-1111",
    "+81-246-22-1111", "+81246221111", "090-1234-5678", "09012345678", "0246 22 1111",
    "0246-22-11111", "0120-123-456", "03-1234-5678", "0246ー22ー1111", "0246‐22‐1111",
    "024-622-1111", "0246-2-21111", "1", "0246-22-1111 ", " 0246-22-1111", "0246-22-111😀",
    "０９０ー１２３４ー５６７８", "0246--22-1111", "-0246-22-1111",
]  # fmt: skip


def _texts(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        k = rng.choice([1, 2, 3, 5, 8])
        out.append("".join(rng.choice(PIECES) for _ in range(k)))
    base = "福島県いわき市平字梅本二十一番地の一 いわき市役所本庁舎 "
    for length in (99, 100, 101, 130, 250):
        out.append((base * 10)[:length])
    out.append("𠮷" * 100)  # 100 characters, 200 UTF-16 units
    out.append("𠮷" * 101)
    return out


@pytest.fixture
def site(tmp_path: Path, hub_db: Path) -> Path:
    from click.testing import CliRunner

    from odekake.cli import main

    out = tmp_path / "site"
    res = CliRunner().invoke(main, ["prefill", "site", "--db", str(hub_db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _base(page: Any) -> None:
    page.check("#service-cert")
    page.select_option("#cert-service_code", VALID["service_code"])
    page.fill("#cert-copies", VALID["copies"])
    page.check("#cert-relation-0")
    page.fill("#cert-name", VALID["name"])
    page.fill("#cert-address", VALID["address"])


def _kiosk_accepts(db: Any, fields: dict[str, str], today: date) -> bool:
    try:
        decode(db, encode("cert", fields, today), today=today)
    except PrefillError:
        return False
    return True


def _attempt(page: Any, field: str, text: str) -> tuple[str, str | None, str]:
    """Fill one field, press 「QRコードを作る」: (what the field held, payload or None, error)."""
    selector = f"#cert-{field}"
    page.fill(selector, text)
    held = page.input_value(selector)
    page.click("#make")
    if page.is_visible("#result"):
        payload = page.get_attribute("#qr", "data-payload")
        page.click("#edit")
        return held, payload, ""
    return held, None, page.inner_text(f"#cert-{field}-error")


def test_every_code_the_page_makes_decodes_to_what_was_typed(
    browser: Browser, site: Path, hub_db: Path
) -> None:
    assert json.loads((site / "rules.json").read_text(encoding="utf-8")) == rules()
    rng = random.Random(20261206)
    cases = [("name", t) for t in _texts(rng, 25)]
    cases += [("address", t) for t in _texts(rng, 15)]
    cases += [("kana", t) for t in _texts(rng, 5)] + [("purpose", t) for t in _texts(rng, 5)]
    cases += [("phone", p) for p in PHONES]
    page = browser.page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((site / "index.html").as_uri())
    _base(page)
    db = connect(hub_db)
    today = date.today()
    made = refused = 0
    stricter: list[str] = []
    for field, text in cases:
        held, payload, error = _attempt(page, field, text)
        if "\n" not in text and "\r" not in text:
            assert held == text, "the field cut or changed the input"
        expected = normalise(held)
        fields = {**VALID, field: expected} if expected else dict(VALID)
        if payload is not None:
            made += 1
            got = decode(db, payload, today=today)  # raises if the kiosk refuses it
            assert got.fields.get(field, "") == expected, (field, text)
            assert {k: v for k, v in got.fields.items() if k != field} == {
                k: v for k, v in VALID.items() if k != field
            }
        else:
            refused += 1
            assert error, f"refused without a word beside the field: {field} {text!r}"
            if not expected:  # blank once trimmed: a required field asks for it
                assert error.endswith("を入力してください"), (field, held, error)
            elif _kiosk_accepts(db, fields, today):
                stricter.append(f"{field} {held!r}: {error}")
        page.fill(f"#cert-{field}", VALID.get(field, ""))
    db.close()
    assert stricter == []  # the page refuses nothing the kiosk accepts
    assert errors == []
    assert made > 20 and refused > 20, (made, refused)
    assert all(u.startswith("file://") for u in requests), requests


def test_quotes_and_backslashes_make_a_code(browser: Browser, site: Path, hub_db: Path) -> None:
    page = browser.page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((site / "index.html").as_uri())
    _base(page)
    db = connect(hub_db)
    for name in ("オ'ブライエン", "オ＇ブライエン", 'いわき "花子"', "いわき\\花子"):
        page.fill("#cert-name", name)
        page.click("#make")
        assert errors == [] and page.is_visible("#result"), name
        got = decode(db, page.get_attribute("#qr", "data-payload"), today=date.today())
        assert got.fields["name"] == normalise(name)
        assert normalise(name) in page.inner_text("#contents")
        page.click("#edit")
    db.close()
