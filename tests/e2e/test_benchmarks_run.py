"""Every script in benchmarks/ runs at a tiny size and prints what it should.

Timing is not checked here (that is what the scripts are for, by hand); only that
each one still runs against today's code, its output parses, and it leaves no file
in the tree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from odekake.demo import build_demo

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d+(?:\.\d+)?"
PAGE = re.compile(rf"^.+ median +{NUMBER} ms +max +{NUMBER} ms$")


def bench(script: str, *args: str, timeout: float = 240) -> list[str]:
    """Run ``benchmarks/<script>`` with ``args``; its output lines (exit 0, no traceback)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return proc.stdout.splitlines()


def test_every_benchmark_script_is_run_here() -> None:
    scripts = {p.name for p in (ROOT / "benchmarks").glob("*.py")} - {"soak_proxy.py"}
    covered = {
        "bench_sync.py",
        "bench_reports.py",
        "pin_kdf.py",
        "voting_checkin.py",
        "bench_kiosk.py",
        "bench_planner.py",
        "bench_console.py",
        "bench_console_pages.py",
        "bench_console_load.py",
        "soak.py",
    }  # fmt: skip  (soak.py: tests/e2e/test_soak.py)
    assert scripts == covered


def test_bench_sync_tiny() -> None:
    out = bench("bench_sync.py", "--records", "300", "--batch-size", "100")
    rates = {line.split(":")[0].strip(): line for line in out if ":" in line}
    for step in ("export", "raw", "import", "http"):
        assert re.match(rf"^{step} +: +\d+ rec/s", rates[step]), rates.get(step)
    assert "受領済み 300 番まで" in rates["import"]
    assert "ハブ受領済み 300 / 300 番" in rates["http"]
    assert re.match(rf"^ratio  : {NUMBER} wall, {NUMBER} CPU", rates["ratio"])


def test_bench_reports_tiny() -> None:
    out = bench("bench_reports.py", "--records", "300")
    assert re.match(r"^records: \d+", out[0])
    assert re.match(rf"^total: +{NUMBER} s", out[-1])


def test_pin_kdf_tiny() -> None:
    out = bench("pin_kdf.py", "--n", "1")
    assert any(line.startswith("default scrypt") and "per guess" in line for line in out)
    assert any(line.startswith("legacy  scrypt") and "per guess" in line for line in out)


def test_voting_checkin_tiny() -> None:
    out = bench("voting_checkin.py", "--voters", "3", "--contenders", "3")
    assert re.match(rf"^sequential: 3 check-ins, median {NUMBER} ms", out[-2])
    assert re.match(r"^contention: 3 threads, same voter: 1 confirmed", out[-1])


def test_bench_kiosk_tiny() -> None:
    out = bench("bench_kiosk.py", "--n", "1")
    assert out[0].startswith("certificates.issue: median")
    forms = [line for line in out if line.startswith("open form")]
    assert len(forms) == 7 and all("(n=1)" in line for line in forms)


def test_bench_planner_tiny(tmp_path: Path) -> None:
    out = bench(
        "bench_planner.py", "--tiny", "--solvers", "highs", "--out", str(tmp_path / "r.json")
    )
    rows = [line for line in out if line.startswith("| tiny |")]
    assert len(rows) == 1 and "| optimal |" in rows[0]
    assert (tmp_path / "r.json").is_file()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    build_demo(folder, seed=7)
    return folder


def test_bench_console_pages_on_the_demo(demo: Path, tmp_path: Path) -> None:
    out = bench(
        "bench_console.py", "--repeat", "1", "--demo", str(demo), "--out", str(tmp_path / "c.json")
    )
    phases = [line for line in out if line.startswith("---")]
    assert phases == ["--- idle", "--- during_solve", "--- pages_idle"]
    pages = [line for line in out if not line.startswith("---")]
    assert pages and all(PAGE.match(line) for line in pages), pages
    out2 = bench("bench_console_pages.py", "--repeat", "1", "--demo", str(demo))
    assert out2 and all(PAGE.match(line) for line in out2), out2


def test_bench_console_load_tiny() -> None:
    """Concurrent console sessions over HTTP: two sessions, one round, JSON that parses."""
    import json

    out = bench(
        "bench_console_load.py", "--repeat", "1", "--sessions", "2", "--rounds", "1", timeout=300
    )
    result = json.loads("\n".join(out))
    assert result["concurrent"]["sessions"] == 2 and result["concurrent"]["requests"] > 0
    assert result["one_session"]["p95_ms"] > 0
    assert result["single_user"]
