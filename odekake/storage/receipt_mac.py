"""The receipts' 確認コード: a keyed MAC city hall can verify and a stranger cannot make.

Before the keyed MAC (2026-11) the code was the first 8 hex digits of an unkeyed SHA-256
of ``<number>|<amount>``: anyone could print a "valid" receipt. Now it is
HMAC-SHA256 under a per-device key:

- The hub holds one secret (``meta.receipt_mac_secret``, 32 random bytes, made on
  first use; hub.db is 0600 and never leaves city hall).
- A device's key is ``HMAC-SHA256(secret, "odekake receipt key v1|" + device_id)``.
  The hub stores it in ``receipt_keys`` and a device's snapshot carries its own row
  only (``odekake.sync.snapshot``), so a stolen van can make codes for itself alone
  and city hall can tell which van a receipt claims to come from.
- The code is the first 10 hex digits (40 bits) of
  ``HMAC-SHA256(device key, "<number>|<amount>")``; it is stamped into the record's
  payload at intake (``check_code``), printed on the slip and put in its QR code.
  City hall verifies it with :func:`verify` from its secret alone.

Why derived keys rather than random ones sent at enrolment: the hub needs no table
to recover a key (a restored hub.db verifies every receipt), and a new device gets
its key with its first pull. Revoking a van does not invalidate its past receipts.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import sqlite_utils

from odekake.storage.db import device_id_of, get_meta, set_meta, write

SECRET_META = "receipt_mac_secret"
CODE_HEX_DIGITS = 10
NUMBER_KEYS = ("receipt_no", "application_no", "acceptance_no")
_LABEL = b"odekake receipt key v1|"


def hub_secret(db: sqlite_utils.Database) -> bytes:
    """The hub's receipt secret, made on first use (hub only)."""
    text = get_meta(db, SECRET_META)
    if text:
        return bytes.fromhex(text)
    with write(db):
        text = get_meta(db, SECRET_META)
        if not text:
            text = os.urandom(32).hex()
            set_meta(db, SECRET_META, text)
    return bytes.fromhex(text)


def derive_device_key(secret: bytes, device_id: str) -> str:
    """A device's receipt key (hex) from the hub's secret."""
    return hmac.new(secret, _LABEL + device_id.encode("utf-8"), hashlib.sha256).hexdigest()


def ensure_device_key(db: sqlite_utils.Database, device_id: str) -> str:
    """Store a device's key at the hub (for its snapshot) and return it."""
    key = derive_device_key(hub_secret(db), device_id)
    with write(db):
        db.execute(
            "INSERT INTO receipt_keys(device_id, key) VALUES (?, ?) "
            "ON CONFLICT(device_id) DO UPDATE SET key = excluded.key",
            [device_id, key],
        )
    return key


def code(key_hex: str, number: str, amount: int) -> str:
    """The 確認コード of a receipt number and amount under a device key."""
    mac = hmac.new(bytes.fromhex(key_hex), f"{number}|{int(amount)}".encode(), hashlib.sha256)
    return mac.hexdigest()[:CODE_HEX_DIGITS]


def own_key(db: sqlite_utils.Database) -> str | None:
    """This van's receipt key (received in its snapshot), or None before the first pull."""
    row = db.execute(
        "SELECT key FROM receipt_keys WHERE device_id = ?", [device_id_of(db)]
    ).fetchone()
    return None if row is None else str(row[0])


def stamp(db: sqlite_utils.Database, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with ``check_code`` added when it carries a receipt number.

    A van that has not pulled its key yet records no code (its slips say so); the
    number alone then ties the slip to the record.
    """
    number = next((payload[k] for k in NUMBER_KEYS if payload.get(k)), None)
    if number is None or "check_code" in payload:
        return payload
    key = own_key(db)
    if key is None:
        return payload
    return {**payload, "check_code": code(key, str(number), int(payload.get("amount") or 0))}


def verify(
    hub: sqlite_utils.Database, device_id: str, number: str, amount: int, check: str
) -> bool:
    """True when ``check`` is the code device ``device_id`` would print (city hall)."""
    want = code(derive_device_key(hub_secret(hub), device_id), number, amount)
    return hmac.compare_digest(want, check.strip().lower())


def device_of_number(number: str) -> str:
    """The device in a receipt or application number (``R2026-van-1-000001`` → ``van-1``)."""
    parts = number.strip().split("-")
    if len(parts) < 3:
        from odekake.errors import OdekakeError

        raise OdekakeError(f"受付番号の形式が正しくありません: {number}")
    return "-".join(parts[1:-1])
