"""JSON read from outside (the network, a backup manifest) with duplicate keys refused.

Python's ``json`` keeps the last of two equal keys; a signature or a check made over
one reading can then be read differently by another. Every JSON object the hub reads
from a van, and the van from the hub, goes through :func:`loads`.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKey(ValueError):
    """A JSON object names the same key twice."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(f"JSON のキー {key[:40]!r} が重複しています")
        out[key] = value
    return out


def loads(text: str | bytes) -> Any:
    """``json.loads`` that raises :class:`DuplicateKey` (a ``ValueError``) on a repeated key."""
    return json.loads(text, object_pairs_hook=_pairs)


def too_deep(body: bytes, limit: int) -> bool:
    """True when JSON text nests arrays/objects deeper than ``limit`` (strings skipped)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False
