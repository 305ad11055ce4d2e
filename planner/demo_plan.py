"""The demo's published plan, made by the planner as a coordinator would make it.

``odekake demo`` used to insert a hand-made rotation that broke dozens of rules; a
newcomer's first look at the console was a wall of red. Here the month's policy is
written, the planner solves it, the plan must pass :func:`planner.check.check_plan` and
is published through the same gate as the console's 公開する
(:func:`planner.publishing.publish_checked`).

The plan starts :data:`PAST_DAYS` before the demo's today, as if made and published
then, and runs four weeks past today: the demo van serves its first days (see
:func:`odekake.demo.build_demo`), so planned versus actual has days to show.

Today always has a stop (the kiosk and the demo election open it): the policy pins
today's site, and when today is a closed day (a weekend or holiday) it is opened, as a
coordinator opens a day for an event, with the site's hours covering it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from odekake.masterdata import master
from odekake.storage.db import write
from planner import policy_form
from planner.model import build
from planner.plan_store import save_draft
from planner.policy import policy_from_dict
from planner.publishing import publish_checked
from planner.solve import solve
from planner.tomlfile import dumps

WEEKDAYS = "月火水木金土日"
TODAY_WINDOW = "10:00-12:00"
DAYS = 28  # after today
PAST_DAYS = 10  # before today: the days the demo van has already served


def plan_start(today: date) -> date:
    """The demo plan's first day."""
    return today - timedelta(days=PAST_DAYS)


def demo_policy(db: sqlite_utils.Database, today: date, site_id: str) -> dict[str, Any]:
    """From :func:`plan_start` to four weeks after ``today`` with the default rules,
    today's stop pinned."""
    start = plan_start(today)
    month = f"{start.year:04d}-{start.month:02d}"
    doc = policy_form.parse_text(policy_form.default_policy(db, month))
    doc["horizon"] = {"start": start.isoformat(), "days": PAST_DAYS + DAYS}
    if master.is_closed(db, today):
        doc["calendar"]["opened"] = [today.isoformat()]
    doc["pins"] = [
        {"site": site_id, "date": today.isoformat(), "window": TODAY_WINDOW, "note": "デモの今日"}
    ]
    return doc


def _open_today(db: sqlite_utils.Database, site_id: str, today: date) -> None:
    """Make the pinned site open on today's weekday (a weekend demo opens it for the day)."""
    site = master.site(db, site_id)
    mark = WEEKDAYS[today.weekday()]
    if mark not in site["open_weekdays"]:
        days = "".join(d for d in WEEKDAYS if d in site["open_weekdays"] + mark)
        with write(db):
            db.execute("UPDATE sites SET open_weekdays = ? WHERE id = ?", [days, site_id])


def copy_published(hub: sqlite_utils.Database, van: sqlite_utils.Database, plan_id: str) -> None:
    """Give the van the published plan and the site's hours, as its first pull would."""
    with write(van):
        for table, where in (("plans", "id = ?"), ("plan_visits", "plan_id = ?")):
            cols = [r[1] for r in van.execute(f"PRAGMA table_info({table})")]
            have = {r[1] for r in hub.execute(f"PRAGMA table_info({table})")}
            cols = [c for c in cols if c in have]
            names = ", ".join(f'"{c}"' for c in cols)
            rows = hub.execute(f"SELECT {names} FROM {table} WHERE {where}", [plan_id]).fetchall()
            marks = ", ".join("?" * len(cols))
            van.conn.executemany(f"INSERT INTO {table}({names}) VALUES ({marks})", rows)
        for sid, days in hub.execute("SELECT id, open_weekdays FROM sites"):
            van.execute("UPDATE sites SET open_weekdays = ? WHERE id = ?", [days, sid])


def publish_demo_plan(db: sqlite_utils.Database, today: date, site_id: str) -> str:
    """Solve, check and publish the demo's plan on the hub, as of its first day; its id.

    Raises:
        planner.publishing.PublishRefused: The solved plan breaks a rule (a bug).
    """
    _open_today(db, site_id, today)
    doc = demo_policy(db, today, site_id)
    text = dumps(
        doc, f"デモの巡回計画の設定(odekake demo が作成、今日の{PAST_DAYS}日前から4週間後まで)"
    )
    start = plan_start(today)
    data = policy_from_dict(doc, db, today=start)
    plan = solve(build(data), time_limit=60, gap=0.01)
    # A stable id (the van's records name the plan's visits): the same demo, the same chain.
    plan = replace(plan, id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"odekake:demo:{today}:{site_id}")))
    month = f"{start.year:04d}-{start.month:02d}"
    policy_form.save_policy(db, month, text, actor="demo")
    plan_id = save_draft(
        db, plan, policy_text=text, parent_id=None, actor="demo", label="デモの計画(計画機能で作成)"
    )
    publish_checked(db, plan_id, actor="demo", today=start)
    return plan_id
