"""The private PC/SC stack's fixtures (tests/cardstack.py)."""

from tests.cardstack import insert, pcsc_stack, socket_dir

__all__ = ["insert", "pcsc_stack", "socket_dir"]
