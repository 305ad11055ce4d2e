"""り災証明書 application intake (出張申請受付): one application number per application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils

from odekake import records as rec
from odekake.db import write
from odekake.services.common import Actor, Form, next_application_no, require_stop

RECORD_TYPE = "disaster.apply"
RELATIONS: tuple[str, ...] = ("世帯主", "世帯員", "所有者", "代理人")
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


def validate(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the whole application; return its payload (without ``application_no``)."""
    form = Form(values)
    known = {d.id: d for d in disasters(db)}
    disaster_id = form.choice("disaster_id", "災害", list(known))
    name = form.text("name", "申請者氏名", max_len=40)
    address = form.text("address", "申請者住所", max_len=100)
    phone = form.phone("phone", "連絡先電話番号", required=True)
    relation = form.choice("relation", "世帯との関係", RELATIONS)
    building = form.text("building_address", "被害を受けた建物の所在地", max_len=100)
    cause = form.choice("cause", "被害の原因", causes_for(db, disaster_id or None))
    ownership = form.choice("ownership", "所有関係", OWNERSHIP)
    level = form.choice("water_level", "浸水の程度", WATER_LEVELS)
    depth = form.integer("water_depth_cm", "浸水深(cm)", lo=0, hi=1000, default=0)
    if level in ("床上", "床下") and depth <= 0 and "water_depth_cm" not in form.errors:
        form.fail("water_depth_cm", "浸水深(cm)を入力してください")
    photos = form.integer("photos", "写真の枚数", lo=0, hi=50, default=0)
    self_assessment = form.flag("self_assessment")
    if self_assessment and photos < 4 and "photos" not in form.errors:
        form.fail("photos", "自己判定方式には四方向からの写真(4枚以上)が必要です")
    form.raise_if_any()
    # Below the floor is recorded as a negative depth (demo and reports use the sign).
    signed_depth = 0 if level == "なし" else (depth if level == "床上" else -depth)
    return {
        "stop_id": actor.stop_id,
        "people": 1,
        "disaster_id": disaster_id,
        "disaster_name": known[disaster_id].name,
        "applicant": {"name": name, "address": address, "phone": phone},
        "relation": relation,
        "building_address": building,
        "cause": cause,
        "residence": form.flag("residence"),
        "ownership": ownership,
        "water_level": level,
        "water_depth_cm": signed_depth,
        "photos": photos,
        "self_assessment": self_assessment,
        "operator_id": actor.operator_id,
    }


def apply(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> rec.Record:
    """Validate and record one application with the next application number."""
    payload = validate(db, values, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        payload["application_no"] = next_application_no(db, "D", "application_no", actor.day)
        return rec.append(db, RECORD_TYPE, payload, now=actor.now)
