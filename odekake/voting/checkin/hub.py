"""The roll check-in at the hub, and the van's voting records.

A ballot in the box cannot be taken back, so the hub decides, in one ``BEGIN
IMMEDIATE`` transaction, whether a voter may vote: the ``vote_checkins`` table holds at
most one row per (election, voter) (``UNIQUE``), so exactly one check-in succeeds
whatever the concurrency, across stations, threads and processes. Every answer is
stored under its request id before the transaction commits; a retried request (same
id, same content) gets exactly the stored answer back and writes nothing.

Every check-in (``vote.checkin``) and every refusal (``vote.refused``) is a hub record
(device ``hub``). Provisional votes (仮投票, 公職選挙法 §50) are recorded on the van
(``vote.provisional``) and reach the hub by sync; :func:`reconcile` then registers
them, and any second event for a voter (a provisional vote for a voter already checked
in, a second provisional vote, a ballot handed out without the hub's confirmation)
becomes an incident (``vote.incident`` record + ``vote_incidents`` row) that keeps
both events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from odekake import authz, clerk_keys
from odekake import records as rec
from odekake.auth import check_pin
from odekake.db import device_id_of, write
from odekake.errors import NotFound, OdekakeError, ValidationError
from odekake.records import Record, canonical_json, sha256_hex, uuid7
from odekake.voting.elections import REASONS, Election, Station, get_election, jst_now
from odekake.voting.roll import Voter, sex_of

HUB_DEVICE = "hub"
CHECKIN = "vote.checkin"
REFUSED = "vote.refused"
PROVISIONAL = "vote.provisional"
CAST = "vote.cast"
INCIDENT = "vote.incident"
BLOCKED = "vote.blocked"
CHECKED_IN = "vote.checked_in"
"""The van's own record of the hub's confirmation, written the moment it arrives."""
WITHDRAWN = "vote.withdrawn"
"""交付取りやめ on the van: the voter checked in got no ballot (with the clerk's reason)."""
PENDING = "vote.pending"
"""A check-in the hub may have decided without the van knowing how (no answer, or an
answer the van cannot verify): the van retries it with the same request id."""
RESOLVED = "vote.resolved"
"""The definite answer to a pending check-in that left no other record (refused)."""
RELEASED = "vote.released"
"""At the hub: a check-in released because its ballot was withdrawn (交付取りやめ)."""

INCIDENT_LABELS = {
    "provisional_after_checkin": "名簿対照済みの選挙人の仮投票",
    "provisional_twice": "同じ選挙人の仮投票が2回",
    "cast_without_checkin": "ハブの確認なしの投票用紙交付",
    "cast_mismatch": "別の照会に対する投票用紙交付",
    "cast_twice": "同じ選挙人への投票用紙交付が2回",
    "provisional_invalid": "規則に合わない仮投票の記録(投票としては扱いません)",
    "cast_invalid": "規則に合わない投票用紙交付の記録",
    "device_burst": "1台の端末から短時間に多数の名簿対照",
}

REFUSAL_MESSAGES = {
    "unknown_election": "この選挙は登録されていません",
    "election_closed": "この選挙の期日前投票は終了しています",
    "unknown_station": "この投票所は登録されていません",
    "station_closed": "この投票所は本日開設されていません",
    "no_ballot_yet": "本日交付できる投票用紙がありません(交付開始前)",
    "bad_reason": "宣誓書の事由を選んでください",
    "not_on_roll": "選挙人名簿に登録されていません",
    "device_not_assigned": "この端末(車両)はこの選挙の投票所に割り当てられていません",
    "wrong_station": "この端末(車両)はこの投票所の担当ではありません",
    "outside_hours": "投票所の開設時間外です",
    "not_clerk": "投票事務従事者として登録された有効な職員ではありません",
    "clerk_not_assigned": "この投票事務従事者はこの車両(端末)の担当ではありません",
    "bad_time": "記録の時刻が読めません",
    "future_time": "記録の時刻が未来です(端末の時計か記録を確認してください)",
    "no_clerk_proof": "投票事務従事者がPINで開いた鍵の署名がありません",
    "bad_clerk_proof": "投票事務従事者の署名を確認できません(改ざんか、別の鍵)",
}

RELEASE_MESSAGES = {
    "released": "この照会は交付取りやめにより取り消されています(新しく名簿対照してください)",
    "no_checkin": "取り消す名簿対照がハブにありません",
    "other_device": "別の端末の名簿対照は取り消せません",
    "ballot_handed": "投票用紙の交付が記録された名簿対照は取り消せません",
}

_REQUEST_FIELDS = (
    "request_id",
    "election_id",
    "voter_no",
    "station_id",
    "clerk_id",
    "device_id",
    "reason",
)


@dataclass(frozen=True)
class CheckinRequest:
    """One roll check-in as the van sends it (the request id is made on the van)."""

    request_id: str
    election_id: str
    voter_no: str
    station_id: str
    clerk_id: str
    device_id: str
    reason: str

    @classmethod
    def from_json(cls, data: Any) -> CheckinRequest:
        """Validate a decoded JSON body.

        Raises:
            ValidationError: A field is missing or not a short string.
        """
        if not isinstance(data, dict):
            raise ValidationError("JSONオブジェクトではありません")
        values: dict[str, str] = {}
        for key in _REQUEST_FIELDS:
            value = data.get(key)
            if not isinstance(value, str) or not value.strip() or len(value) > 128:
                raise ValidationError(f"{key} がありません", key)
            values[key] = value.strip()
        return cls(**values)

    def to_json(self) -> dict[str, str]:
        """The request body."""
        return {k: getattr(self, k) for k in _REQUEST_FIELDS}

    def fingerprint(self) -> str:
        """A hash of the content, to refuse a request id reused for another request."""
        return sha256_hex(canonical_json(self.to_json()))


@dataclass(frozen=True)
class Answer:
    """The hub's answer: an HTTP status and a JSON body, stored per request id."""

    status_code: int
    body: dict[str, Any]


def _station_answer(row: Any, db: sqlite_utils.Database | None = None) -> dict[str, str]:
    """Where, when and by whom a voter voted (what the next station's clerk is shown)."""
    answer = {
        "kind": row["kind"],
        "station_id": row["station_id"],
        "station_name": row["station_name"],
        "checked_at": row["checked_at"],
        "clerk_id": str(row.get("clerk_id") or ""),
        "device_id": str(row.get("device_id") or ""),
    }
    if db is not None and answer["clerk_id"]:
        name = db.execute(
            "SELECT name FROM operators WHERE id = ?", [answer["clerk_id"]]
        ).fetchone()
        answer["clerk_name"] = str(name[0]) if name is not None else ""
    return answer


def _existing(db: sqlite_utils.Database, election_id: str, voter_no: str) -> dict[str, Any] | None:
    cur = db.execute(
        "SELECT election_id, voter_no, kind, station_id, station_name, checked_at, clerk_id, "
        "device_id, request_id, record_id FROM vote_checkins WHERE election_id = ? AND voter_no = ?",
        [election_id, voter_no],
    )
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c[0] for c in cur.description], row, strict=True))


def setting_int(db: sqlite_utils.Database, key: str, default: int) -> int:
    """An integer setting of the hub (``settings`` table), or ``default``."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    try:
        return int(row[0]) if row is not None else default
    except (TypeError, ValueError):
        return default


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def within_hours(db: sqlite_utils.Database, station: Station, when: datetime) -> bool:
    """True when ``when`` (JST) is inside the station's hours, with the allowed margins.

    ``vote_minutes_early`` / ``vote_minutes_late`` (settings, minutes, default 0) widen
    the window; the comparison is by minute (a 17:00 close accepts 17:00:59).
    """
    local = jst_now(when)
    t = local.hour * 60 + local.minute
    early = setting_int(db, "vote_minutes_early", 0)
    late = setting_int(db, "vote_minutes_late", 0)
    return _minutes(station.opens) - early <= t <= _minutes(station.closes) + late


def _device_van(db: sqlite_utils.Database, device_id: str) -> str | None:
    row = db.execute("SELECT van_id FROM devices WHERE device_id = ?", [device_id]).fetchone()
    return None if row is None else str(row[0])


def rule_code(
    db: sqlite_utils.Database,
    *,
    election_id: str,
    station_id: str,
    device_id: str,
    clerk_id: str,
    reason: str,
    voter_no: str,
    when: datetime,
    live: bool = True,
) -> str | None:
    """The first rule a check-in (or a synced vote) breaks, as a stable code; else None.

    The same rules for a live check-in at the hub and for a provisional vote or a
    ballot that arrives by sync: a known election, a known station, a device (or its
    van) assigned to that station, the station's date and hours (with the margins of
    the settings), an active operator with the election-clerk role, a 宣誓書 reason
    and a voter on the roll. A live check-in also needs the election still open and a
    ballot kind handed out that day. Codes and Japanese texts: :data:`REFUSAL_MESSAGES`.
    """
    try:
        election = get_election(db, election_id)
    except NotFound:
        return "unknown_election"
    if live and election.closed:
        return "election_closed"
    try:
        station = election.station(station_id)
    except NotFound:
        return "unknown_station"
    van = _device_van(db, device_id)
    if not station.served_by(device_id, van):
        if any(s.served_by(device_id, van) for s in election.stations):
            return "wrong_station"
        return "device_not_assigned"
    day = jst_now(when).date()
    if not station.open_on(day):
        return "station_closed"
    if not within_hours(db, station, when):
        return "outside_hours"
    if not is_election_clerk(db, clerk_id):
        return "not_clerk"
    if not clerk_serves(db, clerk_id, device_id, van):
        return "clerk_not_assigned"
    if live and not election.ballots_on(day):
        return "no_ballot_yet"
    if reason not in REASONS:
        return "bad_reason"
    if sex_of(db, election_id, voter_no) is None:
        return "not_on_roll"
    return None


def clerk_serves(
    db: sqlite_utils.Database, clerk_id: str, device_id: str, van_id: str | None
) -> bool:
    """True when the clerk works on this van (or device): their van list names it, or
    they have none (every van)."""
    vans = {
        str(r[0])
        for r in db.execute("SELECT van_id FROM operator_vans WHERE operator_id = ?", [clerk_id])
    }
    return not vans or device_id in vans or (van_id is not None and van_id in vans)


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
    _incident(
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
        existing = None if code else _existing(db, req.election_id, req.voter_no)
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
            first = _station_answer(existing, db)
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
        row = _existing(db, election_id, voter_no)
    if row is None:
        return {"election_id": election_id, "voter_no": voter_no, "voted": False}
    return {
        "election_id": election_id,
        "voter_no": voter_no,
        "voted": True,
        "first": _station_answer(row, db),
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


@dataclass(frozen=True)
class ReleaseRequest:
    """交付取りやめ sent by the van: release the check-in made by ``request_id``."""

    request_id: str
    election_id: str
    voter_no: str
    station_id: str
    clerk_id: str
    device_id: str
    reason: str

    @classmethod
    def from_json(cls, data: Any) -> ReleaseRequest:
        """Validate a decoded JSON body (the reason is the clerk's text, ≤ 200 characters).

        Raises:
            ValidationError: A field is missing or too long.
        """
        if not isinstance(data, dict):
            raise ValidationError("JSONオブジェクトではありません")
        values: dict[str, str] = {}
        for key in _REQUEST_FIELDS:
            value = data.get(key)
            limit = 200 if key == "reason" else 128
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise ValidationError(f"{key} がありません", key)
            values[key] = value.strip()
        return cls(**values)

    def to_json(self) -> dict[str, str]:
        """The request body."""
        return {k: getattr(self, k) for k in _REQUEST_FIELDS}


def _release_code(db: sqlite_utils.Database, req: ReleaseRequest) -> tuple[str | None, Any]:
    """Why the check-in cannot be released (None: it can), and its row."""
    row = _existing(db, req.election_id, req.voter_no)
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
    from odekake import audit

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


# --- on the van ---------------------------------------------------------------------


def new_request_id() -> str:
    """A request id for one check-in attempt (reused by every retry of it)."""
    return uuid7()


def record_cast(
    van_db: sqlite_utils.Database,
    *,
    election: Election,
    station_id: str,
    voter: Voter,
    request_id: str,
    ballots: list[str],
    clerk_id: str,
    checked_at: str,
    stop_id: str | None = None,
    now: datetime | None = None,
) -> Record:
    """Record on the van that ballots were handed out after the hub's confirmation.

    ``vote.cast`` counts one resident under the usage report's voting category; the
    hub compares these (ballots handed out) with its check-ins (roll checks) per hour.

    Raises:
        PermissionDenied: The clerk is not an election clerk (or supervisor).
    """
    authz.require(van_db, clerk_id, "vote")
    payload = {
        "stop_id": stop_id or station_id,
        "people": 1,
        "election_id": election.id,
        "station_id": station_id,
        "voter_no": voter.voter_no,
        "sex": voter.sex,
        "request_id": request_id,
        "ballots": ballots,
        "clerk_id": clerk_id,
        "checked_at": checked_at,
    }
    return rec.append(van_db, CAST, _signed(van_db, CAST, payload, clerk_id), now=now)


def _signed(
    van_db: sqlite_utils.Database, record_type: str, payload: dict[str, Any], clerk_id: str
) -> dict[str, Any]:
    """The payload signed with the clerk's key unlocked at login (odekake.clerk_keys)."""
    return clerk_keys.with_proof(van_db, record_type, device_id_of(van_db), payload, clerk_id)


def record_provisional(
    van_db: sqlite_utils.Database,
    *,
    election: Election,
    station_id: str,
    voter: Voter,
    reason: str,
    clerk_id: str,
    request_id: str,
    cause: str,
    stop_id: str | None = None,
    now: datetime | None = None,
) -> Record:
    """Record a provisional vote (仮投票, §50) taken because the hub could not confirm.

    Raises:
        ValidationError: The 宣誓書 reason is not one of the six.
    """
    if reason not in REASONS:
        raise ValidationError("宣誓書の事由を選んでください", "reason")
    authz.require(van_db, clerk_id, "vote")
    when = jst_now(now)
    payload = {
        "stop_id": stop_id or station_id,
        "election_id": election.id,
        "station_id": station_id,
        "station_name": election.station(station_id).name,
        "voter_no": voter.voter_no,
        "sex": voter.sex,
        "reason": reason,
        "clerk_id": clerk_id,
        "request_id": request_id,
        "cause": cause,
        "at": when.isoformat(timespec="seconds"),
    }
    return rec.append(
        van_db, PROVISIONAL, _signed(van_db, PROVISIONAL, payload, clerk_id), now=when
    )


def local_vote(
    van_db: sqlite_utils.Database, election_id: str, voter_no: str
) -> dict[str, str] | None:
    """The first vote THIS van recorded for the voter, else None.

    Offline the hub cannot say "already voted"; the van still knows what it did itself,
    so the clerk's screen blocks a second ballot or 仮投票 locally (投票不可). A vote
    here is a ballot handed out, a 仮投票, or a check-in the hub confirmed to this van
    (``vote.checked_in``, written the moment the answer arrived) that was not withdrawn
    (交付取りやめ). Returns ``{kind, station_id, station_name, checked_at}`` (kind
    ``checkin`` for a confirmed check-in, ``provisional`` for a 仮投票).
    """
    mine = [
        r
        for r in rec.effective(
            rec.iter_records(van_db, types=[CAST, PROVISIONAL, CHECKED_IN, WITHDRAWN])
        )
        if (r.payload or {}).get("election_id") == election_id
        and (r.payload or {}).get("voter_no") == voter_no
    ]
    withdrawn = {(r.payload or {}).get("request_id") for r in mine if r.type == WITHDRAWN}
    for r in mine:
        p = r.payload or {}
        if r.type == WITHDRAWN or (r.type == CHECKED_IN and p.get("request_id") in withdrawn):
            continue
        station_id = str(p.get("station_id", ""))
        name = str(p.get("station_name") or "")
        if not name:
            try:
                name = get_election(van_db, election_id).station(station_id).name
            except NotFound:
                name = station_id
        return {
            "kind": "provisional" if r.type == PROVISIONAL else "checkin",
            "station_id": station_id,
            "station_name": name,
            "checked_at": str(p.get("at") or p.get("checked_at") or r.wall_time),
        }
    return None


def record_checked_in(
    van_db: sqlite_utils.Database,
    *,
    election: Election,
    station_id: str,
    voter: Voter,
    request_id: str,
    ballots: list[str],
    clerk_id: str,
    checked_at: str,
    stop_id: str | None = None,
) -> Record:
    """Record on the van, at once, that the hub confirmed this voter's check-in.

    From this record on the van itself blocks the voter (投票不可, :func:`local_vote`),
    whatever the clerk does next and whether or not the hub can be reached, until the
    ballot is withdrawn (:func:`record_withdrawn`).
    """
    payload = {
        "stop_id": stop_id or station_id,
        "election_id": election.id,
        "station_id": station_id,
        "station_name": election.station(station_id).name,
        "voter_no": voter.voter_no,
        "sex": voter.sex,
        "request_id": request_id,
        "ballots": ballots,
        "clerk_id": clerk_id,
        "checked_at": checked_at,
    }
    # Signed like every vote record made on the van (the clerk's PIN-opened key).
    return rec.append(van_db, CHECKED_IN, _signed(van_db, CHECKED_IN, payload, clerk_id))


def record_withdrawn(
    van_db: sqlite_utils.Database,
    *,
    election: Election,
    station_id: str,
    voter: Voter,
    request_id: str,
    clerk_id: str,
    reason: str,
    stop_id: str | None = None,
    now: datetime | None = None,
) -> Record:
    """Record 交付取りやめ: a voter the hub checked in leaves without a ballot.

    The record reaches the hub by sync (where :func:`reconcile` releases the check-in
    if the live release did not); the van no longer blocks the voter.

    Raises:
        ValidationError: No reason given.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError("交付取りやめの理由を入力してください", "reason")
    if len(reason) > 200:
        raise ValidationError("交付取りやめの理由は200文字以内にしてください", "reason")
    when = jst_now(now)
    payload = {
        "stop_id": stop_id or station_id,
        "election_id": election.id,
        "station_id": station_id,
        "voter_no": voter.voter_no,
        "request_id": request_id,
        "clerk_id": clerk_id,
        "reason": reason,
        "at": when.isoformat(timespec="seconds"),
    }
    return rec.append(van_db, WITHDRAWN, _signed(van_db, WITHDRAWN, payload, clerk_id), now=when)


def record_pending(
    van_db: sqlite_utils.Database, req: CheckinRequest, *, cause: str, stop_id: str | None = None
) -> Record:
    """Record a check-in whose outcome the van does not know (kept for the retry)."""
    return rec.append(
        van_db,
        PENDING,
        {"stop_id": stop_id or req.station_id, **req.to_json(), "cause": cause},
    )


def record_resolved(
    van_db: sqlite_utils.Database, req: CheckinRequest, *, status: str, code: str = ""
) -> Record:
    """Record the definite answer to a pending check-in that leaves no other record."""
    return rec.append(
        van_db,
        RESOLVED,
        {
            "election_id": req.election_id,
            "station_id": req.station_id,
            "voter_no": req.voter_no,
            "request_id": req.request_id,
            "status": status,
            "code": code,
        },
    )


def pending_request(
    van_db: sqlite_utils.Database, election_id: str, voter_no: str
) -> CheckinRequest | None:
    """The voter's check-in whose outcome this van does not know yet, else None.

    A later vote record naming the same request id (confirmed, handed out, 仮投票,
    投票不可, withdrawn, resolved) settles it. The request comes back exactly as sent,
    so the hub answers its retry with the answer it stored.
    """
    settled: set[str] = set()
    latest: CheckinRequest | None = None
    types = [PENDING, CHECKED_IN, CAST, PROVISIONAL, BLOCKED, WITHDRAWN, RESOLVED]
    for r in rec.effective(rec.iter_records(van_db, types=types)):
        p = r.payload or {}
        if p.get("election_id") != election_id or p.get("voter_no") != voter_no:
            continue
        if r.type == PENDING:
            try:
                latest = CheckinRequest.from_json(p)
            except ValidationError:
                continue
        elif p.get("request_id"):
            settled.add(str(p["request_id"]))
    return None if latest is None or latest.request_id in settled else latest


def record_blocked(
    van_db: sqlite_utils.Database,
    *,
    election_id: str,
    station_id: str,
    voter_no: str,
    clerk_id: str,
    second_clerk_id: str,
    first: dict[str, Any],
    request_id: str | None = None,
    closed_by: str = "second_clerk",
) -> Record:
    """Record that a 投票不可 screen was closed (no ballot given).

    ``closed_by`` is ``second_clerk`` (a second clerk confirmed with their PIN) or
    ``quit`` (the clerk quit the kiosk on it, after confirming; no second clerk).
    """
    payload: dict[str, Any] = {
        "election_id": election_id,
        "station_id": station_id,
        "voter_no": voter_no,
        "clerk_id": clerk_id,
        "second_clerk_id": second_clerk_id,
        "first": first,
        "closed_by": closed_by,
    }
    if request_id:
        payload["request_id"] = request_id
    return rec.append(van_db, BLOCKED, _signed(van_db, BLOCKED, payload, clerk_id))


def is_clerk(db: sqlite_utils.Database, operator_id: str) -> bool:
    """True when an active operator has the clerk or supervisor role."""
    row = db.execute("SELECT roles, active FROM operators WHERE id = ?", [operator_id]).fetchone()
    return (
        row is not None
        and bool(row[1])
        and bool(set(str(row[0]).split(",")) & {"clerk", "supervisor"})
    )


def is_election_clerk(db: sqlite_utils.Database, operator_id: str) -> bool:
    """True when an active operator has the election-clerk role itself (the hub's rule)."""
    row = db.execute("SELECT roles, active FROM operators WHERE id = ?", [operator_id]).fetchone()
    return row is not None and bool(row[1]) and "clerk" in str(row[0]).split(",")


def verify_second_clerk(
    db: sqlite_utils.Database, logged_in_clerk_id: str, clerk_id: str, pin: str
) -> str:
    """Check the second clerk who releases a 投票不可 screen; return their name.

    Raises:
        OdekakeError: Same clerk as the one logged in, unknown or inactive, not a clerk
            or supervisor, or a wrong PIN.
    """
    clerk_id = clerk_id.strip()
    if not clerk_id:
        raise OdekakeError("2人目の事務従事者のIDを入力してください")
    if clerk_id == logged_in_clerk_id:
        raise OdekakeError("ログイン中の事務従事者とは別の人が確認してください")
    row = db.execute(
        "SELECT name, roles, pin_hash, active FROM operators WHERE id = ?", [clerk_id]
    ).fetchone()
    if row is None or not row[3] or not check_pin(pin, row[2]):
        raise OdekakeError("IDまたはPINが違います")
    roles = set(str(row[1]).split(","))
    if not roles & {"clerk", "supervisor"}:
        raise OdekakeError("投票事務従事者か監督者の確認が必要です")
    return str(row[0])


# --- at the hub, after sync -----------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    """A second event for one voter, kept with both events."""

    id: str
    election_id: str
    voter_no: str
    kind: str
    first_record_id: str
    second_record_id: str
    record_id: str

    @property
    def label(self) -> str:
        """The incident kind in Japanese."""
        return INCIDENT_LABELS.get(self.kind, self.kind)


def _event(r: Record) -> dict[str, Any]:
    return {
        "record_id": r.id,
        "device_id": r.device_id,
        "type": r.type,
        "wall_time": r.wall_time,
        "payload": r.payload,
    }


def _incident(
    db: sqlite_utils.Database,
    kind: str,
    election_id: str,
    voter_no: str,
    first: Record,
    second: Record | None,
    now: datetime,
    *,
    detail: dict[str, Any] | None = None,
) -> Incident:
    iid = uuid7()
    first_ev = _event(first)
    second_ev = _event(second) if second is not None else {}
    r = rec.append(
        db,
        INCIDENT,
        {
            "incident_id": iid,
            "kind": kind,
            "election_id": election_id,
            "voter_no": voter_no,
            "first": first_ev,
            "second": second_ev,
            "detail": detail or {},
        },
        device_id=HUB_DEVICE,
        now=now,
    )
    db.execute(
        "INSERT INTO vote_incidents(id, election_id, voter_no, kind, first_record_id, "
        "second_record_id, first_event, second_event, record_id, created_at, detail) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            iid,
            election_id,
            voter_no,
            kind,
            first.id,
            second.id if second is not None else "",
            canonical_json(first_ev),
            canonical_json(second_ev),
            r.id,
            now.isoformat(timespec="seconds"),
            canonical_json(detail or {}),
        ],
    )
    return Incident(iid, election_id, voter_no, kind, first.id, second.id if second else "", r.id)


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
    that clerk's PIN opens on the van (:mod:`odekake.clerk_keys`).
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
        # must not block the real voter (issue 11 §4).
        _mark(db, r, "invalid")
        kind = "provisional_invalid" if r.type == PROVISIONAL else "cast_invalid"
        return _incident(
            db,
            kind,
            election_id,
            voter_no,
            r,
            None,
            now,
            detail={"code": code, "message": REFUSAL_MESSAGES.get(code, code)},
        )
    existing = _existing(db, election_id, voter_no)
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
        return _incident(
            db, kind, election_id, voter_no, rec.get(db, existing["record_id"]), r, now
        )
    # vote.cast: ballots handed out on the van
    if existing is None or existing["kind"] != "checkin":
        _mark(db, r, "incident")
        if existing is None:
            return _incident(db, "cast_without_checkin", election_id, voter_no, r, None, now)
        return _incident(
            db, "cast_mismatch", election_id, voter_no, rec.get(db, existing["record_id"]), r, now
        )
    earlier = db.execute(
        "SELECT record_id FROM vote_reconciled WHERE election_id = ? AND voter_no = ? "
        "AND type = ? AND outcome = 'matched'",
        [election_id, voter_no, CAST],
    ).fetchone()
    if earlier is not None:
        _mark(db, r, "incident")
        return _incident(db, "cast_twice", election_id, voter_no, rec.get(db, earlier[0]), r, now)
    if existing["request_id"] != p.get("request_id"):
        _mark(db, r, "incident")
        return _incident(
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


def incidents(hub_db: sqlite_utils.Database, election_id: str) -> list[dict[str, Any]]:
    """Every incident of an election, oldest first, with both events."""
    cur = hub_db.execute(
        "SELECT id, kind, voter_no, first_record_id, second_record_id, first_event, second_event, "
        "record_id, created_at, detail FROM vote_incidents WHERE election_id = ? ORDER BY created_at, id",
        [election_id],
    )
    cols = [c[0] for c in cur.description]
    out = []
    for row in cur.fetchall():
        d = dict(zip(cols, row, strict=True))
        d["first_event"] = json.loads(d["first_event"])
        d["second_event"] = json.loads(d["second_event"])
        d["detail"] = json.loads(d["detail"] or "{}")
        d["label"] = INCIDENT_LABELS.get(d["kind"], d["kind"])
        out.append(d)
    return out
