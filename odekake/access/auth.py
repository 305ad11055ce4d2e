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
import itertools
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
# The parameters before the stronger parameters of 2026-11 (≈0.05 s): still verified, then upgraded.
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


# The 6-digit PINs people choose most (keyboard and keypad patterns, years, words on
# a phone pad, pairs and triples) — guessed first by anyone holding a van's file.
# Repeats (111111), runs (123456, 987654) and repeated pairs or triples (121212,
# 123123) of any length are refused by rule as well (:func:`weak_pin_reason`).
COMMON_PINS: frozenset[str] = frozenset(
    """
    123456 654321 111111 000000 123123 666666 121212 112233 789456 159753
    696969 222222 555555 777777 888888 999999 333333 444444 123321 147258
    258369 456789 987654 131313 232323 520520 521521 131420 147852 159357
    753951 123987 135246 102030 010203 112358 314159 271828 100200 101010
    202020 303030 111222 222333 000111 123654 987456 456123 147369 963852
    741852 852963 159951 357159 789123 321321 456456 789789 159159 147147
    258258 369369 741741 852852 963963 124578 951753 102938 564738 142536
    123789 456654 789987 112211 121121 123412 120120 110110 112112 221122
    001122 998877 778899 665544 445566 334455 556677 123000 100000 200000
    111000 000123 012012 198012 199012 200012 201012 121314 111213 131211
    123098 098765 090909 080808 070707 060606 050505 040404 030303 020202
    """.split()  # noqa: SIM905 (a table of PINs reads better than a list literal)
)


def _is_run(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    return steps in ({1}, {9})


def _is_repeated_block(pin: str) -> bool:
    return any(
        len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size) for size in (1, 2, 3)
    )


def weak_pin_reason(pin: str) -> str | None:
    """Why a new PIN is too easy to guess (one Japanese line), or None.

    Refused: the :data:`COMMON_PINS`, one digit repeated, a run up or down (wrapping
    past 0), and a block of one to three digits repeated. ``operators add`` / ``reset``
    and the PIN change use it; the demo's documented PINs are set without it.
    """
    if not pin.isdigit():
        return None
    if _is_repeated_block(pin):
        return "同じ数字や同じ並びのくり返しは推測されやすいため使えません"
    if _is_run(pin):
        return "連続した数字(123456、987654 など)は推測されやすいため使えません"
    if pin in COMMON_PINS:
        return "よく使われるPINのため使えません。推測されにくい番号にしてください"
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
