"""The van's voting records: ballots handed out, 仮投票, the hub's confirmation kept at
once, 交付取りやめ, check-ins whose answer is not known yet, closed 投票不可 screens, each
signed with the clerk's PIN-opened key; and the second clerk's check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from odekake.access import authz, clerk_keys
from odekake.access.auth import check_pin
from odekake.errors import NotFound, OdekakeError, ValidationError
from odekake.storage import records as rec
from odekake.storage.db import device_id_of
from odekake.storage.records import Record, uuid7
from odekake.voting.checkin.kinds import (
    BLOCKED,
    CAST,
    CHECKED_IN,
    PENDING,
    PROVISIONAL,
    RESOLVED,
    WITHDRAWN,
    CheckinRequest,
)
from odekake.voting.elections import REASONS, Election, get_election, jst_now
from odekake.voting.roll import Voter


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
    """The payload signed with the clerk's key unlocked at login (odekake.access.clerk_keys)."""
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
