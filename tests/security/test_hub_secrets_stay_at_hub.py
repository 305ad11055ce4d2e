"""The hub's secrets never reach a van: the snapshot is an explicit allow-list.

Attack: one van's files used to hold the console's cookie-signing key (it lived in
``settings``, and the whole ``settings`` table went down with every pull): a cookie
signed with it was an admin session on the console.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx

from odekake.access.staff import session_secret
from odekake.masterdata.master import seed_city
from odekake.storage.canonical import canonical_json
from odekake.storage.db import connect, get_meta, memory_db, write
from odekake.storage.receipt_mac import hub_secret
from odekake.sync.keys import generate_key, public_key_text, register_device
from odekake.sync.snapshot import apply_snapshot, snapshot_for
from odekake.sync.wire import hub_key_path_for
from tests.security.conftest import ADMIN, HubAndVan, console_cookie, run_cli
from tests.sync.conftest import HubProcess

OLD_SECRET_SETTING = "console_session_secret"  # where the key was before the upgrade


def _hub_tables(db) -> set[str]:  # type: ignore[no-untyped-def]
    return {
        str(r[0])
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name != '_sqlite_migrations'"
        )
    }


def test_every_hub_table_column_and_setting_is_listed_as_synced_or_hub_only(
    demo_dir: Path,
) -> None:
    from odekake.sync.snapshot import (
        HUB_ONLY_SETTINGS,
        HUB_ONLY_TABLES,
        SNAPSHOT_TABLES,
        SYNCED_SETTINGS,
    )

    hub = connect(demo_dir / "hub.db")
    try:
        synced = {t.name: t for t in SNAPSHOT_TABLES}
        unlisted = _hub_tables(hub) - set(synced) - HUB_ONLY_TABLES
        assert unlisted == set(), f"hub tables in neither list: {sorted(unlisted)}"
        assert not set(synced) & HUB_ONLY_TABLES
        for name, t in synced.items():
            columns = {str(r[1]) for r in hub.execute(f"PRAGMA table_info({name})")}
            loose = columns - set(t.columns) - set(t.withheld)
            assert loose == set(), f"{name}: columns in neither list: {sorted(loose)}"
        keys = {str(r[0]) for r in hub.execute("SELECT key FROM settings")}
        assert keys - set(SYNCED_SETTINGS) - set(HUB_ONLY_SETTINGS) == set()
        assert "staff" in HUB_ONLY_TABLES and "meta" in HUB_ONLY_TABLES
    finally:
        hub.close()


def test_a_new_hub_table_column_or_setting_does_not_travel_until_listed() -> None:
    hub = memory_db("hub")
    seed_city(hub)
    register_device(hub, "van-t", public_key_text(generate_key()), van_id="van-1")
    with write(hub):
        hub.execute("INSERT INTO settings(key, value) VALUES ('hub_seal_public_key', 'k')")
        hub.execute("INSERT INTO settings(key, value) VALUES ('new_hub_secret', 'S3CRET-SETTING')")
        hub.execute("ALTER TABLE districts ADD COLUMN secret_note TEXT DEFAULT 'S3CRET-COLUMN'")
        hub.execute("CREATE TABLE new_table (id TEXT PRIMARY KEY, v TEXT)")
        hub.execute("INSERT INTO new_table VALUES ('1', 'S3CRET-TABLE')")
    snap = snapshot_for(hub, "van-t")
    text = repr(snap)
    assert "S3CRET" not in text
    assert "new_table" not in snap["tables"]
    assert "secret_note" not in snap["tables"]["districts"]["columns"]
    # The van keeps only what it lists too, whatever a hub (an old one) sends.
    snap["tables"]["settings"]["rows"].append(["console_session_secret", "OLD"])
    van = memory_db("van", device_id="van-t")
    snap["sha256"] = hashlib.sha256(canonical_json(snap["tables"]).encode()).hexdigest()
    apply_snapshot(van, snap)
    assert (
        van.execute("SELECT 1 FROM settings WHERE key = 'console_session_secret'").fetchone()
        is None
    )


def test_after_a_real_pull_no_hub_secret_is_in_the_van_files(
    hub_and_van: HubAndVan, serve_hub: Callable[[Path], HubProcess]
) -> None:
    hub = serve_hub(hub_and_van.hub)  # the console makes its cookie key on start
    db = connect(hub_and_van.hub, role="hub")
    console_key = session_secret(db)
    receipt_secret = hub_secret(db)
    db.close()
    pulled = run_cli("sync", "pull", "--db", str(hub_and_van.van), "--hub", hub.url)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    sign_key = hub_key_path_for(hub_and_van.hub).read_bytes()
    files = hub_and_van.van_bytes()
    assert hub_and_van.van.name in files and len(files) >= 2  # database and its key
    secrets = {
        "console key (text)": console_key.encode(),
        "console key (bytes)": bytes.fromhex(console_key),
        "receipt secret (bytes)": receipt_secret,
        "receipt secret (text)": receipt_secret.hex().encode(),
        "hub signing key file": sign_key.strip()[-40:],
    }
    for name, blob in files.items():
        for what, secret in secrets.items():
            assert secret not in blob, f"{what} found in the van's {name}"


def test_upgrade_makes_a_new_console_key_and_a_cookie_forged_with_the_old_one_is_refused(
    hub_and_van: HubAndVan, serve_hub: Callable[[Path], HubProcess]
) -> None:
    old = "ab" * 32
    db = connect(hub_and_van.hub, role="hub")
    with write(db):  # the hub as it was before the upgrade: the key in settings
        db.execute("DELETE FROM meta WHERE key = 'console_session_key'")
        db.execute(
            "INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", [OLD_SECRET_SETTING, old]
        )
        db.execute("DELETE FROM _sqlite_migrations WHERE name = '2201_console_key_hub_only'")
    db.close()
    hub = serve_hub(hub_and_van.hub)
    forged = httpx.get(
        f"{hub.url}/console/",
        cookies={"odekake_console": console_cookie(old, ADMIN)},
        follow_redirects=False,
    )
    assert forged.status_code in (302, 303, 307) and "/login" in forged.headers["location"]
    db = connect(hub_and_van.hub, role="hub")
    new = get_meta(db, "console_session_key")
    left = db.execute("SELECT 1 FROM settings WHERE key = ?", [OLD_SECRET_SETTING]).fetchone()
    db.close()
    assert new and new != old and left is None
    # Sessions live at the hub: even a cookie signed with the hub's real key is no
    # session unless the hub started it (the key alone no longer opens the console).
    real = httpx.get(
        f"{hub.url}/console/",
        cookies={"odekake_console": console_cookie(new, ADMIN)},
        follow_redirects=False,
    )
    assert real.status_code in (302, 303, 307) and "/login" in real.headers["location"]
