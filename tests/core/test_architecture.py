"""Dependencies point one way: the core and the planner never load the TUI."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import odekake
import planner

ROOT = Path(__file__).resolve().parents[2]


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


# ---------------------------------------------------------------------------- the house's map
# docs/architecture.md draws these; a new arrow is a decision to write down there first.

PRODUCT_PACKAGES = ("odekake", "kiosk", "planner", "console")
MODULE_LINE_LIMIT = 600

# odekake's subpackages (and its root modules) and the parts of odekake each may import.
# ``commands`` and ``demo`` put the parts together and may import any of them.
ALLOWED_ARROWS: dict[str, set[str]] = {
    "errors": set(),
    "storage": {"errors"},
    "documents": {"errors"},
    "access": {"errors", "storage"},
    "masterdata": {"access", "documents", "errors", "storage"},
    "plans": set(),
    "receipts": {"documents", "errors", "storage"},
    "services": {"access", "errors", "masterdata", "plans", "receipts", "storage"},
    "cardreader": {"errors", "masterdata", "services"},
    "residents": {"errors", "masterdata", "plans", "services", "storage"},
    "reports": {"access", "documents", "errors", "masterdata", "storage"},
    # The hub's three peers: sync answers the vans, voting and operations run beside it.
    "voting": {"access", "documents", "errors", "masterdata", "storage", "sync"},
    "sync": {"access", "errors", "masterdata", "operations", "plans", "storage", "voting"},
    "operations": {"access", "errors", "masterdata", "plans", "storage", "sync"},
    "cli": {"commands", "errors"},
}
COMPOSERS = {"commands", "demo"}


def _product_files() -> dict[str, Path]:
    """Every product module by dotted name (a package by its ``__init__``)."""
    mods: dict[str, Path] = {}
    for pkg in PRODUCT_PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = f
    return mods


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """Every import in a module, at the top or inside a function, as (dotted target, line)."""
    out: list[tuple[str, int]] = []
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_pkg else module.split(".")[:-1]
                here = here[: len(here) - node.level + 1]
                base = ".".join(here + ([base] if base else []))
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
            out.append((base, node.lineno))
    return out


def _module_graph() -> dict[str, set[str]]:
    mods = _product_files()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        for target, _ in _imports(m, f):
            r = resolve(target)
            # A package and its own modules (``__init__`` re-exporting them) are one unit.
            if r and r != m and not r.startswith(m + ".") and not m.startswith(r + "."):
                graph[m].add(r)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_the_circle_finder_finds_a_circle_hidden_in_a_function() -> None:
    """The finder itself: a circle through an import inside a function is still a circle."""
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_product_code() -> None:
    circles = _circles(_module_graph())
    assert not circles, "import circles: " + "; ".join(" ↔ ".join(c) for c in circles)


def test_no_product_module_is_over_the_size_limit() -> None:
    """A newcomer can hold any module in their head: none over about 600 lines."""
    too_long = []
    for path in _product_files().values():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MODULE_LINE_LIMIT:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_long, f"over {MODULE_LINE_LIMIT} lines: " + ", ".join(sorted(too_long))


def _unit(path: Path) -> str:
    """The part of odekake a file belongs to: its subpackage, or its root module's name."""
    rel = path.relative_to(ROOT / "odekake").parts
    return rel[0].removesuffix(".py")


def test_odekake_parts_import_only_the_arrows_on_the_map() -> None:
    """Every import between odekake's parts (a function's body included) is an allowed arrow."""
    unknown = []
    wrong = []
    for module, path in _product_files().items():
        if not module.startswith("odekake.") or (
            path.name == "__init__.py" and path.parent == ROOT / "odekake"
        ):
            continue
        unit = _unit(path)
        if unit in COMPOSERS:
            continue
        if unit not in ALLOWED_ARROWS:
            unknown.append(unit)
            continue
        for target, line in _imports(module, path):
            parts = target.split(".")
            if parts[0] != "odekake" or len(parts) < 2:
                continue
            other = parts[1]
            if other != unit and other not in ALLOWED_ARROWS[unit]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} {unit} → {other}")
    assert not unknown, f"parts missing from the map: {sorted(set(unknown))}"
    assert not wrong, "arrows not on the map (docs/architecture.md):\n" + "\n".join(wrong)


def test_the_map_names_every_part_of_odekake() -> None:
    """docs/architecture.md has a line for every subpackage; the README points to it."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    parts = sorted(p.name for p in (ROOT / "odekake").iterdir() if (p / "__init__.py").exists())
    missing = [p for p in parts if f"`odekake/{p}/`" not in text]
    assert not missing, f"docs/architecture.md does not name: {missing}"
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")
