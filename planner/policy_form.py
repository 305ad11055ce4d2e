"""The planning policy as a form (the console's 巡回計画 settings), and back.

The TOML document stays the truth: :func:`form_view` reads a policy text into the
rows a form shows; :func:`apply_form` writes the submitted fields back into the same
document (sections the form does not show are kept as they are) and checks the
result with the planner's own parser (:func:`planner.policy.policy_from_dict`).
Errors come back keyed by form field, in the parser's Japanese, so the page can show
each one beside the field it concerns.

Field names: ``month``; ``d.<district>.min_visits|max_visits|min_days_between|weight``;
``windows.default|setup_minutes|teardown_minutes``; ``van.<id>.shift|maintenance``;
``calendar.opened|closed``; ``objective.driving`` (``approximate`` | ``exact``);
``voting.<i>.*``, ``disaster.<i>.*``, ``resv.<i>.*``,
``pin.<i>.*``, ``forbid.<i>.*`` (rows; an empty row is ignored, one empty row is
offered for adding).
"""

from __future__ import annotations

import calendar
import copy
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlite_utils

from odekake.access import audit
from odekake.errors import OdekakeError
from odekake.masterdata import master
from odekake.storage.db import write
from planner import policy_errors
from planner.inputs import DRIVING_MODES, PolicyError, Window
from planner.policy import policy_from_dict
from planner.tomlfile import dumps

GENERAL = "_general"
DISTRICT_FIELDS = ("min_visits", "max_visits", "min_days_between", "weight")
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "voting": ("id", "label", "date", "van", "stops"),
    "disaster": ("id", "label", "start", "end", "van", "sites"),
    "resv": ("id", "label", "site", "from", "to", "window"),
    "pin": ("site", "date", "window"),
    "forbid": ("site", "district", "dates", "from", "to"),
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_of(text: str) -> tuple[date, date]:
    """``"2026-12"`` → first and last day; :class:`PolicyError` when malformed."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise PolicyError(f"計画する月は 2026-12 の形で選びます({text!r})")
    y, mo = int(m.group(1)), int(m.group(2))
    return date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])


def next_month(today: date) -> str:
    """The month after ``today`` as ``YYYY-MM`` (the default period)."""
    first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return f"{first.year:04d}-{first.month:02d}"


def default_policy(db: sqlite_utils.Database, month: str) -> str:
    """A starting policy for a month: every van, Iwaki's two windows, mild district rules."""
    start, _ = month_of(month)
    doc: dict[str, Any] = {
        "horizon": {"start": start.isoformat(), "months": 1},
        "vans": [
            {"id": r[0], "shift": f"{r[1]}-{r[2]}", "maintenance": []}
            for r in db.execute("SELECT id, shift_start, shift_end FROM vans ORDER BY id")
        ],
        "windows": {
            "default": ["10:00-12:00", "13:30-15:30"],
            "setup_minutes": 15,
            "teardown_minutes": 15,
        },
        "districts": {
            "default": {"min_visits": 1, "max_visits": 3, "min_days_between": 7, "weight": 1.0}
        },
        "calendar": {"opened": [], "closed": []},
    }
    return dumps(doc, f"巡回計画の設定 {month}(管理画面で作成)")


def saved_policy(db: sqlite_utils.Database, month: str) -> str | None:
    """The policy saved for a month, if any."""
    row = db.execute("SELECT toml FROM plan_policies WHERE month = ?", [month]).fetchone()
    return None if row is None else str(row[0])


def policy_text(db: sqlite_utils.Database, month: str) -> str:
    """The month's saved policy, or a default one."""
    return saved_policy(db, month) or default_policy(db, month)


def save_policy(db: sqlite_utils.Database, month: str, text: str, *, actor: str) -> None:
    """Store the month's policy (already checked) and audit it."""
    month_of(month)
    with write(db):
        db.execute(
            "INSERT INTO plan_policies(month, toml, updated_at, updated_by) VALUES (?,?,?,?) "
            "ON CONFLICT(month) DO UPDATE SET toml = excluded.toml, "
            "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            [month, text, datetime.now(UTC).isoformat(timespec="seconds"), actor],
        )
        audit.log(db, actor, "policy.save", month, {"bytes": len(text.encode())})


def parse_text(text: str) -> dict[str, Any]:
    """The TOML document, or :class:`PolicyError` in Japanese."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"設定ファイル(TOML)の書き方に誤りがあります: {exc}") from exc


def replan_from_today(text: str, month: str, today: date) -> date | None:
    """Where the console's 計画を作成 starts: a month already under way (its first planned
    day — ``horizon.start``, else the month's first day — before today) is planned from
    today on, since past days cannot be planned; otherwise None (the whole period). None
    too when the text cannot be read (the solve then names what is wrong)."""
    try:
        start = parse_text(text).get("horizon", {}).get("start")
        if start is None:
            first = month_of(month)[0]
        else:
            first = start if isinstance(start, date) else date.fromisoformat(str(start))
    except (PolicyError, ValueError, AttributeError):
        return None
    return today if first < today else None


def check_policy(db: sqlite_utils.Database, doc: dict[str, Any], today: date) -> None:
    """Run the planner's own parser over ``doc`` (raises its :class:`PolicyError`)."""
    try:
        policy_from_dict(copy.deepcopy(doc), db, today=today)
    except PolicyError:
        raise
    except OdekakeError as exc:
        raise PolicyError(str(exc)) from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise PolicyError(f"設定の値の形が正しくありません({exc})") from exc


def _text(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(_text(x) for x in v)
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else str(v)


def _stops_text(stops: list[dict[str, Any]]) -> str:
    out = []
    for s in stops:
        w = s.get("window") or f"{s.get('start', '')}-{s.get('end', '')}"
        out.append(f"{s.get('site', '')} {w}")
    return "; ".join(out)


@dataclass
class PolicyView:
    """What the policy form shows (values as text, errors by field)."""

    month: str
    start: date
    end: date
    districts: list[dict[str, str]]
    vans: list[dict[str, str]]
    windows: dict[str, str]
    calendar: dict[str, str]
    rows: dict[str, list[dict[str, str]]]
    # How driving counts in the objective ([objective] driving).
    driving: str = "approximate"
    errors: dict[str, str] = field(default_factory=dict)
    text: str = ""
    # What the coordinator typed, shown again (instead of the stored value) after an error.
    typed: dict[str, str] = field(default_factory=dict)


def form_view(db: sqlite_utils.Database, month: str, text: str) -> PolicyView:
    """The form's rows for a policy text (``PolicyError`` when the TOML is unreadable)."""
    start, end = month_of(month)
    doc = parse_text(text)
    table = doc.get("districts", {}) if isinstance(doc.get("districts"), dict) else {}
    default = table.get("default", {})
    districts = []
    for d in master.districts(db):
        rule = {"min_visits": 0, "max_visits": 99, "min_days_between": 1, "weight": 1.0}
        rule.update(default)
        rule.update(table.get(d.id, {}))
        rule.update(table.get(d.name, {}))
        districts.append(
            {"id": d.id, "name": d.name, **{k: _text(rule.get(k)) for k in DISTRICT_FIELDS}}
        )
    wanted = {v.get("id"): v for v in doc.get("vans", []) if isinstance(v, dict)}
    vans = []
    for vid, name, s0, s1 in db.execute(
        "SELECT id, name, shift_start, shift_end FROM vans ORDER BY id"
    ):
        v = wanted.get(vid, {})
        vans.append(
            {
                "id": vid,
                "name": name,
                "shift": _text(v.get("shift", f"{s0}-{s1}")),
                "maintenance": _text(v.get("maintenance", [])),
            }
        )
    win = doc.get("windows", {})
    cal = doc.get("calendar", {})
    ev = doc.get("events", {})
    rows: dict[str, list[dict[str, str]]] = {
        "voting": [
            {
                "id": _text(e.get("id")),
                "label": _text(e.get("label")),
                "date": _text(e.get("date")),
                "van": _text(e.get("van")),
                "stops": _stops_text(e.get("stops", [])),
            }
            for e in ev.get("voting", [])
        ],
        "disaster": [
            {k: _text(e.get(k)) for k in ROW_FIELDS["disaster"]} for e in ev.get("disaster", [])
        ],
        "resv": [
            {k: _text(e.get("site" if k == "site" else k)) for k in ROW_FIELDS["resv"]}
            for e in ev.get("reservation", [])
        ],
        "pin": [{k: _text(e.get(k)) for k in ROW_FIELDS["pin"]} for e in doc.get("pins", [])],
        "forbid": [
            {k: _text(e.get(k)) for k in ROW_FIELDS["forbid"]} for e in doc.get("forbid", [])
        ],
    }
    for kind, fields_ in ROW_FIELDS.items():
        rows[kind].append(dict.fromkeys(fields_, ""))
    return PolicyView(
        month=month,
        start=start,
        end=end,
        districts=districts,
        vans=vans,
        windows={
            "default": _text(win.get("default", ["10:00-12:00", "13:30-15:30"])),
            "setup_minutes": _text(win.get("setup_minutes", 15)),
            "teardown_minutes": _text(win.get("teardown_minutes", 15)),
        },
        calendar={"opened": _text(cal.get("opened", [])), "closed": _text(cal.get("closed", []))},
        rows=rows,
        driving=_text(doc.get("objective", {}).get("driving", DRIVING_MODES[0])),
        text=text,
    )


def _date_value(text: str) -> str | int:
    t = text.strip()
    return int(t) if t.isdigit() else t


def _dates(text: str) -> list[str | int]:
    return [_date_value(x) for x in re.split(r"[,、\s]+", text) if x.strip()]


def _list(text: str) -> list[str]:
    return [x for x in re.split(r"[,、\s]+", text) if x.strip()]


def _rows(fields: Mapping[str, str], kind: str) -> list[tuple[int, dict[str, str]]]:
    idx = sorted(
        {
            int(k.split(".")[1])
            for k in fields
            if k.startswith(kind + ".") and k.split(".")[1].isdigit()
        }
    )
    out = []
    for i in idx:
        row = {f: str(fields.get(f"{kind}.{i}.{f}", "")).strip() for f in ROW_FIELDS[kind]}
        if any(row.values()):
            out.append((i, row))
    return out


# Where a message of the planner's parser belongs, by the words it contains.
def _field_for(message: str, doc_fields: dict[str, str]) -> str:
    for key, where in doc_fields.items():
        if key in message:
            return where
    return GENERAL


def apply_form(
    db: sqlite_utils.Database, text: str, fields: Mapping[str, str], today: date
) -> tuple[str, dict[str, str]]:
    """Write the submitted fields into the policy text; check it with the planner's parser.

    Returns:
        The new TOML text (also when there are errors, so the form shows what was
        typed) and the errors keyed by field name (empty when the policy is valid).
    """
    errors: dict[str, str] = {}
    doc = parse_text(text)
    month = str(fields.get("month", "")).strip()
    try:
        start, _ = month_of(month)
        doc["horizon"] = {"start": start.isoformat(), "months": 1}
    except PolicyError as exc:
        errors["month"] = str(exc)
    # Districts: one explicit table per district id (name-keyed tables would override).
    table = {"default": doc.get("districts", {}).get("default", {})}
    where: dict[str, str] = {}
    for d in master.districts(db):
        rule: dict[str, Any] = {}
        for k in DISTRICT_FIELDS:
            name = f"d.{d.id}.{k}"
            raw = str(fields.get(name, "")).strip()
            if raw == "":
                continue
            try:
                rule[k] = float(raw) if k == "weight" else int(raw)
            except ValueError:
                errors[name] = "数で入力してください" if k == "weight" else "整数で入力してください"
        if (
            "min_visits" in rule
            and "max_visits" in rule
            and rule["min_visits"] > rule["max_visits"]
        ):
            errors[f"d.{d.id}.max_visits"] = (
                f"{d.name}: 上限({rule['max_visits']}回)が最低回数({rule['min_visits']}回)より少なくなっています"
            )
        table[d.id] = rule
        where[f"{d.name}の"] = f"d.{d.id}.min_visits"
        where[f"[districts.{d.id}]"] = f"d.{d.id}.min_visits"
    doc["districts"] = table
    # Windows.
    win = dict(doc.get("windows", {}))
    pieces = _list(str(fields.get("windows.default", "")))
    for p in pieces:
        try:
            Window.parse(p)
        except PolicyError as exc:
            errors["windows.default"] = str(exc)
    win["default"] = pieces
    for k in ("setup_minutes", "teardown_minutes"):
        raw = str(fields.get(f"windows.{k}", "")).strip()
        try:
            win[k] = int(raw or "15")
        except ValueError:
            errors[f"windows.{k}"] = "分を整数で入力してください"
    doc["windows"] = win
    where["windows"] = "windows.default"
    where["受付時間帯"] = "windows.default"
    # Vans.
    vans = []
    for (vid,) in db.execute("SELECT id FROM vans ORDER BY id").fetchall():
        shift = str(fields.get(f"van.{vid}.shift", "")).strip()
        try:
            Window.parse(shift)
        except PolicyError as exc:
            errors[f"van.{vid}.shift"] = str(exc)
        vans.append(
            {
                "id": vid,
                "shift": shift,
                "maintenance": _dates(str(fields.get(f"van.{vid}.maintenance", ""))),
            }
        )
        where[f"車両 {vid} の整備日"] = f"van.{vid}.maintenance"
        where[f"車両 {vid}"] = f"van.{vid}.shift"
    doc["vans"] = vans
    # Calendar.
    doc["calendar"] = {
        "opened": _dates(str(fields.get("calendar.opened", ""))),
        "closed": _dates(str(fields.get("calendar.closed", ""))),
    }
    where["calendar.opened"] = "calendar.opened"
    where["calendar.closed"] = "calendar.closed"
    # How driving counts (kept as it is when the form does not send it).
    if "objective.driving" in fields:
        mode = str(fields["objective.driving"]).strip()
        if mode in DRIVING_MODES:
            doc["objective"] = {**doc.get("objective", {}), "driving": mode}
        else:
            errors["objective.driving"] = "移動時間の数え方は一覧から選びます"
    where["objective.driving"] = "objective.driving"
    # Events.
    events: dict[str, list[dict[str, Any]]] = {}
    for i, r in _rows(fields, "voting"):
        stops = []
        for part in [p for p in r["stops"].split(";") if p.strip()]:
            bits = part.split()
            if len(bits) != 2:
                errors[f"voting.{i}.stops"] = "停車は「会場ID 09:30-12:00」を ; で区切って書きます"
                continue
            stops.append({"site": bits[0], "window": bits[1]})
        item: dict[str, Any] = {"date": _date_value(r["date"]), "stops": stops}
        for k in ("id", "label", "van"):
            if r[k]:
                item[k] = r[k]
        events.setdefault("voting", []).append(item)
        where.setdefault("期日前投票", f"voting.{i}.date")
    for i, r in _rows(fields, "disaster"):
        item = {"start": _date_value(r["start"]), "end": _date_value(r["end"])}
        item["sites"] = _list(r["sites"])
        for k in ("id", "label", "van"):
            if r[k]:
                item[k] = r[k]
        events.setdefault("disaster", []).append(item)
        where.setdefault("災害対応", f"disaster.{i}.start")
    for i, r in _rows(fields, "resv"):
        item = {"site": r["site"], "from": _date_value(r["from"])}
        if r["to"]:
            item["to"] = _date_value(r["to"])
        if r["window"]:
            item["window"] = r["window"]
        for k in ("id", "label"):
            if r[k]:
                item[k] = r[k]
        events.setdefault("reservation", []).append(item)
        where.setdefault("予約訪問", f"resv.{i}.from")
    if events:
        doc["events"] = events
    else:
        doc.pop("events", None)
    # Pins and forbids (hand rules of the coordinator).
    pins = []
    for n, (i, r) in enumerate(_rows(fields, "pin"), start=1):
        pin: dict[str, Any] = {"site": r["site"], "date": _date_value(r["date"])}
        if r["window"]:
            pin["window"] = r["window"]
        pins.append(pin)
        where[f"[[pins]] の{n}番目"] = f"pin.{i}.site"
    forbids = []
    for n, (i, r) in enumerate(_rows(fields, "forbid"), start=1):
        rule_f: dict[str, Any] = {}
        for k in ("site", "district"):
            if r[k]:
                rule_f[k] = r[k]
        if r["dates"]:
            rule_f["dates"] = _dates(r["dates"])
        for k in ("from", "to"):
            if r[k]:
                rule_f[k] = _date_value(r[k])
        forbids.append(rule_f)
        where[f"[[forbid]] の{n}番目"] = f"forbid.{i}.site"
    if pins:
        doc["pins"] = pins
    else:
        doc.pop("pins", None)
    if forbids:
        doc["forbid"] = forbids
    else:
        doc.pop("forbid", None)
    new_text = dumps(doc, f"巡回計画の設定 {month}(管理画面で保存)")
    names = {d.id: d.name for d in master.districts(db)}

    def place(message: str) -> str:
        found = _field_for(message, where)
        if found.startswith("d.") and found.endswith(".min_visits"):
            for words, k in (
                ("重み", "weight"),
                ("上限", "max_visits"),
                ("間隔|日以上", "min_days_between"),
            ):
                if re.search(words, message):
                    return found.rsplit(".", 1)[0] + "." + k
        return found

    rows = {kind: [i for i, _ in _rows(fields, kind)] for kind in ROW_FIELDS}
    errors = policy_errors.collect(
        doc,
        lambda d: check_policy(db, d, today),
        policy_errors.pieces(doc, rows),
        place=place,
        errors=errors,
        districts=names,
    )
    return new_text, errors
