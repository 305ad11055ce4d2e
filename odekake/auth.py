"""PIN hashing with a slow, memory-hard KDF (scrypt from the standard library).

A PIN has few digits, so its verifier falls to an offline guess unless each guess
is expensive: the default costs at least 0.25 s and 128 MiB per guess on the city's
hardware (``benchmarks/pin_kdf.py``; the figure is in the README). The parameters
live inside each hash (``scrypt$N$r$p$salt$hash``), so a hash made with older,
cheaper parameters still verifies and is upgraded at the next login
(:func:`needs_rehash`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class KdfParams:
    """scrypt's cost parameters."""

    n: int
    r: int
    p: int

    @property
    def maxmem(self) -> int:
        """The memory scrypt needs (128·N·r bytes) plus headroom."""
        return 128 * self.n * self.r * (self.p + 1) + (1 << 20)


# The default: N=2^17, r=8 (128 MiB) — see benchmarks/pin_kdf.py for the measured cost.
DEFAULT_KDF = KdfParams(2**17, 8, 1)
# The parameters before security round two (≈0.05 s): still verified, then upgraded.
LEGACY_KDF = KdfParams(2**14, 8, 1)
# FOR TESTS ONLY: a cheap KDF so a test suite that makes hundreds of logins stays
# fast. Never used unless a caller passes it explicitly.
TEST_ONLY_CHEAP_KDF = KdfParams(2**4, 1, 1)

MIN_PIN_DIGITS = 6
MAX_PIN_DIGITS = 8


def pin_problem(pin: str) -> str | None:
    """Why a new PIN is not acceptable (one Japanese line), or None."""
    if not (pin.isdigit() and MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS):
        return f"PINは{MIN_PIN_DIGITS}〜{MAX_PIN_DIGITS}桁の数字です"
    return None


def hash_pin(pin: str, *, salt: bytes | None = None, kdf: KdfParams = DEFAULT_KDF) -> str:
    """Hash a PIN as ``scrypt$N$r$p$salt$hash`` (hex)."""
    s = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(
        pin.encode("utf-8"), salt=s, n=kdf.n, r=kdf.r, p=kdf.p, maxmem=kdf.maxmem, dklen=32
    )
    return f"scrypt${kdf.n}${kdf.r}${kdf.p}${s.hex()}${digest.hex()}"


def params_of(stored: str) -> KdfParams | None:
    """The KDF parameters inside a stored hash (None when it is not one)."""
    try:
        kind, n, r, p, _salt, _digest = stored.split("$")
        if kind != "scrypt":
            return None
        return KdfParams(int(n), int(r), int(p))
    except ValueError:
        return None


def needs_rehash(stored: str, kdf: KdfParams = DEFAULT_KDF) -> bool:
    """True when a hash is cheaper than ``kdf`` (upgrade it after a good login)."""
    have = params_of(stored)
    if have == TEST_ONLY_CHEAP_KDF:
        # Made on purpose by a test (add_operator never makes one unless told):
        # upgrading it would make every test login pay the full cost.
        return False
    return have is None or have.n * have.r * have.p < kdf.n * kdf.r * kdf.p


def check_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches a hash made by :func:`hash_pin` (constant time)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        params = KdfParams(int(n), int(r), int(p))
    except ValueError:
        return False
    if kind != "scrypt" or params.n > 2**20 or params.r > 32 or params.p > 4:
        return False
    got = hashlib.scrypt(
        pin.encode("utf-8"),
        salt=bytes.fromhex(salt),
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=32,
    )
    return hmac.compare_digest(got.hex(), digest)


def burn_check(pin: str, like: str | None = None) -> None:
    """Spend a PIN check's time on nothing, so an unknown id answers like a known one.

    ``like`` is a real verifier of this database: its parameters set the cost (the
    default KDF when there is none).
    """
    params = (params_of(like) if like else None) or DEFAULT_KDF
    hash_pin(pin, salt=b"\0" * 16, kdf=params)
