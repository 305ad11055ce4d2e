"""Write a planning policy back as TOML (``tomllib`` only reads).

Enough of TOML for policy documents: tables, arrays of tables, strings, numbers,
booleans, dates, arrays and inline tables. ``tomllib.loads(dumps(doc)) == doc``
for every document the policy form produces (a test checks it).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(path: list[str], table: dict[str, Any], out: list[str], header: str) -> None:
    plain = {k: v for k, v in table.items() if not isinstance(v, dict) and not _is_table_list(v)}
    nested = {k: v for k, v in table.items() if k not in plain}
    if header:
        out.append("")
        out.append(header)
    for k, v in plain.items():
        out.append(f"{_key(k)} = {_value(v)}")
    for k, v in nested.items():
        sub = [*path, k]
        dotted = ".".join(_key(p) for p in sub)
        if isinstance(v, dict):
            _table(sub, v, out, f"[{dotted}]")
        else:
            for item in v:
                out.append("")
                out.append(f"[[{dotted}]]")
                for ik, iv in item.items():
                    out.append(f"{_key(ik)} = {_value(iv)}")


def dumps(doc: dict[str, Any], header: str = "") -> str:
    """The TOML text of ``doc`` (``header`` is written first as comment lines)."""
    out = [f"# {line}" if line else "#" for line in header.splitlines()]
    _table([], doc, out, "")
    return "\n".join(out).strip("\n") + "\n"
