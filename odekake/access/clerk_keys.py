"""A clerk's key, unlocked by their PIN: proof that a clerk was there, and the roll's key.

Each operator who may vote voters in (an election clerk or a supervisor) gets, when
city hall sets or resets their PIN, a random 32-byte secret. Two keys are derived
from it: an Ed25519 key that signs every vote record a van makes for that clerk
(``clerk_proof`` in the payload), and an X25519 key to which the hub wraps the key
of a sealed roll (``odekake.voting.roll``). The hub keeps only the public halves
(``operators.sign_public``, ``operators.box_public`` and every signing key it ever
issued in ``operator_keys``); the secret travels to the van only sealed under a key
derived from the PIN (``operators.key_sealed``: scrypt with the PIN verifier's cost,
then AES-256-GCM). The hub forgets the secret once it has sealed it.

On the van the secret is opened at login (:func:`unlock`, called by
``odekake.services.login.login``) and kept in this process's memory only, per
database file, until :func:`lock`. Without a clerk's PIN, a van's files sign nothing
and open no roll: a thief must guess the PIN offline at the KDF's cost per guess.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import weakref
from typing import Any

import sqlite_utils
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from odekake.access.auth import DEFAULT_KDF, KdfParams

PROOF_KEY = "clerk_proof"
PROOF_ALG = "Ed25519"
# The roles whose PIN unlocks a key (authz: only they vote voters in or see the roll).
KEY_ROLES = frozenset({"clerk", "supervisor"})
_SEAL_INFO = b"odekake clerk key sealed under PIN v1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"odekake clerk " + label
    ).derive(secret)


def signing_key(secret: bytes) -> Ed25519PrivateKey:
    """The clerk's Ed25519 signing key."""
    return Ed25519PrivateKey.from_private_bytes(_derive(secret, b"sign"))


def box_key(secret: bytes) -> X25519PrivateKey:
    """The clerk's X25519 key (the roll's key is wrapped to its public half)."""
    return X25519PrivateKey.from_private_bytes(_derive(secret, b"box"))


def public_keys(secret: bytes) -> tuple[str, str]:
    """(signing public key, box public key), base64."""
    return (
        _b64(signing_key(secret).public_key().public_bytes_raw()),
        _b64(box_key(secret).public_key().public_bytes_raw()),
    )


def _pin_key(pin: str, salt: bytes, kdf: KdfParams) -> bytes:
    return hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=kdf.n, r=kdf.r, p=kdf.p, maxmem=kdf.maxmem, dklen=32
    )


def seal_secret(secret: bytes, pin: str, kdf: KdfParams = DEFAULT_KDF) -> str:
    """The secret sealed under the PIN (JSON text for ``operators.key_sealed``)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    ct = AESGCM(_pin_key(pin, salt, kdf)).encrypt(nonce, secret, _SEAL_INFO)
    return json.dumps(
        {
            "v": 1,
            "kdf": "scrypt",
            "n": kdf.n,
            "r": kdf.r,
            "p": kdf.p,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "ct": _b64(ct),
        },
        sort_keys=True,
    )


def open_secret(sealed: str, pin: str) -> bytes | None:
    """The secret, or None when the PIN is wrong or the text is not a sealed key."""
    try:
        d = json.loads(sealed)
        kdf = KdfParams(int(d["n"]), int(d["r"]), int(d["p"]))
        if d.get("kdf") != "scrypt" or kdf.n > 2**20 or kdf.r > 32 or kdf.p > 4:
            return None
        key = _pin_key(pin, _unb64(d["salt"]), kdf)
        return AESGCM(key).decrypt(_unb64(d["nonce"]), _unb64(d["ct"]), _SEAL_INFO)
    except (ValueError, KeyError, TypeError, InvalidTag):
        return None


def kdf_of(sealed: str) -> KdfParams | None:
    """The KDF cost a sealed key was made with (None when unreadable)."""
    try:
        d = json.loads(sealed)
        return KdfParams(int(d["n"]), int(d["r"]), int(d["p"]))
    except (ValueError, KeyError, TypeError):
        return None


def new_operator_keys(pin: str, kdf: KdfParams = DEFAULT_KDF) -> tuple[str, str, str]:
    """A fresh key for an operator: (sign_public, box_public, key_sealed)."""
    secret = os.urandom(32)
    sign_public, box_public = public_keys(secret)
    return sign_public, box_public, seal_secret(secret, pin, kdf)


# --- the van's unlocked keys (memory only) -------------------------------------------

_sessions: dict[str, dict[str, bytes]] = {}
# What an unlocked key opened (the decrypted roll), dropped with the keys.
_opened: dict[str, dict[str, Any]] = {}
_guard = threading.RLock()  # re-entrant: a finalizer may run while it is held


_watched: weakref.WeakSet[sqlite_utils.Database] = weakref.WeakSet()


def _drop(key: str) -> None:
    with _guard:
        _sessions.pop(key, None)
        _opened.pop(key, None)


def db_key(db: sqlite_utils.Database) -> str:
    """Which database a session belongs to: its file (or the object, in memory).

    An in-memory database's session ends when the object is collected, so a new
    one that happens to get the same id never inherits it.
    """
    row = db.execute("PRAGMA database_list").fetchone()
    path = str(row[2]) if row is not None else ""
    if path:
        return path
    key = f"memory:{id(db)}"
    with _guard:
        if db not in _watched:
            _watched.add(db)
            weakref.finalize(db, _drop, key)
    return key


def unlock(db: sqlite_utils.Database, operator_id: str, pin: str) -> bool:
    """Open an operator's key with their (already checked) PIN and keep it in memory.

    Returns:
        True when the operator has a key and the PIN opens it.
    """
    row = db.execute(
        "SELECT key_sealed FROM operators WHERE id = ? AND active = 1", [operator_id]
    ).fetchone()
    if row is None or not row[0]:
        return False
    secret = open_secret(str(row[0]), pin)
    if secret is None:
        return False
    with _guard:
        _sessions.setdefault(db_key(db), {})[operator_id] = secret
    return True


def lock(db: sqlite_utils.Database, operator_id: str | None = None) -> None:
    """Forget an operator's unlocked key (all of this database's when None).

    What the keys opened (the decrypted roll) is forgotten with them.
    """
    with _guard:
        key = db_key(db)
        if operator_id is None:
            _sessions.pop(key, None)
        else:
            _sessions.get(key, {}).pop(operator_id, None)
        _opened.pop(key, None)


def remember(db: sqlite_utils.Database, name: str, value: Any) -> None:
    """Keep something an unlocked key opened, until :func:`lock`."""
    with _guard:
        _opened.setdefault(db_key(db), {})[name] = value


def recall(db: sqlite_utils.Database, name: str) -> Any:
    """What :func:`remember` kept (None when nothing, or when every key is locked)."""
    with _guard:
        key = db_key(db)
        if not _sessions.get(key):
            return None
        return _opened.get(key, {}).get(name)


def forget(db: sqlite_utils.Database, prefix: str) -> None:
    """Drop what :func:`remember` kept under names starting with ``prefix``."""
    with _guard:
        kept = _opened.get(db_key(db), {})
        for name in [n for n in kept if n.startswith(prefix)]:
            del kept[name]


def secret_of(db: sqlite_utils.Database, operator_id: str) -> bytes | None:
    """An unlocked operator's secret on this database, else None."""
    with _guard:
        return _sessions.get(db_key(db), {}).get(operator_id)


def unlocked_operators(db: sqlite_utils.Database) -> list[str]:
    """The operators whose key is unlocked on this database."""
    with _guard:
        return sorted(_sessions.get(db_key(db), {}))


# --- proof on a vote record ----------------------------------------------------------


def signed_content(record_type: str, device_id: str, payload: dict[str, Any]) -> bytes:
    """What a clerk's signature covers: the record type, the device and the payload."""
    from odekake.storage.canonical import canonical_json

    body = {k: v for k, v in payload.items() if k != PROOF_KEY}
    return canonical_json([record_type, device_id, body]).encode("utf-8")


def with_proof(
    db: sqlite_utils.Database,
    record_type: str,
    device_id: str,
    payload: dict[str, Any],
    clerk_id: str,
) -> dict[str, Any]:
    """The payload with the clerk's signature, when their key is unlocked on this van.

    A payload without it is still recorded (a ballot was handed out; the record
    must exist) but the hub never counts it as a vote: it becomes an incident.
    """
    secret = secret_of(db, clerk_id)
    if secret is None:
        return dict(payload)
    key = signing_key(secret)
    sig = key.sign(signed_content(record_type, device_id, payload))
    return {
        **payload,
        PROOF_KEY: {
            "alg": PROOF_ALG,
            "key": _b64(key.public_key().public_bytes_raw()),
            "sig": _b64(sig),
        },
    }


def proof_problem(
    db: sqlite_utils.Database,
    record_type: str,
    device_id: str,
    payload: dict[str, Any],
    clerk_id: str,
) -> str | None:
    """At the hub: ``no_clerk_proof`` / ``bad_clerk_proof``, or None when it verifies.

    The key must be one the hub issued to that very clerk (``operator_keys``).
    """
    proof = payload.get(PROOF_KEY)
    if not isinstance(proof, dict) or not proof.get("sig") or not proof.get("key"):
        return "no_clerk_proof"
    if proof.get("alg") != PROOF_ALG:
        return "bad_clerk_proof"
    row = db.execute(
        "SELECT 1 FROM operator_keys WHERE sign_public = ? AND operator_id = ?",
        [str(proof["key"]), clerk_id],
    ).fetchone()
    if row is None:
        return "bad_clerk_proof"
    try:
        public = Ed25519PublicKey.from_public_bytes(_unb64(str(proof["key"])))
        public.verify(_unb64(str(proof["sig"])), signed_content(record_type, device_id, payload))
    except (ValueError, InvalidSignature):
        return "bad_clerk_proof"
    return None
