"""The few commands the counter may send to a My Number card, and nothing else.

The card's 券面事項入力補助AP (card-face entry-assistance application) holds, behind
its own 4-digit PIN, the resident's 基本4情報 (name, address, birth date, sex) in
one file and the individual number (マイナンバー) in another. odekake reads the first
and must never touch the second (番号法): every command goes through
:func:`check_allowed` before it reaches the reader, and that check is an explicit
list — selecting the AP, selecting the PIN file or the 4-item file, asking the PIN's
tries, verifying the PIN, reading the selected file. Selecting the number's file
(EF 0001), any other file, any other application or any other instruction is
refused before a byte is sent.

Identifiers, from public open implementations (cited in docs/kiosk.md):
- AP: ``D3 92 10 00 31 00 01 01 04 08`` (SELECT by name, ``00 A4 04 0C``);
- EF ``00 11``: the AP's PIN (4 digits, 3 tries); ``00 A4 02 0C 02 00 11``;
- EF ``00 02``: the 4 items, BER-TLV (see :mod:`odekake.cardreader.tlv`);
- EF ``00 01``: the individual number — never selected.
"""

from __future__ import annotations

from dataclasses import dataclass

AID_CARD_INPUT_HELPER = bytes.fromhex("D3921000310001010408")
EF_PIN = bytes.fromhex("0011")
EF_BASIC_FOUR = bytes.fromhex("0002")
EF_INDIVIDUAL_NUMBER = bytes.fromhex("0001")  # named only so tests can prove it is never sent

CLA = 0x00
INS_SELECT = 0xA4
INS_VERIFY = 0x20
INS_READ_BINARY = 0xB0


class ForbiddenCommand(Exception):
    """A command outside the list: a bug in odekake, never sent to the card."""


@dataclass(frozen=True)
class Response:
    """A card's answer: data and the two status bytes."""

    data: bytes
    sw1: int
    sw2: int

    @property
    def ok(self) -> bool:
        return (self.sw1, self.sw2) == (0x90, 0x00)

    @classmethod
    def parse(cls, raw: bytes) -> Response:
        if len(raw) < 2:
            raise ValueError("status bytes missing")
        return cls(bytes(raw[:-2]), raw[-2], raw[-1])


def select_ap() -> bytes:
    return bytes([CLA, INS_SELECT, 0x04, 0x0C, len(AID_CARD_INPUT_HELPER)]) + AID_CARD_INPUT_HELPER


def select_ef(fid: bytes) -> bytes:
    return bytes([CLA, INS_SELECT, 0x02, 0x0C, len(fid)]) + fid


def pin_tries() -> bytes:
    """VERIFY with no data: the card answers 63 Cx with x tries left (and counts nothing)."""
    return bytes([CLA, INS_VERIFY, 0x00, 0x80])


def verify_pin(pin: str) -> bytes:
    if len(pin) != 4 or not pin.isascii() or not pin.isdigit():
        raise ForbiddenCommand("the PIN is 4 ASCII digits")
    data = pin.encode("ascii")
    return bytes([CLA, INS_VERIFY, 0x00, 0x80, len(data)]) + data


def read_binary(offset: int, length: int) -> bytes:
    if not 0 <= offset <= 0x7FFF or not 0 <= length <= 0xFF:
        raise ForbiddenCommand("READ BINARY offset or length out of range")
    return bytes([CLA, INS_READ_BINARY, offset >> 8, offset & 0xFF, length])


def check_allowed(command: bytes) -> None:
    """Refuse any command not on the list (raises :class:`ForbiddenCommand`)."""
    if len(command) < 4 or command[0] != CLA:
        raise ForbiddenCommand("not an ISO 7816 inter-industry command")
    ins, p1, p2 = command[1], command[2], command[3]
    body = command[5:] if len(command) > 5 else b""
    if ins == INS_SELECT:
        if len(command) < 5 or command[4] != len(body):
            raise ForbiddenCommand("malformed SELECT")
        if (p1, p2) == (0x04, 0x0C) and body == AID_CARD_INPUT_HELPER:
            return
        if (p1, p2) == (0x02, 0x0C) and body in (EF_PIN, EF_BASIC_FOUR):
            return
        raise ForbiddenCommand(f"SELECT {body.hex().upper()} is not on the list")
    if ins == INS_VERIFY:
        if (p1, p2) != (0x00, 0x80):
            raise ForbiddenCommand("VERIFY of another PIN")
        if len(command) == 4:
            return
        if len(command) == 9 and command[4] == 4 and body.isdigit():
            return
        raise ForbiddenCommand("malformed VERIFY")
    if ins == INS_READ_BINARY:
        if p1 & 0x80:
            raise ForbiddenCommand("READ BINARY by short file identifier")
        if len(command) == 5:
            return
        raise ForbiddenCommand("malformed READ BINARY")
    raise ForbiddenCommand(f"instruction {ins:02X} is not on the list")
