"""The counter's My Number card reader: the 基本4情報 from the chip, never the number.

:func:`read_identity` and :func:`probe` are what the kiosk calls;
:mod:`~odekake.cardreader.apdu` is the list of commands that may reach a card;
:mod:`~odekake.cardreader.emulator` and :mod:`~odekake.cardreader.stack` are a
synthetic card and a private pcscd for demos and tests.
"""

from odekake.cardreader.reader import (
    CardIdentity,
    CardReadError,
    CardStatus,
    probe,
    read_identity,
)

__all__ = ["CardIdentity", "CardReadError", "CardStatus", "probe", "read_identity"]
