"""Every error of the policy form at once, each beside its field, in the form's words.

The planner's parser (:func:`planner.policy.policy_from_dict`) stops at the first rule a
policy breaks and names it with TOML keys (``calendar.closed:``, ``[[pins]] の1番目``).
The form needs more: :func:`collect` runs the parser again and again, each time
setting aside the piece of the policy the last message was about (a district's value,
a pin, a day list…), so one save reports every broken field; a message that names no
field is placed by setting pieces aside one by one until it goes away. :func:`form_words`
rewrites the parser's keys into the words printed on the form.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from planner.inputs import PolicyError

GENERAL = "_general"
ROUNDS = 12  # at most this many parser runs after the first (each ~0.1-0.2 s)

DEFAULT_WINDOWS = ["10:00-12:00", "13:30-15:30"]
DEFAULT_SHIFT = "08:30-17:15"

# TOML keys in the parser's messages → the form's words.
_WORDS: tuple[tuple[str, str], ...] = (
    (r"calendar\.closed:?\s*", "休む日: "),
    (r"calendar\.opened:?\s*", "休日稼働する日: "),
    (r"windows\.default:?\s*", "ふだんの時間帯: "),
    (r"windows\.setup_minutes", "準備(分)"),
    (r"windows\.teardown_minutes", "片付け(分)"),
    (r"windows\.days[^\s:]*:?\s*", "日ごとの時間帯: "),
    (r"\[\[pins\]\]\s*の(\d+)番目", r"固定する訪問の\1行目"),
    (r"\[\[forbid\]\]\s*の(\d+)番目", r"訪問しない会場・地区・日の\1行目"),
    (r"\[\[pins\]\]", "固定する訪問"),
    (r"\[\[forbid\]\]", "訪問しない会場・地区・日"),
    (r"\[\[events\.voting\]\]|events\.voting", "移動期日前投票所"),
    (r"\[\[events\.disaster\]\]|events\.disaster", "災害対応"),
    (r"\[\[events\.reservation\]\]|events\.reservation", "予約訪問"),
    (r"\bwindow\b", "時間帯"),
    (r"\bmaintenance\b", "整備日"),
    (r"\bshift\b", "勤務時間"),
    (r"\bhorizon\b", "計画する月"),
)


def form_words(message: str, districts: Mapping[str, str] | None = None) -> str:
    """The parser's message with its TOML keys replaced by the form's words."""
    out = message
    for did, name in (districts or {}).items():
        out = re.sub(rf"\[districts\.{re.escape(did)}\]\s*", f"{name}の", out)
        out = re.sub(rf"\[districts\.\"?{re.escape(name)}\"?\]\s*", f"{name}の", out)
    for pattern, words in _WORDS:
        out = re.sub(pattern, words, out)
    return out


@dataclass(frozen=True)
class Piece:
    """A part of the policy the form edits: its field, and how to set it aside."""

    field: str
    set_aside: Callable[[dict[str, Any]], None]
    # Which cell of a row a message is about, by the words it holds (first match).
    cells: tuple[tuple[str, str], ...] = ()

    def field_for(self, message: str) -> str:
        """The cell of this piece the message names (its first field otherwise)."""
        for words, name in self.cells:
            if re.search(words, message):
                return name
        return self.field


_POP = object()  # _put's value meaning "remove the key"


def _put(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or with ``_POP`` remove) the value at ``path`` of a policy document."""

    def run(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        if value is _POP:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = copy.deepcopy(value)

    return run


def _drop(kind: str, position: int, events: bool = False) -> Callable[[dict[str, Any]], None]:
    def run(doc: dict[str, Any]) -> None:
        table = doc.get("events", {}) if events else doc
        items = table.get(kind, [])
        if position < len(items):
            items[position] = None

    return run


def _clean(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy without the rows set aside (the parser never sees a hole)."""
    out = copy.deepcopy(doc)
    for key in ("pins", "forbid"):
        if key in out:
            out[key] = [x for x in out[key] if x is not None]
            if not out[key]:
                out.pop(key)
    events = out.get("events", {})
    for kind in list(events):
        events[kind] = [x for x in events[kind] if x is not None]
        if not events[kind]:
            events.pop(kind)
    if "events" in out and not events:
        out.pop("events")
    return out


def pieces(doc: dict[str, Any], rows: Mapping[str, list[int]]) -> list[Piece]:
    """Every piece of ``doc`` the form edits; ``rows`` maps a row kind (``pin``, …) to the
    form's row indices in the order the rows are in the document."""
    out: list[Piece] = []
    for did, rule in doc.get("districts", {}).items():
        if did == "default" or not isinstance(rule, dict):
            continue
        for k in list(rule):
            out.append(Piece(f"d.{did}.{k}", _put(("districts", did, k), _POP)))
    out.append(Piece("windows.default", _put(("windows", "default"), DEFAULT_WINDOWS)))
    for k in ("setup_minutes", "teardown_minutes"):
        out.append(Piece(f"windows.{k}", _put(("windows", k), 15)))
    for j, van in enumerate(doc.get("vans", [])):
        vid = van.get("id", "")
        out.append(Piece(f"van.{vid}.shift", _put(("vans", j, "shift"), DEFAULT_SHIFT)))
        out.append(Piece(f"van.{vid}.maintenance", _put(("vans", j, "maintenance"), [])))
    for k in ("opened", "closed"):
        out.append(Piece(f"calendar.{k}", _put(("calendar", k), [])))
    time_words = "時刻|時間帯|window|HH:MM"
    layout: tuple[tuple[str, str, bool, tuple[tuple[str, str], ...], str], ...] = (
        ("pins", "pin", False, ((time_words, "window"), ("日付|日が|date", "date")), "site"),
        (
            "forbid",
            "forbid",
            False,
            (("から|\\bfrom\\b", "from"), ("まで|\\bto\\b", "to"), ("日付|date", "dates")),
            "site",
        ),
        ("voting", "voting", True, (("停車|会場|" + time_words, "stops"), ("車両", "van")), "date"),
        (
            "disaster",
            "disaster",
            True,
            (("終了|end", "end"), ("会場", "sites"), ("車両", "van")),
            "start",
        ),
        (
            "reservation",
            "resv",
            True,
            ((time_words, "window"), ("会場", "site"), ("まで|\\bto\\b", "to")),
            "from",
        ),
    )
    for kind, form_kind, is_event, cells, first in layout:
        items = (doc.get("events", {}) if is_event else doc).get(kind, [])
        indices = rows.get(form_kind, [])
        for pos in range(len(items)):
            i = indices[pos] if pos < len(indices) else pos
            out.append(
                Piece(
                    f"{form_kind}.{i}.{first}",
                    _drop(kind, pos, is_event),
                    tuple((w, f"{form_kind}.{i}.{c}") for w, c in cells),
                )
            )
    return out


def collect(
    doc: dict[str, Any],
    check: Callable[[dict[str, Any]], None],
    parts: list[Piece],
    *,
    place: Callable[[str], str],
    errors: dict[str, str],
    districts: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Run ``check`` until it passes, setting aside each field it complains about.

    Args:
        doc: The policy as the form wrote it (not changed).
        check: The planner's parser (raises :class:`PolicyError`).
        parts: What may be set aside (:func:`pieces`).
        place: The field a message names by its words (``GENERAL`` when none).
        errors: Errors already found in the fields themselves (their pieces are set
            aside first); the parser's messages are added to it.
        districts: District ids → names, for :func:`form_words`.
    """
    work = copy.deepcopy(doc)
    by_field = {p.field: p for p in parts}
    for p in parts:
        if p.field in errors:
            p.set_aside(work)
    for _ in range(ROUNDS):
        try:
            check(_clean(work))
            return errors
        except PolicyError as exc:
            message = str(exc)
        field = place(message)
        piece = by_field.get(field)
        if piece is None or field in errors:
            piece = _culprit(work, check, [p for p in parts if p.field not in errors], message)
            if piece is None:
                errors.setdefault(GENERAL, form_words(message, districts))
                return errors
        field = piece.field_for(message)
        errors.setdefault(field, form_words(message, districts))
        piece.set_aside(work)
    return errors


def _culprit(
    work: dict[str, Any], check: Callable[[dict[str, Any]], None], parts: list[Piece], message: str
) -> Piece | None:
    """The piece whose setting aside makes ``message`` go away (rows first: pins,
    forbids and events are where unplaced messages come from)."""
    ordered = sorted(parts, key=lambda p: 0 if p.field.split(".")[0] in ROW_KINDS else 1)
    for p in ordered[:ROUNDS]:
        trial = copy.deepcopy(work)
        p.set_aside(trial)
        try:
            check(_clean(trial))
            return p
        except PolicyError as exc:
            if str(exc) != message:
                return p
    return None


ROW_KINDS = {"pin", "forbid", "voting", "disaster", "resv"}
