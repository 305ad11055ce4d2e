"""The routes of the console's part 2 pages (issue 15), gathered for ``console.app``."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.pages import account, auditlog, devices, elections, sites, staff, usage


def routes() -> list[BaseRoute]:
    """利用実績, 車両・同期, 地点・地区, 選挙, 職員 and 監査ログ."""
    return [
        *usage.routes(),
        *devices.routes(),
        *sites.routes(),
        *elections.routes(),
        *staff.routes(),
        *auditlog.routes(),
        *account.routes(),
    ]
