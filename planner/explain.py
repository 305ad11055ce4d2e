"""Why each district got the visits it got, in words a coordinator can act on."""

from __future__ import annotations

from datetime import date

from planner.diagnose import dropped_disaster_sessions
from planner.inputs import ACTIVITY_REGULAR
from planner.model import Model
from planner.plan import Plan


def _max_fit(days: list[date], gap: int) -> int:
    fit, last = 0, None
    for d in sorted(days):
        if last is None or (d - last).days >= gap:
            fit, last = fit + 1, d
    return fit


def _roundtrip(model: Model, district_id: str) -> int:
    data = model.data
    van = data.vans[0]
    return min(
        (
            data.minutes(van.depot, s.id) + data.minutes(s.id, van.depot)
            for s in data.sites
            if s.district_id == district_id
        ),
        default=0,
    )


def _marginal(model: Model, district_id: str, stops: int, *, last: bool) -> float:
    """Value of the district's last visit day (``last``) or of one more, in the objective's
    units: its stops' diminishing demand minus the round trip."""
    data = model.data
    pol = data.policy
    dist = data.district(district_id)
    per_visit = max(1, min(2, stops)) if last else 2
    first = stops - per_visit if last else stops
    value = sum(
        data.demand[district_id] * dist.weight * pol.diminishing[min(j, len(pol.diminishing) - 1)]
        for j in range(max(0, first), max(0, first) + per_visit)
    )
    return pol.weights.users * value - pol.weights.travel_per_minute * _roundtrip(
        model, district_id
    )


def _best_alternative(model: Model, plan: Plan, district_id: str) -> float:
    """The best value one more visit day would have elsewhere (within maximums)."""
    best = 0.0
    for t in plan.districts:
        if t.district_id == district_id or t.visits >= t.max_visits:
            continue
        best = max(best, _marginal(model, t.district_id, t.stops, last=False))
    return best


def explain(model: Model, plan: Plan) -> dict[str, str]:
    """One Japanese paragraph per district id.

    Names the rule that decided the number of visits: a binding minimum, the maximum,
    the spacing between visits, or demand compared with the other districts.
    """
    data = model.data
    dropped = dropped_disaster_sessions(data)
    out: dict[str, str] = {}
    possible: dict[str, list[date]] = {}
    for did, d in model.visit:
        possible.setdefault(did, []).append(d)
    for dist, total in zip(data.districts, plan.districts, strict=True):
        days = sorted(
            {
                date.fromisoformat(v.date)
                for v in plan.visits
                if v.district_id == dist.id and v.activity == ACTIVITY_REGULAR
            }
        )
        demand = data.demand[dist.id]
        source = data.demand_notes.get(dist.id, "")
        parts = [f"{dist.name}: {len(days)}回(受付 {total.stops}枠)。"]
        parts.append(
            f"1回あたりの見込み利用者は {demand:.1f}人" + (f"({source})" if source else "") + "。"
        )
        fit = _max_fit(possible.get(dist.id, []), dist.min_days_between)
        if total.shortfall:
            parts.append(
                f"災害対応を優先したため、最低訪問回数 {dist.min_visits}回に {total.shortfall}回足りません。"
            )
        elif dist.min_visits and len(days) <= dist.min_visits:
            if _marginal(model, dist.id, total.stops, last=True) < _best_alternative(
                model, plan, dist.id
            ):
                parts.append(
                    f"最低訪問回数({dist.min_visits}回)の下限で決まりました"
                    "(見込み利用者と移動時間だけなら、この枠は他の地区に回ります)。"
                )
            else:
                parts.append(
                    f"最低訪問回数({dist.min_visits}回)どおりで、見込み利用者と移動時間から見ても妥当な回数です。"
                )
        elif not possible.get(dist.id):
            if not any(s.district_id == dist.id for s in data.sites):
                parts.append(
                    "この地区には使える会場がありません"
                    "(マスタに会場がないか、sites.exclude ですべて除外されています)。"
                )
            else:
                parts.append(
                    "この地区の会場は、計画期間中どの日・受付時間帯にも使えません"
                    "(会場の利用可能曜日・時間、勤務時間内に往復できるか、整備日や固定予定を確認してください)。"
                )
        elif len(days) >= dist.max_visits:
            parts.append(f"訪問回数の上限({dist.max_visits}回)に達しています。")
        elif (
            dist.min_days_between > 1 and len(days) >= fit and fit < len(possible.get(dist.id, []))
        ):
            parts.append(
                f"訪問の間を{dist.min_days_between}日以上あける条件のため、これ以上は入りません。"
            )
        elif not days:
            parts.append(
                "ほかの地区の見込み利用者のほうが多く(または移動が長く)、受付枠が回りませんでした。"
                "必要なら最低訪問回数を設定してください。"
            )
        else:
            parts.append(
                "見込み利用者と移動時間を他地区と比べて決まりました"
                "(同じ期間に回数を重ねるほど1回あたりの見込みは減ります)。"
            )
        for e, text in dropped:
            if any(data.site(sid).district_id == dist.id for sid in e.site_ids):
                parts.append(text + "。")
        if days:
            parts.append("訪問日: " + "、".join(f"{d.month}/{d.day}" for d in days) + "。")
        out[dist.id] = "".join(parts)
    return out
