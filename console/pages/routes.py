"""Every console page's routes, gathered for ``console.app`` (the login pages stay there)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.pages import (
    account,
    auditlog,
    devices,
    drafts,
    elections,
    plans,
    sites,
    staff,
    usage,
)


def routes() -> list[BaseRoute]:
    """計画, 下書き, 利用実績, 車両・同期, 地点・地区, 選挙, 職員, 監査ログ and アカウント."""
    return [
        *plans.routes(),
        *drafts.routes(),
        *usage.routes(),
        *devices.routes(),
        *sites.routes(),
        *elections.routes(),
        *staff.routes(),
        *auditlog.routes(),
        *account.routes(),
    ]
