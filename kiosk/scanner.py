"""A barcode scanner (a keyboard wedge) is told apart from a person typing.

A scanner types its whole code within a few milliseconds and ends it with Enter;
a person does not. :class:`KeyBurst` holds the keys of such a burst back from the
screens (so ``c``, ``y`` and ``l`` in a scanned web address never act as menu
keys) and decides, when the burst ends, whether it was a scan:

* a burst of printable keys ending in Enter, at least :data:`MIN_SCAN` long, is a
  scan when no text field has focus;
* in a text field (where a fast operator or a test may type a word and Enter) it
  is a scan only when it looks like a code: a pre-fill code (``ODK1:``), this
  van's receipt code (``ODEKAKE|``) or a web address (``://``);
* anything else (a Tab, a function key, a pause) ends the burst and its keys go
  to the screen exactly as typed, in order.

What a scan does is :func:`handle_scan`: a pre-fill code opens its form, a receipt
code opens that receipt's detail, an enrolment QR (``odekake-enrol:``) opens the
hub enrolment screen filled in, anything else says 「読み取れないコードです」
and changes nothing.

How a burst is seen: keys already waiting behind the current one (a terminal
delivers a scanner's keys together; Pilot posts them together) start one; in a
real terminal every key is also held for :data:`GAP` seconds, so a scanner whose
keys trickle in one by one is caught from its first key (a person does not notice
40 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kiosk import navigation
from kiosk.prefill import open_prefill
from odekake.errors import OdekakeError
from odekake.receipts.receipt_pdf import QR_PREFIX
from odekake.residents.prefill import PREFIX
from odekake.sync.enrol_codes import QR_PREFIX as ENROL_PREFIX

if TYPE_CHECKING:
    from kiosk.host import KioskHost

#: Longest pause between two keys of one scan, in seconds.
GAP = 0.04
#: Fewest characters (before Enter) a scan has.
MIN_SCAN = 4
UNREADABLE = "読み取れないコードです"


def looks_like_code(text: str) -> bool:
    """True for a pre-fill code, a receipt code or a web address."""
    upper = text.upper()
    return upper.startswith(PREFIX) or upper.startswith(QR_PREFIX) or "://" in text


@dataclass
class HeldKey:
    """One key held back while a burst is collected."""

    key: str
    character: str | None
    at: float
    event: object = field(repr=False, default=None)

    @property
    def printable(self) -> bool:
        return bool(self.character) and str(self.character).isprintable() and self.key != "enter"


@dataclass
class Verdict:
    """What ends a burst: a scan's text, or the keys to pass on as typed."""

    scan: str | None = None
    release: list[HeldKey] = field(default_factory=list)


class KeyBurst:
    """Collects fast keys; :meth:`feed` says when a burst ended and what it was."""

    def __init__(self, *, gap: float = GAP, in_text_field: Callable[[], bool]) -> None:
        self.gap = gap
        self.in_text_field = in_text_field
        self.keys: list[HeldKey] = []

    @property
    def active(self) -> bool:
        """True while keys are held."""
        return bool(self.keys)

    def starts(self, key: HeldKey, waiting: list[HeldKey], *, hold_all: bool) -> bool:
        """Whether ``key`` (none held yet) starts a burst.

        With ``hold_all`` (a real terminal) every printable key does. Otherwise the
        keys already ``waiting`` behind it decide: they start a burst only when
        they make up a whole scan, so typed-ahead keys are never held at all.
        """
        if not key.printable:
            return False
        if hold_all:
            return True
        run = [key]
        for k in waiting:
            if k.at - run[-1].at > self.gap:
                return False
            run.append(k)
            if not k.printable:
                break
        return run[-1].key == "enter" and self.scan_text(run[:-1]) is not None

    def feed(self, key: HeldKey) -> Verdict | None:
        """Add a key to the held burst; a verdict when the burst is over."""
        if self.keys and key.at - self.keys[-1].at > self.gap:
            # A pause: what was held was typed by a person, and so is this key.
            return Verdict(release=[*self.take(), key])
        self.keys.append(key)
        if key.key == "enter":
            return self.decide()
        if not key.printable:
            return Verdict(release=self.take())
        return None

    def decide(self) -> Verdict:
        """The burst ended in Enter: a scan, or keys to pass on."""
        held = self.take()
        text = self.scan_text(held[:-1])
        return Verdict(release=held) if text is None else Verdict(scan=text)

    def scan_text(self, body: list[HeldKey]) -> str | None:
        """The scanned text of keys typed before Enter, or None when they are typing."""
        if len(body) < MIN_SCAN or not all(k.printable for k in body):
            return None
        text = "".join(str(k.character) for k in body)
        return text if looks_like_code(text) or not self.in_text_field() else None

    def take(self) -> list[HeldKey]:
        """The held keys, in order; none are held afterwards."""
        held, self.keys = self.keys, []
        return held


def handle_scan(app: KioskHost, text: str) -> None:
    """What a scan does: open its form or receipt, or say it cannot be read."""
    upper = text.upper()
    if text.startswith(ENROL_PREFIX):
        open_enrolment(app, text)
        return
    if upper.startswith(PREFIX):
        open_prefill(app, text)
        return
    if upper.startswith(QR_PREFIX):
        open_receipt(app, text)
        return
    app.notify(UNREADABLE, severity="error", timeout=8)


def open_enrolment(app: KioskHost, text: str) -> None:
    """A scanned enrolment QR: the enrol screen, filled in (or refilled)."""
    from odekake.sync.enrol_codes import parse_qr_text

    try:
        hub_url, code = parse_qr_text(text)
    except OdekakeError as exc:
        app.notify(str(exc), severity="error", timeout=8)
        return
    if navigation.is_screen(app.screen, "enrol"):
        app.screen.fill(hub_url, code)  # type: ignore[attr-defined]
        return
    app.push_screen(navigation.make("enrol", hub_url, code))


def open_receipt(app: KioskHost, text: str) -> None:
    """A receipt's own QR code: its detail (with its void state), when it is genuine."""
    from odekake.services.receipt_book import ReceiptCodeError, read_receipt_code

    if app.operator is None:
        app.notify("領収書のQRコードは、ログインしてから読み取ってください", severity="warning")
        return
    try:
        status = read_receipt_code(app.db, text)
    except ReceiptCodeError as exc:
        app.notify(str(exc), severity="error", timeout=10)
        return
    if navigation.is_screen(app.screen, "receipt_detail"):
        app.pop_screen()
    app.push_screen(navigation.make("receipt_detail", status))
