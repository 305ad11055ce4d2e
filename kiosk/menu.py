"""The service menu: a data-driven list of (key, label, category, screen factory).

To add a service (e.g. the 期日前投票 screen), append one entry::

    SERVICES.append(ServiceEntry("8", "期日前投票", "voting", lambda app: navigation.make("voting")))

``category`` is the report category (``odekake.masterdata.catalog.CATEGORIES``); an entry is
usable only at a stop that offers it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from kiosk import navigation
from kiosk.labels import t

if TYPE_CHECKING:
    from kiosk.host import KioskHost


@dataclass(frozen=True)
class ServiceEntry:
    """One line of the service menu."""

    key: str
    label: str
    category: str
    factory: Callable[[KioskHost], Screen[Any]]


def _certificate(app: KioskHost) -> Screen[Any]:
    return navigation.make("certificate")


def _mynumber(app: KioskHost) -> Screen[Any]:
    return navigation.make("mynumber")


def _disaster(app: KioskHost) -> Screen[Any]:
    return navigation.make("disaster")


def _garbage(app: KioskHost) -> Screen[Any]:
    return navigation.make("garbage")


def _consultation(app: KioskHost) -> Screen[Any]:
    return navigation.make("consultation")


def _frailty(app: KioskHost) -> Screen[Any]:
    return navigation.make("frailty")


def _explanation(app: KioskHost) -> Screen[Any]:
    return navigation.make("explanation")


def _voting(app: KioskHost) -> Screen[Any]:
    """期日前投票: only for election clerks, at a stop that is today's voting station."""
    from odekake.errors import OdekakeError
    from odekake.sync.auth import device_auth_for, hub_url_of
    from odekake.voting.client import VotingClient
    from odekake.voting.elections import JST

    hub_url = app.settings.hub_url or hub_url_of(app.db)
    if not hub_url:
        raise OdekakeError(t("voting_no_hub"))
    if app.operator is None or app.stop is None:
        raise OdekakeError(t("voting_no_stop"))

    def client() -> VotingClient:
        # Made again for a retry: a hub key pinned since then is used at once.
        return VotingClient(
            hub_url, timeout=5.0, attempts=2, auth=device_auth_for(app.db_path, app.db)
        )

    return navigation.make(
        "voting",
        app.db,
        hub_url,
        app.operator.id,
        stop_id=app.stop.stop_id,
        client=client(),
        renew_client=client,
        van_id=app.van_id,
        site_id=app.stop.site_id,
        day=app.now().astimezone(JST).date(),
    )


SERVICES: list[ServiceEntry] = [
    ServiceEntry("1", t("svc_certificate"), "certificate", _certificate),
    ServiceEntry("2", t("svc_mynumber"), "mynumber", _mynumber),
    ServiceEntry("3", t("svc_disaster"), "disaster", _disaster),
    ServiceEntry("4", t("svc_garbage"), "garbage", _garbage),
    ServiceEntry("5", t("svc_consultation"), "consultation", _consultation),
    ServiceEntry("6", t("svc_frailty"), "frailty", _frailty),
    ServiceEntry("7", t("svc_explanation"), "explanation", _explanation),
    ServiceEntry("8", t("svc_voting"), "voting", _voting),
]
