"""The election clerk's screen: roll check at the hub, then ballots — or no ballots.

Only a :class:`~odekake.voting.client.Confirmed` answer from the hub shows 「交付可」.
An already-voted answer pushes a blocking full-screen 「投票不可」 that only a second
clerk's PIN can release. With no answer (timeout, dropped connection, hub killed
between request and answer) the screen says so and offers only a retry with the same
request id or the provisional path (仮投票), recorded as provisional.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import ClassVar

import sqlite_utils
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, OptionList, Select, Static
from textual.widgets._select import SelectOverlay
from textual.widgets.option_list import Option

from kiosk.voting_labels import LABELS, REASON_SHORT
from kiosk.widgets.footer import KioskFooter
from odekake.db import device_id_of
from odekake.errors import OdekakeError
from odekake.services.stops import van_id_of
from odekake.voting import checkin as ck
from odekake.voting import roll as rl
from odekake.voting.client import (
    AlreadyVoted,
    CheckinClient,
    CheckinResult,
    Confirmed,
    Offline,
    Refused,
    VotingClient,
)
from odekake.voting.elections import JST, REASONS, Election, current_station


def _when(iso: str) -> str:
    t = datetime.fromisoformat(iso).astimezone(JST)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


class VoteBlockedModal(ModalScreen[str]):
    """Full-screen 投票不可: names where and when; only a second clerk's PIN leaves it."""

    DEFAULT_CSS = """
    VoteBlockedModal { align: center middle; background: $error 90%; }
    VoteBlockedModal > Vertical { width: 100%; height: 100%; padding: 2 4; background: $error; }
    VoteBlockedModal #blocked-title { text-style: bold; content-align: center middle; width: 100%; height: 3; }
    VoteBlockedModal Input { width: 40; }
    VoteBlockedModal Button:focus { text-style: bold reverse; border: tall $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stay", show=False, priority=True)]

    def __init__(
        self,
        van_db: sqlite_utils.Database,
        *,
        election_id: str,
        station_id: str,
        clerk_id: str,
        voter_no: str,
        answer: AlreadyVoted,
        local: bool = False,
    ) -> None:
        super().__init__()
        self.local = local
        self.van_db = van_db
        self.election_id = election_id
        self.station_id = station_id
        self.clerk_id = clerk_id
        self.voter_no = voter_no
        self.answer = answer

    def compose(self) -> ComposeResult:
        a = self.answer
        what = LABELS[f"blocked_what_{'provisional' if a.kind == 'provisional' else 'checkin'}"]
        with Vertical():
            yield Static(LABELS["blocked_title"], id="blocked-title")
            yield Static(
                LABELS["blocked_body"].format(
                    where=a.station_name, when=_when(a.checked_at), what=what
                ),
                id="blocked-body",
            )
            if a.clerk:
                yield Static(
                    LABELS["blocked_by"].format(clerk=a.clerk, device=a.device_id or "—"),
                    id="blocked-by",
                )
            if self.local:
                yield Static(LABELS["blocked_local"], id="blocked-local")
            yield Input(placeholder=LABELS["second_clerk"], id="second-clerk")
            yield Input(placeholder=LABELS["second_pin"], password=True, id="second-pin")
            yield Button(LABELS["blocked_release"], id="release", variant="warning")
            yield Static("", id="blocked-error")

    def action_stay(self) -> None:
        """Escape does not leave: the block is left only with a second clerk's PIN (said)."""
        self.query_one("#blocked-error", Static).update(LABELS["blocked_how"])

    @on(Input.Submitted, "#second-pin")
    @on(Button.Pressed, "#release")
    def release(self) -> None:
        """Check the second clerk; on success record the acknowledgement and close."""
        clerk = self.query_one("#second-clerk", Input).value
        pin = self.query_one("#second-pin", Input).value
        try:
            ck.verify_second_clerk(self.van_db, self.clerk_id, clerk, pin)
        except OdekakeError as exc:
            self.query_one("#second-pin", Input).value = ""
            self.query_one("#blocked-error", Static).update(str(exc))
            return
        ck.record_blocked(
            self.van_db,
            election_id=self.election_id,
            station_id=self.station_id,
            voter_no=self.voter_no,
            clerk_id=self.clerk_id,
            second_clerk_id=clerk.strip(),
            first={
                "station_id": self.answer.station_id,
                "checked_at": self.answer.checked_at,
                "kind": self.answer.kind,
            },
        )
        self.dismiss(clerk.strip())


class VotingScreen(Screen[None]):
    """Find the voter, record the 宣誓書 reason, check in at the hub, hand out ballots."""

    DEFAULT_CSS = """
    VotingScreen { padding: 0 1; }
    VotingScreen Horizontal { height: auto; }
    VotingScreen #kana { width: 1fr; }
    VotingScreen #birth { width: 1fr; }
    VotingScreen #matches { height: auto; max-height: 6; }
    VotingScreen #result { height: auto; min-height: 3; padding: 0 1; text-style: bold; }
    VotingScreen #result.ok { background: $success; }
    VotingScreen #result.ng { background: $error; }
    VotingScreen #hub-status { height: 1; }
    VotingScreen #hub-status.ok { color: $success; }
    VotingScreen #hub-status.ng { color: $error; text-style: bold; }
    VotingScreen Button:focus { text-style: bold reverse; border: tall $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", LABELS["leave"]),
        Binding("f2", "next_voter", LABELS["next_key"]),
    ]

    def __init__(
        self,
        client: CheckinClient,
        van_db: sqlite_utils.Database,
        election: Election,
        station_id: str,
        clerk_id: str,
        *,
        stop_id: str | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.van_db = van_db
        self.election = election
        self.station = election.station(station_id)
        self.clerk_id = clerk_id
        self.stop_id = stop_id
        self.device_id = device_id_of(van_db)
        self.voter: rl.Voter | None = None
        self.request_id: str | None = None
        self.confirmed: Confirmed | None = None
        self.offline: Offline | None = None
        self.waiting = False
        self.hub_ok: bool | None = None
        self._matches: list[rl.Voter] = []

    def compose(self) -> ComposeResult:
        yield Static(f"{LABELS['title']}  {self.election.name}  {self.station.name}", id="title")
        yield Static(LABELS["hub_checking"], id="hub-status")
        yield Input(placeholder=LABELS["ticket"], id="ticket")
        with Horizontal():
            yield Input(placeholder=LABELS["kana"], id="kana")
            yield Input(placeholder=LABELS["birth"], id="birth")
            yield Button(LABELS["search"], id="search")
        yield OptionList(id="matches")
        yield Static("", id="voter")
        yield Select(
            [(REASON_SHORT.get(code, label), code) for code, label in REASONS.items()],
            prompt=LABELS["reason"],
            id="reason",
        )
        yield Button(LABELS["checkin"], id="checkin", variant="primary", disabled=True)
        yield Static("", id="result")
        with Horizontal(id="actions"):
            yield Button(LABELS["handed"], id="handed", variant="success")
            yield Button(LABELS["retry"], id="retry")
            yield Button(LABELS["provisional"], id="provisional", variant="warning")
            yield Button(LABELS["next"], id="next")
        yield KioskFooter()

    def on_mount(self) -> None:
        # The reason list's own key (Escape) in Japanese in the footer.
        overlay = self.query_one("#reason", Select).query_one(SelectOverlay)
        keys = overlay._bindings.key_to_bindings
        keys["escape"] = [
            dataclasses.replace(b, description=LABELS["close_list"]) for b in keys["escape"]
        ]
        self._reset()
        self._probe_hub()

    # --- the hub's reachability (shown before the clerk starts) ----------------------

    @work(thread=True, exclusive=True, group="vote-probe")
    def _probe_hub(self) -> None:
        probe = getattr(self.client, "reachable", None)
        try:
            ok = bool(probe()) if callable(probe) else None
        except Exception:  # a probe must never break the screen
            ok = False
        if ok is not None:
            self.app.call_from_thread(self._hub_state, ok)

    def _hub_state(self, ok: bool) -> None:
        self.hub_ok = ok
        status = self.query_one("#hub-status", Static)
        status.update(LABELS["hub_ok" if ok else "hub_down"])
        status.set_classes("ok" if ok else "ng")

    # --- leaving -------------------------------------------------------------------

    def action_leave(self) -> None:
        """Escape: back to the menu, unless the hub is being asked or a ballot is due."""
        if self.waiting:
            self._result(LABELS["leave_waiting"], "ng")
            return
        if self.confirmed is not None:
            self._result(LABELS["leave_confirmed"], "ng")
            return
        self.dismiss(None)

    def action_next_voter(self) -> None:
        """F2: clear the screen for the next voter."""
        self.next_voter()

    # --- state ---------------------------------------------------------------------

    def _show(self, *ids: str) -> None:
        for bid in ("handed", "retry", "provisional"):
            self.query_one(f"#{bid}", Button).display = bid in ids

    def _result(self, text: str, cls: str = "") -> None:
        result = self.query_one("#result", Static)
        result.update(text)
        result.set_classes(cls)

    def _reset(self) -> None:
        self.voter = None
        self.request_id = None
        self.confirmed = None
        self.offline = None
        for iid in ("ticket", "kana", "birth"):
            self.query_one(f"#{iid}", Input).value = ""
        self.query_one("#matches", OptionList).display = False
        self.query_one("#voter", Static).update("")
        self.query_one("#reason", Select).clear()
        self.query_one("#checkin", Button).disabled = True
        self._result("")
        self._show()
        self.query_one("#ticket", Input).focus()

    def _clear_selection(self) -> None:
        """Forget the selected voter (a new search has started): no 名簿対照 for them."""
        self.voter = None
        self.request_id = None
        self.confirmed = None
        self.offline = None
        self.query_one("#voter", Static).update("")
        self.query_one("#checkin", Button).disabled = True
        self._show()

    @on(Input.Changed, "#ticket")
    @on(Input.Changed, "#kana")
    @on(Input.Changed, "#birth")
    def typing(self, event: Input.Changed) -> None:
        """Typing a new ticket, フリガナ or birth date starts a new search."""
        if event.value and self.voter is not None and not self.waiting:
            self._clear_selection()
            self._result("")

    def _select_voter(self, voter: rl.Voter) -> None:
        self._reset()
        self.voter = voter
        self.query_one("#voter", Static).update(
            LABELS["voter_line"].format(
                name=voter.name,
                kana=voter.kana,
                birth=voter.birth_date,
                sex=voter.sex_label,
                address=voter.address,
                precinct=voter.precinct,
                voter_no=voter.voter_no,
            )
        )
        self.query_one("#checkin", Button).disabled = False
        self.query_one("#reason", Select).focus()

    # --- finding the voter -----------------------------------------------------------

    def _busy(self) -> bool:
        """While the hub is being asked, the clerk cannot move on to another voter."""
        if self.waiting:
            self._result(LABELS["waiting"])
        return self.waiting

    @on(Input.Submitted, "#ticket")
    def scanned(self, event: Input.Submitted) -> None:
        """A scanner types the ticket's content and Enter."""
        if self._busy():
            return
        self._clear_selection()
        try:
            voter = rl.find_by_voter_no(self.van_db, self.election.id, event.value)
        except OdekakeError as exc:  # the roll is sealed until a clerk logs in
            self._result(str(exc), "ng")
            return
        if voter is None:
            self._reset()
            self._result(LABELS["not_found"], "ng")
            return
        self._select_voter(voter)

    @on(Button.Pressed, "#search")
    @on(Input.Submitted, "#birth")
    def search(self) -> None:
        """Look the voter up by フリガナ + birth date."""
        if self._busy():
            return
        self._clear_selection()
        kana = self.query_one("#kana", Input).value
        birth = self.query_one("#birth", Input).value
        try:
            found = rl.find_by_kana(self.van_db, self.election.id, kana, birth)
        except OdekakeError as exc:
            self._result(str(exc), "ng")
            return
        matches = self.query_one("#matches", OptionList)
        if len(found) == 1:
            self._select_voter(found[0])
        elif not found:
            self._result(LABELS["not_found"], "ng")
        else:
            self._matches = found
            matches.clear_options()
            matches.add_options(
                [Option(f"{v.name} {v.address} ({v.voter_no})", id=v.voter_no) for v in found]
            )
            matches.display = True
            self._result(LABELS["many_found"].format(n=len(found)))
            matches.focus()

    @on(OptionList.OptionSelected, "#matches")
    def picked(self, event: OptionList.OptionSelected) -> None:
        """One of several voters with the same フリガナ and birth date."""
        if self._busy():
            return
        for v in self._matches:
            if v.voter_no == event.option.id:
                self._select_voter(v)

    # --- the check-in ----------------------------------------------------------------

    def _reason(self) -> str | None:
        value = self.query_one("#reason", Select).value
        return value if isinstance(value, str) and value in REASONS else None

    @on(Button.Pressed, "#checkin")
    @on(Button.Pressed, "#retry")
    def start_checkin(self) -> None:
        """Ask the hub (a retry reuses the same request id)."""
        if self.waiting:
            return
        if self.voter is None:
            self._result(LABELS["choose_voter"], "ng")
            return
        reason = self._reason()
        if reason is None:
            self._result(LABELS["choose_reason"], "ng")
            return
        mine = ck.local_vote(self.van_db, self.election.id, self.voter.voter_no)
        if mine is not None:
            # This van already handed this voter a ballot or took a 仮投票: blocked here,
            # online or not (the hub may not have the 仮投票 yet).
            self._blocked(
                AlreadyVoted(
                    "local",
                    mine["station_id"],
                    mine["station_name"],
                    mine["checked_at"],
                    mine["kind"],
                ),
                local=True,
            )
            return
        if self.request_id is None:
            self.request_id = ck.new_request_id()
        self.query_one("#checkin", Button).disabled = True
        self._show()
        self.waiting = True
        self._result(LABELS["waiting"])
        self._ask_hub(self.voter.voter_no, reason, self.request_id)

    @work(thread=True, exclusive=True, group="vote-checkin")
    def _ask_hub(self, voter_no: str, reason: str, request_id: str) -> None:
        result: CheckinResult
        try:
            result = self.client.checkin(
                election_id=self.election.id,
                voter_no=voter_no,
                station_id=self.station.id,
                clerk_id=self.clerk_id,
                device_id=self.device_id,
                reason=reason,
                request_id=request_id,
            )
        except Exception as exc:  # a client bug must never look like a confirmation
            result = Offline(request_id, f"{type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._answered, request_id, result)

    def _blocked(self, answer: AlreadyVoted, *, local: bool = False) -> None:
        if self.voter is None:
            return
        self._result(LABELS["blocked_title"], "ng")
        modal = VoteBlockedModal(
            self.van_db,
            election_id=self.election.id,
            station_id=self.station.id,
            clerk_id=self.clerk_id,
            voter_no=self.voter.voter_no,
            answer=answer,
            local=local,
        )
        self.app.push_screen(modal, self._block_closed)

    def _block_closed(self, second_clerk: str | None) -> None:
        """The second clerk closed 投票不可: say what was recorded (no ballot)."""
        self._reset()
        if second_clerk:
            self._result(LABELS["blocked_done"].format(clerk=second_clerk), "ng")

    def _answered(self, request_id: str, result: CheckinResult) -> None:
        self.waiting = False
        self._hub_state(not isinstance(result, Offline))
        if request_id != self.request_id or self.voter is None:
            return  # the clerk moved on to another voter
        if isinstance(result, Confirmed):
            self.confirmed = result
            ballots = "・".join(label for _, label in result.ballots)
            self._result(
                f"{LABELS['confirmed']}\n"
                + LABELS["confirmed_detail"].format(time=_when(result.checked_at), ballots=ballots),
                "ok",
            )
            self._show("handed")
            self.query_one("#handed", Button).focus()
        elif isinstance(result, AlreadyVoted):
            self._blocked(result)
        elif isinstance(result, Refused):
            self._result(LABELS["refused"].format(message=result.message, code=result.code), "ng")
        else:
            self.offline = result
            self._result(LABELS["offline"].format(reason=result.reason), "ng")
            self._show("retry", "provisional")
            self.query_one("#retry", Button).focus()

    @on(Button.Pressed, "#handed")
    def handed(self) -> None:
        """Record that the ballots were handed out (only after a confirmation)."""
        if self.confirmed is None or self.voter is None:
            return
        ck.record_cast(
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
        self._reset()
        self._result(LABELS["handed_done"])

    @on(Button.Pressed, "#provisional")
    def provisional(self) -> None:
        """Record a provisional vote (only offered when the hub could not answer)."""
        if self.offline is None or self.voter is None or self.request_id is None:
            return
        reason = self._reason()
        if reason is None:
            self._result(LABELS["choose_reason"], "ng")
            return
        ck.record_provisional(
            self.van_db,
            election=self.election,
            station_id=self.station.id,
            voter=self.voter,
            reason=reason,
            clerk_id=self.clerk_id,
            request_id=self.request_id,
            cause=self.offline.reason,
            stop_id=self.stop_id,
        )
        self._reset()
        self._result(LABELS["provisional_done"])

    @on(Button.Pressed, "#next")
    def next_voter(self) -> None:
        """Clear the screen for the next voter."""
        if self._busy():
            return
        self._reset()


def make_voting_screen(
    van_db: sqlite_utils.Database,
    hub_url: str,
    clerk_id: str,
    *,
    timeout: float = 5.0,
    stop_id: str | None = None,
    client: CheckinClient | None = None,
    van_id: str | None = None,
    site_id: str | None = None,
    day: date | None = None,
) -> VotingScreen:
    """The voting screen for today's station of this van, for the logged-in clerk.

    The station is picked by van AND station: one assigned to this van (``van_id`` or
    the device), preferring the one at the open stop's site (``site_id``).

    Raises:
        OdekakeError: The operator is not an election clerk, or no election has a
            station open today on this van.
    """
    if not ck.is_clerk(van_db, clerk_id):
        raise OdekakeError(LABELS["not_clerk"])
    found = current_station(
        van_db,
        day,
        van_id=van_id or van_id_of(van_db),
        device_id=device_id_of(van_db),
        site_id=site_id,
    )
    if found is None:
        raise OdekakeError(LABELS["no_station"])
    election, station = found
    return VotingScreen(
        client or VotingClient(hub_url, timeout=timeout),
        van_db,
        election,
        station.id,
        clerk_id,
        stop_id=stop_id,
    )
