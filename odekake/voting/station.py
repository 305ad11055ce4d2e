"""The voting station's flow on the van, as a state machine (no Textual).

The kiosk's clerk screen only shows what :class:`StationFlow` says and calls its
transitions; every rule of the flow lives here and is tested here:

- ``searching`` → (a voter chosen) ``chosen`` → (名簿対照) ``waiting`` for the hub, unless
  this van itself already recorded a vote for the voter (then ``blocked`` at once).
- The hub's answer: ``Confirmed`` → ``issuable`` (交付可), recorded on the van at once
  (``vote.checked_in``); ``AlreadyVoted`` → ``blocked`` (投票不可); ``Refused`` →
  ``refused``; no answer → ``offline`` (retry, or 仮投票); an answer the van cannot
  verify → ``unknown`` (retry only: the hub may have checked the voter in).
- ``issuable`` is left only by 交付しました (``vote.cast``) or 交付取りやめ with a reason
  (``vote.withdrawn``, sent to the hub which releases the check-in) — never by 次の選挙人,
  Escape or quitting.
- ``blocked`` is left only by closing it: a second clerk's PIN, or quitting the kiosk
  after a question; both are recorded (``vote.blocked``).
- A check-in without a definite answer is kept (``vote.pending``): the next attempt
  for the same voter, now or after the clerk moved on, resends the very same request,
  which the hub answers with the answer it stored.

Network calls (:meth:`StationFlow.send`, :meth:`StationFlow.send_release`) touch no
database, so a screen may run them in a worker thread; every other method runs on
the caller's thread (the one that owns the van database).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlite_utils

from odekake.errors import OdekakeError, ValidationError
from odekake.storage.db import device_id_of
from odekake.storage.records import Record
from odekake.voting import checkin as ck
from odekake.voting import roll as rl
from odekake.voting.client import (
    AlreadyVoted,
    CheckinClient,
    CheckinResult,
    Confirmed,
    Offline,
    Refused,
    Released,
    ReleaseResult,
    Unknown,
)
from odekake.voting.elections import JST, REASONS, Election, Station

_T = TypeVar("_T")

PENDING_CAUSE = "ハブに照会中(結果未着)"


class Phase(StrEnum):
    """Where the clerk is with the current voter."""

    SEARCHING = "searching"
    CHOSEN = "chosen"
    WAITING = "waiting"
    ISSUABLE = "issuable"
    BLOCKED = "blocked"
    OFFLINE = "offline"
    UNKNOWN = "unknown"
    REFUSED = "refused"


MESSAGES: dict[str, str] = {
    "waiting": "ハブに照会中です… 投票用紙はまだ交付できません。",
    "confirmed": "交付可\n名簿対照済み({time})。交付する投票用紙: {ballots}",
    "refused": "交付できません: {message}(理由コード {code})",
    "offline": "{reason}。名簿対照ができないため交付はできません。仮投票のみ受け付けられます。",
    "unknown": (
        "{reason}。投票用紙は交付できません。鍵の問題が解決したら(管理者に連絡)"
        "「もう一度ハブに照会」で同じ照会をやり直してください。"
    ),
    "provisional_done": "仮投票として記録しました(仮投票用封筒を使用してください)。",
    "handed_done": "交付を記録しました。",
    "withdrawn_sending": "交付取りやめを記録しました。ハブに連絡しています…",
    "withdrawn_released": "交付取りやめを記録し、ハブの名簿対照を取り消しました。",
    "withdrawn_later": (
        "交付取りやめを記録しました。ハブには届いていません({reason})。"
        "次の同期でハブの名簿対照が取り消されます。"
    ),
    "withdrawn_refused": "交付取りやめを記録しました。ハブの回答: {message}",
    "blocked": "投票不可",
    "blocked_done": "投票不可として記録しました(確認: {clerk})。投票用紙は交付していません。",
    "not_found": "選挙人名簿に見つかりません。入場券・フリガナ・生年月日を確認してください。",
    "many_found": "{n}人が該当します。生年月日・住所で確認して選んでください。",
    "choose_reason": "宣誓書の事由を選んでください。",
    "choose_voter": "先に選挙人を確認してください。",
    "hold_waiting": "ハブの回答を待っています。回答が出てから操作してください。",
    "hold_issuable": "先に「投票用紙を交付しました」か「交付取りやめ」を選んでください。",
    "hold_blocked": "投票不可の画面を閉じてください(2人目の事務従事者の確認)。",
    "pending_retry": "前回の照会の結果が不明です。同じ照会をハブにやり直します。",
}


class StationBusy(OdekakeError):
    """The clerk cannot do that now (the hub is being asked, or a voter must be settled)."""


@dataclass(frozen=True)
class Blocked:
    """Why the voter is 投票不可: the first vote, and whether the van itself knew it."""

    station_id: str
    station_name: str
    checked_at: str
    kind: str  # checkin | provisional
    local: bool
    request_id: str | None = None
    # Who recorded the first vote (as the hub tells it): the clerk and the device.
    clerk: str = ""
    device_id: str = ""

    def first(self) -> dict[str, str]:
        """The first vote as the ``vote.blocked`` record keeps it."""
        return {"station_id": self.station_id, "checked_at": self.checked_at, "kind": self.kind}


def _ballots(c: Confirmed) -> str:
    return "・".join(label for _, label in c.ballots)


class StationFlow:
    """One clerk at one station: the voter in front of them, from search to outcome.

    Args:
        van_db: The van database (votes are recorded through :mod:`checkin`).
        client: Asks the hub (``checkin``; ``release`` for 交付取りやめ).
        election: Today's election.
        station_id: Today's station of this van.
        clerk_id: The logged-in election clerk.
        stop_id: The open stop (kept on the records).
        renew_client: Makes a fresh client for a retry (e.g. with a hub key pinned
            again since); called on the caller's thread.
    """

    def __init__(
        self,
        van_db: sqlite_utils.Database,
        client: CheckinClient,
        election: Election,
        station_id: str,
        clerk_id: str,
        *,
        stop_id: str | None = None,
        renew_client: Callable[[], CheckinClient] | None = None,
    ) -> None:
        self.van_db = van_db
        self.client = client
        self.election = election
        self.station: Station = election.station(station_id)
        self.clerk_id = clerk_id
        self.stop_id = stop_id
        self.renew_client = renew_client
        self.device_id = device_id_of(van_db)
        self.phase = Phase.SEARCHING
        self.voter: rl.Voter | None = None
        self.request: ck.CheckinRequest | None = None
        self.confirmed: Confirmed | None = None
        self.blocked: Blocked | None = None
        self.cause = ""
        self.message = ""
        self.tone = ""
        self._retrying = False

    # --- what the screen asks --------------------------------------------------------

    def _say(self, text: str, tone: str = "") -> None:
        self.message = text
        self.tone = tone

    def hold(self) -> str | None:
        """Why the clerk cannot move on (next voter, Escape, quit) right now, else None."""
        if self.phase is Phase.WAITING:
            return MESSAGES["hold_waiting"]
        if self.phase is Phase.ISSUABLE:
            return MESSAGES["hold_issuable"]
        if self.phase is Phase.BLOCKED:
            return MESSAGES["hold_blocked"]
        return None

    def _not_busy(self) -> None:
        why = self.hold()
        if why is not None:
            self._say(why, "ng")
            raise StationBusy(why)

    # --- finding the voter -------------------------------------------------------------

    def find_ticket(self, code: str) -> rl.Voter | None:
        """The voter of a scanned entry ticket; chosen at once when found.

        Raises:
            StationBusy: The current voter is not settled.
            RollLocked: The roll is sealed (no clerk logged in on this van); said too.
        """
        self._not_busy()
        voter = self._looked_up(lambda: rl.find_by_voter_no(self.van_db, self.election.id, code))
        if voter is None:
            self.reset()
            self._say(MESSAGES["not_found"], "ng")
            return None
        self.choose(voter)
        return voter

    def find(self, kana: str, birth: str) -> list[rl.Voter]:
        """Voters whose フリガナ starts with ``kana`` (a surname is enough), born on ``birth``.

        One match is chosen at once; several are listed for the clerk to pick.

        Raises:
            StationBusy: The current voter is not settled.
            ValidationError: No フリガナ, or an unreadable birth date.
            RollLocked: The roll is sealed (no clerk logged in on this van); said too.
        """
        self._not_busy()
        self.reset()
        found = self._looked_up(lambda: rl.find_by_kana(self.van_db, self.election.id, kana, birth))
        if len(found) == 1:
            self.choose(found[0])
        elif not found:
            self._say(MESSAGES["not_found"], "ng")
        else:
            self._say(MESSAGES["many_found"].format(n=len(found)))
        return found

    def _looked_up(self, lookup: Callable[[], _T]) -> _T:
        """Run a roll lookup; a sealed roll (no clerk logged in) is said, then raised."""
        try:
            return lookup()
        except rl.RollLocked as exc:
            self.reset()
            self._say(str(exc), "ng")
            raise

    def choose(self, voter: rl.Voter) -> None:
        """The clerk has identified the voter (名簿対照 comes next).

        Raises:
            StationBusy: The current voter is not settled.
        """
        self._not_busy()
        self.reset()
        self.voter = voter
        self.phase = Phase.CHOSEN

    def reset(self) -> None:
        """Forget the current voter (only when nothing about them is unsettled).

        Raises:
            StationBusy: The hub is being asked, or a voter is 交付可 or 投票不可.
        """
        self._not_busy()
        self.phase = Phase.SEARCHING
        self.voter = None
        self.request = None
        self.confirmed = None
        self.blocked = None
        self.cause = ""
        self._retrying = False
        self._say("")

    next_voter = reset

    # --- the check-in ------------------------------------------------------------------

    def start(self, reason: str | None) -> ck.CheckinRequest | None:
        """名簿対照: the request to send to the hub, or None when decided here.

        None with phase ``blocked``: this van already recorded a vote for the voter
        (the hub is not asked, online or not). None with another phase: nothing to do
        (no voter, no reason — said in :attr:`message`). A check-in of the voter whose
        outcome is unknown is resent as it was (same request id, reason and clerk).
        """
        if self.phase is Phase.WAITING:
            return None
        if self.voter is None or self.phase not in (
            Phase.CHOSEN,
            Phase.OFFLINE,
            Phase.UNKNOWN,
            Phase.REFUSED,
        ):
            self._say(MESSAGES["choose_voter"], "ng")
            return None
        if self.phase in (Phase.OFFLINE, Phase.UNKNOWN) and self.request is not None:
            return self._send_again()
        if reason not in REASONS:
            self._say(MESSAGES["choose_reason"], "ng")
            return None
        mine = ck.local_vote(self.van_db, self.election.id, self.voter.voter_no)
        if mine is not None:
            self._block(
                Blocked(
                    mine["station_id"],
                    mine["station_name"],
                    mine["checked_at"],
                    mine["kind"],
                    local=True,
                )
            )
            return None
        pending = ck.pending_request(self.van_db, self.election.id, self.voter.voter_no)
        if pending is not None:
            self.request = pending
            self._retrying = True
            return self._send_again()
        self.request = ck.CheckinRequest(
            request_id=ck.new_request_id(),
            election_id=self.election.id,
            voter_no=self.voter.voter_no,
            station_id=self.station.id,
            clerk_id=self.clerk_id,
            device_id=self.device_id,
            reason=reason,
        )
        # Written ahead, before the hub is asked: should the kiosk die after the hub
        # confirmed but before 交付可 is recorded, the next attempt for this voter
        # resends this very request and the hub answers it as it did (not 投票不可).
        ck.record_pending(self.van_db, self.request, cause=PENDING_CAUSE, stop_id=self.stop_id)
        self._retrying = True
        self.cause = PENDING_CAUSE
        self.phase = Phase.WAITING
        self._say(MESSAGES["waiting"])
        return self.request

    def _send_again(self) -> ck.CheckinRequest:
        assert self.request is not None
        if self.renew_client is not None:
            self.client = self.renew_client()
        self._retrying = True
        self.phase = Phase.WAITING
        self._say(MESSAGES["waiting"])
        return self.request

    def send(self, req: ck.CheckinRequest) -> CheckinResult:
        """Ask the hub (thread-safe: no database). Never raises, never guesses."""
        try:
            return self.client.checkin(**req.to_json())
        except Exception:  # a client bug must never look like a confirmation
            return Offline(req.request_id, "ハブとの通信で想定外の問題が起きました")

    def answered(self, request_id: str, result: CheckinResult) -> bool:
        """Take the hub's answer to the request in flight; False if it is stale."""
        req = self.request
        if req is None or request_id != req.request_id or self.phase is not Phase.WAITING:
            return False
        assert self.voter is not None
        if isinstance(result, Confirmed):
            # Recorded before anything is shown: from now on this van blocks the voter.
            ck.record_checked_in(
                self.van_db,
                election=self.election,
                station_id=self.station.id,
                voter=self.voter,
                request_id=req.request_id,
                ballots=[kind for kind, _ in result.ballots],
                clerk_id=self.clerk_id,
                checked_at=result.checked_at,
                stop_id=self.stop_id,
            )
            self.confirmed = result
            self.phase = Phase.ISSUABLE
            t = datetime.fromisoformat(result.checked_at).astimezone(JST)
            self._say(
                MESSAGES["confirmed"].format(
                    time=f"{t.month}月{t.day}日 {t:%H:%M}", ballots=_ballots(result)
                ),
                "ok",
            )
        elif isinstance(result, AlreadyVoted):
            self._block(
                Blocked(
                    result.station_id,
                    result.station_name,
                    result.checked_at,
                    result.kind,
                    local=False,
                    request_id=req.request_id,
                    clerk=result.clerk,
                    device_id=result.device_id,
                )
            )
        elif isinstance(result, Refused):
            if self._retrying:
                ck.record_resolved(self.van_db, req, status="refused", code=result.code)
            self.request = None
            self.phase = Phase.REFUSED
            self._say(MESSAGES["refused"].format(message=result.message, code=result.code), "ng")
        else:
            written_ahead = self.cause == PENDING_CAUSE
            if not written_ahead and (not self._retrying or self.cause != result.reason):
                ck.record_pending(self.van_db, req, cause=result.reason, stop_id=self.stop_id)
            self._retrying = True
            self.cause = result.reason
            if isinstance(result, Unknown):
                self.phase = Phase.UNKNOWN
                self._say(MESSAGES["unknown"].format(reason=result.reason), "ng")
            else:
                self.phase = Phase.OFFLINE
                self._say(MESSAGES["offline"].format(reason=result.reason), "ng")
        return True

    def _block(self, blocked: Blocked) -> None:
        self.blocked = blocked
        self.phase = Phase.BLOCKED
        self._say(MESSAGES["blocked"], "ng")

    # --- leaving a voter -----------------------------------------------------------------

    def handed(self) -> Record:
        """投票用紙を交付しました (only from 交付可).

        Raises:
            StationBusy: No confirmed voter.
        """
        if self.phase is not Phase.ISSUABLE or self.confirmed is None or self.voter is None:
            raise StationBusy(MESSAGES["choose_voter"])
        r = ck.record_cast(
            self.van_db,
            election=self.election,
            station_id=self.station.id,
            voter=self.voter,
            request_id=self.confirmed.request_id,
            ballots=[kind for kind, _ in self.confirmed.ballots],
            clerk_id=self.clerk_id,
            checked_at=self.confirmed.checked_at,
            stop_id=self.stop_id,
        )
        self.phase = Phase.CHOSEN  # settled: reset() may now run
        self.reset()
        self._say(MESSAGES["handed_done"])
        return r

    def withdraw(self, reason: str) -> ck.ReleaseRequest:
        """交付取りやめ (only from 交付可): recorded now; the release to send to the hub.

        Raises:
            StationBusy: No confirmed voter.
            ValidationError: No reason.
        """
        if self.phase is not Phase.ISSUABLE or self.confirmed is None or self.voter is None:
            raise StationBusy(MESSAGES["choose_voter"])
        assert self.request is not None
        ck.record_withdrawn(
            self.van_db,
            election=self.election,
            station_id=self.station.id,
            voter=self.voter,
            request_id=self.confirmed.request_id,
            clerk_id=self.clerk_id,
            reason=reason,
            stop_id=self.stop_id,
        )
        release = ck.ReleaseRequest(
            request_id=self.confirmed.request_id,
            election_id=self.election.id,
            voter_no=self.voter.voter_no,
            station_id=self.station.id,
            clerk_id=self.clerk_id,
            device_id=self.device_id,
            reason=reason.strip(),
        )
        self.phase = Phase.CHOSEN
        self.reset()
        self._say(MESSAGES["withdrawn_sending"])
        return release

    def send_release(self, req: ck.ReleaseRequest) -> ReleaseResult:
        """Tell the hub (thread-safe: no database). Never raises."""
        release = getattr(self.client, "release", None)
        if not callable(release):
            return Offline(req.request_id, "ハブに接続できません")
        try:
            result: ReleaseResult = release(req)
        except Exception:
            return Offline(req.request_id, "ハブとの通信で想定外の問題が起きました")
        return result

    def released(self, result: ReleaseResult) -> None:
        """Say what became of the 交付取りやめ at the hub (the record is already kept)."""
        if isinstance(result, Released):
            self._say(MESSAGES["withdrawn_released"])
        elif isinstance(result, Refused):
            self._say(MESSAGES["withdrawn_refused"].format(message=result.message), "ng")
        else:
            self._say(MESSAGES["withdrawn_later"].format(reason=result.reason), "ng")

    def provisional(self, reason: str | None) -> Record:
        """仮投票 (only when the hub could not answer; the screen asks first).

        Raises:
            StationBusy: The hub answered (or was not asked).
            ValidationError: No 宣誓書 reason.
        """
        if self.phase is not Phase.OFFLINE or self.voter is None or self.request is None:
            raise StationBusy(MESSAGES["choose_voter"])
        if reason not in REASONS:
            self._say(MESSAGES["choose_reason"], "ng")
            raise ValidationError(MESSAGES["choose_reason"], "reason")
        r = ck.record_provisional(
            self.van_db,
            election=self.election,
            station_id=self.station.id,
            voter=self.voter,
            reason=reason,
            clerk_id=self.clerk_id,
            request_id=self.request.request_id,
            cause=self.cause,
            stop_id=self.stop_id,
        )
        self.phase = Phase.CHOSEN
        self.reset()
        self._say(MESSAGES["provisional_done"])
        return r

    def _close_blocked(self, second_clerk_id: str, closed_by: str) -> Record:
        if self.phase is not Phase.BLOCKED or self.blocked is None or self.voter is None:
            raise StationBusy(MESSAGES["choose_voter"])
        r = ck.record_blocked(
            self.van_db,
            election_id=self.election.id,
            station_id=self.station.id,
            voter_no=self.voter.voter_no,
            clerk_id=self.clerk_id,
            second_clerk_id=second_clerk_id,
            first=self.blocked.first(),
            request_id=self.blocked.request_id,
            closed_by=closed_by,
        )
        self.phase = Phase.CHOSEN
        self.reset()
        return r

    def close_blocked(self, second_clerk_id: str, pin: str) -> Record:
        """A second clerk closes 投票不可 (no ballot); recorded.

        Raises:
            OdekakeError: The second clerk is the same person, unknown, not a clerk,
                or the PIN is wrong (nothing changes).
        """
        ck.verify_second_clerk(self.van_db, self.clerk_id, second_clerk_id, pin)
        clerk = second_clerk_id.strip()
        r = self._close_blocked(clerk, "second_clerk")
        self._say(MESSAGES["blocked_done"].format(clerk=clerk), "ng")
        return r

    def close_blocked_on_quit(self) -> Record:
        """The clerk quits the kiosk on 投票不可 (after a question): recorded, no ballot."""
        return self._close_blocked("", "quit")

    def describe(self) -> dict[str, Any]:
        """The state in a few fields (logs, tests)."""
        return {
            "phase": str(self.phase),
            "voter_no": self.voter.voter_no if self.voter else None,
            "request_id": self.request.request_id if self.request else None,
        }
