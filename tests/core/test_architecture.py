"""Dependencies point one way: the core and the planner never load the TUI."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import odekake
import planner


def _modules(pkg) -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."))


def test_core_and_planner_import_without_textual() -> None:
    names = ["odekake.cli", *_modules(odekake), "planner", *_modules(planner)]
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}:\n"
        "    importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.') or m == 'kiosk' or m.startswith('kiosk.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"TUI imported by the core: {out.stdout.strip()}"
    assert len(names) > 10
