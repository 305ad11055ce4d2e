"""The audit log: a hash-chained, append-only list of who did what.

Actions (``ACTIONS``) cover logins, failed PINs, lock-outs, views of personal data,
corrections, voids, exports, imports and purges. ``verify`` finds the first entry
that was changed, removed or reordered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from odekake.storage.canonical import canonical_json, sha256_hex
from odekake.storage.db import write
from odekake.storage.records import GENESIS, utc_now

ACTIONS: dict[str, str] = {
    "login": "ログイン",
    "login.failed": "PIN誤り",
    "login.locked": "ロック",
    "logout": "ログアウト",
    "view.personal": "個人情報の閲覧",
    "record.correct": "記録の訂正",
    "record.void": "記録の取消(書損)",
    "approval": "監督者の承認(窓口でPIN入力)",
    "day.reopen": "日計の再開",
    "export": "書き出し",
    "import": "取り込み",
    "hub.key": "ハブ署名鍵の登録・変更",
    "purge": "保存期間経過による消去",
    "role.denied": "権限のない操作",
    "roll.delete": "選挙人名簿の削除",
    "backup": "ハブのバックアップ",
    "restore": "ハブの復元",
    "plan.create": "巡回計画(下書き)の作成",
    "plan.publish": "巡回計画の公開",
    "plan.discard": "巡回計画の破棄",
    "van.change": "車両マスタの登録・変更",
    "pin.change": "PINの変更",
    "operator.unlock": "ロック解除",
    "operator.set": "職員の登録・変更",
    "operator.reset": "職員のPINの再設定",
    "device.enrol": "端末の登録",
    "device.revoke": "端末の失効",
    "election.add": "選挙の登録",
    "election.close": "選挙の終了",
    "roll.import": "選挙人名簿の取り込み",
    "keys.init": "鍵の作成・変更",
    "snapshot.sensitive": "名簿・PIN照合値を含むマスタの配信",
    "election.assign": "投票所の担当車両の変更",
    "vote.release": "交付取りやめによる名簿対照の取り消し",
    "staff.add": "職員アカウントの作成",
    "staff.disable": "職員アカウントの無効化",
    "staff.reset": "職員パスワードの再設定",
    "login.throttled": "ログイン失敗が続いたための待機",
    "login.throttle.clear": "ログイン制限の解除",
    "password.change": "自分のパスワードの変更",
    "password.change.refused": "パスワード変更の拒否(いまのパスワードの誤り)",
    "session.end": "セッションの終了(管理者)",
    "staff.role": "職員の役割の変更",
    "sync.resolve": "隔離された記録の解決",
    "site.change": "会場マスタの登録・変更",
    "policy.save": "巡回計画の設定の保存",
    "plan.solve": "巡回計画の計算の開始",
    "plan.cancel": "巡回計画の作成の中止",
    "plan.edit": "巡回計画の手直し",
    "reauth.failed": "管理者のパスワード再確認の失敗",
    "reauth.sessions_ended": "パスワード再確認の失敗が続いたためのセッション終了",
    "enrol.code.create": "端末の登録コードの作成",
    "enrol.code.cancel": "端末の登録コードの取り消し",
    "enrol.code.burnt": "誤りが続いた登録コードの無効化",
    "enrol.redeem": "登録コードによる端末の登録",
    "enrol.failed": "登録コードによる登録の拒否",
    "enrol.throttled": "登録コードの誤りが続いたための待機",
}


@dataclass(frozen=True)
class AuditEntry:
    """One audit line."""

    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


def _hash(seq: int, at: str, actor: str, action: str, target: str, detail: str, prev: str) -> str:
    return sha256_hex(canonical_json([seq, at, actor, action, target, detail, prev]))


def cli_actor() -> str:
    """Who runs a command line: ``cli:<login name>``."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def log(
    db: sqlite_utils.Database,
    actor: str,
    action: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one audit entry (joins an outer write transaction if there is one).

    Detail must identify no resident: ids and counts, never names or addresses.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action: {action}")
    at = (now or utc_now()).isoformat(timespec="milliseconds")
    text = canonical_json(detail or {})
    with write(db):
        last = db.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (1, GENESIS) if last is None else (int(last[0]) + 1, str(last[1]))
        h = _hash(seq, at, actor, action, target, text, prev)
        db.execute(
            "INSERT INTO audit_log(seq, at, actor, action, target, detail, prev_hash, hash) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [seq, at, actor, action, target, text, prev, h],
        )
    return AuditEntry(seq, at, actor, action, target, detail or {}, prev, h)


def entries(db: sqlite_utils.Database, limit: int | None = None) -> list[AuditEntry]:
    """Audit entries, oldest first (the newest ``limit`` when given)."""
    sql = (
        "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log ORDER BY seq"
    )
    rows = list(db.execute(sql))
    if limit is not None:
        rows = rows[-limit:]
    import json

    return [AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7]) for r in rows]


def verify(db: sqlite_utils.Database) -> list[str]:
    """Problems found in the audit chain (empty when whole); stops at the first break."""
    expected_seq, prev = 1, GENESIS
    for r in db.execute(
        "SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log ORDER BY seq"
    ):
        seq, at, actor, action, target, detail, prev_hash, h = r
        where = f"監査ログ {seq} 番"
        if seq != expected_seq:
            return [f"{where}: 連番が途切れています({expected_seq} 番のはずが {seq} 番)"]
        if prev_hash != prev:
            return [f"{where}: 直前の行とのつながりが一致しません"]
        if _hash(seq, at, actor, action, target, detail, prev_hash) != h:
            return [f"{where}: 内容が書き換えられています"]
        expected_seq, prev = seq + 1, h
    return []
