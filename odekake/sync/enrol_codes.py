"""One-time enrolment codes: a van enrols at the hub with a code an admin made.

An administrator (password re-entered) makes a code for a van id in the console;
the van redeems it over plain HTTP (``POST /v1/enrol``) with
``odekake device enroll --code`` or the kiosk's first-run screen. No key file is
copied by hand, and the code authenticates both directions:

- the code is ``IIII-SSSS-SSSS-SSSS-SSSS`` in a 32-symbol alphabet without 0/O/1/I:
  the first group names the code (:data:`ID_CHARS` characters, not secret), the
  other four are the secret (80 bits, :data:`SECRET_CHARS` characters);
- the hub keeps only ``K = SHA-256(domain ‖ code)`` (the MAC key), and wipes it
  once the code is used, cancelled, burnt or expired; never the code itself;
- the van sends ``proof = HMAC(K, code id ‖ device id ‖ device key ‖ nonce)``,
  never the code: an eavesdropper learns nothing it can register its own key with
  (the proof binds the van's key), and guessing the code offline from a captured
  proof is a search of 2^80 HMACs;
- the hub answers with its signing key and
  ``HMAC(K, code id ‖ hub key ‖ device id ‖ device key ‖ nonce ‖ van id ‖ outcome)``:
  a man in the middle who swaps the hub key cannot make that MAC, so the van pins
  only a key the code vouches for.

Bounds: 15 minutes (:data:`VALID_MINUTES`), single use, burnt after
:data:`MAX_WRONG` wrong proofs; failed redemptions are counted per client address
and, past :data:`FREE_FAILURES`, refused for a growing wait (:func:`address_wait`).
Every create / redeem / failure / burn / cancel goes to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.storage.db import role_of, write
from odekake.sync.keys import device_key_status, fingerprint, parse_public_key, register_device

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""32 symbols, no 0/O or 1/I (read aloud and typed on a van's keyboard)."""
ID_CHARS = 4
SECRET_CHARS = 16
"""80 bits of secret (5 bits per symbol)."""
GROUP = 4
VALID_MINUTES = 15
MAX_WRONG = 3
"""Wrong proofs for one code before it is burnt (a new code is then needed)."""
FREE_FAILURES = 5
"""Failed redemptions per client address before the waits start."""
FIRST_WAIT_SECONDS = 60
MAX_WAIT_SECONDS = 60 * 60
FORGET_HOURS = 24
QR_PREFIX = "odekake-enrol:"
"""What the QR holds: ``odekake-enrol:<hub URL>#<code>`` (one string for the scanner)."""
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
MAC_RE = re.compile(r"^[0-9a-f]{64}$")
CODE_ID_RE = re.compile(f"^[{ALPHABET}]{{{ID_CHARS}}}$")
VAN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY_DOMAIN = b"odekake-enrol-key-v1\n"
_REQUEST_DOMAIN = "odekake-enrol-request-v1"
_ANSWER_DOMAIN = "odekake-enrol-answer-v1"

STATE_LABELS = {
    "pending": "未使用",
    "used": "使用済み",
    "cancelled": "取り消し",
    "burnt": "誤りが続いたため無効",
    "expired": "期限切れ",
}


class EnrolRefused(OdekakeError):
    """A redemption the hub refuses; ``reason`` names it (the text is Japanese)."""

    def __init__(self, reason: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


class EnrolThrottled(EnrolRefused):
    """Too many failed redemptions from this address: wait ``seconds``."""

    def __init__(self, seconds: int) -> None:
        minutes = (seconds + 59) // 60
        super().__init__(
            "throttled",
            f"登録コードの誤りが続いたため、この端末からの登録を一時的に止めています。"
            f"{minutes}分ほど待ってからもう一度試してください",
            status=429,
        )
        self.seconds = seconds


REFUSALS = {
    "unknown": "登録コードが違います。管理画面に表示されたコードをもう一度確かめてください",
    "wrong": "登録コードが違います。管理画面に表示されたコードをもう一度確かめてください",
    "expired": "登録コードの有効期限(15分)が切れています。管理画面で新しいコードを作ってください",
    "used": "この登録コードはすでに使われています。管理画面で新しいコードを作ってください",
    "cancelled": "この登録コードは取り消されています。管理画面で新しいコードを作ってください",
    "burnt": "誤りが続いたため、この登録コードは無効になりました。管理画面で新しいコードを作ってください",
    "other_van": "この端末は別の車両に登録されています。その車両の登録コードを使ってください",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


# --- the code and its MACs (both sides) ----------------------------------------


def new_code() -> str:
    """A fresh code, grouped by four: ``IIII-SSSS-SSSS-SSSS-SSSS``."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(ID_CHARS + SECRET_CHARS))
    return "-".join(chars[i : i + GROUP] for i in range(0, len(chars), GROUP))


def normalise_code(text: str) -> str:
    """The code as typed (any case, with or without spaces and hyphens), grouped by four.

    Raises:
        OdekakeError: Not a code of the right length and alphabet.
    """
    bare = re.sub(r"[\s\-]", "", text).upper()
    if len(bare) != ID_CHARS + SECRET_CHARS or any(c not in ALPHABET for c in bare):
        raise OdekakeError(
            f"登録コードの形式が違います({ID_CHARS + SECRET_CHARS}文字の英数字、"
            "例: ABCD-EFGH-JKLM-NPQR-STUV)"
        )
    return "-".join(bare[i : i + GROUP] for i in range(0, len(bare), GROUP))


def code_id_of(code: str) -> str:
    """The public first group of a (normalised) code."""
    return code[:ID_CHARS]


def mac_key(code: str) -> bytes:
    """``K``: what the hub keeps of a code, and what both sides MAC with."""
    return hashlib.sha256(_KEY_DOMAIN + normalise_code(code).encode("ascii")).digest()


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\n".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def request_proof(key: bytes, code_id: str, device_id: str, public_key: str, nonce: str) -> str:
    """The van's proof that it knows the code, bound to its own key and a fresh nonce."""
    return _mac(key, _REQUEST_DOMAIN, code_id, device_id, public_key, nonce)


def answer_proof(
    key: bytes,
    code_id: str,
    hub_key: str,
    device_id: str,
    public_key: str,
    nonce: str,
    van_id: str,
    outcome: str,
) -> str:
    """The hub's proof that the hub key in its answer is vouched for by the code."""
    return _mac(
        key, _ANSWER_DOMAIN, code_id, hub_key, device_id, public_key, nonce, van_id, outcome
    )


def qr_text(hub_url: str, code: str) -> str:
    """The one string a QR carries: ``odekake-enrol:<hub URL>#<code>``."""
    return f"{QR_PREFIX}{hub_url.rstrip('/')}#{code}"


def parse_qr_text(text: str) -> tuple[str, str]:
    """``(hub URL, code)`` from a scanned ``odekake-enrol:`` string.

    Raises:
        OdekakeError: Not such a string.
    """
    text = text.strip()
    if not text.startswith(QR_PREFIX) or "#" not in text:
        raise OdekakeError("登録用のQRコードではありません(odekake-enrol: で始まる文字列)")
    url, _, code = text[len(QR_PREFIX) :].rpartition("#")
    if not url.startswith(("http://", "https://")):
        raise OdekakeError("QRコードのハブのURLが http:// か https:// で始まっていません")
    return url, normalise_code(code)


# --- the hub's side ----------------------------------------------------------------


@dataclass(frozen=True)
class PendingCode:
    """An enrolment code as the console lists it (never the secret)."""

    code_id: str
    van_id: str
    created_by: str
    created_at: str
    expires_at: str
    state: str

    @property
    def state_label(self) -> str:
        """Japanese name of the state."""
        return STATE_LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class NewCode:
    """A code just made: shown once (text and QR), then only its hash is kept."""

    code: str
    van_id: str
    expires_at: str
    replaces: tuple[tuple[str, str], ...]
    """(device id, key fingerprint) of the van's active devices a redemption may replace."""


def active_devices_of(db: sqlite_utils.Database, van_id: str) -> list[tuple[str, str]]:
    """(device id, key fingerprint) of the van's active devices."""
    return [
        (str(d), fingerprint(str(k)))
        for d, k in db.execute(
            "SELECT device_id, public_key FROM devices WHERE van_id = ? AND status = 'active' "
            "ORDER BY device_id",
            [van_id],
        )
    ]


def create_code(
    db: sqlite_utils.Database, van_id: str, *, actor: str, now: datetime | None = None
) -> NewCode:
    """Make a code for ``van_id`` (a van of the master data or a new id); audited.

    The caller has checked the administrator's re-entered password.
    """
    if role_of(db) != "hub":
        raise OdekakeError("登録コードはハブで作ります")
    van_id = van_id.strip()
    if not VAN_ID_RE.fullmatch(van_id):
        raise OdekakeError("車両IDは英数字と . _ - で64文字まで(例: van-1)にしてください")
    t = now or _now()
    with write(db):
        _expire(db, t)
        for _ in range(20):
            code = new_code()
            taken = db.execute(
                "SELECT 1 FROM enrol_codes WHERE code_id = ?", [code_id_of(code)]
            ).fetchone()
            if taken is None:
                break
        else:  # 2^20 ids, a few live at a time: practically never
            raise OdekakeError("登録コードを作れませんでした。もう一度試してください")
        expires = t + timedelta(minutes=VALID_MINUTES)
        replaces = tuple(active_devices_of(db, van_id))
        # A new code is the administrator's answer to a van that could not enrol: the
        # waits earned by earlier failures (the van's own typos, or someone sharing its
        # address) end, so the van can use it at once. Guessing stays hopeless (80 bits).
        lifted = db.execute("DELETE FROM enrol_throttles").rowcount
        db.execute(
            "INSERT INTO enrol_codes(code_id, mac_key, van_id, created_by, created_at, "
            "expires_at, state, wrong) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0)",
            [code_id_of(code), mac_key(code).hex(), van_id, actor, _iso(t), _iso(expires)],
        )
        audit.log(
            db,
            actor,
            "enrol.code.create",
            van_id,
            {
                "code_id": code_id_of(code),
                "van": van_id,
                "expires_at": _iso(expires),
                "replaces": [f"{d}:{f}" for d, f in replaces],
                "throttles_lifted": lifted,
            },
            now=t,
        )
    return NewCode(code, van_id, _iso(expires), replaces)


def _expire(db: sqlite_utils.Database, t: datetime) -> None:
    """Wipe the MAC key of every code past its time (joins the caller's write)."""
    db.execute(
        "UPDATE enrol_codes SET state = 'expired', mac_key = '' "
        "WHERE state = 'pending' AND expires_at <= ?",
        [_iso(t)],
    )


def list_codes(
    db: sqlite_utils.Database, *, now: datetime | None = None, limit: int = 20
) -> list[PendingCode]:
    """The newest codes (pending first), with their states as of ``now``."""
    t = _iso(now or _now())
    rows = db.execute(
        "SELECT code_id, van_id, created_by, created_at, expires_at, "
        "CASE WHEN state = 'pending' AND expires_at <= ? THEN 'expired' ELSE state END AS s "
        "FROM enrol_codes ORDER BY (s = 'pending') DESC, created_at DESC LIMIT ?",
        [t, limit],
    ).fetchall()
    return [PendingCode(*map(str, r)) for r in rows]


def cancel_code(
    db: sqlite_utils.Database, code_id: str, *, actor: str, now: datetime | None = None
) -> None:
    """Cancel a pending code (its hash is wiped); audited.

    Raises:
        OdekakeError: No pending code with that id.
    """
    t = now or _now()
    with write(db):
        _expire(db, t)
        cur = db.execute(
            "UPDATE enrol_codes SET state = 'cancelled', mac_key = '' "
            "WHERE code_id = ? AND state = 'pending'",
            [code_id],
        )
        if cur.rowcount == 0:
            raise OdekakeError(f"取り消せる登録コードがありません: {code_id[:8]}")
        audit.log(db, actor, "enrol.code.cancel", code_id, {"code_id": code_id}, now=t)


def address_wait(db: sqlite_utils.Database, address: str, *, now: datetime | None = None) -> int:
    """Seconds this client address must still wait before a redemption is checked."""
    row = db.execute(
        "SELECT blocked_until FROM enrol_throttles WHERE address = ?", [address[:64]]
    ).fetchone()
    if row is None:
        return 0
    left = (datetime.fromisoformat(row[0]) - (now or _now())).total_seconds()
    return max(0, int(left + 0.999))


def _count_failure(db: sqlite_utils.Database, address: str, t: datetime) -> None:
    row = db.execute("SELECT failures FROM enrol_throttles WHERE address = ?", [address]).fetchone()
    failures = (int(row[0]) if row else 0) + 1
    wait = (
        0
        if failures < FREE_FAILURES
        else min(MAX_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2 ** (failures - FREE_FAILURES))
    )
    db.execute(
        "INSERT INTO enrol_throttles(address, failures, last_failed_at, blocked_until) "
        "VALUES (?, ?, ?, ?) ON CONFLICT(address) DO UPDATE SET failures = excluded.failures, "
        "last_failed_at = excluded.last_failed_at, blocked_until = excluded.blocked_until",
        [address, failures, _iso(t), _iso(t + timedelta(seconds=wait))],
    )
    db.execute(
        "DELETE FROM enrol_throttles WHERE last_failed_at < ?",
        [_iso(t - timedelta(hours=FORGET_HOURS))],
    )


@dataclass(frozen=True)
class Redemption:
    """What the van sends to ``POST /v1/enrol`` (checked for shape already)."""

    code_id: str
    device_id: str
    public_key: str
    nonce: str
    proof: str


def parse_redemption(data: Any) -> Redemption:
    """Check the JSON object a van sent (exact keys, shapes).

    Raises:
        EnrolRefused: With reason ``malformed`` (status 400).
    """
    from odekake.sync.keys import device_id_problem

    keys = {"code_id", "device_id", "public_key", "nonce", "proof"}

    def bad(message: str) -> EnrolRefused:
        return EnrolRefused("malformed", message, status=400)

    if not isinstance(data, dict) or set(data) != keys:
        raise bad("登録の要求の形式が正しくありません(項目が足りないか、余分な項目があります)")
    if not all(isinstance(v, str) for v in data.values()):
        raise bad("登録の要求の形式が正しくありません(文字列でない項目があります)")
    problem = device_id_problem(data["device_id"])
    if problem:
        raise bad(problem)
    if not CODE_ID_RE.fullmatch(data["code_id"]):
        raise bad("登録コードの形式が正しくありません")
    if not NONCE_RE.fullmatch(data["nonce"]) or not MAC_RE.fullmatch(data["proof"]):
        raise bad("登録の要求の署名の形式が正しくありません")
    try:
        parse_public_key(data["public_key"])
    except OdekakeError as exc:
        raise bad(str(exc)) from exc
    return Redemption(**data)


def redeem(
    db: sqlite_utils.Database,
    request: Redemption,
    hub_key: str,
    *,
    address: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Check a van's proof and register its key for the code's van; audited.

    Returns:
        The answer: ``hub_key``, ``device_id``, ``van_id``, ``outcome`` and ``proof``.

    Raises:
        EnrolThrottled: This address must wait (nothing is checked).
        EnrolRefused: Unknown, wrong, expired, used, cancelled or burnt code, or a
            device of another van (each counted against the address and audited).
    """
    t = now or _now()
    where = address[:64]
    wait = address_wait(db, where, now=t)
    if wait:  # audited once, when the wait began: a flood writes nothing here
        raise EnrolThrottled(wait)
    with write(db):
        _expire(db, t)
        row = db.execute(
            "SELECT mac_key, van_id, state, wrong, expires_at FROM enrol_codes WHERE code_id = ?",
            [request.code_id],
        ).fetchone()
        failure = _failure(row, request)
        outcome, old = "", ""
        if failure is None:
            assert row is not None
            outcome, old = _register(db, request, str(row[1]))
            if outcome == "other_van":
                failure = "other_van"
        if failure is not None:
            _count_failure(db, where, t)
            detail = {"code_id": request.code_id, "device": request.device_id, "address": where}
            audit.log(db, "network", "enrol.failed", request.code_id, {**detail, "reason": failure})
            if address_wait(db, where, now=t):
                audit.log(db, "network", "enrol.throttled", where, {"address": where}, now=t)
            if failure == "wrong" and row is not None:
                wrong = int(row[3]) + 1
                burnt = wrong >= MAX_WRONG
                db.execute(
                    "UPDATE enrol_codes SET wrong = ?, state = ?, "
                    "mac_key = CASE WHEN ? THEN '' ELSE mac_key END WHERE code_id = ?",
                    [wrong, "burnt" if burnt else "pending", burnt, request.code_id],
                )
                if burnt:
                    audit.log(db, "network", "enrol.code.burnt", request.code_id, detail)
        else:
            assert row is not None
            db.execute(
                "UPDATE enrol_codes SET state = 'used', mac_key = '', used_at = ?, used_by = ? "
                "WHERE code_id = ?",
                [_iso(t), request.device_id, request.code_id],
            )
            db.execute("DELETE FROM enrol_throttles WHERE address = ?", [where])
            audit.log(
                db,
                "network",
                "enrol.redeem",
                request.device_id,
                {
                    "code_id": request.code_id,
                    "device": request.device_id,
                    "van": str(row[1]),
                    "outcome": outcome,
                    "old_key": fingerprint(old) if old else "",
                    "new_key": fingerprint(request.public_key),
                    "address": where,
                },
                now=t,
            )
    if failure is not None:  # committed above: the failure counts though we refuse
        raise EnrolRefused(failure, REFUSALS[failure])
    assert row is not None
    key, van_id = bytes.fromhex(str(row[0])), str(row[1])
    proof = answer_proof(
        key,
        request.code_id,
        hub_key,
        request.device_id,
        request.public_key,
        request.nonce,
        van_id,
        outcome,
    )
    return {
        "hub_key": hub_key,
        "device_id": request.device_id,
        "van_id": van_id,
        "outcome": outcome,
        "proof": proof,
    }


def _failure(row: Any, request: Redemption) -> str | None:
    """Why a redemption fails before anything is registered (None: the proof is good)."""
    if row is None:
        return "unknown"
    key_hex, _van, state, _wrong, _expires = row
    if state != "pending":
        return str(state)
    expected = request_proof(
        bytes.fromhex(str(key_hex)),
        request.code_id,
        request.device_id,
        request.public_key,
        request.nonce,
    )
    return None if hmac.compare_digest(expected, request.proof) else "wrong"


def _register(db: sqlite_utils.Database, request: Redemption, van_id: str) -> tuple[str, str]:
    """Register the key for the code's van (inside the caller's write).

    Returns:
        ``(outcome, old key text)``; outcome ``other_van`` when the device id is
        enrolled for another van (nothing changed).
    """
    row = db.execute(
        "SELECT van_id FROM devices WHERE device_id = ?", [request.device_id]
    ).fetchone()
    if row is not None and str(row[0]) != van_id:
        return "other_van", ""
    known = device_key_status(db, request.device_id)
    old = known[0] if known is not None and known[0] != request.public_key else ""
    outcome = register_device(
        db, request.device_id, request.public_key, van_id=van_id, replace=True
    )
    return outcome, old
