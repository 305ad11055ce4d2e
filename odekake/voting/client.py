"""The van's side of the check-in: a typed answer, never a guess.

:meth:`VotingClient.checkin` returns :class:`Confirmed` only when the hub answered
200 with ``status == "confirmed"`` for this very request id. A timeout, a refused or
dropped connection, a 5xx or an unreadable body is :class:`Offline` — never confirmed.
Retries (automatic ones, or a later :meth:`checkin` with ``request_id=``) reuse the
same request id, so the hub answers them with its stored answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from odekake.storage import strictjson
from odekake.sync.auth import UnverifiedAnswer
from odekake.voting.checkin.kinds import CheckinRequest, ReleaseRequest
from odekake.voting.checkin.van import new_request_id


@dataclass(frozen=True)
class Confirmed:
    """The hub checked the voter in: hand out these ballots."""

    request_id: str
    ballots: tuple[tuple[str, str], ...]  # (kind, label)
    station_id: str
    station_name: str
    checked_at: str


@dataclass(frozen=True)
class AlreadyVoted:
    """The voter has already voted (or voted provisionally): no ballot."""

    request_id: str
    station_id: str
    station_name: str
    checked_at: str
    kind: str = "checkin"
    # Who recorded the first vote: the clerk (name and id) and the device.
    clerk: str = ""
    device_id: str = ""


@dataclass(frozen=True)
class Refused:
    """The hub refused for another reason (not on the roll, station not open …)."""

    request_id: str
    code: str
    message: str


@dataclass(frozen=True)
class Offline:
    """No answer from the hub: the check-in may or may not have happened there."""

    request_id: str
    reason: str


@dataclass(frozen=True)
class Unknown:
    """The hub answered, but the van cannot verify the answer (e.g. the hub's key was
    changed and this van has not pinned the new one): the hub may well have checked
    the voter in. Retry the same request id once the key problem is fixed."""

    request_id: str
    reason: str


@dataclass(frozen=True)
class Released:
    """The hub released the check-in (交付取りやめ)."""

    request_id: str


CheckinResult = Confirmed | AlreadyVoted | Refused | Offline | Unknown
ReleaseResult = Released | Refused | Offline | Unknown

UNVERIFIED_VOTE = (
    "ハブの応答の署名を確認できません。ハブでは名簿対照が記録されている可能性があります(結果不明)"
)


def interpret(request_id: str, status_code: int, body: Any) -> CheckinResult:
    """Turn an HTTP answer into a typed result; anything unexpected is Offline."""
    if not isinstance(body, dict) or body.get("request_id") != request_id:
        return Offline(request_id, f"ハブの応答が読めません (HTTP {status_code})")
    status = body.get("status")
    try:
        if status_code == 200 and status == "confirmed":
            ballots = tuple((str(b["kind"]), str(b["label"])) for b in body["ballots"])
            if not ballots:
                return Offline(request_id, "ハブの応答に投票用紙がありません")
            return Confirmed(
                request_id,
                ballots,
                str(body["station_id"]),
                str(body["station_name"]),
                str(body["checked_at"]),
            )
        if status_code == 200 and status == "already_voted":
            first = body["first"]
            return AlreadyVoted(
                request_id,
                str(first["station_id"]),
                str(first["station_name"]),
                str(first["checked_at"]),
                str(first.get("kind", "checkin")),
                " ".join(
                    x
                    for x in (str(first.get("clerk_name") or ""), str(first.get("clerk_id") or ""))
                    if x
                ),
                str(first.get("device_id") or ""),
            )
        if status_code == 422 and status == "refused":
            return Refused(request_id, str(body["code"]), str(body["message"]))
    except (KeyError, TypeError):
        return Offline(request_id, f"ハブの応答が読めません (HTTP {status_code})")
    return Offline(request_id, f"ハブの応答が異常です (HTTP {status_code})")


def transport_trouble(exc: httpx.HTTPError) -> str:
    """What went wrong on the way to the hub, in the clerk's words (the screen shows it
    and a 仮投票 keeps it as its cause): never an exception's English name."""
    if isinstance(exc, httpx.ConnectError):
        return "ハブに接続できません"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "ハブに接続できません(通信が途中で切れました)"
    return "ハブに接続できません(通信エラー)"


class CheckinClient(Protocol):
    """What the kiosk's voting screen needs from a client (tests may pass a fake)."""

    def checkin(
        self,
        *,
        election_id: str,
        voter_no: str,
        station_id: str,
        clerk_id: str,
        device_id: str,
        reason: str,
        request_id: str | None = None,
    ) -> CheckinResult:
        """Ask the hub to check the voter in."""
        ...

    def release(self, req: ReleaseRequest) -> ReleaseResult:
        """Tell the hub a checked-in voter got no ballot (交付取りやめ)."""
        ...


class VotingClient:
    """HTTP client for the hub's check-in endpoint.

    Args:
        base_url: The hub, e.g. ``http://127.0.0.1:8765``.
        timeout: Seconds to wait for the whole answer.
        attempts: How many times to try on a transport error (same request id).
        auth: An ``httpx.Auth`` that signs each request (the hub's device signature).
        transport: An ``httpx`` transport (tests).
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 5.0,
        *,
        attempts: int = 1,
        auth: httpx.Auth | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.auth = auth
        self.transport = transport

    def checkin(
        self,
        *,
        election_id: str,
        voter_no: str,
        station_id: str,
        clerk_id: str,
        device_id: str,
        reason: str,
        request_id: str | None = None,
    ) -> CheckinResult:
        """Ask the hub to check the voter in (never raises on network trouble)."""
        req = CheckinRequest(
            request_id=request_id or new_request_id(),
            election_id=election_id,
            voter_no=voter_no,
            station_id=station_id,
            clerk_id=clerk_id,
            device_id=device_id,
            reason=reason,
        )
        return self.resend(req)

    def resend(self, req: CheckinRequest) -> CheckinResult:
        """Send exactly this request (a retry: the hub answers it with its stored answer)."""
        last: CheckinResult = Offline(req.request_id, "未送信")
        for _ in range(self.attempts):
            last = self._send(req)
            if not isinstance(last, Offline):
                return last
        return last

    def release(self, req: ReleaseRequest) -> ReleaseResult:
        """Tell the hub a checked-in voter got no ballot (never raises on network trouble)."""
        answer = self._post("/vote/release", req.to_json(), req.request_id)
        if not isinstance(answer, tuple):
            return answer
        response, body = answer
        if not isinstance(body, dict) or body.get("request_id") != req.request_id:
            return Offline(req.request_id, f"ハブの応答が読めません (HTTP {response.status_code})")
        if response.status_code == 200 and body.get("status") == "released":
            return Released(req.request_id)
        if response.status_code == 422 and body.get("status") == "refused":
            return Refused(req.request_id, str(body.get("code")), str(body.get("message")))
        return Offline(req.request_id, f"ハブの応答が異常です (HTTP {response.status_code})")

    def reachable(self, timeout: float | None = None) -> bool:
        """True when the hub's voting service answers its health check right now."""
        try:
            with httpx.Client(
                timeout=timeout or min(self.timeout, 3.0), transport=self.transport
            ) as http:
                response = http.get(f"{self.base_url}/vote/health")
            return response.status_code == 200 and response.json().get("ok") is True
        except (httpx.HTTPError, ValueError, AttributeError):
            return False

    def _post(
        self, path: str, payload: dict[str, Any], request_id: str
    ) -> tuple[httpx.Response, Any] | Offline | Unknown:
        """POST a signed request: the response and its body (repeated keys refused), or
        why there is no answer to act on (offline, or an answer that does not verify)."""
        try:
            with httpx.Client(
                timeout=self.timeout, auth=self.auth, transport=self.transport
            ) as http:
                response = http.post(f"{self.base_url}{path}", json=payload)
            return response, strictjson.loads(response.content)
        except UnverifiedAnswer:
            return Unknown(request_id, UNVERIFIED_VOTE)
        except httpx.TimeoutException:
            return Offline(request_id, "ハブの応答がありません(時間切れ)")
        except httpx.HTTPError as exc:
            return Offline(request_id, transport_trouble(exc))
        except ValueError:
            return Offline(request_id, "ハブの応答が読めません")

    def _send(self, req: CheckinRequest) -> CheckinResult:
        answer = self._post("/vote/checkin", req.to_json(), req.request_id)
        if not isinstance(answer, tuple):
            return answer
        response, body = answer
        return interpret(req.request_id, response.status_code, body)
