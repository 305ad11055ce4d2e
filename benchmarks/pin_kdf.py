"""Benchmark (run by hand): what one PIN guess costs with the KDF the van uses.

    .venv/bin/python benchmarks/pin_kdf.py [--n 7]

Times ``odekake.access.auth.check_pin`` against a verifier made with the default
parameters (``DEFAULT_KDF``) and with the parameters used before security round
two (``LEGACY_KDF``), one guess at a time on one core, and prints the median, the
minimum and what an exhaustive search of every 6-digit PIN would take on this
machine's cores (the attack a stolen snapshot allows), how long the top 100 common
PINs take (what a thief tries first) and how many 6-digit PINs ``operators add`` /
``reset`` and the PIN change still accept. A clerk's key sealed under the PIN
(``odekake.access.clerk_keys``) costs the same per guess: the verifier is the cheaper
target, so these figures hold for both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from odekake.access.auth import (
    COMMON_PINS,
    DEFAULT_KDF,
    LEGACY_KDF,
    KdfParams,
    check_pin,
    hash_pin,
    weak_pin_reason,
)


def per_guess(kdf: KdfParams, n: int) -> list[float]:
    """Seconds per wrong guess against one verifier."""
    stored = hash_pin("271828", kdf=kdf)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        assert not check_pin(f"{i:06d}", stored)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=7)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"machine: {os.uname().machine}, {cores} cores; guesses per run: {args.n}")
    for label, kdf in (("default", DEFAULT_KDF), ("legacy ", LEGACY_KDF)):
        t = per_guess(kdf, args.n)
        med = statistics.median(t)
        days = 10**6 * med / cores / 86400
        print(
            f"{label} scrypt N=2^{kdf.n.bit_length() - 1} r={kdf.r} p={kdf.p} "
            f"({128 * kdf.n * kdf.r // 2**20} MiB): median {med:.3f} s, min {min(t):.3f} s "
            f"per guess; all 10^6 six-digit PINs on {cores} cores: {days:.1f} days; "
            f"the top 100 on one core: {100 * med:.0f} s"
        )
    refused = sum(1 for i in range(10**6) if weak_pin_reason(f"{i:06d}"))
    print(
        f"6-digit PINs refused as weak: {refused} (list of {len(COMMON_PINS)} plus repeats, "
        f"runs and repeated pairs/triples); accepted: {10**6 - refused}"
    )


if __name__ == "__main__":
    main()
