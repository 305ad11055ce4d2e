"""docs/operations.md's restore drill, run as written: the guide cannot drift from the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.sync.conftest import free_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def drill_script() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 9. A restore drill") :]
    return re.search(r"```sh\n(.*?)```", section, flags=re.S).group(1)  # type: ignore[union-attr]


def test_the_restore_drill_in_the_guide_runs_and_loses_nothing(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PORT": str(free_port()),
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", drill_script()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout
    assert "バックアップを作成し、検証しました" in out
    assert "を復元しました" in out
    assert "Traceback" not in done.stderr
    # every chain verifies at the restored hub, which holds the van's records again
    assert "OK: すべての記録の連鎖と連番は正常です。" in out
    assert "NG:" not in done.stderr
    assert list((tmp_path / "drill").glob("hub.db.replaced-*")) == []  # the lost file was gone
    assert (tmp_path / "drill" / "hub.log").read_text(encoding="utf-8")
