"""巡回計画 pages (filled in below)."""

from __future__ import annotations

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    """The plan pages."""
    return []
