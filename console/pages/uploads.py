"""Uploaded bytes handed to the core's file-reading functions (the CLI's own)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from odekake.errors import ImportRejected, OdekakeError

T = TypeVar("T")


def as_file(raw: bytes, name: str, fn: Callable[[Path], T]) -> T:
    """``fn`` on the bytes as a file (the CLI's functions read files); a message that
    names the temporary file names ``name`` instead."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(raw)
        try:
            return fn(path)
        except ImportRejected:
            raise
        except OdekakeError as exc:
            text = str(exc)
            if str(path) not in text:
                raise
            raise OdekakeError(text.replace(str(path), name)) from exc
