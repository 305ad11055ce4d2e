"""The schema's changes since (migrations 1101 on, in their order of registration): signing,
backups, costs, the plan lifecycle, operators' vans and PINs, stations, the console, security,
enrolment codes. Append new migrations at the end of this module."""

from __future__ import annotations

import sqlite_utils

from odekake.storage.migration_set import migrations, run_script


@migrations(name="1101_wire_hub_signing")
def m1101_wire_hub_signing(db: sqlite_utils.Database) -> None:
    # Van: each acknowledgement keeps the hub's signed answer it came in (JSON), so a
    # purge can check the hub's signature again and trusts no other acknowledgement.
    run_script(
        db,
        """
        ALTER TABLE hub_acks ADD COLUMN evidence TEXT;
        """,
    )


@migrations(name="1801_backups")
def m1801_backups(db: sqlite_utils.Database) -> None:
    # Hub: every verified backup and, per device, the highest sequence it holds (the
    # backup mark). Van: the backup mark the hub last reported; the van purges
    # personal data only below it.
    run_script(
        db,
        """
        CREATE TABLE hub_backups (
            n INTEGER PRIMARY KEY,
            taken_at TEXT NOT NULL,
            file TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            records INTEGER NOT NULL,
            marks TEXT NOT NULL DEFAULT '{}'
        );
        ALTER TABLE sync_state ADD COLUMN backup_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE sync_state ADD COLUMN backup_evidence TEXT;
        """,
    )


@migrations(name="1601_reports_costs")
def m1601_reports_costs(db: sqlite_utils.Database) -> None:
    # The usage report's cost table (事業費 per fiscal year), kept at the hub.
    run_script(
        db,
        """
        CREATE TABLE report_costs (
            fiscal_year INTEGER PRIMARY KEY,
            amount INTEGER NOT NULL CHECK (amount >= 0),
            note TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL DEFAULT ''
        );
        """,
    )


@migrations(name="1301_plan_lifecycle")
def m1301_plan_lifecycle(db: sqlite_utils.Database) -> None:
    # Plans have a life (draft → published → superseded, or discarded). A visit is in
    # force when its plan is published, no later publish superseded it
    # (``superseded_by``) and it is not a copy of a visit already in force (``same_as``:
    # republishing an unchanged visit keeps the old id, so a van's opened stops stay
    # opened). The full plan document (districts, solver report, explanations) lives in
    # ``plan_documents``, which is not synced down to the vans.
    run_script(
        db,
        """
        ALTER TABLE plans ADD COLUMN label TEXT NOT NULL DEFAULT '';
        ALTER TABLE plans ADD COLUMN parent_id TEXT;
        ALTER TABLE plans ADD COLUMN van_ids TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE plans ADD COLUMN replan_from TEXT;
        ALTER TABLE plans ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE plans ADD COLUMN published_at TEXT;
        ALTER TABLE plans ADD COLUMN published_by TEXT;
        ALTER TABLE plans ADD COLUMN closed_at TEXT;
        ALTER TABLE plan_visits ADD COLUMN superseded_by TEXT;
        ALTER TABLE plan_visits ADD COLUMN same_as TEXT;
        UPDATE plans SET status = 'published' WHERE status = 'announced';
        UPDATE plans SET status = 'draft'
            WHERE status NOT IN ('draft', 'published', 'superseded', 'discarded');
        CREATE INDEX plans_status ON plans(status);
        CREATE INDEX plan_visits_plan ON plan_visits(plan_id);
        CREATE TRIGGER plans_status_insert BEFORE INSERT ON plans
        WHEN NEW.status NOT IN ('draft', 'published', 'superseded', 'discarded')
        BEGIN
            SELECT RAISE(ABORT, 'plan status must be draft, published, superseded or discarded');
        END;
        CREATE TRIGGER plans_status_update BEFORE UPDATE OF status ON plans
        WHEN NEW.status NOT IN ('draft', 'published', 'superseded', 'discarded')
        BEGIN
            SELECT RAISE(ABORT, 'plan status must be draft, published, superseded or discarded');
        END;
        CREATE TABLE plan_documents (
            plan_id TEXT PRIMARY KEY REFERENCES plans(id),
            document TEXT NOT NULL
        );
        """,
    )


@migrations(name="1151_operator_vans")
def m1151_operator_vans(db: sqlite_utils.Database) -> None:
    # Which vans an operator works on (hub only). No row for an operator means every
    # van; a van's snapshot carries only the PIN verifiers of its own operators.
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS operator_vans (
            operator_id TEXT NOT NULL,
            van_id TEXT NOT NULL,
            PRIMARY KEY (operator_id, van_id)
        );
        """,
    )


@migrations(name="1152_receipt_keys")
def m1152_receipt_keys(db: sqlite_utils.Database) -> None:
    # The per-device key of the receipts' 確認コード (HMAC-SHA256). The hub derives
    # each device's key from its own secret and sends a device only its own row.
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS receipt_keys (
            device_id TEXT PRIMARY KEY,
            key TEXT NOT NULL
        );
        """,
    )


@migrations(name="1153_local_pin_changes")
def m1153_local_pin_changes(db: sqlite_utils.Database) -> None:
    # Van only: a PIN set (or a verifier upgraded) on this van, kept across pulls
    # for as long as the hub still sends the verifier it replaced. City hall's own
    # reset (a different verifier) wins and drops the local one.
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS local_pin_changes (
            operator_id TEXT PRIMARY KEY,
            pin_hash TEXT NOT NULL,
            replaced_hash TEXT NOT NULL
        );
        """,
    )


@migrations(name="1251_kiosk_garbage_ticket_names")
def m1251_kiosk_garbage_ticket_names(db: sqlite_utils.Database) -> None:
    # One name for the garbage fee tickets everywhere: ごみ納付券 (the catalogue said
    # 大型ごみ処理券 while the menu and the report said ごみ納付券).
    if db["services"].exists():
        db.execute(
            "UPDATE services SET name = replace(name, '処理券', '納付券') "
            "WHERE category = 'garbage'"
        )


@migrations(name="1201_voting_station_vans")
def m1201_voting_station_vans(db: sqlite_utils.Database) -> None:
    # Early voting, stations: which van (or device) serves which station,
    # the check-in rule settings, and the evidence kept with an incident.
    run_script(
        db,
        """
        CREATE TABLE election_station_vans (
            election_id TEXT NOT NULL,
            station_id TEXT NOT NULL,
            van_id TEXT NOT NULL,
            PRIMARY KEY (election_id, station_id, van_id)
        );
        CREATE INDEX election_station_vans_van ON election_station_vans(van_id, election_id);
        ALTER TABLE vote_incidents ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
        CREATE INDEX vote_checkins_device ON vote_checkins(device_id, checked_at);
        INSERT OR IGNORE INTO settings(key, value) VALUES ('vote_minutes_early', '0');
        INSERT OR IGNORE INTO settings(key, value) VALUES ('vote_minutes_late', '0');
        INSERT OR IGNORE INTO settings(key, value) VALUES ('vote_burst_limit', '30');
        INSERT OR IGNORE INTO settings(key, value) VALUES ('vote_burst_minutes', '10');
        """,
    )


@migrations(name="1401_console_staff")
def m1401_console_staff(db: sqlite_utils.Database) -> None:
    # City-hall staff who use the console (browser), separate from the van operators:
    # one role each, an scrypt password, failed-login counting for the lock-out.
    # Plus the coordinator's working policy per month and the console's solve jobs.
    run_script(
        db,
        """
        CREATE TABLE staff (
            login TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            failed INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            created_at TEXT NOT NULL,
            password_changed_at TEXT NOT NULL
        );
        CREATE TABLE plan_policies (
            month TEXT PRIMARY KEY,
            toml TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL
        );
        CREATE TABLE plan_jobs (
            id TEXT PRIMARY KEY,
            month TEXT NOT NULL,
            actor TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            phase TEXT NOT NULL DEFAULT '',
            log_path TEXT NOT NULL DEFAULT '',
            objective_offset REAL NOT NULL DEFAULT 0,
            objective_sense INTEGER NOT NULL DEFAULT -1,
            plan_id TEXT,
            error TEXT NOT NULL DEFAULT ''
        );
        """,
    )


@migrations(name="1501_console2_quarantine_resolutions")
def m1501_console2_quarantine_resolutions(db: sqlite_utils.Database) -> None:
    # Hub: how an administrator resolved a quarantined record (which version counts,
    # and why). Append-only: a resolution is a new row, never an update of the
    # quarantine or of the records; at most one per quarantined record.
    run_script(
        db,
        """
        CREATE TABLE sync_quarantine_resolutions (
            n INTEGER PRIMARY KEY,
            quarantine_n INTEGER NOT NULL UNIQUE REFERENCES sync_quarantine(n),
            kept TEXT NOT NULL CHECK (kept IN ('hub', 'van')),
            kept_hash TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (length(trim(reason)) > 0),
            resolved_by TEXT NOT NULL,
            resolved_at TEXT NOT NULL
        );
        CREATE TRIGGER sync_quarantine_resolutions_no_update
        BEFORE UPDATE ON sync_quarantine_resolutions
        BEGIN
            SELECT RAISE(ABORT, 'quarantine resolutions are append-only');
        END;
        CREATE TRIGGER sync_quarantine_resolutions_no_delete
        BEFORE DELETE ON sync_quarantine_resolutions
        BEGIN
            SELECT RAISE(ABORT, 'quarantine resolutions are append-only');
        END;
        """,
    )


@migrations(name="2201_console_key_hub_only")
def m2201_console_key_hub_only(db: sqlite_utils.Database) -> None:
    # The console's cookie-signing key used to sit in `settings`, which every snapshot
    # carried to every van. It moves to hub-only `meta` as a NEW key (vans in the field
    # hold the old one): every console session signed with the old key ends. On a van
    # the old copy is simply deleted.
    run_script(
        db,
        """
        DELETE FROM settings WHERE key = 'console_session_secret';
        DELETE FROM meta WHERE key = 'console_session_key';
        """,
    )


@migrations(name="2202_sync_seen_nonces")
def m2202_sync_seen_nonces(db: sqlite_utils.Database) -> None:
    # Hub: the (device, nonce) of every signed request within the clock-skew window,
    # so a captured request cannot be replayed after a restart either.
    run_script(
        db,
        """
        CREATE TABLE sync_nonces (
            device_id TEXT NOT NULL,
            nonce TEXT NOT NULL,
            expires REAL NOT NULL,
            PRIMARY KEY (device_id, nonce)
        ) WITHOUT ROWID;
        CREATE INDEX sync_nonces_expires ON sync_nonces(expires);
        """,
    )


@migrations(name="2251_clerk_keys_sealed_roll")
def m2251_clerk_keys_sealed_roll(db: sqlite_utils.Database) -> None:
    # A clerk's key pair (odekake.access.clerk_keys): the public halves travel with the
    # operator, the secret only sealed under the operator's PIN. The hub keeps every
    # public key it ever issued (a van may sign with one until it pulls the next).
    # The roll reaches a van only sealed (roll_sealed) with its key wrapped to each
    # election clerk's box key (roll_wraps); the hub keeps each roll's key in
    # roll_keys, which is never synced.
    run_script(
        db,
        """
        ALTER TABLE operators ADD COLUMN sign_public TEXT NOT NULL DEFAULT '';
        ALTER TABLE operators ADD COLUMN box_public TEXT NOT NULL DEFAULT '';
        ALTER TABLE operators ADD COLUMN key_sealed TEXT NOT NULL DEFAULT '';
        ALTER TABLE local_pin_changes ADD COLUMN key_sealed TEXT NOT NULL DEFAULT '';
        CREATE TABLE operator_keys (
            sign_public TEXT PRIMARY KEY,
            operator_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE roll_keys (
            election_id TEXT PRIMARY KEY,
            key TEXT NOT NULL,
            roll_sha TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE roll_sealed (
            election_id TEXT PRIMARY KEY,
            roll_sha TEXT NOT NULL,
            blob TEXT NOT NULL
        );
        CREATE TABLE roll_wraps (
            election_id TEXT NOT NULL,
            operator_id TEXT NOT NULL,
            box_public TEXT NOT NULL,
            wrapped TEXT NOT NULL,
            PRIMARY KEY (election_id, operator_id)
        );
        INSERT OR IGNORE INTO settings(key, value) VALUES ('vote_clock_skew_minutes', '10');
        """,
    )
    # A van keeps no roll in the clear any more: the next pull brings it sealed.
    role = db.execute("SELECT value FROM meta WHERE key = 'role'").fetchone()
    if role is not None and role[0] == "van":
        db.execute("PRAGMA secure_delete = ON")
        db.execute("DELETE FROM roll")


@migrations(name="1402_console_sessions_and_login_throttles")
def m1402_console_sessions_and_login_throttles(db: sqlite_utils.Database) -> None:
    # Hub only in use (never in the sync snapshot's registry): the console's sessions,
    # kept on the server so that logout, a password change, disabling an account or
    # changing its role ends them at once (the cookie holds only a random token; the
    # table holds its SHA-256); and failed logins counted per (login, client address)
    # for growing delays, in place of locking the account for everyone.
    run_script(
        db,
        """
        CREATE TABLE console_sessions (
            id TEXT PRIMARY KEY,
            login TEXT NOT NULL,
            address TEXT NOT NULL,
            started_at TEXT NOT NULL,
            last_seen TEXT NOT NULL
        );
        CREATE INDEX console_sessions_login ON console_sessions(login);
        CREATE TABLE login_throttles (
            login TEXT NOT NULL,
            address TEXT NOT NULL,
            failures INTEGER NOT NULL,
            last_failed_at TEXT NOT NULL,
            blocked_until TEXT NOT NULL,
            PRIMARY KEY (login, address)
        );
        """,
    )


@migrations(name="2501_enrol_codes")
def m2501_enrol_codes(db: sqlite_utils.Database) -> None:
    # Hub only (never in the sync snapshot): one-time enrolment codes made in the
    # console. Only the code's MAC key (a SHA-256 of the code) is kept, and wiped
    # once the code is used, cancelled, burnt or expired; failed redemptions are
    # counted per client address for growing waits (odekake.sync.enrol_codes).
    run_script(
        db,
        """
        CREATE TABLE enrol_codes (
            code_id TEXT PRIMARY KEY,
            mac_key TEXT NOT NULL,
            van_id TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            state TEXT NOT NULL,
            wrong INTEGER NOT NULL DEFAULT 0,
            used_at TEXT,
            used_by TEXT
        );
        CREATE TABLE enrol_throttles (
            address TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_failed_at TEXT NOT NULL,
            blocked_until TEXT NOT NULL
        );
        """,
    )
