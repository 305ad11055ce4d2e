"""PC/SC through pcsc-lite's own library (``libpcsclite.so.1``), loaded with ctypes.

Why not pyscard: on this project's machines pyscard is only an sdist, which needs
SWIG, the pcsc-lite headers and a C compiler on every van; the five calls the
counter needs are small enough to bind directly, and where the library is missing
the kiosk simply has no card reader (:class:`PcscUnavailable`).

pcsc-lite honours ``PCSCLITE_CSOCK_NAME`` (the daemon's socket), which the tests
use to talk to a private pcscd.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any

SCARD_S_SUCCESS = 0
SCARD_SCOPE_SYSTEM = 2
SCARD_SHARE_EXCLUSIVE = 1
SCARD_PROTOCOL_T0 = 1
SCARD_PROTOCOL_T1 = 2
SCARD_LEAVE_CARD = 0
SCARD_RESET_CARD = 1

# pcsc-lite's error codes (pcsclite.h) the counter tells apart.
E_NO_READERS = 0x8010002E
E_NO_SMARTCARD = 0x8010000C
E_NO_SERVICE = 0x8010001D
E_SERVICE_STOPPED = 0x8010001E
E_READER_UNAVAILABLE = 0x80100017
E_UNKNOWN_READER = 0x80100009
E_TIMEOUT = 0x8010000A
E_NOT_TRANSACTED = 0x80100016
E_SHARING = 0x8010000B
W_REMOVED_CARD = 0x80100069
W_RESET_CARD = 0x80100068
W_UNRESPONSIVE_CARD = 0x80100066
W_UNPOWERED_CARD = 0x80100067
E_COMM_DATA_LOST = 0x8010002F

REMOVED = {W_REMOVED_CARD, W_RESET_CARD, W_UNPOWERED_CARD, E_NOT_TRANSACTED}
NO_CARD = {E_NO_SMARTCARD, W_UNRESPONSIVE_CARD}
NO_READER = {E_NO_READERS, E_READER_UNAVAILABLE, E_UNKNOWN_READER}
NO_SERVICE = {E_NO_SERVICE, E_SERVICE_STOPPED}


class PcscUnavailable(Exception):
    """No pcsc-lite library on this machine."""


class PcscError(Exception):
    """A PC/SC call failed; ``code`` is pcsc-lite's error code."""

    def __init__(self, call: str, code: int) -> None:
        super().__init__(f"{call}: 0x{code:08X}")
        self.call = call
        self.code = code


class _IoRequest(ctypes.Structure):
    _fields_ = [("dwProtocol", ctypes.c_ulong), ("cbPciLength", ctypes.c_ulong)]


_lib: Any = None
_lib_lock = threading.Lock()


def library() -> Any:
    """pcsc-lite, loaded once; :class:`PcscUnavailable` when it is not installed."""
    global _lib
    with _lib_lock:
        if _lib is None:
            name = ctypes.util.find_library("pcsclite") or "libpcsclite.so.1"
            try:
                lib = ctypes.CDLL(name)
            except OSError as exc:
                raise PcscUnavailable(str(exc)) from exc
            long_p = ctypes.POINTER(ctypes.c_long)
            ulong_p = ctypes.POINTER(ctypes.c_ulong)
            lib.SCardEstablishContext.argtypes = [
                ctypes.c_ulong,
                ctypes.c_void_p,
                ctypes.c_void_p,
                long_p,
            ]
            lib.SCardReleaseContext.argtypes = [ctypes.c_long]
            lib.SCardListReaders.argtypes = [
                ctypes.c_long,
                ctypes.c_char_p,
                ctypes.c_char_p,
                ulong_p,
            ]
            lib.SCardConnect.argtypes = [
                ctypes.c_long,
                ctypes.c_char_p,
                ctypes.c_ulong,
                ctypes.c_ulong,
                long_p,
                ulong_p,
            ]
            lib.SCardDisconnect.argtypes = [ctypes.c_long, ctypes.c_ulong]
            lib.SCardTransmit.argtypes = [
                ctypes.c_long,
                ctypes.POINTER(_IoRequest),
                ctypes.c_char_p,
                ctypes.c_ulong,
                ctypes.c_void_p,
                ctypes.c_char_p,
                ulong_p,
            ]
            lib.SCardCancel.argtypes = [ctypes.c_long]
            for fn in (
                lib.SCardEstablishContext,
                lib.SCardReleaseContext,
                lib.SCardListReaders,
                lib.SCardConnect,
                lib.SCardDisconnect,
                lib.SCardTransmit,
                lib.SCardCancel,
            ):
                fn.restype = ctypes.c_long
            _lib = lib
        return _lib


def _check(call: str, rv: int) -> None:
    code = rv & 0xFFFFFFFF
    if code != SCARD_S_SUCCESS:
        raise PcscError(call, code)


class Context:
    """One PC/SC context: list readers, connect to the first one's card."""

    def __init__(self) -> None:
        self.lib = library()
        handle = ctypes.c_long(0)
        _check(
            "SCardEstablishContext",
            self.lib.SCardEstablishContext(SCARD_SCOPE_SYSTEM, None, None, ctypes.byref(handle)),
        )
        self.handle = handle.value

    def readers(self) -> list[str]:
        size = ctypes.c_ulong(0)
        rv = self.lib.SCardListReaders(self.handle, None, None, ctypes.byref(size))
        if rv & 0xFFFFFFFF == E_NO_READERS:
            return []
        _check("SCardListReaders", rv)
        buf = ctypes.create_string_buffer(size.value)
        rv = self.lib.SCardListReaders(self.handle, None, buf, ctypes.byref(size))
        if rv & 0xFFFFFFFF == E_NO_READERS:
            return []
        _check("SCardListReaders", rv)
        raw = buf.raw[: size.value]
        return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]

    def connect(self, reader: str) -> Card:
        card = ctypes.c_long(0)
        protocol = ctypes.c_ulong(0)
        _check(
            "SCardConnect",
            self.lib.SCardConnect(
                self.handle,
                reader.encode("utf-8"),
                SCARD_SHARE_EXCLUSIVE,
                SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                ctypes.byref(card),
                ctypes.byref(protocol),
            ),
        )
        return Card(self, card.value, protocol.value)

    def cancel(self) -> None:
        self.lib.SCardCancel(self.handle)

    def release(self) -> None:
        self.lib.SCardReleaseContext(self.handle)


class Card:
    """A connected card: transmit raw commands (the caller checks them first)."""

    def __init__(self, context: Context, handle: int, protocol: int) -> None:
        self.context = context
        self.handle = handle
        self.pci = _IoRequest(protocol or SCARD_PROTOCOL_T1, ctypes.sizeof(_IoRequest))

    def transmit(self, command: bytes) -> bytes:
        out = ctypes.create_string_buffer(258 + 2)
        size = ctypes.c_ulong(len(out))
        _check(
            "SCardTransmit",
            self.context.lib.SCardTransmit(
                self.handle,
                ctypes.byref(self.pci),
                command,
                len(command),
                None,
                out,
                ctypes.byref(size),
            ),
        )
        return out.raw[: size.value]

    def disconnect(self) -> None:
        # Reset on the way out: the PIN's verified state must not outlive this read.
        self.context.lib.SCardDisconnect(self.handle, SCARD_RESET_CARD)
