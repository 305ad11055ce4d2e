"""Start-up health check: is this database whole, and if not, how to recover."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.storage import records as rec
from odekake.storage.db import connect, role_of

RECOVERY_HINT = (
    "復旧方法: 1) この van.db を別名で保管する(削除しない) "
    "2) 市役所で最後の同期バンドルから端末を作り直す(odekake init と odekake sync pull) "
    "3) 同期されていない記録は保管したファイルから市役所で取り出す。"
)
HUB_RECOVERY_HINT = (
    "復旧方法(ハブ): 1) ハブを止める(systemctl stop odekake-hub) "
    "2) 最新の検証済みバックアップから復元する(odekake hub restore --from バックアップ --db "
    "このファイル。置き換えたファイルは hub.db.replaced-日時 として残ります) "
    "3) ハブを起動する。バックアップより後の記録は、各車両の次の送信で車両から再び届きます。"
)
UNKNOWN_RECOVERY_HINT = (
    "このファイルがハブか車両か読み取れません。ハブなら: " + HUB_RECOVERY_HINT + " 車両なら: "
)


@dataclass
class Health:
    """The result of :func:`check`."""

    path: Path
    problems: list[str] = field(default_factory=list)
    role: str | None = None  # "hub" or "van"; None when the file could not be read
    # Set-up errors that damage nothing but must be fixed before personal data is
    # taken (a van without city hall's sealing key): reported, not a reason to
    # rebuild the database.
    setup: list[str] = field(default_factory=list)
    backup: bool = False

    @property
    def intact(self) -> bool:
        """True when the file, the record chains and the audit chain are whole."""
        return not self.problems

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems and not self.setup

    def message(self) -> str:
        """One paragraph for the operator (Japanese)."""
        if self.ok:
            return f"{self.path}: 正常です。"
        if self.backup:  # one line; the file is left as it was
            return f"{self.path}: " + " / ".join(self.problems)
        parts = []
        if self.problems:
            hint = {"hub": HUB_RECOVERY_HINT, "van": RECOVERY_HINT}.get(
                self.role or "", UNKNOWN_RECOVERY_HINT + RECOVERY_HINT
            )
            parts.append(f"{self.path} に異常があります: " + " / ".join(self.problems) + " " + hint)
        if self.setup:
            parts.append(f"{self.path} の設定に誤りがあります: " + " / ".join(self.setup))
        return " ".join(parts)


def check(path: Path, *, hub_db: Path | None = None) -> Health:
    """SQLite integrity, the record chains and the audit chain.

    A hub backup (named ``hub-….db``, or with a manifest beside it) is opened
    read-only and never changed; it passes only when its manifest is signed with the
    signing key of ``hub_db`` (its ``.sign.key``) and matches the file.
    """
    from odekake.operations import backup

    health = Health(path)
    if backup.is_backup_name(path):
        return _check_backup(health, hub_db)
    try:
        db = connect(path)
    except OdekakeError as exc:
        health.problems.append(str(exc))
        return health
    try:
        with contextlib.suppress(sqlite3.DatabaseError):
            health.role = role_of(db)
        result = db.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            health.problems.append(f"SQLiteの整合性検査に失敗しました({result})")
            return health
        health.problems.extend(rec.verify(db).problems)
        health.problems.extend(audit.verify(db))
        missing = rec.intake_ready(db)
        if missing:
            health.setup.append(missing)
        elif role_of(db) == "hub" and not rec.seal_key_of(db):
            from odekake.sync.snapshot import HubNotReady

            health.setup.append(str(HubNotReady()))
    except sqlite3.DatabaseError as exc:
        health.problems.append(f"読み込み中にエラー: {exc}")
    finally:
        db.close()
    return health


def _check_backup(health: Health, hub_db: Path | None) -> Health:
    from odekake.operations import backup

    health.backup = True
    if hub_db is None:
        health.problems.append(
            "バックアップを検査するときは --hub-db でハブのデータベースを指定してください"
            "(その署名鍵で目録を確かめます)"
        )
        return health
    try:
        backup.check_manifest(health.path, backup.hub_public_key_for(hub_db))
    except backup.ManifestRefused as exc:
        health.problems.append(str(exc))
        return health
    health.problems.extend(backup.verify_file(health.path).problems)
    return health
