"""Device keys and enrollment (Ed25519).

Each van holds a private key in a file next to its database (``van.db.key``,
mode 0600, PKCS#8 PEM); the hub keeps the matching public key in ``devices``
with a status (``active`` / ``revoked``). Every bundle and every HTTP request a
van sends is signed with that key, and the hub refuses unknown or revoked devices.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from odekake.errors import NotFound, OdekakeError
from odekake.storage.db import role_of, write

KEY_SUFFIX = ".key"


RESERVED_DEVICE_IDS = frozenset(
    {"hub", "cli", "system", "admin", "root", "local", "localhost", "unknown", "none", "null"}
)


DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def device_id_problem(device_id: str) -> str | None:
    """Why ``device_id`` cannot be a device (None when it can)."""
    if device_id.lower() in RESERVED_DEVICE_IDS:
        return f"端末ID {device_id} は予約されていて使えません"
    if not DEVICE_ID_RE.fullmatch(device_id):
        return f"端末ID {device_id[:40]!r} は使えません(英数字と . _ - の64文字まで、先頭は英数字)"
    return None


class UnknownDevice(OdekakeError):
    """The hub has no public key for this device."""


class RevokedDevice(OdekakeError):
    """The device's key was revoked at the hub."""


def now_iso() -> str:
    """UTC now as ISO-8601 with milliseconds (the format of every sync timestamp)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def key_path_for(db_path: str | Path) -> Path:
    """Where a van database's private key lives: ``<db>.key`` next to it."""
    p = Path(db_path)
    return p.with_name(p.name + KEY_SUFFIX)


def generate_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write the key as PKCS#8 PEM, readable by the owner only (0600); never overwrite."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise OdekakeError(f"鍵ファイルはすでにあります: {path}") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.chmod(path, 0o600)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read a device key; refuse one that others can read."""
    if not path.exists():
        raise NotFound(
            f"この端末の鍵ファイルがありません: {path}。先に odekake device enroll で登録してください"
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise OdekakeError(
            f"鍵ファイル {path} を他の利用者が読めます(権限 {mode:o})。chmod 600 にしてください"
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise OdekakeError(f"鍵ファイルの形式が違います(Ed25519 ではありません): {path}")
    return key


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key as base64 (what the hub stores)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> Ed25519PublicKey:
    """Inverse of :func:`public_key_text`: only its exact spelling is accepted.

    Base64 lets the last character's unused bits vary, so one key has several
    spellings; keys are compared as text (one key, one device), so any other spelling
    of a key is refused here rather than registered as a "different" key.
    """
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise OdekakeError(f"公開鍵の形式が正しくありません: {text[:20]}…") from exc
    if base64.b64encode(raw).decode("ascii") != text.strip():
        raise OdekakeError(f"公開鍵の形式が正しくありません: {text[:20]}…")
    return key


def fingerprint(public_text: str) -> str:
    """A short fingerprint to compare keys by eye (first 16 hex of SHA-256)."""
    return hashlib.sha256(public_text.encode("ascii")).hexdigest()[:16]


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """Sign and return base64."""
    return base64.b64encode(key.sign(message)).decode("ascii")


def verify(public: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    """True when the base64 signature over ``message`` is valid."""
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def ensure_van_key(db_path: Path) -> Ed25519PrivateKey:
    """Load the van's key, creating it on first enrollment."""
    path = key_path_for(db_path)
    if path.exists():
        return load_private_key(path)
    key = generate_key()
    save_private_key(key, path)
    return key


def register_device(
    hub: sqlite_utils.Database,
    device_id: str,
    public_text: str,
    *,
    van_id: str | None = None,
    replace: bool = False,
) -> str:
    """Store (or confirm) a device's public key at the hub.

    Returns:
        ``"registered"``, ``"unchanged"`` (same key already active) or ``"replaced"``.

    Raises:
        OdekakeError: A different key (or a revoked device) exists and ``replace``
            is false.
    """
    if role_of(hub) != "hub":
        raise OdekakeError("端末の登録はハブ(hub.db)で行います")
    problem = device_id_problem(device_id)
    if problem:
        raise OdekakeError(problem)
    parse_public_key(public_text)
    public_text = public_text.strip()
    other = hub.execute(
        "SELECT device_id FROM devices WHERE public_key = ? AND device_id != ?",
        [public_text, device_id],
    ).fetchone()
    if other is not None:
        raise OdekakeError(
            f"この公開鍵は端末 {other[0]} ですでに登録されています。"
            "端末ごとに別の鍵を作ってください(odekake device enroll --db <車両>.db)"
        )
    row = hub.execute(
        "SELECT public_key, status FROM devices WHERE device_id = ?", [device_id]
    ).fetchone()
    with write(hub):
        if row is None:
            hub.execute(
                "INSERT INTO devices(device_id, van_id, public_key, status, enrolled_at) "
                "VALUES (?, ?, ?, 'active', ?)",
                [device_id, van_id or device_id, public_text, now_iso()],
            )
            return "registered"
        if row[0] == public_text and row[1] == "active":
            return "unchanged"
        if not replace:
            what = "失効済みです" if row[1] == "revoked" else "別の鍵で登録済みです"
            raise OdekakeError(
                f"端末 {device_id} は{what}。新しい鍵で登録し直すときは --replace を付けてください"
            )
        hub.execute(
            "UPDATE devices SET public_key = ?, status = 'active', enrolled_at = ?, "
            "revoked_at = NULL, van_id = ? WHERE device_id = ?",
            [public_text, now_iso(), van_id or device_id, device_id],
        )
        return "replaced"


def device_key_status(hub: sqlite_utils.Database, device_id: str) -> tuple[str, str] | None:
    """``(public key, status)`` of a device at the hub, or None when unknown."""
    row = hub.execute(
        "SELECT public_key, status FROM devices WHERE device_id = ?", [device_id]
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))


def device_key_text(hub: sqlite_utils.Database, device_id: str) -> str | None:
    """The public key the hub holds for a device (any status), or None."""
    row = hub.execute("SELECT public_key FROM devices WHERE device_id = ?", [device_id]).fetchone()
    return None if row is None else str(row[0])


def revoke_device(hub: sqlite_utils.Database, device_id: str) -> None:
    """Mark a device revoked: the hub refuses its requests and bundles from now on."""
    with write(hub):
        cur = hub.execute(
            "UPDATE devices SET status = 'revoked', revoked_at = ? WHERE device_id = ?",
            [now_iso(), device_id],
        )
        if cur.rowcount == 0:
            raise UnknownDevice(f"未登録の端末です: {device_id}")


def device_public_key(hub: sqlite_utils.Database, device_id: str) -> Ed25519PublicKey:
    """The active public key of a device.

    Raises:
        UnknownDevice: Not enrolled.
        RevokedDevice: Revoked.
    """
    row = hub.execute(
        "SELECT public_key, status FROM devices WHERE device_id = ?", [device_id]
    ).fetchone()
    if row is None:
        raise UnknownDevice(
            f"未登録の端末です: {device_id}。ハブで odekake device enroll を実行してください"
        )
    if row[1] != "active":
        raise RevokedDevice(f"端末 {device_id} は失効しています。ハブの管理者に連絡してください")
    return parse_public_key(str(row[0]))


def device_van_id(hub: sqlite_utils.Database, device_id: str) -> str:
    """The van a device belongs to (for its plan in the snapshot)."""
    row = hub.execute("SELECT van_id FROM devices WHERE device_id = ?", [device_id]).fetchone()
    return device_id if row is None else str(row[0])
