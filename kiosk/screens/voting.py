"""The election clerk's screen: it shows the station's state machine and calls it.

Every rule of the flow (what may follow what, what is recorded when) is in
:class:`odekake.voting.station.StationFlow`; this screen only shows its state and
turns keys and buttons into its transitions. 交付可 is left only by 交付しました or
交付取りやめ (with a reason); 投票不可 only by a second clerk's PIN, or by quitting after
a question (recorded); 仮投票 is taken only after a question.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
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
from kiosk.widgets.confirm import Confirm
from kiosk.widgets.footer import KioskFooter
from odekake.errors import OdekakeError
from odekake.services.stops import van_id_of
from odekake.storage.db import device_id_of
from odekake.voting import checkin as ck
from odekake.voting import roll as rl
from odekake.voting.client import (
    CheckinClient,
    CheckinResult,
    Offline,
    ReleaseResult,
    VotingClient,
)
from odekake.voting.elections import JST, REASONS, Election, current_station
from odekake.voting.station import Phase, StationFlow


def _when(iso: str) -> str:
    t = datetime.fromisoformat(iso).astimezone(JST)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


class VoteBlockedModal(ModalScreen[str]):
    """Full-screen 投票不可: names where and when; only a second clerk's PIN leaves it
    (or quitting the kiosk, after a question; both recorded)."""

    DEFAULT_CSS = """
    VoteBlockedModal { align: center middle; background: $error 90%; }
    VoteBlockedModal > Vertical { width: 100%; height: 100%; padding: 2 4; background: $error; }
    VoteBlockedModal #blocked-title { text-style: bold; content-align: center middle; width: 100%; height: 3; }
    VoteBlockedModal Input { width: 40; }
    VoteBlockedModal Button:focus { text-style: bold reverse; border: tall $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stay", show=False, priority=True)]

    def __init__(self, flow: StationFlow) -> None:
        super().__init__()
        assert flow.blocked is not None
        self.flow = flow
        self.blocked = flow.blocked

    def compose(self) -> ComposeResult:
        b = self.blocked
        what = LABELS[f"blocked_what_{'provisional' if b.kind == 'provisional' else 'checkin'}"]
        with Vertical():
            yield Static(LABELS["blocked_title"], id="blocked-title")
            yield Static(
                LABELS["blocked_body"].format(
                    where=b.station_name, when=_when(b.checked_at), what=what
                ),
                id="blocked-body",
            )
            if b.clerk:
                yield Static(
                    LABELS["blocked_by"].format(clerk=b.clerk, device=b.device_id or "—"),
                    id="blocked-by",
                )
            if b.local:
                yield Static(LABELS["blocked_local"], id="blocked-local")
            yield Input(placeholder=LABELS["second_clerk"], id="second-clerk")
            yield Input(placeholder=LABELS["second_pin"], password=True, id="second-pin")
            yield Button(LABELS["blocked_release"], id="release", variant="warning")
            yield Static("", id="blocked-error")

    def action_stay(self) -> None:
        """Escape does not leave: the block is left only with a second clerk's PIN (said)."""
        self.query_one("#blocked-error", Static).update(LABELS["blocked_how"])

    def hold_quit(self) -> bool:
        """Ctrl+Q on 投票不可: ask once; yes records the block (no ballot) and quits."""

        def answer(yes: bool | None) -> None:
            if yes and self.flow.phase is Phase.BLOCKED:
                self.flow.close_blocked_on_quit()
                self.app.exit()

        self.app.push_screen(
            Confirm(LABELS["blocked_quit_q"], LABELS["blocked_quit_yes"], LABELS["stay"]),
            answer,
        )
        return True

    @on(Input.Submitted, "#second-pin")
    @on(Button.Pressed, "#release")
    def release(self) -> None:
        """Check the second clerk; on success the flow records the block and it closes."""
        clerk = self.query_one("#second-clerk", Input).value
        pin = self.query_one("#second-pin", Input).value
        try:
            self.flow.close_blocked(clerk, pin)
        except OdekakeError as exc:
            self.query_one("#second-pin", Input).value = ""
            self.query_one("#blocked-error", Static).update(str(exc))
            return
        self.dismiss(clerk.strip())


class WithdrawModal(ModalScreen[str | None]):
    """交付取りやめ: the reason (required); Escape goes back to 交付可."""

    DEFAULT_CSS = """
    WithdrawModal { align: center middle; }
    WithdrawModal > Vertical { width: 70; height: auto; padding: 1 2; border: thick $warning; background: $surface; }
    WithdrawModal Input { width: 100%; }
    WithdrawModal Horizontal { height: auto; }
    WithdrawModal Button:focus { text-style: bold reverse; border: tall $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", LABELS["stay"])]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(LABELS["withdraw_title"], id="withdraw-title")
            yield Input(placeholder=LABELS["withdraw_reason"], id="withdraw-reason", max_length=200)
            with Horizontal():
                yield Button(LABELS["withdraw_ok"], id="withdraw-ok", variant="warning")
                yield Button(LABELS["stay"], id="withdraw-back")
            yield Static("", id="withdraw-error")

    def on_mount(self) -> None:
        self.query_one("#withdraw-reason", Input).focus()

    def action_back(self) -> None:
        """Back to 交付可 (nothing recorded)."""
        self.dismiss(None)

    @on(Button.Pressed, "#withdraw-back")
    def back(self) -> None:
        """Back to 交付可 (nothing recorded)."""
        self.dismiss(None)

    @on(Input.Submitted, "#withdraw-reason")
    @on(Button.Pressed, "#withdraw-ok")
    def ok(self) -> None:
        """A reason is required."""
        reason = self.query_one("#withdraw-reason", Input).value.strip()
        if not reason:
            self.query_one("#withdraw-error", Static).update(LABELS["withdraw_need_reason"])
            return
        self.dismiss(reason)


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
        renew_client: Callable[[], CheckinClient] | None = None,
    ) -> None:
        super().__init__()
        self.flow = StationFlow(
            van_db,
            client,
            election,
            station_id,
            clerk_id,
            stop_id=stop_id,
            renew_client=renew_client,
        )
        self.client = client
        self.van_db = van_db
        self.election = election
        self.station = self.flow.station
        self.clerk_id = clerk_id
        self.stop_id = stop_id
        self.hub_ok: bool | None = None
        self._matches: list[rl.Voter] = []

    # The screen's view of the flow (tests and the app read these).
    @property
    def voter(self) -> rl.Voter | None:
        """The voter in front of the clerk."""
        return self.flow.voter

    @property
    def request_id(self) -> str | None:
        """The check-in request in flight or to retry."""
        return self.flow.request.request_id if self.flow.request else None

    @property
    def waiting(self) -> bool:
        """True while the hub is being asked."""
        return self.flow.phase is Phase.WAITING

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
            yield Button(LABELS["withdraw"], id="withdraw", variant="warning")
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
        self._show_state()
        self._clear_fields()
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

    # --- showing the flow ---------------------------------------------------------------

    def _result(self, text: str, cls: str = "") -> None:
        result = self.query_one("#result", Static)
        result.update(text)
        result.set_classes(cls)

    def _show_state(self) -> None:
        """Show the flow's phase: the voter, the message and the buttons it allows."""
        flow = self.flow
        phase = flow.phase
        buttons = {
            Phase.ISSUABLE: ("handed", "withdraw"),
            Phase.OFFLINE: ("retry", "provisional"),
            Phase.UNKNOWN: ("retry",),
        }.get(phase, ())
        for bid in ("handed", "withdraw", "retry", "provisional"):
            self.query_one(f"#{bid}", Button).display = bid in buttons
        voter = flow.voter
        self.query_one("#voter", Static).update(
            ""
            if voter is None
            else LABELS["voter_line"].format(
                name=voter.name,
                kana=voter.kana,
                birth=voter.birth_date,
                sex=voter.sex_label,
                address=voter.address,
                precinct=voter.precinct,
                voter_no=voter.voter_no,
            )
        )
        self.query_one("#checkin", Button).disabled = phase not in (Phase.CHOSEN, Phase.REFUSED)
        self._result(flow.message, flow.tone)
        if buttons:
            self.query_one(f"#{buttons[0]}", Button).focus()

    def _clear_fields(self) -> None:
        for iid in ("ticket", "kana", "birth"):
            self.query_one(f"#{iid}", Input).value = ""
        self.query_one("#matches", OptionList).display = False
        self.query_one("#reason", Select).clear()
        self.query_one("#ticket", Input).focus()

    def _attempt(self, step: Callable[[], object]) -> bool:
        """Run one transition; a refusal is shown, never raised. True when it ran."""
        try:
            step()
        except OdekakeError as exc:
            self._result(str(exc), "ng")
            return False
        return True

    def _settled(self) -> None:
        """After a voter is settled: empty fields for the next one, the outcome said."""
        self._show_state()
        self._clear_fields()

    # --- leaving -------------------------------------------------------------------

    def _held(self) -> bool:
        why = self.flow.hold()
        if why is not None and self.flow.phase is Phase.ISSUABLE:
            self._result(f"{self.flow.message}\n{why}", "ok")  # 交付可 stays in view
        elif why is not None:
            self._result(why, "ng")
        return why is not None

    def action_leave(self) -> None:
        """Escape: back to the menu, unless the hub is being asked or a voter is unsettled."""
        if not self._held():
            self.dismiss(None)

    def hold_quit(self) -> bool:
        """Ctrl+Q: refused while the hub is being asked or a 交付可 voter is unsettled."""
        return self._held()

    def action_next_voter(self) -> None:
        """F2: clear the screen for the next voter."""
        self.next_voter()

    @on(Button.Pressed, "#next")
    def next_voter(self) -> None:
        """Clear the screen for the next voter (refused while a voter is unsettled)."""
        if self._attempt(self.flow.next_voter):
            self._settled()

    # --- finding the voter -----------------------------------------------------------

    @on(Input.Changed, "#ticket")
    @on(Input.Changed, "#kana")
    @on(Input.Changed, "#birth")
    def typing(self, event: Input.Changed) -> None:
        """Typing a new ticket, フリガナ or birth date starts a new search."""
        if event.value and self.flow.voter is not None and self.flow.hold() is None:
            self.flow.reset()
            self._show_state()

    @on(Input.Submitted, "#ticket")
    def scanned(self, event: Input.Submitted) -> None:
        """A scanner types the ticket's content and Enter."""
        if self._held():
            return
        self._attempt(lambda: self.flow.find_ticket(event.value))  # RollLocked said too
        self._show_state()
        if self.flow.voter is not None:
            self.query_one("#reason", Select).focus()

    @on(Button.Pressed, "#search")
    @on(Input.Submitted, "#birth")
    def search(self) -> None:
        """Look the voter up by フリガナ (a surname is enough) + birth date."""
        if self._held():
            return
        kana = self.query_one("#kana", Input).value
        birth = self.query_one("#birth", Input).value
        found: list[rl.Voter] = []

        def find() -> None:
            found.extend(self.flow.find(kana, birth))

        if not self._attempt(find):
            return
        self._show_state()
        matches = self.query_one("#matches", OptionList)
        matches.display = False
        if self.flow.voter is not None:
            self.query_one("#reason", Select).focus()
        elif len(found) > 1:
            self._matches = found
            matches.clear_options()
            matches.add_options(
                [
                    Option(f"{v.name}({v.kana}) {v.address} [{v.voter_no}]", id=v.voter_no)
                    for v in found
                ]
            )
            matches.display = True
            matches.highlighted = 0
            matches.focus()

    @on(OptionList.OptionSelected, "#matches")
    def picked(self, event: OptionList.OptionSelected) -> None:
        """One of several voters found: the clerk picks by name and address."""
        if self._held():
            return
        chosen = next((v for v in self._matches if v.voter_no == event.option.id), None)
        if chosen is not None:
            self._attempt(lambda: self.flow.choose(chosen))
        self.query_one("#matches", OptionList).display = False
        self._show_state()
        if self.flow.voter is not None:
            self.query_one("#reason", Select).focus()

    # --- the check-in ----------------------------------------------------------------

    def _reason(self) -> str | None:
        value = self.query_one("#reason", Select).value
        return value if isinstance(value, str) and value in REASONS else None

    @on(Button.Pressed, "#checkin")
    @on(Button.Pressed, "#retry")
    def start_checkin(self) -> None:
        """名簿対照 (a retry resends the same request)."""
        req = self.flow.start(self._reason())
        if self.flow.phase is Phase.BLOCKED:
            self._show_state()
            self._blocked()
            return
        self._show_state()
        if req is not None:
            self._ask_hub(req)

    @work(thread=True, exclusive=True, group="vote-checkin")
    def _ask_hub(self, req: ck.CheckinRequest) -> None:
        result = self.flow.send(req)
        self.app.call_from_thread(self._answered, req.request_id, result)

    def _answered(self, request_id: str, result: CheckinResult) -> None:
        self._hub_state(not isinstance(result, Offline))
        if not self.flow.answered(request_id, result):
            return
        self._show_state()
        if self.flow.phase is Phase.BLOCKED:
            self._blocked()

    def _blocked(self) -> None:
        self.app.push_screen(VoteBlockedModal(self.flow), self._block_closed)

    def _block_closed(self, second_clerk: str | None) -> None:
        """The second clerk closed 投票不可: say what was recorded (no ballot)."""
        self._settled()

    # --- settling a voter ---------------------------------------------------------------

    @on(Button.Pressed, "#handed")
    def handed(self) -> None:
        """投票用紙を交付しました (only from 交付可)."""
        if self._attempt(self.flow.handed):
            self._settled()

    @on(Button.Pressed, "#withdraw")
    def withdraw(self) -> None:
        """交付取りやめ: ask the reason, record it, tell the hub."""
        if self.flow.phase is not Phase.ISSUABLE:
            return

        def reason_given(reason: str | None) -> None:
            if not reason:
                self._show_state()
                return
            release: list[ck.ReleaseRequest] = []
            if self._attempt(lambda: release.append(self.flow.withdraw(reason))):
                self._settled()
                self._send_release(release[0])

        self.app.push_screen(WithdrawModal(), reason_given)

    @work(thread=True, exclusive=True, group="vote-release")
    def _send_release(self, req: ck.ReleaseRequest) -> None:
        result = self.flow.send_release(req)
        self.app.call_from_thread(self._release_answered, result)

    def _release_answered(self, result: ReleaseResult) -> None:
        self.flow.released(result)
        self._result(self.flow.message, self.flow.tone)

    @on(Button.Pressed, "#provisional")
    def provisional(self) -> None:
        """仮投票 (only when the hub could not answer): asked once, then recorded."""
        if self.flow.phase is not Phase.OFFLINE:
            return
        reason = self._reason()

        def answer(yes: bool | None) -> None:
            if yes and self._attempt(lambda: self.flow.provisional(reason)):
                self._settled()

        self.app.push_screen(
            Confirm(LABELS["provisional_q"], LABELS["provisional_yes"], LABELS["stay"]), answer
        )


def make_voting_screen(
    van_db: sqlite_utils.Database,
    hub_url: str,
    clerk_id: str,
    *,
    timeout: float = 5.0,
    stop_id: str | None = None,
    client: CheckinClient | None = None,
    renew_client: Callable[[], CheckinClient] | None = None,
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
        renew_client=renew_client,
    )
