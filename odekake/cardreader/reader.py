"""Read the 基本4情報 from a My Number card on the counter's reader.

Two calls, each one short PC/SC session that resets the card when it ends:

- :func:`probe` — is there a reader, a card, the right application, and how
  many PIN tries are left (the kiosk warns before the last one);
- :func:`read_identity` — verify the resident's 4-digit PIN and read the four
  items; nothing else. The individual number is never read: every command goes
  through :class:`Channel`, which sends only what :mod:`odekake.cardreader.apdu`
  lists and only in order (the PIN after selecting the PIN file, a read only of
  the 4-item file).

Every failure is a :class:`CardReadError` whose message says, in Japanese, what
the operator should do; nothing is returned half-read. A reader that stops
answering is given up after ``timeout`` seconds (the call never hangs). The PIN
and the commands are never logged or put in a message.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from odekake.cardreader import apdu, pcsc
from odekake.cardreader.tlv import MAX_FILE, MalformedCard, parse_basic_four, read_header
from odekake.errors import OdekakeError, ValidationError
from odekake.masterdata.wareki import wareki_date
from odekake.services.identity import NAME_ON_CHIP_MAX

DEFAULT_TIMEOUT = 10.0
GAIJI_MARK = "〓"  # the geta mark: the customary stand-in for a character that cannot be shown

SEX_LABELS = {"1": "男", "2": "女", "9": "適用不能"}

MESSAGES = {
    "no_library": "この端末にはカードリーダーの仕組み(pcsc-lite)がありません。手入力で続けてください",
    "no_service": "カードリーダーのサービス(pcscd)が動いていません。端末の担当に連絡し、手入力で続けてください",
    "no_reader": "カードリーダーがつながっていません。USBケーブルを確かめてから、もう一度読み取ってください",
    "no_card": "カードが置かれていません。マイナンバーカードをリーダーに置いてから、もう一度読み取ってください",
    "busy": "カードリーダーが別の処理で使われています。少し待ってから、もう一度読み取ってください",
    "removed": "読み取りの途中でカードが外れました。何も入力していません。カードを置き直して、もう一度読み取ってください",
    "not_mynumber": "マイナンバーカードではないか、読み取れないカードです。本人確認書類を目で確かめ、手入力で続けてください",
    "locked": (
        "このカードの暗証番号(券面事項入力補助用)はロックされています。"
        "ご本人が市役所の窓口で暗証番号の初期化をする必要があります。今日は手入力で続けてください"
    ),
    "malformed": "カードの応答が正しくありません。何も入力していません。もう一度読み取るか、手入力で続けてください",
    "timeout": "カードリーダーが応答しません。カードを置き直すか、リーダーをつなぎ直してから、もう一度読み取ってください",
    "bad_pin": "暗証番号は数字4桁です",
}


class CardReadError(OdekakeError):
    """A read that did not happen; ``kind`` names why, the message says what to do."""

    def __init__(self, kind: str, message: str | None = None, *, tries_left: int | None = None):
        super().__init__(message or MESSAGES[kind])
        self.kind = kind
        self.tries_left = tries_left


def wrong_pin(tries_left: int) -> CardReadError:
    if tries_left <= 0:
        return CardReadError("locked", tries_left=0)
    text = f"暗証番号が違います(あと{tries_left}回まちがえるとロックされます)"
    if tries_left == 1:
        text += "。次にまちがえるとロックされ、ご本人が市役所で初期化するまで使えません"
    return CardReadError("wrong_pin", text, tries_left=tries_left)


@dataclass(frozen=True)
class CardStatus:
    """What :func:`probe` found: the PIN tries left (0: locked)."""

    tries_left: int

    @property
    def last_try(self) -> bool:
        return self.tries_left == 1


@dataclass(frozen=True)
class CardIdentity:
    """The four items as the card holds them, plus what the counter shows."""

    name: str
    address: str
    birth_date: date
    sex: str  # ISO 5218 code: 1, 2 or 9
    gaiji_fields: tuple[str, ...] = field(default=())

    @property
    def sex_label(self) -> str:
        return SEX_LABELS[self.sex]

    @property
    def name_shown(self) -> str:
        return shown(self.name)

    @property
    def address_shown(self) -> str:
        return shown(self.address)

    def form_values(self) -> dict[str, str]:
        """The values a form takes from the card (names of the form's fields)."""
        return {
            "name": self.name,
            "address": self.address,
            "birth_date": self.birth_date.isoformat(),
            "id_document": "マイナンバーカード",
        }


def is_gaiji(ch: str) -> bool:
    """A character the counter cannot show: private use (外字) or unassigned."""
    category = unicodedata.category(ch)
    return category in ("Co", "Cn", "Cs")


def shown(text: str) -> str:
    return "".join(GAIJI_MARK if is_gaiji(ch) else ch for ch in text)


def _identity(raw_name: str, raw_address: str, birth: str, sex: str) -> CardIdentity:
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError as exc:
        raise MalformedCard("birth date is not a date") from exc
    try:
        wareki_date(born)
    except ValidationError as exc:  # before Meiji: no resident was born then
        raise MalformedCard("birth date before Meiji") from exc
    if born > date.today():
        raise MalformedCard("birth date in the future")
    if len(raw_name) > NAME_ON_CHIP_MAX:
        raise MalformedCard("name longer than any card holds")
    gaiji = tuple(
        name for name, text in (("name", raw_name), ("address", raw_address)) if text != shown(text)
    )
    return CardIdentity(raw_name, raw_address, born, sex, gaiji)


class Channel:
    """Sends only listed commands, in order, to one connected card."""

    def __init__(self, card: pcsc.Card) -> None:
        self.card = card
        self.ap_selected = False
        self.ef: bytes | None = None

    def send(self, command: bytes) -> apdu.Response:
        apdu.check_allowed(command)
        ins = command[1]
        if ins == apdu.INS_SELECT and command[2] == 0x02 and not self.ap_selected:
            raise apdu.ForbiddenCommand("a file before the application")
        if ins == apdu.INS_VERIFY and self.ef != apdu.EF_PIN:
            raise apdu.ForbiddenCommand("VERIFY without the PIN file selected")
        if ins == apdu.INS_READ_BINARY and self.ef != apdu.EF_BASIC_FOUR:
            raise apdu.ForbiddenCommand("READ BINARY of a file other than the 4 items")
        raw = self.card.transmit(command)
        if len(raw) < 2:
            # no status bytes: the card went silent mid-exchange (taken off the reader)
            raise CardReadError("removed")
        response = apdu.Response.parse(raw)
        if ins == apdu.INS_SELECT:
            if command[2] == 0x04:
                self.ap_selected = response.ok
                self.ef = None
            else:
                self.ef = command[5:] if response.ok else None
        return response

    def select_ap(self) -> None:
        if not self.send(apdu.select_ap()).ok:
            raise CardReadError("not_mynumber")

    def select(self, fid: bytes) -> None:
        if not self.send(apdu.select_ef(fid)).ok:
            raise CardReadError("not_mynumber")

    def tries_left(self) -> int:
        r = self.send(apdu.pin_tries())
        if r.sw1 == 0x63 and r.sw2 & 0xF0 == 0xC0:
            return r.sw2 & 0x0F
        if (r.sw1, r.sw2) in ((0x69, 0x83), (0x69, 0x84)):
            return 0
        if r.ok:  # already verified in this session: the card does not say; treat as full
            return 3
        raise MalformedCard("unexpected answer to the tries query")

    def verify(self, pin: str) -> None:
        r = self.send(apdu.verify_pin(pin))
        if r.ok:
            return
        if r.sw1 == 0x63 and r.sw2 & 0xF0 == 0xC0:
            raise wrong_pin(r.sw2 & 0x0F)
        if (r.sw1, r.sw2) in ((0x69, 0x83), (0x69, 0x84)):
            raise CardReadError("locked", tries_left=0)
        raise MalformedCard("unexpected answer to VERIFY")

    def read_file(self) -> bytes:
        head = self._read(0, 5)
        _tag, header, length = read_header(head)
        total = header + length
        if total > MAX_FILE:
            raise MalformedCard("file too long")
        data = bytearray(head[:total])
        while len(data) < total:
            chunk = self._read(len(data), min(0xF0, total - len(data)))
            if not chunk:
                raise MalformedCard("file shorter than its length")
            data += chunk
        return bytes(data[:total])

    def _read(self, offset: int, length: int) -> bytes:
        r = self.send(apdu.read_binary(offset, length))
        if not r.ok:
            raise MalformedCard("READ BINARY refused")
        return r.data


T = TypeVar("T")


def _session(work: Callable[[Channel], T], *, timeout: float) -> T:
    """Run ``work`` on the first reader holding a card, in a thread, within ``timeout``."""
    outcome: dict[str, object] = {}
    holder: dict[str, pcsc.Context] = {}

    def run() -> None:
        try:
            outcome["value"] = _connected(work, holder)
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="card-reader", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        context = holder.get("context")
        if context is not None:
            context.cancel()
        raise CardReadError("timeout")
    if "error" in outcome:
        raise _translate(outcome["error"])  # type: ignore[arg-type]
    return outcome["value"]  # type: ignore[return-value]


def _connected(work: Callable[[Channel], T], holder: dict[str, pcsc.Context]) -> T:
    context = pcsc.Context()
    holder["context"] = context
    try:
        readers = context.readers()
        if not readers:
            raise CardReadError("no_reader")
        card = None
        for name in readers:
            try:
                card = context.connect(name)
                break
            except pcsc.PcscError as exc:
                if exc.code in pcsc.NO_CARD:
                    continue
                raise
        if card is None:
            raise CardReadError("no_card")
        try:
            return work(Channel(card))
        finally:
            card.disconnect()
    finally:
        context.release()


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, CardReadError):
        return exc
    if isinstance(exc, pcsc.PcscUnavailable):
        return CardReadError("no_library")
    if isinstance(exc, MalformedCard):
        return CardReadError("malformed")
    if isinstance(exc, pcsc.PcscError):
        if exc.code in pcsc.NO_SERVICE:
            return CardReadError("no_service")
        if exc.code in pcsc.NO_READER:
            return CardReadError("no_reader")
        if exc.code in pcsc.NO_CARD:
            return CardReadError("no_card")
        if exc.code in pcsc.REMOVED:
            return CardReadError("removed")
        if exc.code == pcsc.E_SHARING:
            return CardReadError("busy")
        if exc.code == pcsc.E_TIMEOUT:
            return CardReadError("timeout")
        return CardReadError("removed" if exc.call == "SCardTransmit" else "no_reader")
    return exc  # a bug (ForbiddenCommand included): not dressed up as a card problem


def probe(*, timeout: float = DEFAULT_TIMEOUT) -> CardStatus:
    """Check reader, card and application; the PIN tries left (0: locked)."""

    def work(channel: Channel) -> CardStatus:
        channel.select_ap()
        channel.select(apdu.EF_PIN)
        return CardStatus(tries_left=channel.tries_left())

    return _session(work, timeout=timeout)


def read_identity(pin: str, *, timeout: float = DEFAULT_TIMEOUT) -> CardIdentity:
    """Verify the resident's PIN and read the 4 items; :class:`CardReadError` otherwise."""
    if len(pin) != 4 or not pin.isascii() or not pin.isdigit():
        raise CardReadError("bad_pin")

    def work(channel: Channel) -> CardIdentity:
        channel.select_ap()
        channel.select(apdu.EF_PIN)
        left = channel.tries_left()
        if left == 0:
            raise CardReadError("locked", tries_left=0)
        channel.verify(pin)
        channel.select(apdu.EF_BASIC_FOUR)
        raw = parse_basic_four(channel.read_file())
        return _identity(raw.name, raw.address, raw.birth, raw.sex)

    return _session(work, timeout=timeout)
