"""What the van and the hub exchange about a vote: the record kinds, the Japanese
wording of refusals, releases and incidents, and the check-in and release requests with
the hub's stored answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from odekake.errors import ValidationError
from odekake.storage.canonical import canonical_json, sha256_hex

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


REQUEST_FIELDS = (
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
        for key in REQUEST_FIELDS:
            value = data.get(key)
            if not isinstance(value, str) or not value.strip() or len(value) > 128:
                raise ValidationError(f"{key} がありません", key)
            values[key] = value.strip()
        return cls(**values)

    def to_json(self) -> dict[str, str]:
        """The request body."""
        return {k: getattr(self, k) for k in REQUEST_FIELDS}

    def fingerprint(self) -> str:
        """A hash of the content, to refuse a request id reused for another request."""
        return sha256_hex(canonical_json(self.to_json()))


@dataclass(frozen=True)
class Answer:
    """The hub's answer: an HTTP status and a JSON body, stored per request id."""

    status_code: int
    body: dict[str, Any]


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
        for key in REQUEST_FIELDS:
            value = data.get(key)
            limit = 200 if key == "reason" else 128
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise ValidationError(f"{key} がありません", key)
            values[key] = value.strip()
        return cls(**values)

    def to_json(self) -> dict[str, str]:
        """The request body."""
        return {k: getattr(self, k) for k in REQUEST_FIELDS}
