"""Voting check-in: the hub's roll check-in, the van's voting records, and what the hub
does with them after sync.

Every check-in (``vote.checkin``) and every refusal (``vote.refused``) is a hub record
(device ``hub``, :mod:`.hub`). Provisional votes (仮投票, 公職選挙法 §50) are recorded
on the van (``vote.provisional``, :mod:`.van`) and reach the hub by sync;
:func:`reconcile` (:mod:`.after_sync`) then registers them, and any second event for a
voter (a provisional vote for a voter already checked in, a second provisional vote, a
ballot handed out without the hub's confirmation) becomes an incident (``vote.incident``
record + ``vote_incidents`` row, :mod:`.incidents`) that keeps both events. The rules a
vote keeps are in :mod:`.rules`, the record kinds, wording and requests in :mod:`.kinds`.

The package's names below are the ones the station screen, the hub's HTTP answers, the
console and the commands use as ``checkin.<name>``.
"""

from __future__ import annotations

from odekake.voting.checkin.after_sync import reconcile, synced_vote_code
from odekake.voting.checkin.hub import checkin, election_status, release, voter_status
from odekake.voting.checkin.incidents import Incident, incidents
from odekake.voting.checkin.kinds import (
    BLOCKED,
    CAST,
    CHECKED_IN,
    CHECKIN,
    HUB_DEVICE,
    INCIDENT,
    INCIDENT_LABELS,
    PENDING,
    PROVISIONAL,
    REFUSAL_MESSAGES,
    REFUSED,
    RELEASE_MESSAGES,
    RELEASED,
    RESOLVED,
    WITHDRAWN,
    Answer,
    CheckinRequest,
    ReleaseRequest,
)
from odekake.voting.checkin.rules import (
    clerk_serves,
    is_clerk,
    is_election_clerk,
    rule_code,
    setting_int,
    within_hours,
)
from odekake.voting.checkin.van import (
    local_vote,
    new_request_id,
    pending_request,
    record_blocked,
    record_cast,
    record_checked_in,
    record_pending,
    record_provisional,
    record_resolved,
    record_withdrawn,
    verify_second_clerk,
)

__all__ = [
    "BLOCKED",
    "CAST",
    "CHECKED_IN",
    "CHECKIN",
    "HUB_DEVICE",
    "INCIDENT",
    "INCIDENT_LABELS",
    "PENDING",
    "PROVISIONAL",
    "REFUSAL_MESSAGES",
    "REFUSED",
    "RELEASED",
    "RELEASE_MESSAGES",
    "RESOLVED",
    "WITHDRAWN",
    "Answer",
    "CheckinRequest",
    "Incident",
    "ReleaseRequest",
    "checkin",
    "clerk_serves",
    "election_status",
    "incidents",
    "is_clerk",
    "is_election_clerk",
    "local_vote",
    "new_request_id",
    "pending_request",
    "reconcile",
    "record_blocked",
    "record_cast",
    "record_checked_in",
    "record_pending",
    "record_provisional",
    "record_resolved",
    "record_withdrawn",
    "release",
    "rule_code",
    "setting_int",
    "synced_vote_code",
    "verify_second_clerk",
    "voter_status",
    "within_hours",
]
