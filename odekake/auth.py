"""PIN hashing with a slow KDF (scrypt from the standard library)."""

from __future__ import annotations

import hashlib
import hmac
import os

_N, _R, _P = 2**14, 8, 1


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """Hash a PIN as ``scrypt$N$r$p$salt$hash`` (hex)."""
    s = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=s, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${s.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches a hash made by :func:`hash_pin` (constant time)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(
        pin.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(got.hex(), digest)
