"""Field-level sealing of personal data to city hall's public key.

Why sealing and not SQLCipher: the van is the thing that gets stolen, and a van
database encrypted with a key the van can derive (device secret + a 4–8 digit PIN)
falls to an offline guess of the PIN. Sealed fields are encrypted to the *hub's*
X25519 public key: the van can write them but never read them back, so a stolen
disk image reveals no name, address or birth date even with every PIN known.
Counts, categories, fees and times stay in the clear because the reports, the day
close and the planner need them and they identify no one.

Format of a sealed payload: the personal keys are removed and replaced by
``"sealed": {"v": 1, "alg": "X25519-HKDF-SHA256-AES256GCM", "epk": b64, "nonce": b64,
"ct": b64}``, where ``ct`` encrypts the canonical JSON of the removed keys under a key
derived from an ephemeral X25519 exchange with the hub key. The record's payload
hash covers the sealed form, so the chain verifies without decrypting.
"""

from __future__ import annotations

import base64
import os
import random
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from odekake.errors import OdekakeError
from odekake.storage.canonical import canonical_json

ALG = "X25519-HKDF-SHA256-AES256GCM"
_INFO = b"odekake sealed personal data v1"

# Top-level payload keys that hold personal data (who someone is, where they live,
# how to reach them). Everything else in a record must identify no one.
PERSONAL_KEYS: frozenset[str] = frozenset(
    {
        "requester",
        "subject",
        "applicant",
        "proxy",
        "contact",
        "building_address",
        "voter",
        "name",
        "kana",
        "address",
        "birth_date",
        "phone",
        "note",
        "notes",
        # Free text a resident's words can reach, and the My Number card 申請書ID
        # (it identifies a person as surely as a name does).
        "purpose",
        "application_id",
    }
)

# Keys that are personal only in some record types: free text typed on the van
# that can name a resident — the reason an unplanned stop is opened (often a
# resident's request in their own words), the day-close difference reason and the
# re-open reason (e.g. "〇〇さんの返金"). Sealed to city hall like a name: the van
# prints the day-close reason once, at closing, from what was typed.
PERSONAL_BY_TYPE: dict[str, frozenset[str]] = {
    "stop.open": frozenset({"reason"}),
    "day.close": frozenset({"reason"}),
    "day.reopen": frozenset({"reason"}),
}
SEALED_TEXT = "(封印済み)"
"""What a van shows where sealed free text was (only city hall can open it)."""


class SealingKeyMissing(OdekakeError):
    """A van without city hall's sealing key was asked to store personal data."""

    def __init__(self) -> None:
        super().__init__(
            "市役所の封印用の鍵がないため、個人情報を含む受付はできません。"
            "ネットワークにつないで同期(odekake sync pull)し、市役所から鍵を受け取ってください"
            "(受け取れないときは市役所の管理者に odekake keys init を依頼してください)"
        )


# Keys that end like personal data are sealed too (e.g. ``subject_name``), unless
# they name a place, a service or an event rather than a person.
PERSONAL_SUFFIXES: tuple[str, ...] = ("_name", "_kana", "_address", "_birth_date", "_phone")
NOT_PERSONAL: frozenset[str] = frozenset(
    {
        "service_name",
        "site_name",
        "disaster_name",
        "station_name",
        "district_name",
        "election_name",
        "referral_name",
        "activity_name",
    }
)


def is_personal_key(key: str, record_type: str | None = None) -> bool:
    """True for a payload key that holds personal data and must be sealed."""
    if key in PERSONAL_KEYS:
        return True
    if record_type is not None and key in PERSONAL_BY_TYPE.get(record_type, frozenset()):
        return True
    return key not in NOT_PERSONAL and key.endswith(PERSONAL_SUFFIXES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def generate_keypair(rng: random.Random | None = None) -> tuple[X25519PrivateKey, str]:
    """A new hub sealing key pair: the private key and the public key (base64)."""
    private = (
        X25519PrivateKey.from_private_bytes(rng.randbytes(32))
        if rng
        else X25519PrivateKey.generate()
    )
    return private, public_key_b64(private)


def public_key_b64(private: X25519PrivateKey) -> str:
    """The base64 public key that vans receive in master data."""
    return _b64(private.public_key().public_bytes_raw())


def save_private_key(private: X25519PrivateKey, path: Path, passphrase: str | None = None) -> None:
    """Write the hub's private key (PEM, mode 0600; encrypted when a passphrase is given)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file replaced with --force keeps no looser mode
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def load_private_key(path: Path, passphrase: str | None = None) -> X25519PrivateKey:
    """Read the hub's private key; a clear error when missing or the passphrase is wrong."""
    if not path.exists():
        raise OdekakeError(f"市役所の秘密鍵ファイルがありません: {path}")
    try:
        key = serialization.load_pem_private_key(
            path.read_bytes(), password=passphrase.encode("utf-8") if passphrase else None
        )
    except (ValueError, TypeError) as exc:
        raise OdekakeError(
            f"市役所の秘密鍵を読めません(パスフレーズを確認してください): {path}"
        ) from exc
    if not isinstance(key, X25519PrivateKey):
        raise OdekakeError(f"X25519 の鍵ではありません: {path}")
    return key


def _derive(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=epk + recipient, info=_INFO).derive(
        shared
    )


def seal(obj: Any, recipient_b64: str, rng: random.Random | None = None) -> dict[str, Any]:
    """Encrypt a JSON-serialisable object to the hub's public key.

    ``rng`` makes the ephemeral key and nonce reproducible (the demo only).
    """
    recipient = _unb64(recipient_b64)
    ephemeral = (
        X25519PrivateKey.from_private_bytes(rng.randbytes(32))
        if rng
        else X25519PrivateKey.generate()
    )
    epk = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    key = _derive(shared, epk, recipient)
    nonce = rng.randbytes(12) if rng else os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, canonical_json(obj).encode("utf-8"), None)
    return {"v": 1, "alg": ALG, "epk": _b64(epk), "nonce": _b64(nonce), "ct": _b64(ct)}


def unseal(envelope: dict[str, Any], private: X25519PrivateKey) -> Any:
    """Decrypt an envelope made by :func:`seal` (hub only)."""
    import json

    if envelope.get("alg") != ALG:
        raise OdekakeError(f"未対応の暗号方式です: {envelope.get('alg')}")
    epk = _unb64(envelope["epk"])
    recipient = private.public_key().public_bytes_raw()
    shared = private.exchange(X25519PublicKey.from_public_bytes(epk))
    key = _derive(shared, epk, recipient)
    try:
        plain = AESGCM(key).decrypt(_unb64(envelope["nonce"]), _unb64(envelope["ct"]), None)
    except InvalidTag as exc:
        raise OdekakeError(
            "暗号化された個人情報を復号できません(鍵が違うか、改ざんされています)"
        ) from exc
    return json.loads(plain.decode("utf-8"))


def personal_part(payload: dict[str, Any], record_type: str | None = None) -> dict[str, Any]:
    """The payload's non-empty personal keys (what :func:`seal_payload` seals)."""
    return {
        k: v
        for k, v in payload.items()
        if is_personal_key(k, record_type) and v not in (None, "", {}, [])
    }


def seal_payload(
    payload: dict[str, Any],
    recipient_b64: str,
    rng: random.Random | None = None,
    *,
    record_type: str | None = None,
) -> dict[str, Any]:
    """Move the personal keys of a payload into one sealed envelope."""
    personal = personal_part(payload, record_type)
    if not personal:
        return dict(payload)
    kept = {k: v for k, v in payload.items() if k not in personal}
    kept["sealed"] = seal(personal, recipient_b64, rng)
    return kept


def open_payload(payload: dict[str, Any], private: X25519PrivateKey) -> dict[str, Any]:
    """The payload with its sealed personal keys restored (hub only)."""
    if "sealed" not in payload:
        return dict(payload)
    opened = {k: v for k, v in payload.items() if k != "sealed"}
    opened.update(unseal(payload["sealed"], private))
    return opened
