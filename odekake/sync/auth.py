"""Device signatures for any httpx request (used by the voting client).

The same signature the sync client puts on its requests (see
:mod:`odekake.sync.wire`), and the same check of the answer: an answer that does
not carry the pinned hub key's signature over it and over this very request raises
:class:`UnverifiedAnswer` (an ``httpx.HTTPError``, so a caller that treats transport
trouble as "no answer" never acts on it).
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

import httpx
import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from odekake.storage.db import device_id_of
from odekake.sync.keys import key_path_for, load_private_key
from odekake.sync.wire import (
    HEADER_HUB_SIGNATURE,
    HEADER_SIGNATURE,
    UNVERIFIED_MESSAGE,
    pinned_hub_key,
    signed_headers,
    verify_answer,
)


class UnverifiedAnswer(httpx.HTTPError):
    """The hub's answer did not verify: treat it as no answer at all."""

    def __init__(self, message: str = UNVERIFIED_MESSAGE) -> None:
        super().__init__(message)


class DeviceAuth(httpx.Auth):
    """Sign each request as this van and verify the hub's answer (an ``httpx.Auth``)."""

    requires_request_body = True
    requires_response_body = True

    def __init__(self, device_id: str, key: Ed25519PrivateKey, hub_key: Ed25519PublicKey) -> None:
        self.device_id = device_id
        self.key = key
        self.hub_key = hub_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.url.raw_path.decode("ascii")
        headers = signed_headers(
            self.key,
            self.device_id,
            request.method,
            target,
            request.content,
            timestamp=str(int(time.time())),
        )
        request.headers.update(headers)
        response = yield request
        if response.status_code >= 500:
            return  # nothing is acted on (a 5xx is "no answer" to every caller)
        if not verify_answer(
            self.hub_key,
            self.device_id,
            headers[HEADER_SIGNATURE],
            response.status_code,
            response.content,
            response.headers.get(HEADER_HUB_SIGNATURE),
        ):
            raise UnverifiedAnswer()


def device_auth_for(db_path: Path, db: sqlite_utils.Database) -> DeviceAuth:
    """The signer of the van whose database is at ``db_path`` (with its pinned hub key)."""
    return DeviceAuth(device_id_of(db), load_private_key(key_path_for(db_path)), pinned_hub_key(db))


def hub_url_of(db: sqlite_utils.Database) -> str | None:
    """The hub this van last synced with (or ``settings.hub_url``)."""
    row = db.execute(
        "SELECT hub_url FROM sync_state WHERE device_id = ? AND hub_url IS NOT NULL",
        [device_id_of(db)],
    ).fetchone()
    if row is not None and row[0]:
        return str(row[0])
    row = db.execute("SELECT value FROM settings WHERE key = 'hub_url'").fetchone()
    return None if row is None else str(row[0])
