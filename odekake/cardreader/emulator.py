"""An emulated My Number card for demos and tests (``odekake card simulate``).

:class:`EmulatedCard` answers as the card's 券面事項入力補助AP does (select,
PIN tries, a 3-try PIN that locks, the 4-item TLV, the individual number's file
present but never expected to be touched), for a synthetic resident.
:class:`VirtualCard` plugs it into a real PC/SC stack: it connects to the port of
vsmartcard's virtual reader driver (``vpcd``, in pcscd) and speaks its protocol
— each message a 2-byte big-endian length, then either one control byte
(0 power off, 1 power on, 2 reset, 4 ask for the ATR) or a command APDU, which
is answered with the response APDU. Closing the connection is taking the card
off the reader.

Nothing here is used at a real counter; a real card answers for itself.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from odekake.cardreader.apdu import (
    AID_CARD_INPUT_HELPER,
    EF_BASIC_FOUR,
    EF_INDIVIDUAL_NUMBER,
    EF_PIN,
)
from odekake.cardreader.tlv import (
    TAG_ADDRESS,
    TAG_BASIC_FOUR,
    TAG_BIRTH,
    TAG_HEADER,
    TAG_NAME,
    TAG_SEX,
    encode,
)

ATR = bytes.fromhex("3B8080018080")  # any well-formed ATR: pcscd only needs one
DEFAULT_PIN = "1234"
SYNTHETIC_NUMBER = "000000000000"  # a made-up 12-digit number the emulator holds


PIN_REDACTED = b"*"


def recorded(command: bytes) -> bytes:
    """A command as the emulator keeps it for tests: a VERIFY's data (the PIN) is
    replaced by ``*`` of the same length, so only its shape stays in memory."""
    if len(command) > 5 and command[1] == 0x20:
        return bytes(command[:5]) + PIN_REDACTED * (len(command) - 5)
    return bytes(command)


@dataclass
class Resident:
    """A synthetic card holder."""

    name: str = "磐城\ue000子"  # with one private-use character: a 外字 as the counter sees it
    address: str = "福島県いわき市平字梅本21番地 いわき市役所前 お出かけ団地3号棟2階201号室"
    birth: str = "19470315"
    sex: str = "2"


def basic_four_file(resident: Resident) -> bytes:
    inner = b"".join(
        (
            encode(TAG_HEADER, bytes.fromhex("000000000000")),
            encode(TAG_NAME, resident.name.encode("utf-8")),
            encode(TAG_ADDRESS, resident.address.encode("utf-8")),
            encode(TAG_BIRTH, resident.birth.encode("ascii")),
            encode(TAG_SEX, resident.sex.encode("ascii")),
        )
    )
    return encode(TAG_BASIC_FOUR, inner)


@dataclass
class EmulatedCard:
    """The card-side logic. ``fault`` makes it misbehave on purpose:

    ``"not_mynumber"`` (the AP is missing), ``"malformed"`` (a broken 4-item file),
    ``"stall"`` (stops answering at the first READ BINARY), ``"remove"`` (leaves the
    reader at the first READ BINARY).
    """

    resident: Resident = field(default_factory=Resident)
    pin: str = DEFAULT_PIN
    tries: int = 3
    fault: str | None = None
    commands: list[bytes] = field(default_factory=list)
    touched_number: bool = False
    _ap: bool = False
    _ef: bytes | None = None
    _verified: bool = False

    def reset(self) -> None:
        self._ap = False
        self._ef = None
        self._verified = False

    def files(self) -> dict[bytes, bytes]:
        data = basic_four_file(self.resident)
        if self.fault == "malformed":
            data = data[:4] + b"\xde\xad" + data[6:20]
        return {
            EF_BASIC_FOUR: data,
            EF_INDIVIDUAL_NUMBER: encode(0x10, SYNTHETIC_NUMBER.encode("ascii")),
        }

    def process(self, command: bytes) -> bytes:
        self.commands.append(recorded(command))
        if len(command) < 4:
            return b"\x67\x00"
        ins, p1, p2 = command[1], command[2], command[3]
        body = command[5 : 5 + command[4]] if len(command) > 5 else b""
        if ins == 0xA4 and p1 == 0x04:
            if body != AID_CARD_INPUT_HELPER or self.fault == "not_mynumber":
                self._ap = False
                return b"\x6a\x82"
            self._ap, self._ef, self._verified = True, None, False
            return b"\x90\x00"
        if ins == 0xA4 and p1 == 0x02:
            if not self._ap:
                return b"\x69\x86"
            if body == EF_INDIVIDUAL_NUMBER:
                self.touched_number = True
            if body in (EF_PIN, EF_BASIC_FOUR, EF_INDIVIDUAL_NUMBER):
                self._ef = body
                return b"\x90\x00"
            return b"\x6a\x82"
        if ins == 0x20:
            if self._ef != EF_PIN or p2 != 0x80:
                return b"\x69\x86"
            if self.tries == 0:
                return b"\x69\x83"
            if not body:
                return bytes([0x63, 0xC0 | self.tries])
            if body.decode("ascii", "replace") == self.pin:
                self.tries = 3
                self._verified = True
                return b"\x90\x00"
            self.tries -= 1
            return bytes([0x63, 0xC0 | self.tries]) if self.tries else b"\x69\x83"
        if ins == 0xB0:
            if p1 & 0x80:
                self.touched_number = True  # a short-file-identifier read could reach any EF
                return b"\x69\x86"
            if self._ef is None:
                return b"\x69\x86"
            if self._ef == EF_INDIVIDUAL_NUMBER:
                self.touched_number = True
            if not self._verified:
                return b"\x69\x82"
            data = self.files().get(self._ef, b"")
            offset = (p1 << 8) | p2
            le = command[4] if len(command) == 5 else 0
            chunk = data[offset : offset + (le or 256)]
            return chunk + b"\x90\x00"
        return b"\x6d\x00"


class VirtualCard:
    """The emulated card on vpcd's port: :meth:`insert` connects, :meth:`remove` leaves."""

    def __init__(self, card: EmulatedCard, *, host: str = "127.0.0.1", port: int = 35963) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.sock: socket.socket | None = None
        self.thread: threading.Thread | None = None
        self.inserted = threading.Event()
        self._gone = threading.Event()

    def insert(self, *, wait: float = 15.0) -> None:
        """Connect to vpcd and serve in a thread, until vpcd has spoken to the card.

        vpcd may take a connection into its listening queue just before it reopens
        its socket (right after a card left); such a connection is never served, so
        one that hears nothing within a few seconds is closed and made again.
        """
        deadline = time.monotonic() + wait
        while True:
            try:
                self.sock = socket.create_connection((self.host, self.port), timeout=2)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
                continue
            self.sock.settimeout(None)
            self._gone.clear()
            self.inserted.clear()
            self.thread = threading.Thread(target=self._serve, name="virtual-card", daemon=True)
            self.thread.start()
            if self.inserted.wait(3.0):
                return
            self.remove()
            if time.monotonic() > deadline:
                raise TimeoutError("the virtual reader never spoke to the card")

    def remove(self) -> None:
        self._gone.set()
        sock, self.sock = self.sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _recv(self, sock: socket.socket, n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            part = sock.recv(n - len(data))
            if not part:
                return None
            data += part
        return data

    def _send(self, sock: socket.socket, payload: bytes) -> None:
        sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self) -> None:
        sock = self.sock
        if sock is None:
            return
        try:
            while True:
                head = self._recv(sock, 2)
                if head is None:
                    return
                (size,) = struct.unpack(">H", head)
                message = self._recv(sock, size)
                if message is None:
                    return
                self.inserted.set()
                if size == 1:
                    if message[0] == 0x04:
                        self._send(sock, ATR)
                    elif message[0] in (0x00, 0x01, 0x02):
                        self.card.reset()
                    continue
                if message[1:2] == b"\xb0" and self.card.fault in ("stall", "remove"):
                    self.card.commands.append(recorded(message))
                    if self.card.fault == "remove":
                        self.remove()
                        return
                    self._gone.wait(3600)  # a reader that stops answering, until removed
                    return
                self._send(sock, self.card.process(message))
        except OSError:
            return
