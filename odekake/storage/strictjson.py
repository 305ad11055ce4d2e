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
