"""Voting incidents: a second event for one voter (or a device checking in too many
voters), kept as a ``vote.incident`` hub record and a ``vote_incidents`` row with both
events, and the list election staff read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from odekake.storage import records as rec
from odekake.storage.canonical import canonical_json
from odekake.storage.records import Record, uuid7
from odekake.voting.checkin.kinds import HUB_DEVICE, INCIDENT, INCIDENT_LABELS


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


def raise_incident(
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
