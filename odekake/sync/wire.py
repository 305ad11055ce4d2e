"""The wire protocol between a van and its hub: signed requests, signed answers.

Requests. A van signs every request with its Ed25519 device key. The signature
covers everything the hub acts on, and is checked from the headers alone, before
the hub reads one byte of the body::

    odekake-request-v2 \\n METHOD \\n PATH?QUERY \\n TIMESTAMP \\n NONCE \\n DEVICE \\n SHA256(BODY)

Headers: ``X-Odekake-Device``, ``X-Odekake-Timestamp`` (Unix seconds, digits only),
``X-Odekake-Nonce`` (32 hex), ``X-Odekake-Body-SHA256`` (64 hex) and
``X-Odekake-Signature`` (base64). The hub then streams the body, hashing it, and
refuses it when the hash differs from the signed header.

Answers. The hub has its own Ed25519 key (``<hub.db>.sign.key``, 0600, outside the
database). Every answer carries ``X-Odekake-Hub-Signature`` over::

    odekake-answer-v1 \\n DEVICE \\n REQUEST-SIGNATURE \\n STATUS \\n SHA256(ANSWER BODY)

The request signature is unique per request (it covers the nonce and timestamp), so
an answer is bound to the one request it answers: an old answer replayed to a new
request does not verify. The van pins the hub's public key at enrolment (like SSH's
known_hosts, in ``meta.hub_sign_public_key``) and believes only answers that verify
with it. Replacing the pinned key is an explicit, audited administrator action.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from odekake.errors import OdekakeError
from odekake.storage.db import get_meta, set_meta, write
from odekake.sync.keys import (
    fingerprint,
    generate_key,
    load_private_key,
    parse_public_key,
    public_key_text,
    save_private_key,
    sign,
    verify,
)

HEADER_DEVICE = "X-Odekake-Device"
HEADER_TIMESTAMP = "X-Odekake-Timestamp"
HEADER_NONCE = "X-Odekake-Nonce"
HEADER_BODY_SHA256 = "X-Odekake-Body-SHA256"
HEADER_SIGNATURE = "X-Odekake-Signature"
HEADER_HUB_SIGNATURE = "X-Odekake-Hub-Signature"

HUB_KEY_META = "hub_sign_public_key"
"""Van ``meta`` key: the pinned public key of the hub (base64 raw Ed25519)."""
HUB_KEY_HISTORY_META = "hub_sign_public_key_history"
"""Van ``meta`` key: earlier pinned keys (JSON list), so old signed acks still count."""
HUB_KEY_SUFFIX = ".sign.key"

TIMESTAMP_RE = re.compile(r"^[0-9]{1,12}$")
NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

UNVERIFIED_MESSAGE = (
    "ハブの応答の署名を確認できません(改ざんか、登録したハブではない可能性があります)。"
    "何も変更していません"
)


class HubKeyMissing(OdekakeError):
    """Vans are enrolled but the hub's signing key file is gone (moved without it)."""


class UnverifiedAnswer(OdekakeError):
    """An answer that does not carry a valid signature of the pinned hub key."""

    def __init__(self, message: str = UNVERIFIED_MESSAGE) -> None:
        super().__init__(message)


def body_digest(body: bytes) -> str:
    """Hex SHA-256 of a body."""
    return hashlib.sha256(body).hexdigest()


def request_message(
    method: str, target: str, timestamp: str, nonce: str, device: str, body_sha256: str
) -> bytes:
    """What a device signs for one request (``target`` = path plus ``?query``)."""
    return (
        f"odekake-request-v2\n{method.upper()}\n{target}\n{timestamp}\n{nonce}\n{device}\n"
        f"{body_sha256}"
    ).encode()


def new_nonce() -> str:
    """A fresh 128-bit request nonce (hex)."""
    return secrets.token_hex(16)


def signed_headers(
    key: Ed25519PrivateKey,
    device: str,
    method: str,
    target: str,
    body: bytes,
    *,
    timestamp: str,
    nonce: str | None = None,
) -> dict[str, str]:
    """The five headers that sign one request."""
    nonce = nonce or new_nonce()
    digest = body_digest(body)
    return {
        HEADER_DEVICE: device,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_BODY_SHA256: digest,
        HEADER_SIGNATURE: sign(
            key, request_message(method, target, timestamp, nonce, device, digest)
        ),
    }


def answer_message(device: str, request_signature: str, status: int, body_sha256: str) -> bytes:
    """What the hub signs for one answer."""
    return f"odekake-answer-v1\n{device}\n{request_signature}\n{status}\n{body_sha256}".encode()


def sign_answer(
    key: Ed25519PrivateKey, device: str, request_signature: str, status: int, body: bytes
) -> str:
    """The hub's signature of one answer."""
    return sign(key, answer_message(device, request_signature, status, body_digest(body)))


def verify_answer(
    hub_key: Ed25519PublicKey,
    device: str,
    request_signature: str,
    status: int,
    body: bytes,
    signature: str | None,
) -> bool:
    """True when ``signature`` is the hub's over this answer to this request."""
    if not signature:
        return False
    return verify(
        hub_key, answer_message(device, request_signature, status, body_digest(body)), signature
    )


# --- the hub's key ---------------------------------------------------------------


def hub_key_path_for(hub_db_path: str | Path) -> Path:
    """Where a hub database's signing key lives: ``<hub.db>.sign.key`` next to it."""
    p = Path(hub_db_path)
    return p.with_name(p.name + HUB_KEY_SUFFIX)


def vans_enrolled(hub_db_path: str | Path) -> bool:
    """True when the hub database already has enrolled devices (read-only look)."""
    p = Path(hub_db_path)
    if not p.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT 1 FROM devices LIMIT 1").fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:  # no devices table yet, or not a database: nothing pinned
        return False


def ensure_hub_key(hub_db_path: str | Path, *, new_key_ok: bool = False) -> Ed25519PrivateKey:
    """Load the hub's signing key, creating it (0600) the first time.

    Once vans are enrolled they have pinned this key, so a missing key file then is
    an error (a hub moved or restored without ``hub.db.sign.key``), not a reason to
    make a new key that every van would refuse. ``new_key_ok`` is for a deliberate
    new key (``hub rotate-key``, the demo).
    """
    path = hub_key_path_for(hub_db_path)
    if path.exists():
        return load_private_key(path)
    if not new_key_ok and vans_enrolled(hub_db_path):
        raise HubKeyMissing(
            f"ハブの署名鍵 {path} がありません。登録済みの車両はこの鍵を信用しています: "
            f"元のハブの {path.name} を {path.parent} にコピーしてください"
            "(鍵を作り直すときは odekake hub rotate-key。全車両で鍵の登録し直しが必要です)"
        )
    key = generate_key()
    try:
        save_private_key(key, path)
    except OdekakeError:  # another process made it a moment ago
        return load_private_key(path)
    return key


def rotate_hub_key(hub_db_path: str | Path) -> tuple[str, str, Path]:
    """Replace the hub's signing key; the old file is kept beside it, renamed.

    Returns:
        ``(old public key or "", new public key, where the old key went)``.
    """
    path = hub_key_path_for(hub_db_path)
    old = ""
    kept = path.with_name(path.name + ".old")
    if path.exists():
        old = public_key_text(load_private_key(path))
        n = 1
        while kept.exists():
            n += 1
            kept = path.with_name(f"{path.name}.old{n}")
        os.replace(path, kept)
    new = public_key_text(ensure_hub_key(hub_db_path, new_key_ok=True))
    return old, new, kept


# --- the van's pin ----------------------------------------------------------------


def pinned_hub_text(van: sqlite_utils.Database) -> str | None:
    """The hub key this van believes (base64), or None before enrolment."""
    return get_meta(van, HUB_KEY_META)


def pinned_hub_key(van: sqlite_utils.Database) -> Ed25519PublicKey:
    """The pinned hub key; an error telling what to do when there is none."""
    text = pinned_hub_text(van)
    if not text:
        raise OdekakeError(
            "この車両にはハブの公開鍵が登録されていません。"
            "odekake device enroll でハブの鍵を受け取ってください"
        )
    return parse_public_key(text)


def known_hub_keys(van: sqlite_utils.Database) -> list[str]:
    """Every hub key this van has pinned, newest first."""
    keys = []
    current = pinned_hub_text(van)
    if current:
        keys.append(current)
    history = get_meta(van, HUB_KEY_HISTORY_META)
    if history:
        keys += [k for k in json.loads(history) if k not in keys]
    return keys


def pin_hub_key(
    van: sqlite_utils.Database, public_text: str, *, accept_new: bool = False, actor: str = "cli"
) -> str:
    """Pin the hub's public key on the van.

    Returns:
        ``"pinned"`` (first time), ``"unchanged"`` or ``"replaced"`` (audited).

    Raises:
        OdekakeError: A different key is pinned and ``accept_new`` is false.
    """
    from odekake.access import audit

    parse_public_key(public_text)
    public_text = public_text.strip()
    current = pinned_hub_text(van)
    if current == public_text:
        return "unchanged"
    if current and not accept_new:
        raise OdekakeError(
            f"ハブの鍵が登録済みの鍵と違います(登録済み {fingerprint(current)}、"
            f"新しい鍵 {fingerprint(public_text)})。管理者が鍵の変更を確認したときだけ "
            "--accept-new-hub-key を付けて登録し直してください"
        )
    with write(van):
        if current:
            history = [current, *[k for k in known_hub_keys(van) if k != current]]
            set_meta(van, HUB_KEY_HISTORY_META, json.dumps(history))
        set_meta(van, HUB_KEY_META, public_text)
        audit.log(
            van,
            actor,
            "hub.key",
            fingerprint(public_text),
            {"old": fingerprint(current) if current else "", "new": fingerprint(public_text)},
        )
    return "replaced" if current else "pinned"


# --- signed acknowledgements (what a purge may trust) ----------------------------


@dataclass(frozen=True)
class SignedAnswer:
    """A verified hub answer and the proof of it (kept for acks)."""

    data: dict[str, Any]
    device: str
    request_signature: str
    status: int
    body: bytes
    hub_signature: str
    hub_key: str

    def evidence(self) -> str:
        """The proof as JSON text (stored with an acknowledgement on the van)."""
        return json.dumps(
            {
                "device": self.device,
                "request_signature": self.request_signature,
                "status": self.status,
                "body": self.body.decode("utf-8"),
                "hub_signature": self.hub_signature,
                "hub_key": self.hub_key,
            },
            ensure_ascii=False,
        )


def local_ack(
    hub_key: Ed25519PrivateKey, device: str, acked_seq: int, backup_seq: int | None = None
) -> SignedAnswer:
    """A signed acknowledgement made where the hub's key is at hand (demo, enrolment).

    It is bound to the pseudo-request ``local:<nonce>``, not to a network request.
    """
    data: dict[str, Any] = {"device_id": device, "acked_seq": acked_seq}
    if backup_seq is not None:
        data["backup_seq"] = backup_seq
    body = json.dumps(data).encode()
    req = f"local:{new_nonce()}"
    return SignedAnswer(
        data,
        device,
        req,
        200,
        body,
        sign_answer(hub_key, device, req, 200, body),
        public_key_text(hub_key),
    )


def proven_body(
    van: sqlite_utils.Database, evidence: str | None, device: str
) -> dict[str, Any] | None:
    """The body of a stored hub answer, when its proof verifies (else None).

    The proof must be signed by a hub key this van pinned, for this device, with
    status 200, and the body must name this device.
    """
    if not evidence:
        return None
    try:
        ev = json.loads(evidence)
        if ev["hub_key"] not in known_hub_keys(van) or ev["device"] != device:
            return None
        body = str(ev["body"]).encode("utf-8")
        if not verify_answer(
            parse_public_key(ev["hub_key"]),
            device,
            str(ev["request_signature"]),
            int(ev["status"]),
            body,
            str(ev["hub_signature"]),
        ):
            return None
        if int(ev["status"]) != 200:
            return None
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("device_id") != device:
            return None
        return data
    except (ValueError, KeyError, TypeError, OdekakeError):
        return None


def acked_by_evidence(van: sqlite_utils.Database, evidence: str | None, device: str) -> int | None:
    """The mark a stored ack proves (None when the proof does not verify)."""
    data = proven_body(van, evidence, device)
    try:
        return None if data is None else int(data["acked_seq"])
    except (KeyError, TypeError, ValueError):
        return None
