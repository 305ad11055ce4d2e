"""An independent checker: does a plan (the plan.json document) keep every hard rule?

It reads what a coordinator gives the planner — the policy TOML file, with its own
minimal parser of the documented keys, and the hub database's master data (plain SQL)
— and the plan.json document. It shares no code with ``planner`` (not its policy
reader, not its inputs), so a bug in reading the policy or in the model cannot hide
itself here. Each violation is returned as a short string.

``check_plan(doc, data)`` checks a plan of an in-memory :class:`PlanInput` (tests that
build inputs directly): the inputs are first written out as a policy file, a database
and a travel matrix (:func:`materialize`), then checked like any other policy.
Every plan the planner tests produce goes through it (see ``conftest.py``).
"""

from __future__ import annotations

import csv
import itertools
import math
import sqlite3
import tempfile
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

WEEKDAYS = "月火水木金土日"
DEFAULT_WINDOWS = ["10:00-12:00", "13:30-15:30"]


def _min(text: str) -> int:
    h, m = str(text).strip().split(":")
    return int(h) * 60 + int(m)


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _win(text: str) -> tuple[int, int]:
    a, b = str(text).split("-")
    return _min(a), _min(b)


# ---------------------------------------------------------------- reading the policy


@dataclass
class Van:
    id: str
    depot: str
    shift: tuple[int, int]
    maintenance: set[date]


@dataclass
class Site:
    id: str
    district: str
    weekdays: set[int]
    hours: tuple[int, int]


@dataclass
class Rules:
    """Everything the checker re-derived from the policy file and the database."""

    start: date
    end: date
    setup: int
    teardown: int
    days: dict[date, list[tuple[int, int]]]
    voting_only: set[date]
    off: set[date]
    vans: dict[str, Van]
    van_order: list[str]
    sites: dict[str, Site]
    districts: dict[str, dict[str, Any]]
    travel: dict[tuple[str, str], int]
    voting: list[dict[str, Any]] = field(default_factory=list)
    disaster: list[dict[str, Any]] = field(default_factory=list)
    reservation: list[dict[str, Any]] = field(default_factory=list)
    pins: list[dict[str, Any]] = field(default_factory=list)
    forbids: list[dict[str, Any]] = field(default_factory=list)
    # [objective] driving: "exact" or "approximate" (what plan.json must say it used).
    driving_mode: str = "approximate"

    def minutes(self, a: str, b: str) -> int:
        return 0 if a == b else self.travel[(a, b)]


def _rows(db: Any, sql: str) -> list[sqlite3.Row | tuple[Any, ...]]:
    return list(db.execute(sql).fetchall())


def read_rules(policy: Path | dict[str, Any], db: Any, today: date) -> Rules:
    """Re-derive the rules of a policy (a TOML file or its parsed document)."""
    if isinstance(policy, Path):
        doc = tomllib.loads(policy.read_text(encoding="utf-8"))
        base = policy.parent
    else:
        doc, base = policy, Path(".")
    holidays = {r[0] for r in _rows(db, "SELECT date FROM holidays")}

    def off(d: date) -> bool:
        return d.weekday() >= 5 or d.isoformat() in holidays

    h = doc.get("horizon", {})
    raw = h.get("start", "next-month")
    if raw == "next-month":
        start = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    else:
        start = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
    closed: set[date] = set()
    end: date | None = None

    def read(value: Any, with_closed: bool = True) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, int):
            return start + timedelta(days=value - 1)
        text = str(value)
        if text.startswith("+"):
            n, d = int(text[1:]), start
            last = end or start + timedelta(days=366)
            while d <= last:
                if not off(d) and not (with_closed and d in closed):
                    n -= 1
                    if n == 0:
                        return d
                d += timedelta(days=1)
            raise ValueError(f"{text} is past the working days")
        return date.fromisoformat(text)

    if "end" in h:
        end = read(h["end"], with_closed=False)
    elif "days" in h:
        end = start + timedelta(days=int(h["days"]) - 1)
    else:
        m = start.month + int(h.get("months", 1)) - 1
        y, m = start.year + (m - 1) // 12, (m - 1) % 12 + 1
        end = (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)
    cal = doc.get("calendar", {})
    closed = {read(x, with_closed=False) for x in cal.get("closed", [])}
    opened = {read(x) for x in cal.get("opened", [])}
    win = doc.get("windows", {})
    default = sorted(_win(w) for w in win.get("default", DEFAULT_WINDOWS))
    per_day = {read(i["date"]): sorted(_win(w) for w in i["windows"]) for i in win.get("days", [])}

    van_rows = {
        r[0]: r
        for r in _rows(db, "SELECT id, depot_lat, depot_lon, shift_start, shift_end FROM vans")
    }
    wanted = doc.get("vans") or [{"id": v} for v in sorted(van_rows)]
    vans: dict[str, Van] = {}
    points: dict[str, tuple[float, float]] = {}
    for v in wanted:
        r = van_rows[v["id"]]
        shift = _win(v["shift"]) if "shift" in v else (_min(r[3]), _min(r[4]))
        vans[r[0]] = Van(r[0], f"depot:{r[0]}", shift, {read(x) for x in v.get("maintenance", [])})
        points[f"depot:{r[0]}"] = (float(r[1]), float(r[2]))
    exclude = set(doc.get("sites", {}).get("exclude", []))
    sites: dict[str, Site] = {}
    for r in _rows(
        db, "SELECT id, district_id, lat, lon, open_weekdays, open_from, open_to FROM sites"
    ):
        if r[0] in exclude:
            continue
        sites[r[0]] = Site(
            r[0], r[1], {WEEKDAYS.index(c) for c in r[4] if c in WEEKDAYS}, (_min(r[5]), _min(r[6]))
        )
        points[r[0]] = (float(r[2]), float(r[3]))
    rules_t = doc.get("districts", {})
    districts: dict[str, dict[str, Any]] = {}
    for did, name in _rows(db, "SELECT id, name FROM districts"):
        rule = {"min_visits": 0, "max_visits": 99, "min_days_between": 1, "name": name}
        for key in ("default", did, name):
            rule.update(rules_t.get(key, {}))
        districts[did] = rule

    travel_t = doc.get("travel", {})
    travel: dict[tuple[str, str], int] = {}
    if "matrix" in travel_t:
        path = Path(travel_t["matrix"])
        with (path if path.is_absolute() else base / path).open(encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                a, b, mins = row["from"].strip(), row["to"].strip(), int(float(row["minutes"]))
                travel[(a, b)] = mins
                travel.setdefault((b, a), mins)
    else:
        factor = float(travel_t.get("road_factor", 1.4))
        speed = float(travel_t.get("speed_kmh", 35.0))
        for (a, pa), (b, pb) in itertools.permutations(points.items(), 2):
            p1, p2 = math.radians(pa[0]), math.radians(pb[0])
            dl = math.radians(pb[1] - pa[1])
            hav = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
            km = 2 * 6371.0 * math.asin(min(1.0, math.sqrt(hav))) * factor
            travel[(a, b)] = math.ceil(km / speed * 60)

    van_order = list(vans)
    ev = doc.get("events", {})
    voting = []
    for e in ev.get("voting", []):
        stops = []
        for s in e.get("stops", []):
            w = _win(s["window"]) if "window" in s else (_min(s["start"]), _min(s["end"]))
            stops.append((s["site"], w))
        voting.append({"date": read(e["date"]), "van": e.get("van", van_order[0]), "stops": stops})
    disaster = []
    for i, e in enumerate(ev.get("disaster", []), start=1):
        disaster.append(
            {
                "id": str(e.get("id", f"disaster-{i}")),
                "from": max(read(e["start"]), start),
                "to": min(read(e["end"]), end),
                "van": e.get("van", van_order[0]),
                "sites": list(e["sites"]),
                "spread": e.get("spread", True),
            }
        )
    reservation = []
    for i, e in enumerate(ev.get("reservation", []), start=1):
        reservation.append(
            {
                "id": str(e.get("id", f"reservation-{i}")),
                "site": e["site"],
                "from": read(e["from"]),
                "to": read(e.get("to", e["from"])),
                "van": e.get("van"),
                "window": _win(e["window"]) if "window" in e else None,
            }
        )
    pins = [
        {
            "site": str(p["site"]),
            "date": read(p["date"]),
            "window": _win(p["window"]),
            "van": p.get("van"),
        }
        for p in doc.get("pins", [])
    ]
    district_ids = {name: did for did, name in _rows(db, "SELECT id, name FROM districts")}

    def names(value: Any) -> set[str]:
        return {value} if isinstance(value, str) else set(value or [])

    forbids = []
    for f in doc.get("forbid", []):
        fdays = {read(x) for x in f.get("dates", [])}
        if "from" in f:
            d = max(read(f["from"]), start)
            while d <= min(read(f["to"]), end):
                fdays.add(d)
                d += timedelta(days=1)
        forbids.append(
            {
                "dates": fdays,
                "sites": names(f.get("site")),
                "districts": {district_ids.get(x, x) for x in names(f.get("district"))},
            }
        )
    voting_days = {e["date"] for e in voting}
    days: dict[date, list[tuple[int, int]]] = {}
    offs: set[date] = set()
    voting_only: set[date] = set()
    d = start
    while d <= end:
        if off(d):
            offs.add(d)
        if d not in closed and (not off(d) or d in opened or d in voting_days):
            days[d] = per_day.get(d, default)
            if off(d) and d not in opened:
                voting_only.add(d)
        d += timedelta(days=1)
    return Rules(
        start=start,
        end=end,
        setup=int(win.get("setup_minutes", 15)),
        teardown=int(win.get("teardown_minutes", 15)),
        days=days,
        voting_only=voting_only,
        off=offs,
        vans=vans,
        van_order=van_order,
        sites=sites,
        districts=districts,
        travel=travel,
        voting=voting,
        disaster=disaster,
        reservation=reservation,
        pins=pins,
        forbids=forbids,
        driving_mode=str(doc.get("objective", {}).get("driving", "approximate")),
    )


# ---------------------------------------------------------------- checking a plan


def _reachable(rules: Rules, van: Van, d: date, w: tuple[int, int], sid: str) -> bool:
    site = rules.sites[sid]
    return (
        d.weekday() in site.weekdays
        and site.hours[0] <= w[0]
        and w[1] <= site.hours[1]
        and van.shift[0] + rules.minutes(van.depot, sid) <= w[0] - rules.setup
        and w[1] + rules.teardown + rules.minutes(sid, van.depot) <= van.shift[1]
    )


def check_rules(
    doc: dict[str, Any],
    rules: Rules,
    *,
    replan_from: date | None = None,
    keep: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
) -> list[str]:
    """Every hard rule the plan breaks (empty when the plan is valid)."""
    errors: list[str] = []
    frozen = replan_from
    kept_before = {
        (k["date"], k["van_id"], k["start"], k["site_id"])
        for k in keep
        if frozen is not None and date.fromisoformat(k["date"]) < frozen
    }
    visits = doc["visits"]

    def err(v: dict[str, Any], msg: str) -> None:
        errors.append(f"{v['date']} {v['van_id']} {v['start']} {v['site_id']}: {msg}")

    by_vd: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for v in visits:
        d = date.fromisoformat(v["date"])
        by_vd[(v["van_id"], v["date"])].append(v)
        start, end = _min(v["start"]), _min(v["end"])
        site, van = rules.sites.get(v["site_id"]), rules.vans.get(v["van_id"])
        if site is None or van is None:
            err(v, "unknown site or van")
            continue
        if v["district_id"] != site.district:
            err(v, "district does not match the site")
        if v["window"] != f"{v['start']}-{v['end']}":
            err(v, "window label differs from start/end")
        is_kept = (v["date"], v["van_id"], v["start"], v["site_id"]) in kept_before
        if frozen is not None and d < frozen and not is_kept:
            err(v, "a visit before the re-plan date that was not in the kept plan")
        if not rules.start <= d <= rules.end:
            err(v, "outside the horizon")
        if not is_kept:
            if d not in rules.days:
                err(v, "not a working day (weekend, holiday or closed) and not opened")
            if d in van.maintenance:
                err(v, "van maintenance day")
            if d in rules.voting_only and not any(
                e["date"] == d and e["van"] == van.id for e in rules.voting
            ):
                err(v, "a day opened only for early voting, and this is not the voting van")
        if d in rules.off and not v.get("opened_day"):
            err(v, "weekend/holiday without opened_day: true")
        if d not in rules.off and v.get("opened_day"):
            err(v, "opened_day on an ordinary working day")
        if d.weekday() not in site.weekdays:
            err(v, "site closed on this weekday")
        if start < site.hours[0] or end > site.hours[1]:
            err(v, "outside the site's hours")
        allowed = set(rules.days.get(d, []))
        for e in rules.voting:
            if e["date"] == d:
                allowed |= {w for _s, w in e["stops"]}
        if (start, end) not in allowed and not is_kept:
            err(v, "not a service window of that day")
        if _min(v["arrive"]) + rules.setup > start:
            err(v, "arrives too late to set up")
        if _min(v["depart"]) < end + rules.teardown:
            err(v, "leaves before packing up")
    for k in keep:
        key = (k["date"], k["van_id"], k["start"], k["site_id"])
        if key in kept_before and not any(
            (v["date"], v["van_id"], v["start"], v["site_id"]) == key for v in visits
        ):
            errors.append(f"kept visit {key} before the re-plan date is missing")

    driving: dict[tuple[str, str], int] = {}
    for (van_id, day_s), vs in by_vd.items():
        van = rules.vans.get(van_id)
        if van is None:
            continue
        vs = sorted(vs, key=lambda v: _min(v["start"]))
        if [v["order"] for v in vs] != list(range(1, len(vs) + 1)):
            errors.append(f"{day_s} {van_id}: order in the day is not 1..n by time")
        first, last = vs[0], vs[-1]
        if van.shift[0] + rules.minutes(van.depot, first["site_id"]) > _min(first["arrive"]):
            errors.append(f"{day_s} {van_id}: cannot reach the first stop from the depot in time")
        if _min(last["depart"]) + rules.minutes(last["site_id"], van.depot) > van.shift[1]:
            errors.append(f"{day_s} {van_id}: cannot return to the depot within the shift")
        for a, b in itertools.pairwise(vs):
            if _min(a["end"]) > _min(b["start"]):
                errors.append(f"{day_s} {van_id}: windows {a['window']} and {b['window']} overlap")
            elif a["site_id"] != b["site_id"]:
                need = _min(a["depart"]) + rules.minutes(a["site_id"], b["site_id"])
                if need > _min(b["arrive"]):
                    errors.append(
                        f"{day_s} {van_id}: no time to drive {a['site_id']} → {b['site_id']}"
                    )
        stops = [van.depot, *(v["site_id"] for v in vs), van.depot]
        driving[(day_s, van_id)] = sum(rules.minutes(a, b) for a, b in itertools.pairwise(stops))
    if "driving_minutes" in doc:
        got = {(x["date"], x["van_id"]): x["minutes"] for x in doc["driving_minutes"]["days"]}
        if got != driving:
            errors.append(f"driving minutes per day differ: plan {got}, checker {driving}")
        if doc["driving_minutes"]["total"] != sum(driving.values()):
            errors.append("driving minutes total differs")

    # District rules, on regular visit days.
    shortfall = {t["district_id"]: t.get("shortfall", 0) for t in doc["districts"]}
    reg_days: dict[str, set[date]] = defaultdict(set)
    vans_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for v in visits:
        if v["activity"] == "regular":
            reg_days[v["district_id"]].add(date.fromisoformat(v["date"]))
            vans_of[(v["district_id"], v["date"])].add(v["van_id"])
    for (did, day_s), vans in vans_of.items():
        if len(vans) > 1:
            errors.append(f"{did} {day_s}: regular stops by {len(vans)} vans on one day")
    for did, rule in rules.districts.items():
        n = len(reg_days[did])
        allowance = shortfall.get(did, 0) if rules.disaster else 0
        if n + allowance < int(rule["min_visits"]):
            errors.append(f"{rule['name']}: {n} visits < minimum {rule['min_visits']}")
        if n > int(rule["max_visits"]):
            errors.append(f"{rule['name']}: {n} visits > maximum {rule['max_visits']}")
        for a, b in itertools.pairwise(sorted(reg_days[did])):
            if (b - a).days < int(rule["min_days_between"]):
                errors.append(
                    f"{rule['name']}: visits {a} and {b} closer than {rule['min_days_between']} days"
                )
    for t in doc["districts"]:
        if t["visits"] != len(reg_days[t["district_id"]]):
            errors.append(f"{t['name']}: totals say {t['visits']} visits")

    # Pinned events.
    for e in rules.voting:
        if frozen is not None and e["date"] < frozen:
            continue
        day_s = e["date"].isoformat()
        for sid, w in e["stops"]:
            hit = [
                v
                for v in visits
                if v["date"] == day_s
                and v["van_id"] == e["van"]
                and v["site_id"] == sid
                and (_min(v["start"]), _min(v["end"])) == w
                and v["activity"] == "voting"
            ]
            if len(hit) != 1:
                errors.append(f"voting stop {sid} {_hm(w[0])}-{_hm(w[1])} missing")
        if any(
            v["date"] == day_s and v["van_id"] == e["van"] and v["activity"] != "voting"
            for v in visits
        ):
            errors.append(f"voting day {e['date']} also has other stops")
    for e in rules.disaster:
        van = rules.vans[e["van"]]
        d = e["from"]
        sessions: list[tuple[date, tuple[int, int]]] = []
        while d <= e["to"]:
            voting_day = any(x["date"] == d and x["van"] == van.id for x in rules.voting)
            if (
                d in rules.days
                and d not in van.maintenance
                and not voting_day
                and (frozen is None or d >= frozen)
            ):
                got = [v for v in visits if v["date"] == d.isoformat() and v["van_id"] == van.id]
                if len(got) != len(rules.days[d]) or any(
                    v["activity"] != "disaster" or v["site_id"] not in e["sites"] for v in got
                ):
                    errors.append(f"disaster day {d}: not every window is a session at a hall")
                sessions += [(d, w) for w in rules.days[d]]
            d += timedelta(days=1)
        if e["spread"] and sessions:
            avail = {
                s: sum(_reachable(rules, van, d, w, s) for d, w in sessions) for s in e["sites"]
            }
            halls = [s for s, n in avail.items() if n > 0]
            n = len(sessions)
            if len(halls) >= 2:
                low, high = n // len(halls), -(-n // len(halls))
                capped = sum(min(avail[s], high) for s in halls) >= n
                for s in halls:
                    got_n = sum(
                        1
                        for v in visits
                        if v["activity"] == "disaster"
                        and v["site_id"] == s
                        and v["van_id"] == van.id
                        and e["from"].isoformat() <= v["date"] <= e["to"].isoformat()
                    )
                    if got_n < min(low, avail[s]) or (capped and got_n > high):
                        errors.append(
                            f"disaster {e['id']}: hall {s} has {got_n} of {n} sessions "
                            f"(fair share {low}–{high})"
                        )
    for e in rules.reservation:
        if frozen is not None and any(
            k.get("event_id") == e["id"] and date.fromisoformat(k["date"]) < frozen for k in keep
        ):
            continue
        hit = [v for v in visits if v["activity"] == "reservation" and v.get("event_id") == e["id"]]
        if len(hit) != 1:
            errors.append(f"reservation {e['id']}: {len(hit)} visits instead of 1")
        for v in hit:
            d = date.fromisoformat(v["date"])
            if not e["from"] <= d <= e["to"] or v["site_id"] != e["site"]:
                errors.append(f"reservation {e['id']}: wrong day or site")
            if e["window"] is not None and (_min(v["start"]), _min(v["end"])) != e["window"]:
                errors.append(f"reservation {e['id']}: not in its window")
            if e["van"] is not None and v["van_id"] != e["van"]:
                errors.append(f"reservation {e['id']}: wrong van")

    # Hand edits: every pin is a regular stop of the plan; nothing on a forbidden day.
    for p in rules.pins:
        if frozen is not None and p["date"] < frozen:
            continue
        hit = [
            v
            for v in visits
            if v["date"] == p["date"].isoformat()
            and v["site_id"] == p["site"]
            and v["activity"] == "regular"
            and (_min(v["start"]), _min(v["end"])) == p["window"]
            and p["van"] in (None, v["van_id"])
        ]
        if not hit:
            errors.append(f"pin {p['site']} {p['date']} {_hm(p['window'][0])}: not in the plan")
    for v in visits:
        d = date.fromisoformat(v["date"])
        if (v["date"], v["van_id"], v["start"], v["site_id"]) in kept_before:
            continue
        site = rules.sites.get(v["site_id"])
        for f in rules.forbids:
            if d in f["dates"] and (
                v["site_id"] in f["sites"] or (site is not None and site.district in f["districts"])
            ):
                err(v, "a forbidden site or district on that day ([[forbid]])")

    s = doc["solver"]
    if s.get("driving_mode", "approximate") != rules.driving_mode:
        errors.append(
            f"plan says driving_mode {s.get('driving_mode')!r}, policy {rules.driving_mode!r}"
        )
    if s["status"] not in ("optimal", "feasible"):
        errors.append(f"solver status {s['status']}")
    if s["bound"] is not None and s["objective"] > s["bound"] + 1e-6 * max(1, abs(s["bound"])):
        errors.append("objective above the proven bound")
    if s["gap"] is not None and s["gap"] < 0:
        errors.append("negative gap")
    return errors


def check_files(
    doc: dict[str, Any],
    policy: Path | dict[str, Any],
    db: Any,
    *,
    today: date,
    replan_from: date | None = None,
    keep: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
) -> list[str]:
    """Check a plan against a policy file (or its TOML document) and a hub database."""
    return check_rules(doc, read_rules(policy, db, today), replan_from=replan_from, keep=keep)


# ---------------------------------------------------------------- in-memory inputs


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return f'"{value.isoformat()}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_toml(doc: dict[str, Any]) -> str:
    """A small TOML writer for policy documents (tables, arrays of tables, inline values)."""
    lines: list[str] = []
    for section, body in doc.items():
        if isinstance(body, list) and body and all(isinstance(x, dict) for x in body):
            for item in body:
                lines.append(f"[[{section}]]")
                lines += [f'"{k}" = {_toml_value(v)}' for k, v in item.items()]
        elif isinstance(body, dict):
            lines.append(f"[{section}]")
            for k, v in body.items():
                if isinstance(v, dict) and section == "districts":
                    lines.append(f'"{k}" = {_toml_value(v)}')
                else:
                    lines.append(f'"{k}" = {_toml_value(v)}')
        else:
            lines.insert(0, f'"{section}" = {_toml_value(body)}')
    return "\n".join(lines) + "\n"


def materialize(data: Any, folder: Path) -> tuple[Path, sqlite3.Connection]:
    """Write an in-memory ``PlanInput`` as a policy file, a database and a travel matrix.

    Only plain attributes of the inputs are read; the checker then reads the files.
    """
    db = sqlite3.connect(":memory:")
    db.executescript(
        "CREATE TABLE holidays(date TEXT PRIMARY KEY);"
        "CREATE TABLE districts(id TEXT PRIMARY KEY, name TEXT);"
        "CREATE TABLE sites(id TEXT PRIMARY KEY, district_id TEXT, lat REAL, lon REAL,"
        " open_weekdays TEXT, open_from TEXT, open_to TEXT);"
        "CREATE TABLE vans(id TEXT PRIMARY KEY, depot_lat REAL, depot_lon REAL,"
        " shift_start TEXT, shift_end TEXT);"
    )
    for d in data.districts:
        db.execute("INSERT INTO districts VALUES (?, ?)", [d.id, d.name])
    for s in data.sites:
        db.execute(
            "INSERT INTO sites VALUES (?,?,?,?,?,?,?)",
            [
                s.id,
                s.district_id,
                s.lat,
                s.lon,
                "".join(WEEKDAYS[i] for i in sorted(s.open_weekdays)),
                _hm(s.open_from),
                _hm(s.open_to),
            ],
        )
    for v in data.vans:
        db.execute(
            "INSERT INTO vans VALUES (?,?,?,?,?)",
            [v.id, v.depot_lat, v.depot_lon, _hm(v.shift_start), _hm(v.shift_end)],
        )
    pol = data.policy
    nodes = [s.id for s in data.sites] + [v.depot for v in data.vans]
    with (folder / "travel.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["from", "to", "minutes"])
        for a, b in itertools.permutations(nodes, 2):
            w.writerow([a, b, data.minutes(a, b)])
    working = {d.date for d in data.days}
    opened, closed = [], []
    d = pol.horizon_start
    while d <= pol.horizon_end:
        if d.weekday() >= 5 and d in working:
            opened.append(d)
        if d.weekday() < 5 and d not in working:
            closed.append(d)
        d += timedelta(days=1)
    voting_dates = {e.date_from for e in data.events if e.kind == "voting"}
    # A weekend day of the inputs opened for every van (not only for voting) is opened.
    opened = [d for d in opened if not (d in voting_dates and _voting_only(data, d))]
    doc: dict[str, Any] = {
        "horizon": {"start": pol.horizon_start, "end": pol.horizon_end},
        "windows": {
            "setup_minutes": pol.setup_minutes,
            "teardown_minutes": pol.teardown_minutes,
        },
        "travel": {"matrix": "travel.csv"},
        "calendar": {"opened": opened, "closed": closed},
        "districts": {
            x.id: {
                "min_visits": x.min_visits,
                "max_visits": x.max_visits,
                "min_days_between": x.min_days_between,
            }
            for x in data.districts
        },
        "vans": [{"id": v.id, "maintenance": sorted(v.maintenance)} for v in data.vans],
    }
    doc["windows"]["days"] = [
        {"date": day.date, "windows": [f"{_hm(w.start)}-{_hm(w.end)}" for w in day.windows]}
        for day in data.days
    ]
    ev: dict[str, list[dict[str, Any]]] = {"voting": [], "disaster": [], "reservation": []}
    for e in data.events:
        item: dict[str, Any] = {"id": e.id}
        if e.van_id is not None:
            item["van"] = e.van_id
        if e.kind == "voting":
            item["date"] = e.date_from
            item["stops"] = [
                {"site": s.site_id, "window": f"{_hm(s.window.start)}-{_hm(s.window.end)}"}
                for s in e.stops
            ]
        elif e.kind == "disaster":
            item |= {"start": e.date_from, "end": e.date_to, "sites": list(e.site_ids)}
            item["spread"] = getattr(e, "spread", True)
        else:
            item |= {"site": e.site_ids[0], "from": e.date_from, "to": e.date_to}
            if e.window is not None:
                item["window"] = f"{_hm(e.window.start)}-{_hm(e.window.end)}"
        ev[e.kind].append(item)
    doc["objective"] = {"driving": getattr(pol, "driving", "approximate")}
    if data.pins:
        doc["pins"] = [
            {
                "site": p.site_id,
                "date": p.date,
                "window": f"{_hm(p.window.start)}-{_hm(p.window.end)}",
            }
            | ({"van": p.van_id} if p.van_id else {})
            for p in data.pins
        ]
    if data.forbids:
        doc["forbid"] = [
            {
                "site": sorted(f.site_ids),
                "district": sorted(f.district_ids),
                "dates": sorted(f.dates),
            }
            for f in data.forbids
        ]
    path = folder / "plan.toml"
    text = to_toml(doc)
    for kind, items in ev.items():
        for item in items:
            text += f"[[events.{kind}]]\n" + "".join(
                f'"{k}" = {_toml_value(v)}\n' for k, v in item.items()
            )
    path.write_text(text, encoding="utf-8")
    return path, db


def _voting_only(data: Any, d: date) -> bool:
    return any(getattr(day, "voting_only", False) for day in data.days if day.date == d)


def check_plan(doc: dict[str, Any], data: Any) -> list[str]:
    """Check a plan of in-memory inputs (written out first, then read back as files)."""
    keep = [
        {
            "date": k.date.isoformat(),
            "van_id": k.van_id,
            "start": _hm(k.window.start),
            "site_id": k.site_id,
            "event_id": k.event_id or "",
        }
        for k in data.keep
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path, db = materialize(data, Path(tmp))
        try:
            return check_files(
                doc,
                path,
                db,
                today=data.policy.horizon_start,
                replan_from=data.policy.replan_from,
                keep=keep,
            )
        finally:
            db.close()
