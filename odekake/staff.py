"""City-hall staff accounts for the console (the browser face of the hub).

Staff are not van operators: they sign in with a login name and a password of at
least :data:`MIN_PASSWORD` characters (scrypt, like the operators' PINs), hold one
role (:data:`STAFF_ROLES`), and are locked for :data:`LOCK_MINUTES` after
:data:`MAX_FAILURES` wrong passwords in a row. Every change is audited.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from odekake import audit
from odekake.auth import DEFAULT_KDF, KdfParams, burn_check, check_pin, hash_pin
from odekake.db import get_meta, write
from odekake.errors import NotFound, OdekakeError, ValidationError

STAFF_ROLES: dict[str, str] = {
    "coordinator": "企画担当(巡回計画)",
    "manager": "管理職(利用実績)",
    "election": "選挙事務",
    "admin": "システム管理者",
}
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCK_MINUTES = 15
_LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
SECRET_KEY = "console_session_key"
"""``meta`` key (hub-only) of the console's cookie-signing key."""
OLD_SECRET_SETTING = "console_session_secret"
"""Where the key used to be: ``settings``, which travels to every van."""


class LoginRefused(OdekakeError):
    """Wrong login or password, a disabled account, or a locked one."""


@dataclass(frozen=True)
class StaffMember:
    """One staff account (never the password hash)."""

    login: str
    name: str
    role: str
    active: bool
    locked_until: str | None
    created_at: str

    @property
    def role_label(self) -> str:
        """Japanese name of the role."""
        return STAFF_ROLES.get(self.role, self.role)

    def describe(self) -> str:
        """One Japanese line for ``odekake staff list``."""
        state = "有効" if self.active else "無効"
        if self.locked_until:
            state += f"(ロック中 {self.locked_until} まで)"
        return f"{self.login}\t{self.name}\t{self.role_label}\t{state}"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def check_password(password: str) -> None:
    """Raise :class:`ValidationError` unless the password is long enough."""
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            f"パスワードは{MIN_PASSWORD}文字以上にしてください(いま{len(password)}文字)",
            "password",
        )


def _member(row: tuple, now: datetime) -> StaffMember:
    login, name, role, active, locked_until, created_at = row
    if locked_until and datetime.fromisoformat(locked_until) <= now:
        locked_until = None
    return StaffMember(login, name, role, bool(active), locked_until, created_at)


_COLUMNS = "login, name, role, active, locked_until, created_at"


def get_staff(db: sqlite_utils.Database, login: str, *, now: datetime | None = None) -> StaffMember:
    """One account, or :class:`NotFound`."""
    row = db.execute(f"SELECT {_COLUMNS} FROM staff WHERE login = ?", [login]).fetchone()
    if row is None:
        raise NotFound(f"職員アカウントがありません: {login}")
    return _member(row, now or _now())


def list_staff(db: sqlite_utils.Database, *, now: datetime | None = None) -> list[StaffMember]:
    """Every account, by login."""
    t = now or _now()
    return [_member(r, t) for r in db.execute(f"SELECT {_COLUMNS} FROM staff ORDER BY login")]


def add_staff(
    db: sqlite_utils.Database,
    login: str,
    name: str,
    role: str,
    password: str,
    *,
    actor: str,
    kdf: KdfParams = DEFAULT_KDF,
) -> StaffMember:
    """Create an account (audited); ``kdf`` is for tests only (the default is the PINs')."""
    if not _LOGIN_RE.match(login):
        raise ValidationError(
            "ログイン名は英小文字・数字・. _ - の2〜32文字で、英小文字か数字で始めます", "login"
        )
    if role not in STAFF_ROLES:
        raise ValidationError(
            f"役割は {' / '.join(STAFF_ROLES)} のどれかです({role})",
            "role",
        )
    if not name.strip():
        raise ValidationError("氏名を入力してください", "name")
    check_password(password)
    at = _iso(_now())
    with write(db):
        if db.execute("SELECT 1 FROM staff WHERE login = ?", [login]).fetchone():
            raise ValidationError(f"ログイン名 {login} はすでに使われています", "login")
        db.execute(
            "INSERT INTO staff(login, name, role, password_hash, created_at, password_changed_at) "
            "VALUES (?,?,?,?,?,?)",
            [login, name.strip(), role, hash_pin(password, kdf=kdf), at, at],
        )
        audit.log(db, actor, "staff.add", login, {"role": role})
    return get_staff(db, login)


def disable_staff(db: sqlite_utils.Database, login: str, *, actor: str) -> None:
    """Disable an account (it can no longer sign in; audited)."""
    get_staff(db, login)
    with write(db):
        db.execute("UPDATE staff SET active = 0 WHERE login = ?", [login])
        audit.log(db, actor, "staff.disable", login)


def reset_password(db: sqlite_utils.Database, login: str, password: str, *, actor: str) -> None:
    """Set a new password, re-enable and unlock the account (audited)."""
    get_staff(db, login)
    check_password(password)
    with write(db):
        db.execute(
            "UPDATE staff SET password_hash = ?, active = 1, failed = 0, locked_until = NULL, "
            "password_changed_at = ? WHERE login = ?",
            [hash_pin(password), _iso(_now()), login],
        )
        audit.log(db, actor, "staff.reset", login)


def set_role(db: sqlite_utils.Database, login: str, role: str, *, actor: str) -> StaffMember:
    """Change an account's role (audited with the old and the new role)."""
    old = get_staff(db, login)
    if role not in STAFF_ROLES:
        raise ValidationError(f"役割は {' / '.join(STAFF_ROLES)} のどれかです({role})", "role")
    if role == old.role:
        return old
    with write(db):
        db.execute("UPDATE staff SET role = ? WHERE login = ?", [role, login])
        audit.log(db, actor, "staff.role", login, {"old": old.role, "new": role})
    return get_staff(db, login)


def authenticate(
    db: sqlite_utils.Database, login: str, password: str, *, now: datetime | None = None
) -> StaffMember:
    """Check a sign-in; count failures and lock the account after too many.

    Raises:
        LoginRefused: With one Japanese line that does not tell which of login or
            password was wrong.
    """
    t = now or _now()
    wrong = LoginRefused("ログイン名またはパスワードが違います")
    row = db.execute(
        "SELECT password_hash, active, failed, locked_until FROM staff WHERE login = ?", [login]
    ).fetchone()
    if row is None:
        # Spend a real check's time so an unknown login is not told apart.
        burn_check(password)
        audit.log(db, f"staff:{login[:32]}", "login.failed", "console", now=t)
        raise wrong
    stored, active, failed, locked_until = row
    if not active:
        audit.log(db, f"staff:{login}", "login.failed", "console", {"disabled": True}, now=t)
        raise LoginRefused("このアカウントは無効です。システム管理者に連絡してください")
    if locked_until and datetime.fromisoformat(locked_until) > t:
        audit.log(db, f"staff:{login}", "login.locked", "console", now=t)
        raise LoginRefused(
            f"パスワードを{MAX_FAILURES}回続けて間違えたためロックされています。"
            f"{LOCK_MINUTES}分後に試すか、システム管理者に連絡してください"
        )
    if not check_pin(password, stored):
        failed = int(failed) + 1
        with write(db):
            if failed >= MAX_FAILURES:
                db.execute(
                    "UPDATE staff SET failed = 0, locked_until = ? WHERE login = ?",
                    [_iso(t + timedelta(minutes=LOCK_MINUTES)), login],
                )
                audit.log(db, f"staff:{login}", "login.locked", "console", now=t)
            else:
                db.execute("UPDATE staff SET failed = ? WHERE login = ?", [failed, login])
                audit.log(db, f"staff:{login}", "login.failed", "console", now=t)
        raise wrong
    with write(db):
        db.execute("UPDATE staff SET failed = 0, locked_until = NULL WHERE login = ?", [login])
        audit.log(db, f"staff:{login}", "login", "console", now=t)
    return get_staff(db, login, now=t)


class ReauthRefused(LoginRefused):
    """The acting administrator did not prove it is them (password re-entry failed)."""


def confirm_admin_password(
    db: sqlite_utils.Database,
    login: str,
    password: str,
    *,
    purpose: str,
    now: datetime | None = None,
) -> StaffMember:
    """The acting administrator re-enters their password before a key change or admin grant.

    The one check every such change goes through (the console's van enrolment and
    key replacement, adding or promoting an administrator, resetting an
    administrator's password): a stolen session alone changes no key. A wrong
    password counts toward the same lock-out as a sign-in and is audited
    (``reauth.failed`` with ``purpose``).

    Raises:
        ReauthRefused: No password, not an active administrator, locked, or wrong.
    """
    t = now or _now()
    if not password:
        raise ReauthRefused("この操作には、あなたのパスワードの再入力が必要です")
    row = db.execute(
        "SELECT password_hash, active, failed, locked_until, role FROM staff WHERE login = ?",
        [login],
    ).fetchone()
    if row is None or not row[1] or row[4] != "admin":
        burn_check(password)
        audit.log(db, f"staff:{login[:32]}", "reauth.failed", purpose, {"not_admin": True}, now=t)
        raise ReauthRefused("この操作はシステム管理者だけが、パスワードを再入力して行えます")
    stored, _active, failed, locked_until, _role = row
    if locked_until and datetime.fromisoformat(locked_until) > t:
        audit.log(db, f"staff:{login}", "reauth.failed", purpose, {"locked": True}, now=t)
        raise ReauthRefused(
            f"パスワードを{MAX_FAILURES}回続けて間違えたためロックされています。"
            f"{LOCK_MINUTES}分後に試してください"
        )
    if not check_pin(password, stored):
        failed = int(failed) + 1
        with write(db):
            if failed >= MAX_FAILURES:
                db.execute(
                    "UPDATE staff SET failed = 0, locked_until = ? WHERE login = ?",
                    [_iso(t + timedelta(minutes=LOCK_MINUTES)), login],
                )
                audit.log(db, f"staff:{login}", "login.locked", purpose, now=t)
            else:
                db.execute("UPDATE staff SET failed = ? WHERE login = ?", [failed, login])
            audit.log(db, f"staff:{login}", "reauth.failed", purpose, now=t)
        raise ReauthRefused("パスワードが違います。この操作は行っていません")
    with write(db):
        db.execute("UPDATE staff SET failed = 0 WHERE login = ?", [login])
    return get_staff(db, login, now=t)


def session_secret(db: sqlite_utils.Database) -> str:
    """The hub's key for signing console sessions (made once, kept in ``meta``).

    ``meta`` is hub-only storage: no snapshot carries it (``settings`` travels to the
    vans, so the key must never be there; a migration moved it out and made a new one).
    """
    value = get_meta(db, SECRET_KEY)
    if value:
        return value
    with write(db):
        db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)",
            [SECRET_KEY, secrets.token_hex(32)],
        )
    return str(get_meta(db, SECRET_KEY))
