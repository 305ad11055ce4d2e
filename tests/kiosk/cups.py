"""A real CUPS with a PDF printer (Debian's cups + printer-driver-cups-pdf) for tests.

Installs the packages with apt when running as root and they are missing; starts
``cupsd -f`` when no scheduler runs (and stops that process afterwards, by its
pid); adds a cups-pdf queue with ``lpadmin`` and removes it afterwards. Anywhere
else the test is skipped with a one-line reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGES = ("cups", "cups-client", "printer-driver-cups-pdf")
PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")


@dataclass(frozen=True)
class PdfPrinter:
    """A cups-pdf queue: jobs land as PDFs in ``out_dir`` (cups-pdf's ``${HOME}/PDF``)."""

    name: str
    out_dir: Path

    def wait_for_output(self, title: str, timeout: float = 30.0) -> Path:
        """The PDF cups-pdf wrote for a job titled ``title``."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            found = sorted(self.out_dir.glob(f"{title}*.pdf"))
            size = found[-1].stat().st_size if found else 0
            if size and size == last and found[-1].read_bytes().rstrip().endswith(b"%%EOF"):
                return found[-1]  # written completely
            last = size
            time.sleep(0.5)
        raise AssertionError(f"cups-pdf wrote no PDF for {title} in {self.out_dir}")


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=300)


def _have_tools() -> bool:
    return all(shutil.which(t) for t in ("lp", "lpstat", "lpadmin", "cupsd")) and PPD.exists()


def _install_or_skip() -> None:
    if _have_tools():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("CUPS と cups-pdf がありません(root ではないため apt で入れられません)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], capture_output=True, check=False, env=env, timeout=600)
    done = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=900,
    )
    if done.returncode != 0 or not _have_tools():
        pytest.skip(f"CUPS を apt で入れられませんでした: {done.stderr.strip()[-200:]}")


def _scheduler_running() -> bool:
    return "is running" in _run("lpstat", "-r", check=False).stdout


@pytest.fixture(scope="session")
def pdf_printer() -> Iterator[PdfPrinter]:
    """A cups-pdf printer on a running CUPS (skips with a reason where impossible)."""
    _install_or_skip()
    started: subprocess.Popen[bytes] | None = None
    if not _scheduler_running():
        if os.geteuid() != 0:
            pytest.skip("CUPS のスケジューラが動いておらず、root ではないため起動できません")
        started = subprocess.Popen(
            ["cupsd", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while not _scheduler_running():
            if time.monotonic() > deadline or started.poll() is not None:
                started.kill()
                pytest.skip("CUPS のスケジューラ(cupsd)を起動できませんでした")
            time.sleep(0.2)
    name = f"odekake-test-{os.getpid()}"
    added = _run("lpadmin", "-p", name, "-E", "-v", "cups-pdf:/", "-P", str(PPD), check=False)
    if added.returncode != 0:
        if started is not None:
            started.terminate()
        pytest.skip(f"PDF プリンタを追加できませんでした: {added.stderr.strip()[-200:]}")
    out_dir = Path(os.path.expanduser("~")) / "PDF"
    before = set(out_dir.glob("*.pdf")) if out_dir.exists() else set()
    try:
        yield PdfPrinter(name, out_dir)
    finally:
        _run("lpadmin", "-x", name, check=False)
        for made in set(out_dir.glob("*.pdf")) - before if out_dir.exists() else ():
            made.unlink(missing_ok=True)
        if started is not None:
            started.terminate()
            try:
                started.wait(timeout=10)
            except subprocess.TimeoutExpired:
                started.kill()
