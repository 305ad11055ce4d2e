"""Enrolling a device by hand or in the demo: its key registered at the hub and the hub's signing key pinned on the van (the one-time code path is odekake.sync.enrol_codes / enrol_client)."""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from odekake.errors import OdekakeError
from odekake.storage.db import connect, device_id_of, write
from odekake.sync.keys import ensure_van_key, now_iso, public_key_text, register_device


def enroll(
    van_path: Path | None,
    hub_path: Path | None,
    *,
    device_id: str | None = None,
    public_key: str | None = None,
    van_id: str | None = None,
    replace: bool = False,
    hub_key: str | None = None,
    accept_new_hub_key: bool = False,
) -> tuple[str, str, str, str | None]:
    """Enroll a van at the hub (both files here, or one side at a time).

    With ``van_path`` the van's key is created if needed; with ``hub_path`` the
    public key (the van's, or ``public_key`` carried over on paper/USB) is stored.
    The hub's signing key (``hub_key`` carried over, or read from ``hub_path``'s
    key file, made if missing) is pinned on the van; a different pinned key is
    replaced only with ``accept_new_hub_key`` (audited on the van).

    Returns:
        ``(device_id, public_key_text, outcome, hub_public_key)``; outcome is
        ``"key-only"`` when no hub was given.
    """
    from odekake.sync.keys import device_id_problem
    from odekake.sync.wire import ensure_hub_key, pin_hub_key

    if van_path is None and hub_path is None:
        raise OdekakeError("--db(車両)か --hub-db(ハブ)を指定してください")
    if van_path is not None:
        van = connect(van_path, role="van")
        own = device_id_of(van)
        van.close()
        if device_id and device_id != own:
            raise OdekakeError(f"{van_path} の端末IDは {own} です(--device {device_id} と違います)")
        device_id = own
        problem = device_id_problem(own)
        if problem:
            raise OdekakeError(problem)
        key_text = public_key_text(ensure_van_key(van_path))
        if public_key and public_key != key_text:
            raise OdekakeError("--public-key が車両の鍵と一致しません")
        public_key = key_text
    if hub_path is not None:
        if hub_key and hub_key.strip() != public_key_text(ensure_hub_key(hub_path)):
            raise OdekakeError("--hub-key がハブの署名鍵と一致しません")
        hub_key = public_key_text(ensure_hub_key(hub_path))
    if van_path is not None and hub_key:
        van = connect(van_path, role="van")
        try:
            pin_hub_key(van, hub_key, accept_new=accept_new_hub_key)
        finally:
            van.close()
    if hub_path is None:
        assert device_id is not None and public_key is not None
        return device_id, public_key, "key-only", hub_key
    if not device_id or not public_key:
        raise OdekakeError("ハブだけで登録するときは --device と --public-key が必要です")
    hub = connect(hub_path, role="hub")
    try:
        outcome = register_device(hub, device_id, public_key, van_id=van_id, replace=replace)
    finally:
        hub.close()
    return device_id, public_key, outcome, hub_key


def enroll_synced(
    van: sqlite_utils.Database,
    hub: sqlite_utils.Database,
    van_path: Path,
    acked_seq: int,
    hub_path: Path,
) -> None:
    """Enroll a van whose records 1..``acked_seq`` the hub already holds (the demo).

    Creates the van's key if needed, registers it at the hub (replacing an older
    demo key), pins the hub's signing key on the van and records on both sides
    that the hub has acknowledged ``acked_seq`` (signed with the hub's key, so the
    van's purge can trust it), so the next push sends only what came after.
    """
    from odekake.sync.wire import ensure_hub_key, local_ack, pin_hub_key

    device = device_id_of(van)
    register_device(hub, device, public_key_text(ensure_van_key(van_path)), replace=True)
    hub_key = ensure_hub_key(hub_path, new_key_ok=True)
    pin_hub_key(van, public_key_text(hub_key), accept_new=True, actor="demo")
    proof = local_ack(hub_key, device, acked_seq)
    at = now_iso()
    row = hub.execute(
        "SELECT hash FROM records WHERE device_id = ? AND seq = ?", [device, acked_seq]
    ).fetchone()
    with write(hub):
        hub.execute(
            "INSERT INTO sync_acks(device_id, acked_seq, acked_hash, last_seen) VALUES (?,?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET acked_seq = excluded.acked_seq, "
            "acked_hash = excluded.acked_hash, last_seen = excluded.last_seen",
            [device, acked_seq, "" if row is None else row[0], at],
        )
    with write(van):
        van.execute(
            "INSERT INTO sync_state(device_id, acked_seq, acked_at, last_push_at) VALUES (?,?,?,?) "
            "ON CONFLICT(device_id) DO UPDATE SET acked_seq = excluded.acked_seq, "
            "acked_at = excluded.acked_at, last_push_at = excluded.last_push_at",
            [device, acked_seq, at, at],
        )
        van.execute(
            "INSERT INTO hub_acks(seq, acked_at, evidence) VALUES (?, ?, ?)",
            [acked_seq, at, proof.evidence()],
        )
