"""フレイル予防チェック: participants, and optionally the 5-item J-CHS sheet."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from odekake.services.common import Actor, Form, require_counter_role
from odekake.services.stops import require_stop
from odekake.storage import records as rec
from odekake.storage.db import write

RECORD_TYPE = "frailty.check"
# J-CHS items (each true = the criterion is met).
JCHS_ITEMS: tuple[tuple[str, str], ...] = (
    ("weight_loss", "6か月で2〜3kg以上の体重減少"),
    ("weak_grip", "握力低下(男性<28kg、女性<18kg)"),
    ("exhaustion", "(ここ2週間)わけもなく疲れた感じがする"),
    ("slow_walk", "通常歩行速度<1.0m/秒"),
    ("low_activity", "軽い運動・体操も定期的な運動・スポーツもしていない"),
)


def judge(score: int) -> str:
    """J-CHS judgement: ≥3 フレイル, 1–2 プレフレイル, 0 健常."""
    if score >= 3:
        return "フレイル"
    if score >= 1:
        return "プレフレイル"
    return "健常"


def validate(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """Check the form; return the payload."""
    form = Form(values)
    people = form.integer("people", "参加者数", lo=1, hi=500)
    sheet = None
    if form.flag("with_sheet"):
        answers = {key: bool(values.get(key)) for key, _ in JCHS_ITEMS}
        score = sum(answers.values())
        sheet = {"instrument": "J-CHS", "answers": answers, "score": score, "result": judge(score)}
    form.raise_if_any()
    return {
        "stop_id": actor.stop_id,
        "people": people,
        "sheet": sheet,
        "operator_id": actor.operator_id,
    }


def check(db: sqlite_utils.Database, values: dict[str, Any], actor: Actor) -> rec.Record:
    """Validate and record one frailty session (or one sheet)."""
    payload = validate(db, values, actor)
    require_counter_role(db, actor)
    with write(db):
        require_stop(db, actor.stop_id)
        return rec.append(db, RECORD_TYPE, payload, now=actor.now)
