"""Two plans side by side: expected users, driving minutes, visits per district, differences."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from planner.plan import Plan, PlanVisit


def visit_key(v: PlanVisit) -> tuple[str, str, str, str, str]:
    """What makes two visits the same visit for residents: day, van, time, site."""
    return (v.date, v.van_id, v.start, v.end, v.site_id)


@dataclass(frozen=True)
class DistrictRow:
    """One district's visit days and stops in both plans."""

    district_id: str
    name: str
    visits_a: int
    visits_b: int
    users_a: float
    users_b: float


@dataclass(frozen=True)
class Comparison:
    """The figures of two plans and the visits that differ."""

    a: Plan
    b: Plan
    users_a: float
    users_b: float
    minutes_a: int
    minutes_b: int
    districts: list[DistrictRow]
    only_a: list[PlanVisit]
    only_b: list[PlanVisit]


def driving_minutes(plan: Plan) -> int:
    """Minutes driven to reach each stop (depot → first site, then site to site)."""
    return sum(v.travel_minutes for v in plan.visits)


def compare(a: Plan, b: Plan) -> Comparison:
    """Compare plan ``a`` with plan ``b``."""
    da = {d.district_id: d for d in a.districts}
    db_ = {d.district_id: d for d in b.districts}
    rows = []
    for did in dict.fromkeys([*da, *db_]):
        x, y = da.get(did), db_.get(did)
        rows.append(
            DistrictRow(
                district_id=did,
                name=(x or y).name if (x or y) else did,  # type: ignore[union-attr]
                visits_a=x.visits if x else 0,
                visits_b=y.visits if y else 0,
                users_a=x.expected_users if x else 0.0,
                users_b=y.expected_users if y else 0.0,
            )
        )
    ka = {visit_key(v): v for v in a.visits}
    kb = {visit_key(v): v for v in b.visits}
    return Comparison(
        a=a,
        b=b,
        users_a=sum(v.expected_users for v in a.visits),
        users_b=sum(v.expected_users for v in b.visits),
        minutes_a=driving_minutes(a),
        minutes_b=driving_minutes(b),
        districts=rows,
        only_a=[v for k, v in sorted(ka.items()) if k not in kb],
        only_b=[v for k, v in sorted(kb.items()) if k not in ka],
    )


# Files drawn from a plan, by (kind, digest of the plan's document): a stored plan never
# changes (an edit makes a new draft), and drawing the 回覧板 notices takes most of a
# second, so the console draws each plan's files once. Bounded to a few plans.
_FILES: OrderedDict[tuple[str, str], bytes] = OrderedDict()
_FILES_MAX = 12
_FILES_LOCK = threading.Lock()


def _cached(kind: str, plan: Plan, draw: Callable[[Plan], bytes]) -> bytes:
    digest = hashlib.sha256(
        json.dumps(plan.to_dict(), sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()
    key = (kind, digest)
    with _FILES_LOCK:
        if key in _FILES:
            _FILES.move_to_end(key)
            return _FILES[key]
    body = draw(plan)
    with _FILES_LOCK:
        _FILES[key] = body
        while len(_FILES) > _FILES_MAX:
            _FILES.popitem(last=False)
    return body


def calendar_pdf(plan: Plan) -> bytes:
    """The calendar PDF as bytes (the same as ``odekake plan --pdf``), drawn once per plan."""
    return _cached("calendar.pdf", plan, _draw_calendar_pdf)


def notices_zip(plan: Plan) -> bytes:
    """The 回覧板 notices (one PDF per district) in one zip, drawn once per plan."""
    return _cached("notices.zip", plan, _draw_notices_zip)


def _draw_calendar_pdf(plan: Plan) -> bytes:
    from planner.output import write_calendar_pdf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calendar.pdf"
        write_calendar_pdf(plan, path)
        return path.read_bytes()


def _draw_notices_zip(plan: Plan) -> bytes:
    from planner.output import write_notices

    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_notices(plan, Path(tmp))
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, f.name)
    return buf.getvalue()
