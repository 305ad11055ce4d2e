"""Hand edits in the model: ``[[forbid]]`` (no visit to a site on a day) and ``[[pins]]``
(a visit that must be in the plan), with the reason a pin cannot be served."""

from __future__ import annotations

import pulp

from planner.inputs import ACTIVITY_REGULAR, ACTIVITY_VOTING, Pin, Van, hhmm
from planner.model.reach import reachable
from planner.model.variables import Key, Model, lp_name, slack_for, var_sum


def add_forbids(model: Model) -> None:
    """``[[forbid]]``: no visit to a forbidden site on a forbidden day.

    Regular candidates were already left out (before dominance); this removes the
    remaining ones (reservations, disaster sessions). A voting stop the policy fixes
    on a forbidden site and day cannot move: it is reported as a conflict.
    """
    data = model.data
    if not data.forbids:
        return
    for key in list(model.x):
        van_id, d, _i, site_id, _activity, _e = key
        if not data.forbidden(site_id, d) or model.slots[key[:3]].kind == "kept":
            continue
        if key in model.fixed:
            model.unreachable.append(
                f"{d} の{model.slots[key[:3]].window.label} {data.site(site_id).name}"
                f"({van_id})は固定の予定ですが、[[forbid]] で訪問を禁止した会場・日です"
            )
            continue
        model.x.pop(key).upBound = 0


def _pin_reason(model: Model, pin: Pin, van: Van) -> str:
    """Why a pin cannot be a regular stop of ``van`` (Japanese), or ``""`` if it can."""
    data = model.data
    d, w = pin.date, pin.window
    site = data.site(pin.site_id)
    day = next((x for x in data.days if x.date == d), None)
    if day is None:
        return "その日は稼働日ではありません(土日・祝日・休業日。calendar.opened で開けられます)"
    if d in van.maintenance:
        return f"{van.name}の整備日です"
    slot = next(
        (
            sl
            for (vid, sd, _i), sl in model.slots.items()
            if vid == van.id and sd == d and sl.window == w
        ),
        None,
    )
    if slot is None:
        kinds = {sl.kind for (vid, sd, _i), sl in model.slots.items() if vid == van.id and sd == d}
        if ACTIVITY_VOTING in kinds:
            return f"{van.name}はその日、期日前投票の巡回です"
        if w not in day.windows:
            return (
                f"{w.label} はその日の受付時間帯ではありません"
                f"(受付時間帯: {'、'.join(x.label for x in day.windows)})"
            )
        return "その日は計画し直しの対象外です"
    if slot.kind != ACTIVITY_REGULAR:
        return f"{van.name}はその日、災害対応の受付です"
    if not site.is_open(d, w):
        days = "".join("月火水木金土日"[x] for x in sorted(site.open_weekdays))
        return f"会場の利用可能時間外です(利用可能: {days} {hhmm(site.open_from)}-{hhmm(site.open_to)})"
    if not reachable(data, van, d, w, site.id):
        return (
            f"{van.name}の勤務時間({hhmm(van.shift_start)}-{hhmm(van.shift_end)})内に"
            "車庫から往復できません"
        )
    if data.forbidden(site.id, d):
        return "[[forbid]] で訪問を禁止した会場・日です"
    return ""


def add_pins(model: Model) -> None:
    """``[[pins]]``: each pinned visit (site, day, window; van optional) is in the plan.

    A pinned site that dominance or ``sites.per_district`` left out of its slot is put
    back as a candidate. A pin that no van can serve is reported, with the reason for
    each van, before solving.
    """
    data = model.data
    frozen = data.policy.replan_from
    for n, pin in enumerate(data.pins, start=1):
        if frozen is not None and pin.date < frozen:
            continue  # the days before a re-plan are kept as they are
        vans = [data.van(pin.van_id)] if pin.van_id else list(data.vans)
        keys: list[Key] = []
        reasons: list[str] = []
        for van in vans:
            why = _pin_reason(model, pin, van)
            if why:
                reasons.append(why if len(vans) == 1 else f"{van.name}: {why}")
                continue
            skey = next(
                k
                for k, sl in model.slots.items()
                if k[0] == van.id and k[1] == pin.date and sl.window == pin.window
            )
            key: Key = (*skey, pin.site_id, ACTIVITY_REGULAR, "")
            if key not in model.x:
                model.x[key] = model.prob.add_variable(lp_name("x", *key), 0, 1, pulp.LpBinary)
            keys.append(key)
        label = (
            f"{pin.date.month}月{pin.date.day}日 {pin.window.label} {data.site(pin.site_id).name}"
        )
        if not keys:
            model.unreachable.append(
                f"固定した訪問({label})を計画に入れられません: "
                + " / ".join(dict.fromkeys(reasons))
            )
            continue
        name = lp_name("pin", n, pin.site_id, pin.date)
        model.prob += var_sum(model.x[k] for k in keys) + slack_for(model, "pins", name) >= 1, name


def pin_keys(model: Model) -> set[Key]:
    """The regular candidates that a ``[[pins]]`` entry asks for (their site matters)."""
    out: set[Key] = set()
    for pin in model.data.pins:
        for key in model.x:
            if (
                key[1] == pin.date
                and key[3] == pin.site_id
                and key[4] == ACTIVITY_REGULAR
                and pin.van_id in (None, key[0])
                and model.slots[key[:3]].window == pin.window
            ):
                out.add(key)
    return out
