"""り災: the applicant's own damage date, the household head, the 委任状, how
many certificates and for whom, the 被災証明 path, flood fields that follow the cause,
and a slip that says what really happens next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdf
import pytest
from textual.widgets import Input, Static

from kiosk.app import KioskSettings, make_app
from kiosk.screens.disaster import DisasterScreen
from kiosk.screens.receipt import ReceiptScreen
from kiosk.widgets.choice import Choice
from odekake.errors import FormErrors
from odekake.receipts.receipt_pdf import write_receipt
from odekake.services import disaster

from .conftest import FixedClock
from .helpers import choose, login, open_afternoon_visit, records, type_into

SIZE = (80, 24)


def form(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "disaster_id": "r5-typhoon13",
        "name": "蛭田 勝",
        "address": "いわき市平デモ3-4",
        "phone": "0246-22-1111",
        "relation": "世帯主",
        "building_address": "いわき市平デモ3-4",
        "cause": "浸水",
        "residence": True,
        "ownership": "持家",
        "water_level": "床上",
        "water_depth_cm": "45",
        "photos": "0",
    }
    base.update(over)
    return base


def test_own_damage_date_head_proxy_copies_and_submit_to(kdb: Any, open_stop: Any) -> None:
    r = disaster.apply(
        kdb,
        form(
            damage_date="R5.9.9",
            relation="代理人",
            head_name="蛭田 トメ",
            proxy_letter=True,
            copies="3",
            submit_to="保険会社、勤務先",
        ),
        open_stop(),
    )
    from odekake.storage.sealing import open_payload
    from tests.kiosk.conftest import SEAL_PRIVATE

    p = open_payload(r.payload, SEAL_PRIVATE)  # the head's name is sealed like every name
    assert "蛭田" not in str(r.payload)
    assert p["damage_date"] == "2023-09-09" and p["copies"] == 3
    assert p["submit_to"] == "保険会社、勤務先" and p["head_name"] == "蛭田 トメ"
    assert p["proxy_letter"] is True and p["service_code"] == "disaster.risai"
    # Without a date the disaster's own date is taken.
    assert disaster.apply(kdb, form(), open_stop()).payload["damage_date"] == "2023-09-08"


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"relation": "世帯員"}, "head_name", "世帯主の氏名"),
        ({"relation": "代理人", "head_name": "蛭田 トメ"}, "proxy_letter", "委任状"),
        ({"damage_date": "2023-09-01"}, "damage_date", "災害の日"),
        ({"cause": "風", "water_level": "なし", "water_depth_cm": "30"}, "water_depth_cm", "なし"),
        ({"water_level": "なし", "water_depth_cm": ""}, "water_level", "浸水"),
        ({"copies": "0"}, "copies", "必要な枚数"),
    ],
)
def test_disaster_form_rules(
    kdb: Any, open_stop: Any, over: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(FormErrors) as err:
        disaster.apply(kdb, form(**over), open_stop())
    assert words in err.value.errors[field]


def test_wind_damage_needs_no_flood_fields(kdb: Any, open_stop: Any) -> None:
    r = disaster.apply(kdb, form(cause="風", water_level="なし", water_depth_cm=""), open_stop())
    assert (r.payload["water_level"], r.payload["water_depth_cm"]) == ("なし", 0)


def test_each_path_says_what_happens_next(kdb: Any, open_stop: Any, tmp_path: Path) -> None:
    survey = disaster.apply(kdb, form(), open_stop())
    selfjudge = disaster.apply(kdb, form(photos="4", self_assessment=True), open_stop())
    hisai = disaster.apply(
        kdb, form(service_code="disaster.hisai", self_assessment=True), open_stop()
    )
    texts = {}
    for name, r in (("survey", survey), ("self", selfjudge), ("hisai", hisai)):
        pdf = write_receipt(r, tmp_path).pdf
        texts[name] = pypdf.PdfReader(pdf).pages[0].extract_text().replace("\n", "")
    assert "現地調査の日程を後日ご連絡します" in texts["survey"]
    assert "自己判定方式" in texts["self"] and "現地調査の日程" not in texts["self"]
    assert "現地調査はありません" in texts["hisai"] and "現地調査の日程" not in texts["hisai"]
    assert hisai.payload["service_name"] == "被災証明書"
    assert hisai.payload["self_assessment"] is False  # no judging on the 被災 path


async def test_the_kiosk_offers_hisai_and_the_flood_fields_follow_the_cause(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = make_app(kiosk_path, clock=clock, settings=KioskSettings())
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot)
        await open_afternoon_visit(pilot)  # the afternoon り災 visit
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DisasterScreen)
        kinds = [label for label, _v in screen.query_one("#f-service_code", Choice).options]
        assert kinds == ["り災証明書", "被災証明書"]
        assert screen.query_one("#f-damage_date", Input).value == "2023-09-08"
        level = screen.query_one("#f-water_level", Choice)
        assert level.value == "床上"  # the first cause is 浸水
        await type_into(pilot, "#f-water_depth_cm", "30")
        await choose(pilot, "cause", "風")
        assert level.value == "なし"
        assert screen.query_one("#f-water_depth_cm", Input).value == ""
        await choose(pilot, "service_code", "disaster.hisai")
        await type_into(pilot, "#f-name", "蛭田 勝")
        await type_into(pilot, "#f-address", "いわき市平デモ3-4")
        await type_into(pilot, "#f-phone", "0246-22-1111")
        await type_into(pilot, "#f-building_address", "いわき市平デモ3-4")
        await type_into(pilot, "#f-copies", "2")
        await type_into(pilot, "#f-submit_to", "保険会社")
        await pilot.press("ctrl+s")
        await pilot.pause()
        receipt = app.screen
        assert isinstance(receipt, ReceiptScreen), screen.query_one(
            "#form-message", Static
        ).render()
        assert "現地調査はありません" in str(receipt.query_one("#receipt-info", Static).render())
        await app.workers.wait_for_complete()
    [p] = records(kiosk_path, "disaster.apply")
    assert (p["service_code"], p["cause"], p["water_level"], p["water_depth_cm"]) == (
        "disaster.hisai",
        "風",
        "なし",
        0,
    )
    assert (p["copies"], p["submit_to"]) == (2, "保険会社")
