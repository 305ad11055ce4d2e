"""Down-sync: versioned snapshots of master data and this van's plan.

:data:`SNAPSHOT_TABLES` is the allow-list of what goes down: each entry names a
table, its key columns, the columns a van uses (nothing else of the table is sent)
and, for per-van data, a ``where`` clause using the named parameters ``:van_id`` and
``:device_id``. Of ``settings`` only the keys in :data:`SYNCED_SETTINGS` travel.
Every other hub table is listed in :data:`HUB_ONLY_TABLES` and every withheld
column in :attr:`SnapshotTable.withheld`; a test fails when a hub table, column or
setting is in neither list, so nothing new reaches a van without a decision.
Adding a table is one entry::

    SnapshotTable("election_roll", ("election_id", "elector_id"), ("election_id", ...),
                  where="election_id IN (SELECT id FROM elections WHERE status = 'open')")

The hub builds a snapshot per device and numbers it: the version goes up only when
the content (its SHA-256) changes. The van applies a snapshot in one transaction
(upsert every row, delete rows no longer present) and records the version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.masterdata.master import reapply_local_pins
from odekake.plans import IN_FORCE
from odekake.storage.canonical import canonical_json
from odekake.storage.db import write
from odekake.storage.receipt_mac import ensure_device_key
from odekake.storage.records import SEAL_KEY_META
from odekake.sync.keys import device_van_id, now_iso

SNAPSHOT_FORMAT = "odekake-snapshot"


@dataclass(frozen=True)
class SnapshotTable:
    """One table carried down to the van."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    where: str | None = None
    withheld: tuple[str, ...] = ()
    """Columns of the hub's table that deliberately stay at the hub."""


OPERATORS_OF_VAN = (
    "id IN (SELECT operator_id FROM operator_vans WHERE van_id = :van_id) "
    "OR id NOT IN (SELECT operator_id FROM operator_vans)"
)


def roll_filter() -> str:
    """Which elections' roll a van receives (the ``where`` of the ``roll`` entry).

    Only an election that is still open and whose early-voting period has not ended
    (JST), and only to a van (or device) assigned to one of its stations. Everything
    else is absent from the snapshot, so the next pull deletes the van's copy: after
    the election, and as soon as the van is no longer assigned.
    """
    return (
        "election_id IN (SELECT e.id FROM elections e "
        "JOIN election_station_vans v ON v.election_id = e.id "
        "WHERE e.closed = 0 AND e.early_to >= date('now', '+9 hours') "
        "AND v.van_id IN (:van_id, :device_id))"
    )


SYNCED_SETTINGS: tuple[str, ...] = (
    SEAL_KEY_META,  # city hall's sealing public key: a van seals personal data with it
    "retention_days",
    "report_department",
    "hub_url",
    "vote_minutes_early",
    "vote_minutes_late",
    "vote_burst_limit",
    "vote_burst_minutes",
)
"""The ``settings`` keys a van receives; every other key stays at the hub."""

HUB_ONLY_SETTINGS: tuple[str, ...] = (
    "vote_clock_skew_minutes",  # how far in the future a synced vote may be (hub's check)
)
"""``settings`` keys known to stay at the hub (hub secrets live in ``meta``, never here)."""


def _settings_filter() -> str:
    return "key IN (" + ", ".join("'" + k.replace("'", "''") + "'" for k in SYNCED_SETTINGS) + ")"


SNAPSHOT_TABLES: list[SnapshotTable] = [
    SnapshotTable(
        "districts",
        ("id",),
        ("id", "name", "kana", "kind", "lat", "lon", "population", "notes"),
    ),
    SnapshotTable(
        "sites",
        ("id",),
        (
            "id",
            "district_id",
            "name",
            "kind",
            "lat",
            "lon",
            "open_weekdays",
            "open_from",
            "open_to",
            "notes",
        ),
    ),
    SnapshotTable("services", ("code",), ("code", "category", "name", "chargeable", "sort")),
    SnapshotTable(
        "fees", ("id",), ("id", "service_code", "amount", "valid_from", "valid_to", "note")
    ),
    SnapshotTable("holidays", ("date",), ("date", "name", "kind")),
    SnapshotTable("disasters", ("id",), ("id", "name", "date", "causes", "active")),
    # Only the PIN verifiers of the operators who work on this van (no van list: all).
    SnapshotTable(
        "operators",
        ("id",),
        # The clerk's key travels only sealed under their PIN (odekake.access.clerk_keys).
        ("id", "name", "roles", "pin_hash", "active", "sign_public", "box_public", "key_sealed"),
        where=OPERATORS_OF_VAN,
    ),
    SnapshotTable(
        "vans",
        ("id",),
        ("id", "name", "depot_name", "depot_lat", "depot_lon", "shift_start", "shift_end"),
    ),
    # Only the published visits in force for this van (odekake.plans.IN_FORCE): drafts,
    # discarded plans and superseded visits never reach a van. Who made or published
    # a plan (staff logins) stays at the hub.
    SnapshotTable(
        "plans",
        ("id",),
        (
            "id",
            "created_at",
            "horizon_start",
            "horizon_end",
            "status",
            "policy",
            "solver",
            "notes",
            "label",
            "parent_id",
            "van_ids",
            "replan_from",
            "published_at",
            "closed_at",
        ),
        where=f"id IN (SELECT plan_id FROM plan_visits WHERE van_id = :van_id AND {IN_FORCE})",
        withheld=("created_by", "published_by"),
    ),
    SnapshotTable(
        "plan_visits",
        ("id",),
        (
            "id",
            "plan_id",
            "date",
            "van_id",
            "service_window",
            "start",
            "end",
            "site_id",
            "district_id",
            "activity",
            "services",
            "arrive",
            "depart",
            "order_in_day",
            "opened_day",
            "superseded_by",
            "same_as",
        ),
        where=f"van_id = :van_id AND {IN_FORCE}",
    ),
    # Only the keys a van uses (SYNCED_SETTINGS); hub secrets are in ``meta``.
    SnapshotTable("settings", ("key",), ("key", "value"), where=_settings_filter()),
    SnapshotTable("referrals", ("id",), ("id", "name", "kind", "sort", "active")),
    SnapshotTable(
        "elections",
        ("id",),
        ("id", "name", "election_day", "early_from", "early_to", "closed", "notes"),
    ),
    SnapshotTable(
        "election_ballots",
        ("election_id", "kind"),
        ("election_id", "kind", "label", "opens_on", "sort"),
    ),
    SnapshotTable(
        "election_stations",
        ("election_id", "id"),
        (
            "election_id",
            "id",
            "name",
            "kind",
            "date_from",
            "date_to",
            "opens",
            "closes",
            "district_id",
            "site_id",
            "precincts",
            "electors",
        ),
    ),
    SnapshotTable(
        "election_station_vans",
        ("election_id", "station_id", "van_id"),
        ("election_id", "station_id", "van_id"),
    ),
    # The roll travels only to the vans serving a station of an open election, and
    # only sealed (odekake.voting.roll.refresh_sealed_rolls): its key wrapped to each
    # clerk of this van. Rows no longer present are deleted from the van at the next
    # pull. The clear ``roll`` table and the roll keys never leave the hub.
    SnapshotTable(
        "roll_sealed",
        ("election_id",),
        ("election_id", "roll_sha", "blob"),
        where=roll_filter(),
    ),
    SnapshotTable(
        "roll_wraps",
        ("election_id", "operator_id"),
        ("election_id", "operator_id", "box_public", "wrapped"),
        where=f"{roll_filter()} AND operator_id IN (SELECT id FROM operators WHERE "
        f"{OPERATORS_OF_VAN})",
    ),
    # This device's own key for the receipts' 確認コード (odekake.storage.receipt_mac).
    SnapshotTable(
        "receipt_keys", ("device_id",), ("device_id", "key"), where="device_id = :device_id"
    ),
]

HUB_ONLY_TABLES: frozenset[str] = frozenset(
    {
        # the hub's own state, secrets and history: never sent to a van
        "meta",
        "records",
        "audit_log",
        "counters",
        "hub_acks",
        "hub_backups",
        "devices",
        "sync_acks",
        "sync_held",
        "sync_log",
        "sync_nonces",
        "sync_quarantine",
        "sync_quarantine_resolutions",
        "sync_snapshots",
        "sync_state",
        "staff",
        "plan_documents",
        "plan_jobs",
        "plan_policies",
        "operator_lockouts",
        "operator_vans",
        "local_pin_changes",
        "report_costs",
        "report_tallies",
        "report_tally_sheets",
        "vote_checkins",
        "vote_incidents",
        "vote_reconciled",
        "vote_requests",
        # the clear roll and the keys of the sealed rolls; every clerk key ever issued
        "roll",
        "roll_keys",
        "operator_keys",
        # the console's sessions and sign-in throttles
        "console_sessions",
        "login_throttles",
        # one-time enrolment codes (their MAC keys) and the redemption throttles
        "enrol_codes",
        "enrol_throttles",
    }
)
"""Every hub table that is not in :data:`SNAPSHOT_TABLES` (checked by a test)."""


class HubNotReady(OdekakeError):
    """The hub has no sealing key yet: it serves no snapshot (vans would take
    personal data they cannot seal)."""

    def __init__(self) -> None:
        super().__init__(
            "ハブに封印用の鍵がないため、マスタデータを配信できません。"
            "市役所の管理者が odekake keys init --db hub.db --key-file … を実行してください"
        )


def require_hub_sealing(db: sqlite_utils.Database) -> None:
    """Raise :class:`HubNotReady` unless the hub's sealing key is set up."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [SEAL_KEY_META]).fetchone()
    if row is None or not row[0]:
        raise HubNotReady()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(db: sqlite_utils.Database, table: str) -> list[str]:
    return [str(r[1]) for r in db.execute(f"PRAGMA table_info({_q(table)})").fetchall()]


def build_tables(
    db: sqlite_utils.Database, *, van_id: str, device_id: str
) -> dict[str, dict[str, Any]]:
    """The registry's tables as ``{name: {"columns": [...], "rows": [[...], ...]}}``."""
    out: dict[str, dict[str, Any]] = {}
    params = {"van_id": van_id, "device_id": device_id}
    for t in SNAPSHOT_TABLES:
        have = set(_columns(db, t.name))
        if not have:
            raise OdekakeError(f"ハブに表 {t.name} がありません(データベースの版が古い可能性)")
        cols = [c for c in t.columns if c in have]
        sql = f"SELECT {', '.join(_q(c) for c in cols)} FROM {_q(t.name)}"
        if t.where:
            sql += f" WHERE {t.where}"
        sql += " ORDER BY " + ", ".join(_q(k) for k in t.key)
        rows = [list(r) for r in db.execute(sql, params if t.where else []).fetchall()]
        out[t.name] = {"columns": cols, "rows": rows}
    return out


def snapshot_for(db: sqlite_utils.Database, device_id: str) -> dict[str, Any]:
    """Build the device's snapshot at the hub and give it a version number.

    Raises:
        HubNotReady: The hub has no sealing key (``odekake keys init``).
    """
    require_hub_sealing(db)
    from odekake.voting.roll import refresh_sealed_rolls

    refresh_sealed_rolls(db)
    van_id = device_van_id(db, device_id)
    ensure_device_key(db, device_id)
    tables = build_tables(db, van_id=van_id, device_id=device_id)
    digest = hashlib.sha256(canonical_json(tables).encode("utf-8")).hexdigest()
    with write(db):
        row = db.execute(
            "SELECT version, sha256, created_at FROM sync_snapshots WHERE device_id = ? "
            "ORDER BY version DESC LIMIT 1",
            [device_id],
        ).fetchone()
        if row is not None and row[1] == digest:
            version, created = int(row[0]), str(row[2])
        else:
            created = now_iso()
            cur = db.execute(
                "INSERT INTO sync_snapshots(device_id, sha256, created_at) VALUES (?, ?, ?)",
                [device_id, digest, created],
            )
            version = int(cur.lastrowid or 0)
    return {
        "format": SNAPSHOT_FORMAT,
        "version": version,
        "device_id": device_id,
        "van_id": van_id,
        "created_at": created,
        "sha256": digest,
        "tables": tables,
    }


def deliver_snapshot(
    db: sqlite_utils.Database, device_id: str, have: str | None = None
) -> dict[str, Any]:
    """The snapshot a device pulls (or ``{"unchanged": True, …}`` when it has it).

    A delivered snapshot that carries PIN verifiers or a roll is audited at the
    hub: which device received how many of each.
    """
    snap = snapshot_for(db, device_id)
    if have and have == snap["sha256"]:
        return {"unchanged": True, "version": snap["version"], "sha256": snap["sha256"]}
    audit_delivery(db, snap)
    return snap


def audit_delivery(db: sqlite_utils.Database, snap: dict[str, Any]) -> None:
    """Audit a snapshot sent to a device when it carries verifiers or a roll."""
    tables = snap["tables"]

    def column(table: str, name: str) -> list[Any]:
        t = tables.get(table) or {"columns": [], "rows": []}
        if name not in t["columns"]:
            return []
        i = t["columns"].index(name)
        return [r[i] for r in t["rows"]]

    operators = column("operators", "id")
    roll_elections = column("roll_sealed", "election_id")
    if not operators and not roll_elections:
        return
    roll = roll_elections
    elections = sorted({str(e) for e in roll_elections})
    audit.log(
        db,
        "hub",
        "snapshot.sensitive",
        str(snap["device_id"]),
        {
            "device": snap["device_id"],
            "van": snap["van_id"],
            "version": snap["version"],
            "operators": operators,
            "roll_rows": len(roll),
            "elections": elections,
        },
    )


def apply_snapshot(db: sqlite_utils.Database, snap: dict[str, Any]) -> dict[str, int]:
    """Apply a snapshot on the van atomically and record its version.

    Rows are upserted (never deleted and re-inserted, so rows that other tables
    reference stay put) and rows absent from the snapshot are deleted; foreign keys
    are checked at commit. Columns the van does not have are ignored.

    Returns:
        Rows per table after the update.
    """
    if snap.get("format") != SNAPSHOT_FORMAT:
        raise OdekakeError("マスタデータの形式が正しくありません")
    tables = snap["tables"]
    digest = hashlib.sha256(canonical_json(tables).encode("utf-8")).hexdigest()
    if digest != snap.get("sha256"):
        raise OdekakeError(
            "マスタデータが途中で壊れています(SHA-256 不一致)。もう一度受信してください"
        )
    counts: dict[str, int] = {}
    with write(db):
        db.execute("PRAGMA defer_foreign_keys = ON")
        for t in SNAPSHOT_TABLES:
            if t.name not in tables:
                continue
            have = set(_columns(db, t.name)) & set(t.columns)  # the van's list too
            cols = tables[t.name]["columns"]
            idx = [i for i, c in enumerate(cols) if c in have]
            use = [cols[i] for i in idx]
            keyidx = [use.index(k) for k in t.key]
            updates = [c for c in use if c not in t.key]
            set_clause = (
                "DO UPDATE SET " + ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in updates)
                if updates
                else "DO NOTHING"
            )
            sql = (
                f"INSERT INTO {_q(t.name)} ({', '.join(_q(c) for c in use)}) "
                f"VALUES ({', '.join('?' * len(use))}) "
                f"ON CONFLICT({', '.join(_q(k) for k in t.key)}) {set_clause}"
            )
            rows = [[r[i] for i in idx] for r in tables[t.name]["rows"]]
            if t.name == "settings":  # a van keeps only the keys it uses, whatever comes
                rows = [r for r in rows if r[keyidx[0]] in SYNCED_SETTINGS]
            db.conn.executemany(sql, rows)
            keep = {tuple(r[i] for i in keyidx) for r in rows}
            keycols = ", ".join(_q(k) for k in t.key)
            for key in db.execute(f"SELECT {keycols} FROM {_q(t.name)}").fetchall():
                if tuple(key) not in keep:
                    cond = " AND ".join(f"{_q(k)} = ?" for k in t.key)
                    db.execute(f"DELETE FROM {_q(t.name)} WHERE {cond}", list(key))
            counts[t.name] = len(rows)
        reapply_local_pins(db)  # PINs changed on this van outlive the pull
        dev = snap["device_id"]
        db.execute(
            "INSERT INTO sync_state(device_id, snapshot_version, snapshot_sha256, last_pull_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET "
            "snapshot_version = excluded.snapshot_version, "
            "snapshot_sha256 = excluded.snapshot_sha256, last_pull_at = excluded.last_pull_at",
            [dev, snap["version"], digest, now_iso()],
        )
    return counts
