"""Device signatures for any httpx request (used by the voting client).

The same signature the sync client puts on its requests: headers with the device
id, a timestamp and an Ed25519 signature over method, path, timestamp and body.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path

import httpx
import sqlite_utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from odekake.db import device_id_of
from odekake.sync.hub import HEADER_DEVICE, HEADER_SIGNATURE, HEADER_TIMESTAMP, request_message
from odekake.sync.keys import key_path_for, load_private_key, sign


class DeviceAuth(httpx.Auth):
    """Sign each request as this van (an ``httpx.Auth``)."""

    requires_request_body = True

    def __init__(self, device_id: str, key: Ed25519PrivateKey) -> None:
        self.device_id = device_id
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        stamp = str(int(time.time()))
        target = request.url.raw_path.decode("ascii")
        body = request.content
        request.headers[HEADER_DEVICE] = self.device_id
        request.headers[HEADER_TIMESTAMP] = stamp
        request.headers[HEADER_SIGNATURE] = sign(
            self.key, request_message(request.method, target, stamp, body)
        )
        yield request


def device_auth_for(db_path: Path, db: sqlite_utils.Database) -> DeviceAuth:
    """The signer of the van whose database is at ``db_path``."""
    return DeviceAuth(device_id_of(db), load_private_key(key_path_for(db_path)))


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
