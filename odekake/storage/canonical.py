"""The one serialisation that is hashed, signed and sealed, and its hash.

Records, seals, signatures and snapshots all hash the same bytes: JSON with sorted keys,
no spaces, UTF-8 text. It lives here, apart from the record log, so that the modules the
log itself uses (sealing) can share it without importing the log.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(payload: Any) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    """SHA-256 of UTF-8 text, as 64 hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
