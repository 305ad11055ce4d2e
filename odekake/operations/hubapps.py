"""Web apps mounted in the hub beside the sync API (the city-hall console).

They are found through the ``odekake.hub`` entry-point group, so the core never
imports them (dependencies point one way: ``console → odekake``). Each entry point
is a factory ``mount(db_path) -> starlette.routing.BaseRoute``; the app it mounts
has its own authentication (staff sessions) and never sees the device signatures.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from starlette.routing import BaseRoute

GROUP = "odekake.hub"


def mounted_apps(db_path: str | Path) -> list[BaseRoute]:
    """The routes of every installed hub web app, over the hub database."""
    return [ep.load()(Path(db_path)) for ep in entry_points(group=GROUP)]
