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


def print_pdf(path: Path, printer: str, *, copies: int = 1, timeout: float = 20.0) -> str:
    """Send ``path`` to CUPS printer ``printer`` with ``lp -d``; return the job id.

    Raises:
        OdekakeError: ``lp`` is not installed, or CUPS refused the job.
    """
    lp = shutil.which("lp")
    if lp is None:
        raise OdekakeError("印刷コマンド lp がありません(CUPS をインストールしてください)")
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
        raise OdekakeError(f"プリンタ {printer} が応答しません") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise OdekakeError(
            f"プリンタ {printer} に送れませんでした({detail[-1] if detail else done.returncode})"
        )
    m = _JOB.search(done.stdout)
    return m.group(1) if m else ""
