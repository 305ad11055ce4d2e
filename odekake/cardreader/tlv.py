"""The 4-item file (EF 00 02) of the 券面事項入力補助AP: a small BER-TLV.

Layout (as read by the open implementations cited in docs/kiosk.md): one
private constructed object ``FF 20`` holding private primitive objects
``DF 21`` (a header), ``DF 22`` name (UTF-8), ``DF 23`` address (UTF-8),
``DF 24`` birth date (``YYYYMMDD``, ASCII) and ``DF 25`` sex (ISO 5218:
``1`` male, ``2`` female, ``9`` not applicable). Everything is bounds-checked;
anything else is :class:`MalformedCard`.
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_BASIC_FOUR = 0xFF20
TAG_HEADER = 0xDF21
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH = 0xDF24
TAG_SEX = 0xDF25

MAX_FILE = 2048  # the file is a few hundred bytes; a longer length is a broken card


class MalformedCard(Exception):
    """The card's answer does not have the documented layout."""


@dataclass(frozen=True)
class Item:
    tag: int
    value: bytes


def read_header(data: bytes) -> tuple[int, int, int]:
    """``(tag, header length, value length)`` of the object starting at ``data[0]``."""
    if len(data) < 2:
        raise MalformedCard("short header")
    pos = 1
    tag = data[0]
    if data[0] & 0x1F == 0x1F:
        while True:
            if pos >= len(data) or pos > 3:
                raise MalformedCard("tag too long")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    if pos >= len(data):
        raise MalformedCard("length missing")
    first = data[pos]
    pos += 1
    if first < 0x80:
        length = first
    elif first in (0x81, 0x82):
        n = first & 0x7F
        if pos + n > len(data):
            raise MalformedCard("length truncated")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    else:
        raise MalformedCard("unsupported length form")
    return tag, pos, length


def parse_items(data: bytes) -> list[Item]:
    """The objects one after the other in ``data`` (not descending)."""
    items: list[Item] = []
    pos = 0
    while pos < len(data):
        if data[pos] in (0x00, 0xFF) and all(b == data[pos] for b in data[pos:]):
            break  # padding after the last object
        tag, head, length = read_header(data[pos:])
        end = pos + head + length
        if end > len(data):
            raise MalformedCard("value runs past the data")
        items.append(Item(tag, bytes(data[pos + head : end])))
        pos = end
    return items


def encode(tag: int, value: bytes) -> bytes:
    """One object (used by the card emulator)."""
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return tag_bytes + length + value


@dataclass(frozen=True)
class BasicFourRaw:
    """The 4 items as the card stores them (still bytes-level checked strings)."""

    name: str
    address: str
    birth: str
    sex: str


def parse_basic_four(data: bytes) -> BasicFourRaw:
    """Decode the whole file; :class:`MalformedCard` when anything is off."""
    outer = parse_items(data)
    if not outer or outer[0].tag != TAG_BASIC_FOUR:
        raise MalformedCard("not the 4-item object")
    found: dict[int, bytes] = {}
    for item in parse_items(outer[0].value):
        if item.tag in found:
            raise MalformedCard("an item twice")
        found[item.tag] = item.value
    try:
        name = found[TAG_NAME].decode("utf-8")
        address = found[TAG_ADDRESS].decode("utf-8")
        birth = found[TAG_BIRTH].decode("ascii")
        sex = found[TAG_SEX].decode("ascii")
    except KeyError as exc:
        raise MalformedCard("an item is missing") from exc
    except UnicodeDecodeError as exc:
        raise MalformedCard("an item is not text") from exc
    if not (len(birth) == 8 and birth.isdigit()):
        raise MalformedCard("birth date is not YYYYMMDD")
    if sex not in ("1", "2", "9"):
        raise MalformedCard("sex is not an ISO 5218 code")
    if not name.strip() or not address.strip():
        raise MalformedCard("empty name or address")
    return BasicFourRaw(name=name, address=address, birth=birth, sex=sex)
