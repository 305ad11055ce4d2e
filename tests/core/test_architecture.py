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
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'kiosk', 'console'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"TUI or console imported by the core: {out.stdout.strip()}"
    assert len(names) > 10


def test_console_depends_on_the_core_never_on_the_tui() -> None:
    """console → odekake, console → planner; the console never loads Textual or the kiosk."""
    import console

    names = ["console", *_modules(console)]
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}:\n"
        "    importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'kiosk'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"TUI imported by the console: {out.stdout.strip()}"
    assert "console.app" in names


def test_the_hub_mounts_the_console_without_importing_it() -> None:
    """The hub finds the console through its entry point, only when it builds its app."""
    code = "import sys\nimport odekake.sync.hub\nprint('console' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_core_never_imports_the_planner_kiosk_or_console_even_inside_a_function() -> None:
    """The arrows point one way (planner → odekake, kiosk → odekake, console → odekake): an
    import of planner, kiosk or console anywhere in the core's library — a function's body
    included, where the subprocess test above cannot see it — breaks them. The entry points
    that put the parts together are the exception: the command line (``odekake/cli.py``,
    ``odekake/commands/``) and the demo builder (``odekake/demo/__init__.py``)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "odekake"
    wrong = []
    entry_points = {root / "cli.py"}
    for path in sorted(root.rglob("*.py")):
        if path in entry_points or {root / "commands", root / "demo"} & set(path.parents):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in ("planner", "kiosk", "console", "textual"):
                    wrong.append(f"{path.relative_to(root.parent)}:{node.lineno} imports {name}")
    assert not wrong, "\n".join(wrong)
