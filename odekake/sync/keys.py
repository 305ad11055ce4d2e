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
from odekake.storage.db import connect, device_id_of, role_of, write

KEY_SUFFIX = ".key"


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
    """Inverse of :func:`public_key_text`."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise OdekakeError(f"公開鍵の形式が正しくありません: {text[:20]}…") from exc


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
    from odekake.sync.wire import device_id_problem

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


def enroll(
    van_path: Path | None,
    hub_path: Path | None,
    *,
    device_id: str | None = None,
    public_key: str | None = None,
    van_id: str | None = None,
    replace: bool = False,
    hub_key: str | None = None,
    accept_new_hub_key: bool = False,
) -> tuple[str, str, str, str | None]:
    """Enroll a van at the hub (both files here, or one side at a time).

    With ``van_path`` the van's key is created if needed; with ``hub_path`` the
    public key (the van's, or ``public_key`` carried over on paper/USB) is stored.
    The hub's signing key (``hub_key`` carried over, or read from ``hub_path``'s
    key file, made if missing) is pinned on the van; a different pinned key is
    replaced only with ``accept_new_hub_key`` (audited on the van).

    Returns:
        ``(device_id, public_key_text, outcome, hub_public_key)``; outcome is
        ``"key-only"`` when no hub was given.
    """
    from odekake.sync.wire import device_id_problem, ensure_hub_key, pin_hub_key

    if van_path is None and hub_path is None:
        raise OdekakeError("--db(車両)か --hub-db(ハブ)を指定してください")
    if van_path is not None:
        van = connect(van_path, role="van")
        own = device_id_of(van)
        van.close()
        if device_id and device_id != own:
            raise OdekakeError(f"{van_path} の端末IDは {own} です(--device {device_id} と違います)")
        device_id = own
        problem = device_id_problem(own)
        if problem:
            raise OdekakeError(problem)
        key_text = public_key_text(ensure_van_key(van_path))
        if public_key and public_key != key_text:
            raise OdekakeError("--public-key が車両の鍵と一致しません")
        public_key = key_text
    if hub_path is not None:
        if hub_key and hub_key.strip() != public_key_text(ensure_hub_key(hub_path)):
            raise OdekakeError("--hub-key がハブの署名鍵と一致しません")
        hub_key = public_key_text(ensure_hub_key(hub_path))
    if van_path is not None and hub_key:
        van = connect(van_path, role="van")
        try:
            pin_hub_key(van, hub_key, accept_new=accept_new_hub_key)
        finally:
            van.close()
    if hub_path is None:
        assert device_id is not None and public_key is not None
        return device_id, public_key, "key-only", hub_key
    if not device_id or not public_key:
        raise OdekakeError("ハブだけで登録するときは --device と --public-key が必要です")
    hub = connect(hub_path, role="hub")
    try:
        outcome = register_device(hub, device_id, public_key, van_id=van_id, replace=replace)
    finally:
        hub.close()
    return device_id, public_key, outcome, hub_key


def enroll_synced(
    van: sqlite_utils.Database,
    hub: sqlite_utils.Database,
    van_path: Path,
    acked_seq: int,
    hub_path: Path,
) -> None:
    """Enroll a van whose records 1..``acked_seq`` the hub already holds (the demo).

    Creates the van's key if needed, registers it at the hub (replacing an older
    demo key), pins the hub's signing key on the van and records on both sides
    that the hub has acknowledged ``acked_seq`` (signed with the hub's key, so the
    van's purge can trust it), so the next push sends only what came after.
    """
    from odekake.sync.wire import ensure_hub_key, local_ack, pin_hub_key

    device = device_id_of(van)
    register_device(hub, device, public_key_text(ensure_van_key(van_path)), replace=True)
    hub_key = ensure_hub_key(hub_path, new_key_ok=True)
    pin_hub_key(van, public_key_text(hub_key), accept_new=True, actor="demo")
    proof = local_ack(hub_key, device, acked_seq)
    at = now_iso()
    row = hub.execute(
        "SELECT hash FROM records WHERE device_id = ? AND seq = ?", [device, acked_seq]
    ).fetchone()
    with write(hub):
        hub.execute(
            "INSERT INTO sync_acks(device_id, acked_seq, acked_hash, last_seen) VALUES (?,?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET acked_seq = excluded.acked_seq, "
            "acked_hash = excluded.acked_hash, last_seen = excluded.last_seen",
            [device, acked_seq, "" if row is None else row[0], at],
        )
    with write(van):
        van.execute(
            "INSERT INTO sync_state(device_id, acked_seq, acked_at, last_push_at) VALUES (?,?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET acked_seq = excluded.acked_seq, "
            "acked_at = excluded.acked_at, last_push_at = excluded.last_push_at",
            [device, acked_seq, at, at],
        )
        van.execute(
            "INSERT INTO hub_acks(seq, acked_at, evidence) VALUES (?, ?, ?)",
            [acked_seq, at, proof.evidence()],
        )
