"""The soak (benchmarks/soak.py) at a small size, and the seeds that once found a defect.

Each run starts a real hub process and its vans' proxies in a temporary directory
and removes them; the tests check the soak's own exit status, its table and its last
line, and that it left no process or file behind.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^soak: (\d+) records, (\d+) days, (\d+) vans, (\d+) faults, (\d+) lost, "
    r"(\d+) doubled, (\d+) double votes, (\d+) unsafe purges$"
)
FAULT_KINDS = (
    "van_kill_mid_record",
    "hub_kill_mid_ingest",
    "backup_kill_mid_backup",
    "net_cut",
    "net_delay",
    "net_drop_after_commit",
    "net_duplicate",
    "net_reorder",
    "clock_skew",
    "disk_full",
    "backup_truncated",
    "backup_edited",
    "hub_key_rotation",
)

# Seeds that found a defect, with the faults that found it. Each must pass for good.
CONFIRMED_CHECKIN_LOST = ("1", "van_kill_mid_record,net_cut")
TRUNCATED_BACKUP_PURGE = ("1", "backup_truncated")


def soak(*args: str) -> tuple[int, list[str]]:
    """Run the soak; its exit status and output lines (it must leave no temp dir)."""
    before = set(Path(tempfile.gettempdir()).glob("odekake-soak-*"))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert set(Path(tempfile.gettempdir()).glob("odekake-soak-*")) <= before
    return proc.returncode, proc.stdout.splitlines()


def counts(lines: list[str], names: tuple[str, ...]) -> dict[str, list[int]]:
    """The table's numbers for each named row."""
    out: dict[str, list[int]] = {}
    for line in lines:
        parts = line.split()
        if parts and parts[0] in names:
            out[parts[0]] = [int(p) for p in parts[1:]]
    return out


def assert_clean(status: int, lines: list[str]) -> re.Match[str]:
    assert status == 0, "\n".join(lines)
    last = SUMMARY.match(lines[-1])
    assert last is not None, lines[-1]
    assert last.group(5, 6, 7, 8) == ("0", "0", "0", "0"), lines[-1]
    return last


def test_short_soak_injects_every_fault_kind_and_breaks_no_invariant() -> None:
    status, lines = soak("--seed", "2", "--vans", "2", "--days", "3", "--voters", "20")
    last = assert_clean(status, lines)
    assert last.group(2, 3) == ("3", "2")
    faults = counts(lines, FAULT_KINDS)
    assert set(faults) == set(FAULT_KINDS)
    assert all(n[0] >= 1 for n in faults.values()), faults
    assert int(last.group(4)) == sum(n[0] for n in faults.values())
    invariants = counts(lines, ("records_exactly_once", "no_unsafe_purge", "chains_verify"))
    assert all(checks > 0 and broken == 0 for checks, broken in invariants.values())


def test_kept_seed_confirmed_checkin_lost_on_the_van_then_offline_is_no_double_vote() -> None:
    """A ballot handed out on the hub's 交付可 whose local record was lost to a kill -9,
    then the same voter at the same van offline: the van must still block."""
    seed, faults = CONFIRMED_CHECKIN_LOST
    args = ("--seed", seed, "--vans", "2", "--days", "3", "--voters", "20", "--faults", faults)
    assert_clean(*soak(*args))


def test_kept_seed_truncated_backup_lets_no_van_purge_what_it_alone_held() -> None:
    """The newest backup truncated after it was taken: no van may purge on its mark."""
    seed, faults = TRUNCATED_BACKUP_PURGE
    args = ("--seed", seed, "--vans", "2", "--days", "3", "--voters", "20", "--faults", faults)
    assert_clean(*soak(*args))


def test_soak_refuses_an_unknown_fault_kind() -> None:
    status, _lines = soak("--faults", "meteor")
    assert status == 2


@pytest.mark.parametrize("bad", ["--vans", "--days"])
def test_soak_sizes_are_bounded(bad: str) -> None:
    status, _lines = soak(bad, "0")
    assert status == 2
