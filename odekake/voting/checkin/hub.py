"""The roll check-in at the hub, and the release of a check-in (交付取りやめ).

A ballot in the box cannot be taken back, so the hub decides, in one ``BEGIN
IMMEDIATE`` transaction, whether a voter may vote: the ``vote_checkins`` table holds at
most one row per (election, voter) (``UNIQUE``), so exactly one check-in succeeds
whatever the concurrency, across stations, threads and processes. Every answer is
stored under its request id before the transaction commits; a retried request (same
id, same content) gets exactly the stored answer back and writes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.storage import records as rec
from odekake.storage.canonical import canonical_json
from odekake.storage.db import write
from odekake.storage.records import Record
from odekake.voting.checkin.incidents import raise_incident
from odekake.voting.checkin.kinds import (
    CAST,
    CHECKIN,
    HUB_DEVICE,
    REFUSAL_MESSAGES,
    REFUSED,
    RELEASE_MESSAGES,
    RELEASED,
    Answer,
    CheckinRequest,
    ReleaseRequest,
)
from odekake.voting.checkin.rules import checkin_row, rule_code, setting_int, station_answer
from odekake.voting.elections import get_election, jst_now
from odekake.voting.roll import sex_of


def _refusal_code(db: sqlite_utils.Database, req: CheckinRequest, now: datetime) -> str | None:
    return rule_code(
        db,
        election_id=req.election_id,
        station_id=req.station_id,
        device_id=req.device_id,
        clerk_id=req.clerk_id,
        reason=req.reason,
        voter_no=req.voter_no,
        when=now,
    )


def _burst(db: sqlite_utils.Database, req: CheckinRequest, record: Record, now: datetime) -> None:
    """An incident when one device checks in more voters than the setting allows.

    ``vote_burst_limit`` check-ins within ``vote_burst_minutes`` (settings) are normal;
    the one that goes over raises one ``device_burst`` incident (the next one only
    after the window has emptied again).
    """
    limit = setting_int(db, "vote_burst_limit", 30)
    minutes = setting_int(db, "vote_burst_minutes", 10)
    since = (now - timedelta(minutes=minutes)).isoformat(timespec="seconds")
    rows = db.execute(
        "SELECT record_id FROM vote_checkins WHERE device_id = ? AND kind = 'checkin' "
        "AND checked_at >= ? ORDER BY checked_at, record_id",
        [req.device_id, since],
    ).fetchall()
    if len(rows) != limit + 1:
        return
    raise_incident(
        db,
        "device_burst",
        req.election_id,
        req.voter_no,
        rec.get(db, rows[0][0]),
        record,
        now,
        detail={
            "device_id": req.device_id,
            "count": len(rows),
            "limit": limit,
            "minutes": minutes,
            "since": since,
        },
    )


def checkin(
    db: sqlite_utils.Database, req: CheckinRequest, *, now: datetime | None = None
) -> Answer:
    """Check a voter in at the hub: the one decision that lets a ballot be handed out.

    Args:
        db: The hub database.
        req: The van's request (its ``request_id`` makes retries idempotent).
        now: The hub's clock (tests); defaults to the current time.

    Returns:
        ``200 confirmed`` (with the ballot kinds to hand out), ``200 already_voted``
        (with the first check-in's station and time), ``422 refused`` (not on the roll,
        station not open …), or ``409`` when the request id was used for different
        content. A retried request returns its stored answer unchanged.
    """
    when = jst_now(now)
    with write(db):
        stored = db.execute(
            "SELECT fingerprint, status_code, body FROM vote_requests WHERE request_id = ?",
            [req.request_id],
        ).fetchone()
        if stored is not None:
            if stored[0] != req.fingerprint():
                return Answer(
                    409,
                    {
                        "status": "error",
                        "code": "request_id_reused",
                        "message": "同じ照会番号で別の内容が送られました",
                    },
                )
            return Answer(int(stored[1]), json.loads(stored[2]))
        base = {
            "request_id": req.request_id,
            "election_id": req.election_id,
            "voter_no": req.voter_no,
            "station_id": req.station_id,
        }
        event = {**req.to_json(), "at": when.isoformat(timespec="seconds")}
        answer: Answer
        code = _refusal_code(db, req, when)
        existing = None if code else checkin_row(db, req.election_id, req.voter_no)
        if code is not None:
            r = rec.append(db, REFUSED, {**event, "code": code}, device_id=HUB_DEVICE, now=when)
            answer = Answer(
                422,
                {
                    **base,
                    "status": "refused",
                    "code": code,
                    "message": REFUSAL_MESSAGES[code],
                    "record_id": r.id,
                },
            )
        elif existing is not None:
            first = station_answer(existing, db)
            r = rec.append(
                db,
                REFUSED,
                {
                    **event,
                    "code": "already_voted",
                    "first_record_id": existing["record_id"],
                    "first": first,
                },
                device_id=HUB_DEVICE,
                now=when,
            )
            answer = Answer(
                200, {**base, "status": "already_voted", "first": first, "record_id": r.id}
            )
        else:
            election = get_election(db, req.election_id)
            station = election.station(req.station_id)
            ballots = [{"kind": b.kind, "label": b.label} for b in election.ballots_on(when.date())]
            sex = sex_of(db, req.election_id, req.voter_no)
            checked_at = when.isoformat(timespec="seconds")
            r = rec.append(
                db,
                CHECKIN,
                {
                    **event,
                    "station_name": station.name,
                    "sex": sex,
                    "ballots": [b["kind"] for b in ballots],
                },
                device_id=HUB_DEVICE,
                now=when,
            )
            db.execute(
                "INSERT INTO vote_checkins(election_id, voter_no, kind, station_id, station_name, "
                "checked_at, clerk_id, device_id, request_id, record_id) "
                "VALUES (?,?,'checkin',?,?,?,?,?,?,?)",
                [
                    req.election_id,
                    req.voter_no,
                    station.id,
                    station.name,
                    checked_at,
                    req.clerk_id,
                    req.device_id,
                    req.request_id,
                    r.id,
                ],
            )
            _burst(db, req, r, when)
            answer = Answer(
                200,
                {
                    **base,
                    "status": "confirmed",
                    "station_name": station.name,
                    "checked_at": checked_at,
                    "ballots": ballots,
                    "record_id": r.id,
                },
            )
        db.execute(
            "INSERT INTO vote_requests(request_id, fingerprint, status_code, body, created_at) "
            "VALUES (?,?,?,?,?)",
            [
                req.request_id,
                req.fingerprint(),
                answer.status_code,
                canonical_json(answer.body),
                when.isoformat(timespec="seconds"),
            ],
        )
    return answer


def voter_status(db: sqlite_utils.Database, election_id: str, voter_no: str) -> dict[str, Any]:
    """Whether a voter has voted (checked in or provisional) and where and when."""
    with write(db):
        row = checkin_row(db, election_id, voter_no)
    if row is None:
        return {"election_id": election_id, "voter_no": voter_no, "voted": False}
    return {
        "election_id": election_id,
        "voter_no": voter_no,
        "voted": True,
        "first": station_answer(row, db),
    }


def election_status(db: sqlite_utils.Database, election_id: str) -> dict[str, Any]:
    """Counts per station so far (check-ins and provisional votes)."""
    with write(db):
        rows = db.execute(
            "SELECT station_id, kind, COUNT(*) FROM vote_checkins WHERE election_id = ? "
            "GROUP BY station_id, kind ORDER BY station_id, kind",
            [election_id],
        ).fetchall()
        incidents = db.execute(
            "SELECT COUNT(*) FROM vote_incidents WHERE election_id = ?", [election_id]
        ).fetchone()[0]
    stations: dict[str, dict[str, int]] = {}
    for sid, kind, n in rows:
        stations.setdefault(sid, {"checkin": 0, "provisional": 0})[kind] = int(n)
    return {"election_id": election_id, "stations": stations, "incidents": int(incidents)}


def _release_code(db: sqlite_utils.Database, req: ReleaseRequest) -> tuple[str | None, Any]:
    """Why the check-in cannot be released (None: it can), and its row."""
    row = checkin_row(db, req.election_id, req.voter_no)
    if row is None or row["kind"] != "checkin" or row["request_id"] != req.request_id:
        return "no_checkin", row
    if row["device_id"] != req.device_id:
        return "other_device", row
    handed = db.execute(
        "SELECT 1 FROM vote_reconciled WHERE election_id = ? AND voter_no = ? AND type = ? "
        "AND outcome = 'matched'",
        [req.election_id, req.voter_no, CAST],
    ).fetchone()
    if handed is not None:
        return "ballot_handed", row
    return None, row


def _released_before(db: sqlite_utils.Database, request_id: str) -> dict[str, Any] | None:
    stored = db.execute(
        "SELECT body FROM vote_requests WHERE request_id = ?", [request_id]
    ).fetchone()
    if stored is None:
        return None
    body: dict[str, Any] = json.loads(stored[0])
    return body if body.get("code") == "released" else None


def release(
    db: sqlite_utils.Database,
    req: ReleaseRequest,
    *,
    now: datetime | None = None,
    actor: str | None = None,
) -> Answer:
    """Release a check-in whose ballot was withdrawn on the van (交付取りやめ).

    Only the device that made the check-in can release it, and only while no ballot
    has been recorded for it. The ``vote_checkins`` row goes (the voter can check in
    again), the request's stored answer becomes a refusal (a replay of the old
    request never confirms again), and a ``vote.released`` hub record plus an audit
    entry keep who, when and why. Idempotent: releasing again answers ``released``.

    Returns:
        ``200 released`` or ``422 refused`` with a code of :data:`RELEASE_MESSAGES`.
    """
    when = jst_now(now)
    with write(db):
        base = {
            "request_id": req.request_id,
            "election_id": req.election_id,
            "voter_no": req.voter_no,
        }
        if _released_before(db, req.request_id) is not None:
            return Answer(200, {**base, "status": "released", "again": True})
        code, row = _release_code(db, req)
        if code is not None:
            return Answer(
                422,
                {**base, "status": "refused", "code": code, "message": RELEASE_MESSAGES[code]},
            )
        r = rec.append(
            db,
            RELEASED,
            {
                **req.to_json(),
                "station_name": row["station_name"],
                "checked_at": row["checked_at"],
                "checkin_record_id": row["record_id"],
                "at": when.isoformat(timespec="seconds"),
            },
            device_id=HUB_DEVICE,
            now=when,
        )
        db.execute(
            "DELETE FROM vote_checkins WHERE election_id = ? AND voter_no = ?",
            [req.election_id, req.voter_no],
        )
        refused = {
            **base,
            "station_id": req.station_id,
            "status": "refused",
            "code": "released",
            "message": RELEASE_MESSAGES["released"],
        }
        db.execute(
            "UPDATE vote_requests SET status_code = 422, body = ? WHERE request_id = ?",
            [canonical_json(refused), req.request_id],
        )
        audit.log(
            db,
            actor or f"device:{req.device_id}",
            "vote.release",
            req.request_id,
            {
                "election_id": req.election_id,
                "station_id": req.station_id,
                "clerk_id": req.clerk_id,
                "device_id": req.device_id,
                "record_id": r.id,
            },
            now=when,
        )
    return Answer(200, {**base, "status": "released", "record_id": r.id})
