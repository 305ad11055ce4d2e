"""City-hall staff accounts for the console (the browser face of the hub).

Staff are not van operators: they sign in with a login name and a password of at
least :data:`MIN_PASSWORD` characters (scrypt, like the operators' PINs) and hold
one role (:data:`STAFF_ROLES`). Failed sign-ins slow down per (login, client
address), never for the account as a whole: after :data:`FREE_FAILURES` failures
each further one doubles a wait (from :data:`FIRST_DELAY_SECONDS` up to
:data:`MAX_DELAY_SECONDS`), so someone guessing from one address cannot lock the
real user out from another. An unknown, a disabled and an existing login get the
same answer after the same work (the KDF runs for every one). Every change is
audited; a change of password, role or state ends the account's console sessions.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from odekake.access import audit
from odekake.access.auth import DEFAULT_KDF, KdfParams, burn_check, check_pin, hash_pin
from odekake.access.staff_sessions import end_sessions_of
from odekake.errors import NotFound, OdekakeError, ValidationError
from odekake.storage.db import get_meta, write

STAFF_ROLES: dict[str, str] = {
    "coordinator": "企画担当(巡回計画)",
    "manager": "管理職(利用実績)",
    "election": "選挙事務",
    "admin": "システム管理者",
}
MIN_PASSWORD = 10
FREE_FAILURES = 3
"""Failed sign-ins per (login, address) before the waits start."""
FIRST_DELAY_SECONDS = 15
MAX_DELAY_SECONDS = 15 * 60
THROTTLE_FORGET_HOURS = 24
"""A throttle row whose last failure is older than this is forgotten."""
_LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
SECRET_KEY = "console_session_key"
"""``meta`` key (hub-only) of the console's cookie-signing key."""
OLD_SECRET_SETTING = "console_session_secret"
"""Where the key used to be: ``settings``, which travels to every van."""


class LoginRefused(OdekakeError):
    """Wrong login or password, or a disabled account (one answer for all)."""


class LoginThrottled(LoginRefused):
    """Too many failed sign-ins for this login from this address: wait ``seconds``."""

    def __init__(self, seconds: int) -> None:
        minutes = (seconds + 59) // 60
        wait = f"{seconds}秒" if seconds < 60 else f"{minutes}分"
        super().__init__(
            f"ログインの失敗が続いたため、この端末からのログインを一時的に止めています。"
            f"{wait}ほど待ってからもう一度試してください"
        )
        self.seconds = seconds


@dataclass(frozen=True)
class LoginThrottle:
    """Failed sign-ins counted for one (login, address)."""

    login: str
    address: str
    failures: int
    last_failed_at: str
    blocked_until: str


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
        end_sessions_of(db, login)
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
        end_sessions_of(db, login)
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
        end_sessions_of(db, login)
        audit.log(db, actor, "staff.role", login, {"old": old.role, "new": role})
    return get_staff(db, login)


def _delay(failures: int) -> int:
    """Seconds to wait after ``failures`` failed sign-ins (0 while still free)."""
    if failures < FREE_FAILURES:
        return 0
    return int(min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (failures - FREE_FAILURES)))


def login_wait(
    db: sqlite_utils.Database, login: str, address: str, *, now: datetime | None = None
) -> int:
    """Seconds this (login, address) must still wait before a sign-in is checked."""
    row = db.execute(
        "SELECT blocked_until FROM login_throttles WHERE login = ? AND address = ?",
        [login[:64], address[:64]],
    ).fetchone()
    if row is None:
        return 0
    left = (datetime.fromisoformat(row[0]) - (now or _now())).total_seconds()
    return max(0, int(left + 0.999))


def refuse_if_throttled(
    db: sqlite_utils.Database, login: str, address: str, *, now: datetime | None = None
) -> None:
    """Raise :class:`LoginThrottled` (audited) when this (login, address) must wait."""
    t = now or _now()
    wait = login_wait(db, login[:64], address[:64], now=t)
    if wait:
        detail = {"address": address[:64]}
        audit.log(db, f"staff:{login[:32]}", "login.throttled", "console", detail, now=t)
        raise LoginThrottled(wait)


def _count_failure(db: sqlite_utils.Database, login: str, address: str, t: datetime) -> None:
    row = db.execute(
        "SELECT failures FROM login_throttles WHERE login = ? AND address = ?", [login, address]
    ).fetchone()
    failures = (int(row[0]) if row else 0) + 1
    db.execute(
        "INSERT INTO login_throttles(login, address, failures, last_failed_at, blocked_until) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(login, address) DO UPDATE SET "
        "failures = excluded.failures, last_failed_at = excluded.last_failed_at, "
        "blocked_until = excluded.blocked_until",
        [login, address, failures, _iso(t), _iso(t + timedelta(seconds=_delay(failures)))],
    )
    db.execute(
        "DELETE FROM login_throttles WHERE last_failed_at < ?",
        [_iso(t - timedelta(hours=THROTTLE_FORGET_HOURS))],
    )


def authenticate(
    db: sqlite_utils.Database,
    login: str,
    password: str,
    *,
    address: str = "",
    now: datetime | None = None,
) -> StaffMember:
    """Check a sign-in from ``address``; count a failure against (login, address).

    Raises:
        LoginThrottled: This (login, address) must wait (nothing is checked).
        LoginRefused: With one Japanese line, the same for an unknown login, a
            disabled account and a wrong password (after the same KDF run).
    """
    t = now or _now()
    name, where = login[:64], address[:64]
    refuse_if_throttled(db, name, where, now=t)
    row = db.execute("SELECT password_hash, active FROM staff WHERE login = ?", [login]).fetchone()
    if row is None:
        burn_check(password)  # a real check's work, so an unknown login is not told apart
        good, detail = False, {"address": where, "unknown": True}
    else:
        good = check_pin(password, row[0]) and bool(row[1])
        detail = {"address": where} if row[1] else {"address": where, "disabled": True}
    if not good:
        with write(db):
            _count_failure(db, name, where, t)
            audit.log(db, f"staff:{name[:32]}", "login.failed", "console", detail, now=t)
        raise LoginRefused("ログイン名またはパスワードが違います")
    with write(db):
        db.execute("DELETE FROM login_throttles WHERE login = ? AND address = ?", [name, where])
        audit.log(db, f"staff:{login}", "login", "console", {"address": where}, now=t)
    return get_staff(db, login, now=t)


class ReauthRefused(LoginRefused):
    """The acting administrator did not prove it is them (password re-entry failed)."""


REAUTH_MAX_FAILURES = 3
"""Wrong re-entries in a row after which every session of that administrator ends."""


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
    password is audited (``reauth.failed`` with ``purpose``); after
    :data:`REAUTH_MAX_FAILURES` in a row every session of the account ends, so a
    session thief cannot keep guessing (the account itself is never locked: a
    lock-out would be a weapon against the real administrator).

    Raises:
        ReauthRefused: No password, not an active administrator, or wrong.
    """
    t = now or _now()
    if not password:
        raise ReauthRefused("この操作には、あなたのパスワードの再入力が必要です")
    row = db.execute(
        "SELECT password_hash, active, failed, role FROM staff WHERE login = ?", [login]
    ).fetchone()
    if row is None or not row[1] or row[3] != "admin":
        burn_check(password)
        audit.log(db, f"staff:{login[:32]}", "reauth.failed", purpose, {"not_admin": True}, now=t)
        raise ReauthRefused("この操作はシステム管理者だけが、パスワードを再入力して行えます")
    stored, _active, failed, _role = row
    if not check_pin(password, stored):
        failed = int(failed or 0) + 1
        with write(db):
            audit.log(db, f"staff:{login}", "reauth.failed", purpose, now=t)
            if failed >= REAUTH_MAX_FAILURES:
                db.execute("UPDATE staff SET failed = 0 WHERE login = ?", [login])
                end_sessions_of(db, login)
                audit.log(db, f"staff:{login}", "reauth.sessions_ended", purpose, now=t)
            else:
                db.execute("UPDATE staff SET failed = ? WHERE login = ?", [failed, login])
        if failed >= REAUTH_MAX_FAILURES:
            raise ReauthRefused(
                f"パスワードを{REAUTH_MAX_FAILURES}回続けて間違えたため、このアカウントの"
                "ログインを終了しました。もう一度ログインしてください"
            )
        raise ReauthRefused("パスワードが違います。この操作は行っていません")
    with write(db):
        db.execute("UPDATE staff SET failed = 0 WHERE login = ?", [login])
    return get_staff(db, login, now=t)


def list_throttles(
    db: sqlite_utils.Database, *, now: datetime | None = None
) -> list[LoginThrottle]:
    """Every (login, address) with failed sign-ins counted, the latest first."""
    cutoff = _iso((now or _now()) - timedelta(hours=THROTTLE_FORGET_HOURS))
    return [
        LoginThrottle(*r)
        for r in db.execute(
            "SELECT login, address, failures, last_failed_at, blocked_until FROM login_throttles "
            "WHERE last_failed_at >= ? ORDER BY last_failed_at DESC",
            [cutoff],
        )
    ]


def clear_throttle(db: sqlite_utils.Database, login: str, address: str, *, actor: str) -> None:
    """Forget the failed sign-ins of one (login, address) (an administrator; audited)."""
    with write(db):
        cur = db.execute(
            "DELETE FROM login_throttles WHERE login = ? AND address = ?", [login, address]
        )
        if not cur.rowcount:
            raise NotFound("その制限はもうありません")
        audit.log(db, actor, "login.throttle.clear", login, {"address": address})


def change_own_password(
    db: sqlite_utils.Database, login: str, current: str, new: str, *, address: str = ""
) -> None:
    """A staff member changes their own password, giving the current one (audited);
    every session of the account ends (the caller starts a fresh one)."""
    row = db.execute(
        "SELECT password_hash FROM staff WHERE login = ? AND active = 1", [login]
    ).fetchone()
    if row is None or not check_pin(current, row[0]):
        audit.log(db, f"staff:{login}", "password.change.refused", login, {"address": address})
        raise ValidationError("いまのパスワードが違います", "current")
    check_password(new)
    if new == current:
        raise ValidationError("新しいパスワードがいまのパスワードと同じです", "password")
    with write(db):
        db.execute(
            "UPDATE staff SET password_hash = ?, password_changed_at = ? WHERE login = ?",
            [hash_pin(new), _iso(_now()), login],
        )
        end_sessions_of(db, login)
        audit.log(db, f"staff:{login}", "password.change", login, {"address": address})


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
