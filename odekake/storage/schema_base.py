"""The schema as first built: records, plans, audit, settings, early voting, past tallies,
the kiosk and sync (migrations 0001–0202, in their order of registration)."""

from __future__ import annotations

import sqlite_utils

from odekake.storage.migration_set import migrations, run_script


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
