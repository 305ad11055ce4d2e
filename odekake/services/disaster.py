"""り災証明書 / 被災証明書 application intake (出張申請受付): one application number each.

Two paths (the catalogue's ``disaster.risai`` and ``disaster.hisai``):

- り災証明書: the city surveys the damage (現地調査), or — when the applicant opts in
  and brings photos from four sides — judges it from the photos (自己判定方式).
- 被災証明書 (被災証明願): certifies that the damage was reported; no survey.

The flood fields follow the cause: only 浸水 asks how high the water came.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from odekake.services.common import (
    Actor,
    Form,
    next_application_no,
    require_counter_role,
)
from odekake.services.identity import chip_name
from odekake.services.stops import require_stop
from odekake.storage import records as rec
from odekake.storage.db import write

RECORD_TYPE = "disaster.apply"
# Which certificate: the catalogue's service codes and their names on the form.
KINDS: dict[str, str] = {"disaster.risai": "り災証明書", "disaster.hisai": "被災証明書"}
RELATIONS: tuple[str, ...] = ("世帯主", "世帯員", "所有者", "代理人")
# Relations that apply on someone else's behalf: the household head's name is needed.
NEEDS_HEAD: tuple[str, ...] = ("世帯員", "代理人")
FLOOD_CAUSE = "浸水"
OWNERSHIP: tuple[str, ...] = ("持家", "借家")
WATER_LEVELS: tuple[str, ...] = ("床上", "床下", "なし")
DEFAULT_CAUSES: tuple[str, ...] = ("浸水", "倒壊", "風", "土砂", "火災", "その他")


@dataclass(frozen=True)
class Disaster:
    """A disaster defined in master data."""

    id: str
    name: str
    date: str
    causes: tuple[str, ...]


def disasters(db: sqlite_utils.Database) -> list[Disaster]:
    """Active disasters, newest first."""
    out = []
    for did, name, day, causes in db.execute(
        "SELECT id, name, date, causes FROM disasters WHERE active = 1 ORDER BY date DESC, id"
    ):
        parts = tuple(c.strip() for c in str(causes).replace("、", ",").split(",") if c.strip())
        out.append(Disaster(did, name, day, parts or DEFAULT_CAUSES))
    return out


def causes_for(db: sqlite_utils.Database, disaster_id: str | None) -> tuple[str, ...]:
    """The causes allowed for a disaster (its own list plus その他)."""
    for d in disasters(db):
        if d.id == disaster_id:
            return tuple(dict.fromkeys((*d.causes, *DEFAULT_CAUSES)))
    return DEFAULT_CAUSES


def default_water_level(cause: str) -> str:
    """The 浸水 choice a cause starts with: 床上 for a flood, なし otherwise."""
    return "床上" if cause == FLOOD_CAUSE else "なし"


def next_step(payload: dict[str, Any]) -> str:
    """What really happens after the application, for the slip and the screen."""
    if payload.get("service_code") == "disaster.hisai":
        return "被災証明書は届出の内容を証明するもので現地調査はありません。後日交付します"
    if payload.get("self_assessment"):
        return "自己判定方式: 提出の写真で判定します(現地調査なし)。結果と証明書は後日郵送します"
    return "現地調査の日程を後日ご連絡します。調査の後に判定し、証明書を交付します"


def validate(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the whole application; return its payload (without ``application_no``).

    ``values`` besides the applicant and building: ``service_code`` (り災 or 被災,
    default り災), ``damage_date`` (the applicant's own, default the disaster's),
    ``head_name`` (needed for 世帯員 and 代理人), ``proxy_letter`` (代理人),
    ``copies`` and ``submit_to`` (提出先).
    """
    form = Form(values)
    known = {d.id: d for d in disasters(db)}
    code = str(values.get("service_code") or "disaster.risai")
    if code not in KINDS:
        form.fail("service_code", f"証明書の種類の値が正しくありません({code})")
    disaster_id = form.choice("disaster_id", "災害", list(known))
    damage_date = form.date("damage_date", "被害を受けた日", today=actor.day, past=True)
    if disaster_id and not damage_date and "damage_date" not in form.errors:
        damage_date = known[disaster_id].date
    if disaster_id and damage_date and damage_date < known[disaster_id].date:
        form.fail("damage_date", f"被害を受けた日が災害の日({known[disaster_id].date})より前です")
    name = form.text("name", "申請者氏名", max_len=40)
    address = form.text("address", "申請者住所", max_len=100)
    phone = form.phone("phone", "連絡先電話番号", required=True)
    relation = form.choice("relation", "世帯との関係", RELATIONS)
    head = form.text("head_name", "世帯主の氏名", required=relation in NEEDS_HEAD, max_len=40)
    if relation == "代理人" and not form.flag("proxy_letter"):
        form.fail("proxy_letter", "代理人の申請には委任状の確認が必要です")
    building = form.text("building_address", "被害を受けた建物の所在地", max_len=100)
    cause = form.choice("cause", "被害の原因", causes_for(db, disaster_id or None))
    ownership = form.choice("ownership", "所有関係", OWNERSHIP)
    level = form.choice("water_level", "浸水の程度", WATER_LEVELS)
    depth = form.integer("water_depth_cm", "浸水深(cm)", lo=0, hi=1000, default=0)
    if level == "なし" and depth > 0 and "water_depth_cm" not in form.errors:
        form.fail("water_depth_cm", "浸水「なし」のときは浸水深を入力しません(空欄にしてください)")
    elif level in ("床上", "床下") and depth <= 0 and "water_depth_cm" not in form.errors:
        form.fail("water_depth_cm", "浸水深(cm)を入力してください")
    if cause == FLOOD_CAUSE and level == "なし":
        form.fail("water_level", "原因が浸水のときは床上か床下を選んでください")
    photos = form.integer("photos", "写真の枚数", lo=0, hi=50, default=0)
    self_assessment = form.flag("self_assessment") and code == "disaster.risai"
    if self_assessment and photos < 4 and "photos" not in form.errors:
        form.fail("photos", "自己判定方式には四方向からの写真(4枚以上)が必要です")
    copies = form.integer("copies", "必要な枚数", lo=1, hi=10, default=1)
    submit_to = form.text("submit_to", "提出先", required=False, max_len=60)
    form.raise_if_any()
    # Below the floor is recorded as a negative depth (demo and reports use the sign).
    signed_depth = 0 if level == "なし" else (depth if level == "床上" else -depth)
    payload = {
        "stop_id": actor.stop_id,
        "people": 1,
        "service_code": code,
        "service_name": KINDS[code],
        "disaster_id": disaster_id,
        "disaster_name": known[disaster_id].name,
        "damage_date": damage_date,
        "applicant": {"name": name, "address": address, "phone": phone, **chip_name(values)},
        "identity_from_chip": bool(values.get("identity_from_chip")),
        "relation": relation,
        "building_address": building,
        "cause": cause,
        "residence": form.flag("residence"),
        "ownership": ownership,
        "water_level": level,
        "water_depth_cm": signed_depth,
        "photos": photos,
        "self_assessment": self_assessment,
        "copies": copies,
        "submit_to": submit_to,
        "operator_id": actor.operator_id,
    }
    if relation in NEEDS_HEAD:
        payload["head_name"] = head
    if relation == "代理人":
        payload["proxy_letter"] = True
    payload["next_step"] = next_step(payload)
    return payload


def apply(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> rec.Record:
    """Validate and record one application with the next application number."""
    payload = validate(db, values, actor)
    require_counter_role(db, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        payload["application_no"] = next_application_no(db, "D", "application_no", actor.day)
        return rec.append(db, RECORD_TYPE, payload, now=actor.now)
