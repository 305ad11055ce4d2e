"""planner never imports the kiosk or textual."""

from __future__ import annotations

import subprocess
import sys


def test_planner_imports_neither_textual_nor_kiosk() -> None:
    code = (
        "import sys\n"
        "import planner.inputs, planner.policy, planner.demand, planner.model\n"
        "import planner.solve, planner.explain, planner.output, planner.synthetic\n"
        "import odekake.commands.plan\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'kiosk'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
