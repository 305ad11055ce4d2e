"""Looking through the audit log: by actor, action and date (the console's 監査ログ page).

Dates are days in Japan (the log stores UTC); the newest entries come first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import sqlite_utils

from odekake.access.audit import ACTIONS, AuditEntry
from odekake.access.authz import ROLE_LABELS
from odekake.access.staff import STAFF_ROLES

JST = timezone(timedelta(hours=9), "JST")
DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; empty fields match everything."""

    actor: str = ""  # part of the actor (``staff:mgr``, ``cli:``, an operator id)
    action: str = ""  # an action, or a family with a trailing dot (``staff.``)
    since: date | None = None  # first day (Japan), inclusive
    until: date | None = None  # last day (Japan), inclusive
    limit: int = DEFAULT_LIMIT


def _utc_bound(day: date) -> str:
    t = datetime.combine(day, time(0, 0), JST).astimezone(UTC)
    return t.isoformat(timespec="milliseconds")


def search(db: sqlite_utils.Database, query: AuditQuery) -> tuple[list[AuditEntry], int]:
    """Matching entries, newest first (at most ``query.limit``), and how many match in all."""
    where: list[str] = []
    args: list[object] = []
    if query.actor.strip():
        where.append("instr(actor, ?) > 0")
        args.append(query.actor.strip())
    if query.action.strip():
        a = query.action.strip()
        if a.endswith("."):
            where.append("substr(action, 1, ?) = ?")
            args += [len(a), a]
        else:
            where.append("action = ?")
            args.append(a)
    if query.since is not None:
        where.append("at >= ?")
        args.append(_utc_bound(query.since))
    if query.until is not None:
        where.append("at < ?")
        args.append(_utc_bound(query.until + timedelta(days=1)))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    total = int(db.execute(f"SELECT COUNT(*) FROM audit_log{clause}", args).fetchone()[0])
    rows = db.execute(
        "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log"
        f"{clause} ORDER BY seq DESC LIMIT ?",
        [*args, max(1, query.limit)],
    ).fetchall()
    return [
        AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows
    ], total


def known_actions(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(action, Japanese label) of every action in the log or in the list, by action."""
    seen = {str(r[0]) for r in db.execute("SELECT DISTINCT action FROM audit_log")}
    return [(a, ACTIONS.get(a, a)) for a in sorted(seen | set(ACTIONS))]


# Words for the detail keys the console shows (unknown keys are shown as they are).
DETAIL_LABELS: dict[str, str] = {
    "reason": "理由",
    "override_reason": "違反を承知で公開した理由",
    "violations": "ルール違反",
    "notices": "回覧板を配り直す地区",
    "checked": "ルールの確認",
    "visits": "訪問",
    "unchanged": "変更なし",
    "superseded": "差し替えた訪問(計画ごと)",
    "superseded_plans": "差し替え済みになった計画",
    "parent_id": "もとの計画",
    "vans": "車両",
    "edit": "手直しの内容",
    "changes": "変更(前 → 後)",
    "changed": "変更した項目",
    "new": "新規",
    "district": "地区",
    "files": "ファイル",
    "rows": "行数",
    "kind": "種類",
    "role": "役割",
    "old": "変更前",
    "bytes": "大きさ(バイト)",
    "record": "記録",
    "device": "端末",
    "seq": "番号",
    "kept": "正とした版",
    "outcome": "結果",
    "van": "車両",
    "month": "月",
    "from": "から",
    "to": "まで",
    "address": "接続元アドレス",
    "code_id": "登録コードの番号",
    "new_key": "新しい鍵の指紋",
    "old_key": "前の鍵の指紋",
    "expires_at": "有効期限",
    "replaces": "置き換える鍵",
    "throttles_lifted": "解除した待ち時間(接続元の数)",
    "roll_version": "名簿の版",
    "elections": "選挙",
    "operators": "職員",
    "job": "計算の番号",
    "added": "追加",
    "removed": "削除",
    "device_id": "端末",
    "van_id": "車両",
    "plan_id": "計画",
    "station_id": "投票所",
    "election": "選挙",
    "count": "件数",
    "total": "合計",
    "stored": "保存先",
    "fingerprint": "鍵の指紋",
    "hub_fingerprint": "ハブの鍵の指紋",
}

# Words for the values of some detail keys (codes written by the core).
VALUE_LABELS: dict[str, dict[str, str]] = {
    "role": {**STAFF_ROLES, **ROLE_LABELS},
    "outcome": {
        "registered": "登録した",
        "unchanged": "変更なし(登録済み)",
        "replaced": "鍵を置き換えた",
        "key-only": "鍵だけ作った",
    },
    "reason": {
        "wrong": "コードが違う",
        "unknown": "コードの番号がない",
        "expired": "期限切れ",
        "used": "使用済み",
        "cancelled": "取り消し済み",
        "burnt": "誤りが続いて無効",
        "other_van": "別の車両の端末",
        "throttled": "待ち時間中",
        "malformed": "形式の誤り",
    },
    "kind": {
        "usage_report": "利用実績",
        "vote_report": "投票の報告",
        "tally": "過去の集計",
        "tally_replace": "過去の集計(置き換え)",
        "sites": "会場",
        "report_cost": "運行経費",
        "provisional": "仮投票",
        "mobile": "移動期日前投票所",
        "fixed": "期日前投票所",
        "shicho": "支所",
    },
}

_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z)$")


def _value(v: Any, key: str = "") -> str:
    if isinstance(v, str) and key in VALUE_LABELS and v in VALUE_LABELS[key]:
        return VALUE_LABELS[key][v]
    if isinstance(v, str) and _ISO_INSTANT.match(v):
        # An instant the core wrote in UTC: shown in Japan time like every other time.
        at = datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(JST)
        return at.strftime("%Y-%m-%d %H:%M")
    if v is None:
        return "なし"
    if isinstance(v, bool):
        return "はい" if v else "いいえ"
    if isinstance(v, list | tuple):
        return "、".join(_value(x) for x in v) if v else "なし"
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            if isinstance(x, list | tuple) and len(x) == 2:
                parts.append(f"{DETAIL_LABELS.get(k, k)}: {_value(x[0])} → {_value(x[1])}")
            else:
                parts.append(f"{DETAIL_LABELS.get(k, k)}: {_value(x, k)}")
        return "、".join(parts) if parts else "なし"
    return str(v)


def describe(detail: dict[str, Any]) -> list[tuple[str, str]]:
    """An entry's detail as (words, value) lines a person reads: lists joined, before and
    after values as ``前 → 後``, no Python notation."""
    return [(DETAIL_LABELS.get(k, k), _value(v, k)) for k, v in detail.items()]
