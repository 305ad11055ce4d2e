"""A real browser for journeys: Debian's Chromium driven by Python Playwright.

``playwright install`` downloads browsers from the internet and cannot work here,
so Playwright drives the system's ``/usr/bin/chromium``. When Chromium (or the
Japanese font) is missing and we run as root, it is installed with apt-get; when
that cannot be done, the browser tests are skipped with the reason printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
PACKAGES = ("chromium", "fonts-ipaexfont-gothic")
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def refresh_screenshots() -> bool:
    """Docs screenshots are rewritten only when asked (``ODEKAKE_SCREENSHOTS=1``):
    an ordinary run leaves the working tree as it found it."""
    return bool(os.environ.get("ODEKAKE_SCREENSHOTS"))


def shot_path(folder: Path, name: str) -> Path:
    """Where a screenshot goes: the docs folder when refreshing, else a scratch one."""
    if not refresh_screenshots():
        import tempfile

        folder = Path(tempfile.gettempdir()) / "odekake-screenshots" / folder.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def ensure_chromium() -> str | None:
    """Install Chromium and the font when missing (as root); the reason when impossible."""
    have_font = (
        Path("/usr/share/fonts/opentype/ipaexfont-gothic").exists()
        or Path("/usr/share/fonts/truetype/ipaexfont-gothic").exists()
    )
    if os.path.exists(CHROMIUM) and have_font:
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "Chromium がありません(root で apt-get install chromium fonts-ipaexfont-gothic)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if done.returncode != 0:
            return f"Chromium を入れられません: {done.stderr.strip()[-200:]}"
    return None if os.path.exists(CHROMIUM) else "Chromium を入れられませんでした"


@contextmanager
def launch() -> Iterator[Any]:
    """A headless Chromium for the session, or a printed skip."""
    reason = ensure_chromium()
    if reason:
        print(f"\nブラウザの試験を省略します: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


class Browser:
    """Pages of one test (closed after it); ``keep`` saves a screenshot to look at."""

    def __init__(self, chromium: Any) -> None:
        self._context = chromium.new_context(
            viewport={"width": 420, "height": 900}, locale="ja-JP", device_scale_factor=1
        )

    def page(self) -> Any:
        return self._context.new_page()

    def keep(self, page: Any, name: str) -> Path:
        """A full-page screenshot: under docs/screenshots/ when refreshing them
        (committed when looked at), else in a scratch folder."""
        path = shot_path(SHOTS, name)
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self._context.close()
