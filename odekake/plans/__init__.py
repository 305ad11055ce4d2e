"""What a plan's life means to the core: which stored visits are in force.

The planner (``planner.lifecycle``) makes drafts, publishes and discards them; the
core only needs to know which visits a van receives and shows. A visit is *in
force* when its plan is published, no later publish superseded it and it is not a
copy of a visit already in force (an unchanged visit of a re-plan keeps the id of
the visit announced first, so a van's opened stops stay opened).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9), "JST")

STATUSES: dict[str, str] = {
    "draft": "下書き",
    "published": "公開中",
    "superseded": "差し替え済み",
    "discarded": "破棄",
}

# A SQL condition on ``plan_visits`` (unqualified column names): the visit is in force.
IN_FORCE = (
    "superseded_by IS NULL AND same_as IS NULL "
    "AND plan_id IN (SELECT id FROM plans WHERE status = 'published')"
)


def jst_minute(value: str | None) -> str:
    """A stored ISO timestamp (UTC) as Japan time to the minute, ``2026-12-06 04:57``.

    Plans are stamped in UTC; everything a coordinator reads is Japan time.
    """
    if not value:
        return ""
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return value
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def today_jst(now: datetime | None = None) -> date:
    """Today's date in Japan (from ``now`` when given)."""
    return (now or datetime.now(UTC)).astimezone(JST).date()
