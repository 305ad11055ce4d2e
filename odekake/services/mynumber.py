"""My Number card application support (マイナンバーカード申請支援).

The record links to the 申請書ID printed on the application form (23 digits, typed
or read by a scanner acting as a keyboard), never to the 12-digit individual
number, which every field refuses (see :func:`~odekake.services.common.looks_like_my_number`).
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from odekake.services.common import (
    MY_NUMBER_MESSAGE,
    Actor,
    Form,
    looks_like_my_number,
    next_application_no,
    normalise,
    require_counter_role,
)
from odekake.services.identity import check_identity, chip_name
from odekake.services.stops import require_stop
from odekake.storage import records as rec
from odekake.storage.db import write

RECORD_TYPE = "mynumber.apply"
ROUTES: tuple[str, ...] = ("申請時来庁方式", "交付時来庁方式")
APPLICATION_ID_DIGITS = 23


def validate(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the whole form; return the payload (without ``acceptance_no``)."""
    form = Form(values)
    raw = normalise(str(values.get("application_id") or "")).replace(" ", "").replace("-", "")
    if not raw:
        form.fail("application_id", "申請書IDを入力してください(申請書のQRコードを読み取れます)")
    elif looks_like_my_number(raw):
        form.fail("application_id", MY_NUMBER_MESSAGE)
    elif not raw.isdigit() or len(raw) != APPLICATION_ID_DIGITS:
        digits = sum(c.isdigit() for c in raw)
        other = "".join(dict.fromkeys(c for c in raw if not c.isdigit()))
        told = f"入力は数字{digits}桁" + (f"と数字以外の文字「{other[:5]}」" if other else "")
        form.fail("application_id", f"申請書IDは数字{APPLICATION_ID_DIGITS}桁です({told})")
    name = form.text("name", "氏名", max_len=40)
    kana = form.text("kana", "ふりがな", required=False, max_len=40)
    birth = form.birth_date("birth_date", "生年月日", today=actor.day, required=True)
    route = form.choice("route", "受取方法", ROUTES)
    if not form.flag("photo_taken"):
        form.fail("photo_taken", "顔写真を撮影(または持参の写真を確認)してください")
    id_check, id_error = check_identity(
        [str(values.get("id_doc1") or ""), str(values.get("id_doc2") or "")],
        chip=bool(values.get("identity_from_chip")),
    )
    if id_error:
        form.fail("id_doc1", id_error)
    form.raise_if_any()
    return {
        "stop_id": actor.stop_id,
        "people": 1,
        "application_id": raw,
        "route": route,
        "photo_taken": True,
        "applicant": {"name": name, "kana": kana, "birth_date": birth, **chip_name(values)},
        "id_check": id_check,
        "operator_id": actor.operator_id,
    }


def apply(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> rec.Record:
    """Validate and record one application support, with an acceptance number."""
    payload = validate(db, values, actor)
    require_counter_role(db, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        payload["acceptance_no"] = next_application_no(db, "M", "acceptance_no", actor.day)
        return rec.append(db, RECORD_TYPE, payload, now=actor.now)
