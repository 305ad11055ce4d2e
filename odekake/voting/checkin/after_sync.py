"""At the hub, after sync: synced 仮投票 and ballots handed out are checked against the
same rules as a live check-in and registered, matched or raised as incidents; a synced
交付取りやめ releases its check-in (:func:`reconcile`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlite_utils

from odekake.access import clerk_keys
from odekake.errors import ValidationError
from odekake.storage import records as rec
from odekake.storage.db import write
from odekake.storage.records import Record
from odekake.voting.checkin.hub import release
from odekake.voting.checkin.incidents import Incident, raise_incident
from odekake.voting.checkin.kinds import (
    CAST,
    HUB_DEVICE,
    PROVISIONAL,
    REFUSAL_MESSAGES,
    WITHDRAWN,
    ReleaseRequest,
)
from odekake.voting.checkin.rules import checkin_row, rule_code, setting_int
from odekake.voting.elections import jst_now


def _mark(db: sqlite_utils.Database, r: Record, outcome: str) -> None:
    p = r.payload or {}
    db.execute(
        "INSERT INTO vote_reconciled(record_id, election_id, voter_no, type, outcome) "
        "VALUES (?,?,?,?,?)",
        [r.id, p.get("election_id", ""), p.get("voter_no", ""), r.type, outcome],
    )


def synced_vote_code(
    db: sqlite_utils.Database, r: Record, now: datetime | None = None
) -> str | None:
    """The rule a synced ``vote.provisional`` or ``vote.cast`` breaks (None: it holds).

    The same rules as a live check-in (:func:`rule_code`), applied to what the record
    claims: its election, station, voter, clerk (active, election clerk, working on
    this van) and 宣誓書 reason, the device that signed the batch it came in, and the
    time the van says it happened. That time may not be later than the hub's clock
    plus the ``vote_clock_skew_minutes`` setting (default 10). Last the clerk's proof:
    a signature by a key the hub issued to the clerk the record names, which only
    that clerk's PIN opens on the van (:mod:`odekake.access.clerk_keys`).
    """
    p = r.payload or {}
    when_text = str(p.get("at") or p.get("checked_at") or r.wall_time)
    try:
        when = datetime.fromisoformat(when_text)
        if when.tzinfo is None:
            raise ValueError(when_text)
    except ValueError:
        return "bad_time"
    code = rule_code(
        db,
        election_id=str(p.get("election_id", "")),
        station_id=str(p.get("station_id", "")),
        device_id=r.device_id,
        clerk_id=str(p.get("clerk_id", "")),
        # A ballot handed out is bound to the check-in it names: its reason, date and
        # hours were decided there (only device, clerk and voter are checked here).
        reason="work" if r.type == CAST else str(p.get("reason", "")),
        voter_no=str(p.get("voter_no", "")),
        when=when,
        live=False,
    )
    if r.type == CAST and code in ("station_closed", "outside_hours"):
        code = None
    if code is not None:
        return code
    skew = timedelta(minutes=max(0, setting_int(db, "vote_clock_skew_minutes", 10)))
    if when > jst_now(now) + skew:
        return "future_time"
    return clerk_keys.proof_problem(db, r.type, r.device_id, p, str(p.get("clerk_id", "")))


def _release_synced(db: sqlite_utils.Database, r: Record, now: datetime) -> None:
    """A 交付取りやめ that arrives by sync releases its check-in (if still held)."""
    p = r.payload or {}
    try:
        req = ReleaseRequest.from_json({**p, "device_id": r.device_id})
    except ValidationError:
        _mark(db, r, "release_refused")
        return
    # Releasing lets the voter be checked in again: only a withdrawal a clerk signed
    # with their PIN-opened key counts (a stolen van's forged one releases nothing).
    if clerk_keys.proof_problem(db, r.type, r.device_id, p, str(p.get("clerk_id", ""))):
        _mark(db, r, "release_refused")
        return
    answer = release(db, req, now=now, actor=f"sync:{r.device_id}")
    _mark(db, r, "released" if answer.status_code == 200 else "release_refused")


def _reconcile_one(db: sqlite_utils.Database, r: Record, now: datetime) -> Incident | None:
    p = r.payload or {}
    election_id = str(p.get("election_id", ""))
    voter_no = str(p.get("voter_no", ""))
    if r.type == WITHDRAWN:
        _release_synced(db, r, now)
        return None
    code = synced_vote_code(db, r, now)
    if code is not None:
        # Never a vote: a record that breaks a rule is evidence for election staff and
        # must not block the real voter.
        _mark(db, r, "invalid")
        kind = "provisional_invalid" if r.type == PROVISIONAL else "cast_invalid"
        return raise_incident(
            db,
            kind,
            election_id,
            voter_no,
            r,
            None,
            now,
            detail={"code": code, "message": REFUSAL_MESSAGES.get(code, code)},
        )
    existing = checkin_row(db, election_id, voter_no)
    if r.type == PROVISIONAL:
        if existing is None:
            db.execute(
                "INSERT INTO vote_checkins(election_id, voter_no, kind, station_id, station_name, "
                "checked_at, clerk_id, device_id, request_id, record_id) "
                "VALUES (?,?,'provisional',?,?,?,?,?,?,?)",
                [
                    election_id,
                    voter_no,
                    p.get("station_id", ""),
                    p.get("station_name", p.get("station_id", "")),
                    p.get("at", r.wall_time),
                    p.get("clerk_id", ""),
                    r.device_id,
                    p.get("request_id"),
                    r.id,
                ],
            )
            _mark(db, r, "registered")
            return None
        kind = (
            "provisional_twice"
            if existing["kind"] == "provisional"
            else "provisional_after_checkin"
        )
        _mark(db, r, "incident")
        return raise_incident(
            db, kind, election_id, voter_no, rec.get(db, existing["record_id"]), r, now
        )
    # vote.cast: ballots handed out on the van
    if existing is None or existing["kind"] != "checkin":
        _mark(db, r, "incident")
        if existing is None:
            return raise_incident(db, "cast_without_checkin", election_id, voter_no, r, None, now)
        return raise_incident(
            db, "cast_mismatch", election_id, voter_no, rec.get(db, existing["record_id"]), r, now
        )
    earlier = db.execute(
        "SELECT record_id FROM vote_reconciled WHERE election_id = ? AND voter_no = ? "
        "AND type = ? AND outcome = 'matched'",
        [election_id, voter_no, CAST],
    ).fetchone()
    if earlier is not None:
        _mark(db, r, "incident")
        return raise_incident(
            db, "cast_twice", election_id, voter_no, rec.get(db, earlier[0]), r, now
        )
    if existing["request_id"] != p.get("request_id"):
        _mark(db, r, "incident")
        return raise_incident(
            db, "cast_mismatch", election_id, voter_no, rec.get(db, existing["record_id"]), r, now
        )
    _mark(db, r, "matched")
    return None


def reconcile(hub_db: sqlite_utils.Database, *, now: datetime | None = None) -> list[Incident]:
    """Register synced provisional votes and ballots handed out; raise incidents;
    release the check-ins of synced 交付取りやめ records.

    Call after every ingest of van records (HTTP or bundle); each record is handled
    once (``vote_reconciled``), so calling it again does nothing new.

    Returns:
        The incidents raised by this call.
    """
    when = jst_now(now)
    found: list[Incident] = []
    with write(hub_db):
        pending = [
            r
            for r in rec.effective(rec.iter_records(hub_db, types=[PROVISIONAL, CAST, WITHDRAWN]))
            if r.device_id != HUB_DEVICE
            and hub_db.execute(
                "SELECT 1 FROM vote_reconciled WHERE record_id = ?", [r.id]
            ).fetchone()
            is None
        ]
        pending.sort(key=lambda r: (r.hlc, r.device_id, r.seq))
        for r in pending:
            incident = _reconcile_one(hub_db, r, when)
            if incident is not None:
                found.append(incident)
    return found
