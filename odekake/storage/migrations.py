"""The schema: one ``sqlite_utils.Migrations`` set for van and hub databases alike.

Append new migrations at the end; never edit one that has shipped. Each runs in
its own transaction together with the record that it was applied.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils
from sqlite_utils import Migrations

migrations = Migrations("odekake")


def run_script(db: sqlite_utils.Database, script: str) -> None:
    """Execute a multi-statement script inside the current transaction.

    ``sqlite3.executescript`` would COMMIT first and break the migration's
    atomicity, so statements are split (triggers included) and run one by one.
    """
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            db.execute(buffer)
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer!r}")


@migrations(name="0001_core")
def m0001_core(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE districts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kana TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '支所地区',
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            population INTEGER,
            notes TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE sites (
            id TEXT PRIMARY KEY,
            district_id TEXT NOT NULL REFERENCES districts(id),
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            open_weekdays TEXT NOT NULL DEFAULT '月火水木金',
            open_from TEXT NOT NULL DEFAULT '09:00',
            open_to TEXT NOT NULL DEFAULT '17:00',
            notes TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX sites_district ON sites(district_id);
        CREATE TABLE vans (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            depot_name TEXT NOT NULL,
            depot_lat REAL NOT NULL,
            depot_lon REAL NOT NULL,
            shift_start TEXT NOT NULL DEFAULT '08:30',
            shift_end TEXT NOT NULL DEFAULT '17:15'
        );
        CREATE TABLE operators (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            roles TEXT NOT NULL,
            pin_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE services (
            code TEXT PRIMARY KEY,
            category TEXT NOT NULL,
            name TEXT NOT NULL,
            chargeable INTEGER NOT NULL DEFAULT 0,
            sort INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE fees (
            id INTEGER PRIMARY KEY,
            service_code TEXT NOT NULL REFERENCES services(code),
            amount INTEGER NOT NULL CHECK (amount >= 0),
            valid_from TEXT NOT NULL,
            valid_to TEXT,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX fees_service ON fees(service_code, valid_from);
        CREATE TABLE holidays (
            date TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'national'
        );
        CREATE TABLE disasters (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            date TEXT NOT NULL,
            causes TEXT NOT NULL DEFAULT '浸水',
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE records (
            id TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq >= 1),
            wall_time TEXT NOT NULL,
            hlc TEXT NOT NULL,
            type TEXT NOT NULL,
            payload TEXT,
            payload_hash TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            supersedes TEXT,
            UNIQUE (device_id, seq)
        );
        CREATE INDEX records_type ON records(type);
        CREATE INDEX records_supersedes ON records(supersedes);
        CREATE INDEX records_wall_time ON records(wall_time);
        -- The log is append-only: no delete, and the only update allowed is the
        -- retention purge that blanks a payload (its hash stays, so the chain holds).
        CREATE TRIGGER records_no_delete BEFORE DELETE ON records
        BEGIN
            SELECT RAISE(ABORT, 'records are append-only');
        END;
        CREATE TRIGGER records_no_update BEFORE UPDATE ON records
        WHEN NOT (NEW.payload IS NULL
                  AND NEW.id = OLD.id AND NEW.device_id = OLD.device_id
                  AND NEW.seq = OLD.seq AND NEW.wall_time = OLD.wall_time
                  AND NEW.hlc = OLD.hlc AND NEW.type = OLD.type
                  AND NEW.payload_hash = OLD.payload_hash
                  AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
                  AND NEW.supersedes IS OLD.supersedes)
        BEGIN
            SELECT RAISE(ABORT, 'records are append-only');
        END;
        """,
    )


@migrations(name="0002_plans")
def m0002_plans(db: sqlite_utils.Database) -> None:
    # A tour plan made by the planner at the hub and carried to the van by down-sync.
    run_script(
        db,
        """
        CREATE TABLE plans (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            horizon_start TEXT NOT NULL,
            horizon_end TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'draft',
            policy TEXT NOT NULL DEFAULT '',
            solver TEXT NOT NULL DEFAULT '{}',
            notes TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE plan_visits (
            id TEXT PRIMARY KEY,
            plan_id TEXT NOT NULL REFERENCES plans(id),
            date TEXT NOT NULL,
            van_id TEXT NOT NULL,
            service_window TEXT NOT NULL,
            start TEXT NOT NULL,
            "end" TEXT NOT NULL,
            site_id TEXT NOT NULL,
            district_id TEXT NOT NULL,
            activity TEXT NOT NULL DEFAULT 'regular',
            services TEXT NOT NULL DEFAULT '[]',
            arrive TEXT NOT NULL DEFAULT '',
            depart TEXT NOT NULL DEFAULT '',
            order_in_day INTEGER NOT NULL DEFAULT 1,
            opened_day INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX plan_visits_van_date ON plan_visits(van_id, date);
        """,
    )


@migrations(name="0003_audit")
def m0003_audit(db: sqlite_utils.Database) -> None:
    # Who did what: logins, failed PINs, views of personal data, corrections, voids,
    # exports and purges. Hash-chained like the records, append-only by trigger.
    run_script(
        db,
        """
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{}',
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit log is append-only');
        END;
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
        BEGIN
            SELECT RAISE(ABORT, 'audit log is append-only');
        END;
        """,
    )


@migrations(name="0004_settings_counters_acks")
def m0004_settings_counters_acks(db: sqlite_utils.Database) -> None:
    run_script(
        db,
        """
        -- Policies that are master data (e.g. retention_days), synced down to vans.
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        INSERT INTO settings(key, value) VALUES ('retention_days', '30');
        -- Monotonic counters (receipt numbers): never reused, even after a purge.
        CREATE TABLE counters (
            name TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        );
        -- On the van: each high-water mark the hub acknowledged, and when.
        CREATE TABLE hub_acks (
            seq INTEGER NOT NULL,
            acked_at TEXT NOT NULL
        );
        CREATE INDEX hub_acks_seq ON hub_acks(seq);
        """,
    )


@migrations(name="0501_voting")
def m0501_voting(db: sqlite_utils.Database) -> None:
    # Early voting. Elections, ballots and stations are master data (down-synced);
    # the roll is lookup data in its own table, never a record, deleted from the van at close.
    # Check-ins, stored answers and incidents live only at the hub.
    run_script(
        db,
        """
        CREATE TABLE elections (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            election_day TEXT NOT NULL,
            early_from TEXT NOT NULL,
            early_to TEXT NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0,
            notes TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE election_ballots (
            election_id TEXT NOT NULL REFERENCES elections(id),
            kind TEXT NOT NULL,
            label TEXT NOT NULL,
            opens_on TEXT NOT NULL,
            sort INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (election_id, kind)
        );
        CREATE TABLE election_stations (
            election_id TEXT NOT NULL REFERENCES elections(id),
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('fixed', 'mobile')),
            date_from TEXT NOT NULL,
            date_to TEXT NOT NULL,
            opens TEXT NOT NULL,
            closes TEXT NOT NULL,
            district_id TEXT NOT NULL DEFAULT '',
            site_id TEXT NOT NULL DEFAULT '',
            precincts TEXT NOT NULL DEFAULT '[]',
            electors INTEGER,
            PRIMARY KEY (election_id, id)
        );
        CREATE TABLE roll (
            election_id TEXT NOT NULL REFERENCES elections(id),
            voter_no TEXT NOT NULL,
            name TEXT NOT NULL,
            kana TEXT NOT NULL,
            kana_key TEXT NOT NULL,
            birth_date TEXT NOT NULL,
            sex TEXT NOT NULL CHECK (sex IN ('M', 'F')),
            address TEXT NOT NULL DEFAULT '',
            precinct TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (election_id, voter_no)
        );
        CREATE INDEX roll_kana ON roll(election_id, kana_key, birth_date);
        CREATE TABLE vote_checkins (
            election_id TEXT NOT NULL,
            voter_no TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'checkin' CHECK (kind IN ('checkin', 'provisional')),
            station_id TEXT NOT NULL,
            station_name TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            clerk_id TEXT NOT NULL DEFAULT '',
            device_id TEXT NOT NULL DEFAULT '',
            request_id TEXT,
            record_id TEXT NOT NULL,
            UNIQUE (election_id, voter_no)
        );
        CREATE TABLE vote_requests (
            request_id TEXT PRIMARY KEY,
            fingerprint TEXT NOT NULL,
            status_code INTEGER NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE vote_incidents (
            id TEXT PRIMARY KEY,
            election_id TEXT NOT NULL,
            voter_no TEXT NOT NULL,
            kind TEXT NOT NULL,
            first_record_id TEXT NOT NULL,
            second_record_id TEXT NOT NULL DEFAULT '',
            first_event TEXT NOT NULL,
            second_event TEXT NOT NULL DEFAULT '{}',
            record_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (first_record_id, second_record_id)
        );
        CREATE TABLE vote_reconciled (
            record_id TEXT PRIMARY KEY,
            election_id TEXT NOT NULL,
            voter_no TEXT NOT NULL,
            type TEXT NOT NULL,
            outcome TEXT NOT NULL
        );
        CREATE INDEX vote_reconciled_voter ON vote_reconciled(election_id, voter_no, type);
        """,
    )


@migrations(name="0401_report_tallies")
def m0401_report_tallies(db: sqlite_utils.Database) -> None:
    # Past aggregated usage tables (before the system existed), imported by
    # ``odekake history import``. One sheet = one printed table over one period;
    # its lines keep the cells exactly as printed ("–", blank or a number) as JSON.
    run_script(
        db,
        """
        CREATE TABLE report_tally_sheets (
            id INTEGER PRIMARY KEY,
            period_from TEXT NOT NULL,
            period_to TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            imported_at TEXT NOT NULL,
            UNIQUE (period_from, period_to)
        );
        CREATE TABLE report_tallies (
            id INTEGER PRIMARY KEY,
            sheet_id INTEGER NOT NULL REFERENCES report_tally_sheets(id),
            line INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('row', 'total', 'summary')),
            activity TEXT NOT NULL,
            district_id TEXT,
            label TEXT NOT NULL DEFAULT '',
            cells TEXT NOT NULL DEFAULT '{}',
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX report_tallies_sheet ON report_tallies(sheet_id, line);
        """,
    )


@migrations(name="0101_kiosk")
def m0101_kiosk(db: sqlite_utils.Database) -> None:
    # Kiosk-local state: PIN lockouts (never synced) and the referral master
    # (departments and support organisations a consultation can be referred to).
    run_script(
        db,
        """
        CREATE TABLE operator_lockouts (
            operator_id TEXT PRIMARY KEY,
            failures INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT
        );
        CREATE TABLE referrals (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT '庁内',
            sort INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1
        );
        INSERT INTO referrals(id, name, kind, sort) VALUES
            ('welfare', '地域福祉課', '庁内', 1),
            ('kaigo', '介護保険課', '庁内', 2),
            ('tax', '市民税課', '庁内', 3),
            ('pension', '国保年金課', '庁内', 4),
            ('kosodate', 'こども支援課', '庁内', 5),
            ('seikatsu', '生活支援課(生活困窮者自立支援窓口)', '庁内', 6),
            ('houkatsu', '地域包括支援センター', '支援機関', 7),
            ('shakyo', 'いわき市社会福祉協議会', '支援機関', 8),
            ('nenkin_office', '年金事務所', '支援機関', 9);
        """,
    )


@migrations(name="0201_sync_hub")
def m0201_sync_hub(db: sqlite_utils.Database) -> None:
    # Hub side of sync: enrolled devices and their keys, the acknowledged mark per
    # device, records held behind a sequence gap, records quarantined as conflicts,
    # and the versions of the master-data snapshots handed to each device.
    run_script(
        db,
        """
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            van_id TEXT NOT NULL,
            public_key TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
            enrolled_at TEXT NOT NULL,
            revoked_at TEXT,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE sync_acks (
            device_id TEXT PRIMARY KEY,
            acked_seq INTEGER NOT NULL DEFAULT 0,
            acked_hash TEXT NOT NULL,
            last_seen TEXT,
            last_batch_at TEXT
        );
        CREATE TABLE sync_held (
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            id TEXT NOT NULL,
            hash TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            line TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (device_id, seq)
        );
        CREATE TABLE sync_quarantine (
            n INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            record_id TEXT NOT NULL,
            hash TEXT NOT NULL,
            existing_hash TEXT NOT NULL,
            reason TEXT NOT NULL,
            line TEXT NOT NULL,
            received_at TEXT NOT NULL,
            UNIQUE (record_id, hash)
        );
        CREATE INDEX sync_quarantine_device ON sync_quarantine(device_id, seq);
        CREATE TABLE sync_snapshots (
            version INTEGER PRIMARY KEY AUTOINCREMENT,
            device_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX sync_snapshots_device ON sync_snapshots(device_id, version);
        """,
    )


@migrations(name="0202_sync_van")
def m0202_sync_van(db: sqlite_utils.Database) -> None:
    # Van side of sync: what the hub last acknowledged, when the van last synced and
    # which master-data snapshot it runs on; plus a log of every sync attempt.
    run_script(
        db,
        """
        CREATE TABLE sync_state (
            device_id TEXT PRIMARY KEY,
            acked_seq INTEGER NOT NULL DEFAULT 0,
            acked_at TEXT,
            last_push_at TEXT,
            last_pull_at TEXT,
            snapshot_version INTEGER,
            snapshot_sha256 TEXT,
            hub_url TEXT
        );
        CREATE TABLE sync_log (
            n INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            direction TEXT NOT NULL,
            target TEXT NOT NULL DEFAULT '',
            from_seq INTEGER,
            to_seq INTEGER,
            acked_seq INTEGER,
            outcome TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT ''
        );
        """,
    )


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
