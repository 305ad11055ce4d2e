"""Every kiosk service rule, tested without the UI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlite_utils

from odekake.errors import FormErrors, OdekakeError
from odekake.masterdata import catalog
from odekake.services import (
    certificates,
    consultation,
    dayclose,
    disaster,
    explanation,
    frailty,
    garbage,
    login,
    mynumber,
    stops,
)
from odekake.services.common import Actor, PermissionDenied
from odekake.services.identity import check_identity
from odekake.storage import records as rec
from odekake.storage.sealing import open_payload
from tests.kiosk.conftest import SEAL_PRIVATE

from .conftest import DAY, NOW

ActorF = Callable[[], Actor]


def count(db: sqlite_utils.Database, type_: str) -> int:
    return int(db.execute("SELECT COUNT(*) FROM records WHERE type = ?", [type_]).fetchone()[0])


def cert_form(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "service_code": "cert.juminhyo",
        "copies": "1",
        "name": "遠藤 ヨシ子",
        "address": "いわき市川前町デモ1-2",
        "relation": "本人",
        "id_doc1": "運転免許証",
        "id_doc2": "",
        "payment": "cash",
    }
    base.update(over)
    return base


# -- stops --------------------------------------------------------------------


def test_planned_visits_are_this_vans_today(kdb: sqlite_utils.Database) -> None:
    visits = stops.planned_visits(kdb, "van-1", DAY)
    assert [v.id for v in visits] == ["pv-1", "pv-2"]
    assert visits[0].site_name == "川前公民館" and visits[0].window == "10:00-12:00"
    assert visits[1].services == ["disaster"]
    assert stops.planned_visits(kdb, "van-1", DAY + timedelta(days=1)) == []


def test_open_planned_writes_stop_open(kdb: sqlite_utils.Database) -> None:
    r = stops.open_planned(kdb, "pv-1", operator_id="op001", now=NOW)
    p = r.payload
    assert r.type == "stop.open"
    assert p["stop_id"] == "van-1-2026-11-24-1000"
    assert p["activity"] == "regular" and p["planned"] is True and p["plan_visit_id"] == "pv-1"
    assert p["van_id"] == "van-1" and p["date"] == "2026-11-24" and p["site_id"] == "kawamae-01"
    assert "certificate" in p["services"]
    assert stops.planned_visits(kdb, "van-1", DAY)[0].opened
    with pytest.raises(OdekakeError):
        stops.open_planned(kdb, "pv-2", operator_id="op001", now=NOW)  # one stop at a time
    stops.close_stop(kdb, p["stop_id"], now=NOW)
    assert count(kdb, "stop.close") == 1
    with pytest.raises(OdekakeError):
        stops.close_stop(kdb, p["stop_id"], now=NOW)


def test_a_planned_stop_opened_well_outside_its_hours_needs_a_reason(
    kdb: sqlite_utils.Database,
) -> None:
    # pv-2 is 13:30-15:30; NOW is 10:05: three and a half hours early
    with pytest.raises(stops.OutsideHours, match="13:30-15:30"):
        stops.open_planned(kdb, "pv-2", operator_id="op001", now=NOW)
    assert count(kdb, "stop.open") == 0
    r = stops.open_planned(
        kdb, "pv-2", operator_id="op001", now=NOW, hours_reason="午後の会場が使えないため"
    )
    assert r.payload["hours_reason"] == "午後の会場が使えないため"
    assert "30分より前" in r.payload["outside_hours"]
    stops.close_stop(kdb, r.payload["stop_id"], now=NOW)
    # pv-1 (10:00-12:00): 09:31 is within the 30 minutes; 09:29 and 12:01 are not
    jst = timezone(timedelta(hours=9))
    assert stops.hours_problem("10:00-12:00", datetime(2026, 11, 24, 9, 31, tzinfo=jst)) is None
    assert stops.hours_problem("10:00-12:00", datetime(2026, 11, 24, 9, 29, tzinfo=jst))
    late = stops.hours_problem("10:00-12:00", datetime(2026, 11, 24, 12, 1, tzinfo=jst))
    assert late is not None and "過ぎています" in late
    # the 04:59 of a real day: refused without a reason
    with pytest.raises(stops.OutsideHours):
        stops.open_planned(
            kdb, "pv-1", operator_id="op001", now=datetime(2026, 11, 24, 4, 59, tzinfo=jst)
        )


def test_an_unplanned_stop_asks_for_its_hours(kdb: sqlite_utils.Database) -> None:
    values = {"site_id": "tabito-01", "activity": "other", "window": "", "reason": "要望"}
    with pytest.raises(FormErrors) as err:
        stops.open_unplanned(kdb, values, operator_id="op001", now=NOW)
    assert set(err.value.errors) == {"window"}


def test_unplanned_stop_needs_a_reason(kdb: sqlite_utils.Database) -> None:
    values = {"site_id": "tabito-01", "activity": "other", "window": "10:00-11:00", "reason": ""}
    with pytest.raises(FormErrors) as err:
        stops.open_unplanned(kdb, values, operator_id="op001", now=NOW)
    assert set(err.value.errors) == {"reason"}
    assert count(kdb, "stop.open") == 0
    values["reason"] = "地区の要望で臨時開設"
    r = stops.open_unplanned(kdb, values, operator_id="op001", now=NOW)
    assert r.payload["planned"] is False and "reason" not in r.payload  # sealed
    assert open_payload(r.payload, SEAL_PRIVATE)["reason"] == "地区の要望で臨時開設"
    assert r.payload["services"] == ["explanation"]


def test_unplanned_stop_rejects_bad_window_and_site(kdb: sqlite_utils.Database) -> None:
    values = {"site_id": "nowhere", "activity": "regular", "window": "12:00-10:00", "reason": "x"}
    with pytest.raises(FormErrors) as err:
        stops.open_unplanned(kdb, values, operator_id="op001", now=NOW)
    assert set(err.value.errors) == {"site_id", "window"}


# -- identity -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("docs", "ok"),
    [
        (["運転免許証"], True),
        (["マイナンバーカード", ""], True),
        (["資格確認書(健康保険)"], False),
        (["資格確認書(健康保険)", "年金手帳・年金証書"], True),
        (["資格確認書(健康保険)", "学生証"], True),
        (["学生証", "キャッシュカード"], False),
        ([], False),
        (["運転免許証", "運転免許証"], False),
        (["図書館カード"], False),
    ],
)
def test_identity_rule(docs: list[str], ok: bool) -> None:
    result, error = check_identity(docs)
    assert (result is not None) is ok
    assert (error is None) is ok


# -- certificates -------------------------------------------------------------------


def test_certificate_common_request(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    r = certificates.issue(kdb, cert_form(), open_stop())
    p = r.payload
    assert r.type == "certificate.issue"
    assert p["receipt_no"] == "R2026-van-1-000001"
    assert (p["fee_each"], p["copies"], p["amount"], p["payment"]) == (300, 1, 300, "cash")
    assert p["stop_id"] == open_stop().stop_id and p["people"] == 1
    assert p["id_check"] == {"kind": "photo", "documents": ["運転免許証"]}
    assert open_payload(p, SEAL_PRIVATE)["requester"]["name"] == "遠藤 ヨシ子"
    r2 = certificates.issue(kdb, cert_form(service_code="cert.koseki", copies="2"), open_stop())
    assert r2.payload["receipt_no"] == "R2026-van-1-000002"
    assert r2.payload["amount"] == 900


def test_certificate_fee_follows_the_dated_table(
    kdb: sqlite_utils.Database, open_stop: ActorF
) -> None:
    catalog.set_fee(kdb, "cert.juminhyo", 350, DAY)
    r = certificates.issue(kdb, cert_form(copies="3"), open_stop())
    assert (r.payload["fee_each"], r.payload["amount"]) == (350, 1050)


def test_unknown_fee_is_a_field_error(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    kdb.execute("UPDATE fees SET valid_from = '2030-01-01' WHERE service_code = 'cert.nozei'")
    with pytest.raises(FormErrors) as err:
        certificates.issue(kdb, cert_form(service_code="cert.nozei"), open_stop())
    assert "手数料" in err.value.errors["service_code"]
    assert count(kdb, "certificate.issue") == 0


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"copies": "0"}, "copies"),
        ({"copies": "abc"}, "copies"),
        ({"name": ""}, "name"),
        ({"address": ""}, "address"),
        ({"birth_date": "1950-02-30"}, "birth_date"),
        ({"phone": "0246-2a-1111"}, "phone"),
        ({"relation": "友人"}, "relation"),
        ({"relation": "代理人", "subject_name": "遠藤 清"}, "proxy_letter"),
        ({"relation": "同一世帯"}, "subject_name"),
        ({"id_doc1": "学生証", "id_doc2": "キャッシュカード"}, "id_doc1"),
        ({"id_doc1": ""}, "id_doc1"),
        ({"service_code": "cert.inkan"}, "inkan_card"),
        ({"service_code": "cert.shotoku", "optional_items": ["本籍"]}, "optional_items"),
        (
            {
                "relation": "代理人",
                "subject_name": "遠藤 清",
                "proxy_letter": True,
                "optional_items": ["個人番号"],
            },
            "optional_items",
        ),
        ({"payment": "mixed"}, "payment"),
        ({"payment": ""}, "payment"),
        ({"purpose": "621498320257"}, "purpose"),
        ({"name": "遠藤 621498320257"}, "name"),
        ({"service_code": "cert.unknown"}, "service_code"),
    ],
)
def test_certificate_rules(
    kdb: sqlite_utils.Database, open_stop: ActorF, over: dict[str, Any], field: str
) -> None:
    with pytest.raises(FormErrors) as err:
        certificates.issue(kdb, cert_form(**over), open_stop())
    assert field in err.value.errors
    assert count(kdb, "certificate.issue") == 0


def test_certificate_valid_variants(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    proxy = certificates.issue(
        kdb,
        cert_form(
            relation="代理人",
            subject_name="遠藤 清",
            proxy_letter=True,
            id_doc1="資格確認書(健康保険)",
            id_doc2="学生証",
            optional_items=["世帯主・続柄"],
            payment="cashless",
        ),
        open_stop(),
    )
    assert proxy.payload["proxy_letter"] is True
    assert proxy.payload["id_check"]["kind"] == "two"
    assert proxy.payload["payment"] == "cashless"
    inkan = certificates.issue(
        kdb, cert_form(service_code="cert.inkan", inkan_card=True), open_stop()
    )
    assert inkan.payload["inkan_card"] is True
    mine = certificates.issue(kdb, cert_form(optional_items=["個人番号"]), open_stop())
    assert mine.payload["optional_items"] == ["個人番号"]


def test_certificate_needs_an_open_stop(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    actor = open_stop()
    stops.close_stop(kdb, actor.stop_id, now=NOW)
    with pytest.raises(OdekakeError):
        certificates.issue(kdb, cert_form(), actor)
    assert count(kdb, "certificate.issue") == 0


def test_void_keeps_the_number_and_is_supervisor_only(
    kdb: sqlite_utils.Database, open_stop: ActorF
) -> None:
    r = certificates.issue(kdb, cert_form(), open_stop())
    with pytest.raises(PermissionDenied):
        certificates.void_receipt(
            kdb, r.payload["receipt_no"], operator_id="op001", roles=("operator",), now=NOW
        )
    v = certificates.void_receipt(
        kdb, r.payload["receipt_no"], operator_id="sv001", roles=("supervisor",), now=NOW
    )
    assert v.type == "record.void" and v.supersedes == r.id
    assert v.payload["reason"] == "書損"
    with pytest.raises(OdekakeError):
        certificates.void_receipt(
            kdb, r.payload["receipt_no"], operator_id="sv001", roles=("supervisor",), now=NOW
        )
    # The voided number is never reused.
    r2 = certificates.issue(kdb, cert_form(), open_stop())
    assert r2.payload["receipt_no"] == "R2026-van-1-000002"
    live = rec.effective(rec.iter_records(kdb, types=["certificate.issue", "record.void"]))
    assert [x.id for x in live] == [r2.id]


# -- my number ------------------------------------------------------------------------

APP_ID = "12345678901234567890123"


def mn_form(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "application_id": APP_ID,
        "name": "草野 正雄",
        "birth_date": "1948-05-06",
        "route": "申請時来庁方式",
        "photo_taken": True,
        "id_doc1": "運転免許証",
    }
    base.update(over)
    return base


def test_mynumber_apply(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    r = mynumber.apply(kdb, mn_form(application_id="1234 5678 9012 3456 7890 123"), open_stop())
    p = r.payload
    assert r.type == "mynumber.apply"
    assert open_payload(p, SEAL_PRIVATE)["application_id"] == APP_ID  # sealed
    assert p["route"] == "申請時来庁方式"
    assert p["acceptance_no"] == "M2026-van-1-00001"
    assert p["photo_taken"] is True and p["id_check"]["kind"] == "photo"
    r2 = mynumber.apply(kdb, mn_form(route="交付時来庁方式"), open_stop())
    assert r2.payload["acceptance_no"] == "M2026-van-1-00002"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"application_id": "621498320257"}, "application_id"),
        ({"application_id": "1234"}, "application_id"),
        ({"application_id": ""}, "application_id"),
        ({"name": "621498320257"}, "name"),
        ({"kana": "6214-9832-0257"}, "kana"),
        ({"route": "郵送"}, "route"),
        ({"photo_taken": False}, "photo_taken"),
        ({"id_doc1": "診察券"}, "id_doc1"),
        ({"birth_date": ""}, "birth_date"),
    ],
)
def test_mynumber_rules(
    kdb: sqlite_utils.Database, open_stop: ActorF, over: dict[str, Any], field: str
) -> None:
    with pytest.raises(FormErrors) as err:
        mynumber.apply(kdb, mn_form(**over), open_stop())
    assert field in err.value.errors
    assert count(kdb, "mynumber.apply") == 0


def test_no_record_ever_holds_a_my_number(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    for over in ({"application_id": "621498320257"}, {"name": "621498320257"}):
        with pytest.raises(FormErrors):
            mynumber.apply(kdb, mn_form(**over), open_stop())
    rows = [r[0] for r in kdb.execute("SELECT payload FROM records")]
    assert not any("621498320257" in (p or "") for p in rows)


# -- disaster --------------------------------------------------------------------------


def dis_form(**over: Any) -> dict[str, Any]:
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
        "photos": "4",
        "self_assessment": True,
    }
    base.update(over)
    return base


def test_disaster_apply(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    r = disaster.apply(kdb, dis_form(), open_stop())
    p = r.payload
    assert r.type == "disaster.apply"
    assert p["application_no"] == "D2026-van-1-00001"
    assert p["disaster_name"] == "令和5年台風第13号"
    assert p["water_depth_cm"] == 45 and p["self_assessment"] is True and p["photos"] == 4
    below = disaster.apply(kdb, dis_form(water_level="床下", water_depth_cm="20"), open_stop())
    assert below.payload["water_depth_cm"] == -20
    assert below.payload["application_no"] == "D2026-van-1-00002"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"disaster_id": "unknown"}, "disaster_id"),
        ({"phone": "0246-22-111x"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"relation": "隣人"}, "relation"),
        ({"ownership": "社宅"}, "ownership"),
        ({"water_depth_cm": ""}, "water_depth_cm"),
        ({"photos": "2"}, "photos"),
        ({"building_address": ""}, "building_address"),
        ({"cause": "隕石"}, "cause"),
    ],
)
def test_disaster_rules(
    kdb: sqlite_utils.Database, open_stop: ActorF, over: dict[str, Any], field: str
) -> None:
    with pytest.raises(FormErrors) as err:
        disaster.apply(kdb, dis_form(**over), open_stop())
    assert field in err.value.errors
    assert count(kdb, "disaster.apply") == 0


# -- garbage, consultation, frailty, explanation ------------------------------------------


def test_garbage_sell(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    values = {"service_code": "garbage.large_m", "quantity": "2", "payment": "cashless"}
    r = garbage.sell(kdb, values, open_stop())
    assert (r.payload["fee_each"], r.payload["amount"], r.payload["receipt_no"]) == (
        1040,
        2080,
        "R2026-van-1-000001",
    )
    for bad, field in (
        ({"quantity": "0"}, "quantity"),
        ({"service_code": "cert.juminhyo"}, "service_code"),
        ({"payment": "cash+cashless"}, "payment"),
    ):
        with pytest.raises(FormErrors) as err:
            garbage.sell(kdb, {**values, **bad}, open_stop())
        assert field in err.value.errors
    assert count(kdb, "garbage.sell") == 1


def test_consultation(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    assert [r.id for r in consultation.referrals(kdb)][:2] == ["welfare", "kaigo"]
    r = consultation.hold(
        kdb, {"topic": "孤独・孤立", "remote": True, "referral_id": "houkatsu"}, open_stop()
    )
    assert r.payload["topic"] == "孤独・孤立" and r.payload["remote"] is True
    assert r.payload["referral"] == "地域包括支援センター"
    r2 = consultation.hold(kdb, {"topic": "税", "referral_id": ""}, open_stop())
    assert r2.payload["referral"] is None
    for bad, field in (
        ({"topic": "健康"}, "topic"),
        ({"topic": "税", "referral_id": "nope"}, "referral_id"),
    ):
        with pytest.raises(FormErrors) as err:
            consultation.hold(kdb, bad, open_stop())
        assert field in err.value.errors
    assert set(consultation.TOPICS) == {
        "福祉",
        "介護",
        "税",
        "年金",
        "子育て",
        "生活困窮",
        "孤独・孤立",
        "その他",
    }


@pytest.mark.parametrize(
    ("ticks", "result"),
    [(0, "健常"), (1, "プレフレイル"), (2, "プレフレイル"), (3, "フレイル"), (5, "フレイル")],
)
def test_frailty_score(
    kdb: sqlite_utils.Database, open_stop: ActorF, ticks: int, result: str
) -> None:
    keys = [k for k, _ in frailty.JCHS_ITEMS]
    values: dict[str, Any] = {"people": "1", "with_sheet": True} | {k: True for k in keys[:ticks]}
    r = frailty.check(kdb, values, open_stop())
    assert r.payload["sheet"]["score"] == ticks and r.payload["sheet"]["result"] == result


def test_frailty_session_without_sheet(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    r = frailty.check(kdb, {"people": "12"}, open_stop())
    assert r.payload["people"] == 12 and r.payload["sheet"] is None
    with pytest.raises(FormErrors):
        frailty.check(kdb, {"people": "0"}, open_stop())


def test_explanation_counter(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    explanation.add_visitors(kdb, open_stop())
    explanation.add_visitors(kdb, open_stop(), 3)
    assert explanation.visitors_at(kdb, open_stop().stop_id) == 4
    assert stops.served_at(kdb, open_stop().stop_id) == {"explanation": 4}


# -- login --------------------------------------------------------------------------------


def test_login_and_lockout(kdb: sqlite_utils.Database) -> None:
    op = login.login(kdb, "op001", "123456", now=NOW)
    assert op.name == "山田 花子" and not op.is_supervisor
    assert login.login(kdb, "sv001", "999999", now=NOW).is_supervisor
    for i in range(4):
        with pytest.raises(login.LoginFailed) as err:
            login.login(kdb, "op001", "0000", now=NOW)
        assert f"あと{4 - i}回" in str(err.value)
    with pytest.raises(login.LockedOut):
        login.login(kdb, "op001", "0000", now=NOW)
    # Locked: even the right PIN is refused until the lock expires.
    with pytest.raises(login.LockedOut):
        login.login(kdb, "op001", "123456", now=NOW + timedelta(minutes=14))
    assert login.login(kdb, "op001", "123456", now=NOW + timedelta(minutes=16)).id == "op001"
    # Other operators are not affected by op001's lock.
    assert count(kdb, "operator.locked") == 1
    assert count(kdb, "operator.login") == 3


def test_unknown_operator(kdb: sqlite_utils.Database) -> None:
    with pytest.raises(login.LoginFailed):
        login.login(kdb, "nobody", "123456", now=NOW)


def test_a_good_login_resets_the_failure_count(kdb: sqlite_utils.Database) -> None:
    for _ in range(4):
        with pytest.raises(login.LoginFailed):
            login.login(kdb, "op001", "0000", now=NOW)
    login.login(kdb, "op001", "123456", now=NOW)
    with pytest.raises(login.LoginFailed) as err:
        login.login(kdb, "op001", "0000", now=NOW)
    assert "あと4回" in str(err.value)


# -- day close -------------------------------------------------------------------------------


def _day_with_sales(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    actor = open_stop()
    certificates.issue(kdb, cert_form(copies="2"), actor)  # 600 cash
    certificates.issue(kdb, cert_form(payment="cashless"), actor)  # 300 cashless
    voided = certificates.issue(kdb, cert_form(), actor)  # 300 cash, voided
    certificates.void_receipt(
        kdb, voided.payload["receipt_no"], operator_id="sv001", roles=("supervisor",), now=NOW
    )
    garbage.sell(
        kdb, {"service_code": "garbage.large_s", "quantity": "1", "payment": "cash"}, actor
    )  # 520
    consultation.hold(kdb, {"topic": "年金"}, actor)
    explanation.add_visitors(kdb, actor, 5)


def test_day_summary(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    _day_with_sales(kdb, open_stop)
    s = dayclose.summarise(kdb, DAY)
    assert s.cash_fees == 1120 and s.cashless_fees == 300
    assert s.by_category == {"certificate": 2, "garbage": 1, "consultation": 1, "explanation": 5}
    assert s.voided == ["R2026-van-1-000003"] and len(s.receipts) == 3
    assert s.open_stops == ["川前公民館"]


def test_close_day_balanced(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    _day_with_sales(kdb, open_stop)
    values = {
        "change_float": "20000",
        "count_10000": "2",
        "count_1000": "1",
        "count_100": "1",
        "count_10": "2",
        "cashless_terminal": "300",
    }
    with pytest.raises(OdekakeError):  # the stop is still open
        dayclose.close_day(kdb, values, operator_id="op001", now=NOW)
    stops.close_stop(kdb, open_stop().stop_id, now=NOW)
    r = dayclose.close_day(kdb, values, operator_id="op001", now=NOW)
    p = r.payload
    assert r.type == "day.close"
    assert (p["expected_cash"], p["counted_total"], p["cash_difference"]) == (21120, 21120, 0)
    assert p["cashless_difference"] == 0 and p["reason"] is None
    assert p["by_category"]["certificate"] == 2
    with pytest.raises(OdekakeError):
        dayclose.close_day(kdb, values, operator_id="op001", now=NOW)


def test_close_day_difference_needs_a_reason(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    _day_with_sales(kdb, open_stop)
    stops.close_stop(kdb, open_stop().stop_id, now=NOW)
    values = {
        "change_float": "20000",
        "count_10000": "2",
        "count_1000": "1",
        "cashless_terminal": "300",
    }
    with pytest.raises(FormErrors) as err:
        dayclose.close_day(kdb, values, operator_id="op001", now=NOW)
    assert "-120" in err.value.errors["reason"]
    assert count(kdb, "day.close") == 0
    r = dayclose.close_day(
        kdb, {**values, "reason": "釣銭の渡し間違い"}, operator_id="op001", now=NOW
    )
    assert r.payload["cash_difference"] == -120 and r.payload["reason"] == "釣銭の渡し間違い"


def test_close_day_rejects_bad_counts(kdb: sqlite_utils.Database) -> None:
    with pytest.raises(FormErrors) as err:
        dayclose.close_day(
            kdb, {"change_float": "", "count_100": "-1"}, operator_id="op001", now=NOW
        )
    assert {"change_float", "count_100"} <= set(err.value.errors)


def test_payloads_are_json(kdb: sqlite_utils.Database, open_stop: ActorF) -> None:
    _day_with_sales(kdb, open_stop)
    for (payload,) in kdb.execute("SELECT payload FROM records"):
        assert isinstance(json.loads(payload), dict)
