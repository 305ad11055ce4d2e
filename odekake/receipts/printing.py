"""Printing a PDF through CUPS (``lp``) when the van has a printer.

The PDF written beforehand stays the record; printing is a copy for the resident.
A missing ``lp``, an unknown printer or a stopped CUPS is an :class:`OdekakeError`
in Japanese, so the screen can say the receipt was saved but not printed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from odekake.errors import OdekakeError

_JOB = re.compile(r"request id is (\S+)")

# What CUPS says (in English, whatever the locale) → what the operator reads.
_CAUSES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("does not exist", "unknown printer", "not found"),
        "プリンタ {printer} が見つかりません。端末の設定のプリンタ名を確認してください",
    ),
    (
        ("not accepting", "disabled", "stopped", "paused"),
        "プリンタ {printer} が停止中で、印刷を受け付けていません",
    ),
    (
        ("scheduler not responding", "unable to connect", "connection refused", "no such file"),
        "印刷サービス(CUPS)が動いていないため、プリンタ {printer} に送れませんでした",
    ),
    (
        ("forbidden", "not authorized", "permission"),
        "プリンタ {printer} に印刷する権限がありません",
    ),
)


class PrintError(OdekakeError):
    """Printing failed: ``str()`` is the operator's Japanese message naming the printer;
    ``detail`` is what CUPS said, for the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def explain(printer: str, detail: str) -> str:
    """The operator's message for what ``lp`` said (never lp's own English)."""
    low = detail.lower()
    for needles, message in _CAUSES:
        if any(n in low for n in needles):
            return message.format(printer=printer)
    return f"プリンタ {printer} に送れませんでした(詳しい原因は端末のログにあります)"


def print_pdf(path: Path, printer: str, *, copies: int = 1, timeout: float = 20.0) -> str:
    """Send ``path`` to CUPS printer ``printer`` with ``lp -d``; return the job id.

    Raises:
        PrintError: ``lp`` is not installed, or CUPS refused the job (in Japanese,
            naming the printer; CUPS's own words in ``detail``).
    """
    lp = shutil.which("lp")
    if lp is None:
        raise PrintError(
            f"印刷コマンド lp がないため、プリンタ {printer} に送れません"
            "(CUPS をインストールしてください)",
            "lp not found",
        )
    if not path.exists():
        raise OdekakeError(f"印刷するファイルがありません: {path.name}")
    try:
        done = subprocess.run(
            [lp, "-d", printer, "-n", str(copies), "-t", path.stem, str(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PrintError(f"プリンタ {printer} が応答しません", "lp timed out") from exc
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        detail = lines[-1] if lines else f"lp exit {done.returncode}"
        raise PrintError(explain(printer, detail), detail)
    m = _JOB.search(done.stdout)
    return m.group(1) if m else ""
