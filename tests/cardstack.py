"""A real PC/SC stack for the card-reader tests (core and kiosk): a private pcscd with vsmartcard's
virtual reader, and the project's emulated My Number card plugged into it.

Installed with apt-get when missing and running as root (like Chromium); where
that is impossible the tests are skipped with the reason printed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from odekake.cardreader import CardReadError, probe
from odekake.cardreader.emulator import EmulatedCard, VirtualCard
from odekake.cardreader.stack import PrivateStack, install_if_missing


def _skip_reason() -> str | None:
    reason = install_if_missing()
    if reason:
        print(f"\nカードリーダーの試験を省略します: {reason}")
    return reason


@pytest.fixture(scope="session")
def socket_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One socket folder for every stack of this process (pcsc-lite reads it once)."""
    return tmp_path_factory.mktemp("pcscd-run")


@pytest.fixture
def pcsc_stack(socket_dir: Path) -> Iterator[PrivateStack]:
    """A fresh pcscd for each test: vpcd does not always serve a card put back on
    the same reader right after one left, and a test must not depend on that."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    stack = PrivateStack(run_dir=socket_dir).start()
    old = os.environ.get("PCSCLITE_CSOCK_NAME")
    os.environ.update(stack.environ)
    try:
        yield stack
    finally:
        stack.stop()
        if old is None:
            os.environ.pop("PCSCLITE_CSOCK_NAME", None)
        else:
            os.environ["PCSCLITE_CSOCK_NAME"] = old


def wait_for_card(present: bool, *, limit: float = 10.0) -> None:
    """Until pcscd has noticed the card arrive (or leave)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            probe(timeout=5)
            seen = True
        except CardReadError as exc:
            if exc.kind == "removed":
                time.sleep(0.1)
                continue  # pcscd has not noticed yet
            seen = exc.kind != "no_card"
        if seen == present:
            return
        time.sleep(0.1)
    raise AssertionError(f"pcscd did not see the card {'arrive' if present else 'leave'}")


class Inserted:
    """Puts an emulated card on the private reader; :meth:`remove` takes it off."""

    def __init__(self, stack: PrivateStack) -> None:
        self.stack = stack
        self.virtual: VirtualCard | None = None

    def __call__(self, card: EmulatedCard | None = None) -> EmulatedCard:
        card = card or EmulatedCard()
        self.virtual = VirtualCard(card, port=self.stack.port)
        self.virtual.insert()
        if card.fault not in ("not_mynumber",):
            wait_for_card(True)
        else:
            time.sleep(1.0)
        card.commands.clear()
        return card

    def remove(self) -> None:
        if self.virtual is not None:
            self.virtual.remove()
            self.virtual = None


@pytest.fixture
def insert(pcsc_stack: PrivateStack) -> Iterator[Inserted]:
    inserted = Inserted(pcsc_stack)
    yield inserted
    inserted.remove()
