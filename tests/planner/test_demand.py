"""Demand: history from the hub's records, a prior without history, diminishing returns."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlite_utils

from odekake.masterdata import master
from odekake.storage import records as rec
from odekake.storage.db import connect
from planner.demand import PRIOR_WEIGHT, forecast, prior
from planner.inputs import District, Site
from planner.policy import load_sites


def _districts(db: sqlite_utils.Database) -> list[District]:
    return [District(d.id, d.name, d.lat, d.lon, d.population) for d in master.districts(db)]


def test_prior_grows_with_population_and_distance() -> None:
    branch = District("b", "支所", 37.0, 140.0, 1000)
    small = District("s", "小", 37.0, 140.0, 1000)
    big = District("g", "大", 37.0, 140.0, 50000)
    near = [Site("n", "s", "近", 37.0, 140.0)]
    far = [Site("f", "s", "遠", 37.1, 140.1)]
    assert prior(big, near, [branch]) > prior(small, near, [branch])
    assert prior(small, far, [branch]) > prior(small, near, [branch])


def test_forecast_from_records_with_corrections(city_db: sqlite_utils.Database) -> None:
    db = city_db
    master.upsert_site(
        db,
        {
            "id": "k1",
            "district_id": "kawamae",
            "name": "川前公民館",
            "kind": "公民館",
            "lat": 37.2,
            "lon": 140.75,
            "open_weekdays": "月火水木金",
            "open_from": "09:00",
            "open_to": "17:00",
            "notes": "",
        },
    )
    sites = load_sites(db, set())
    dists = _districts(db)
    base = forecast(db, dists, sites, as_of=date(2026, 12, 1))["kawamae"]
    assert base.observed_stops == 0 and "記録がない" in base.source
    for n in range(2):
        sid = f"s{n}"
        rec.append(
            db,
            "stop.open",
            {
                "stop_id": sid,
                "activity": "regular",
                "site_id": "k1",
                "district_id": "kawamae",
                "date": f"2026-10-0{n + 1}",
            },
        )
        rec.append(db, "mynumber.apply", {"stop_id": sid, "people": 1})
        rec.append(db, "frailty.check", {"stop_id": sid, "people": 6})
    wrong = rec.append(db, "consultation.hold", {"stop_id": "s0", "people": 1})
    rec.void(db, wrong.id, "入力誤り")
    # A disaster stop does not count toward the regular-round forecast.
    rec.append(
        db,
        "stop.open",
        {
            "stop_id": "d",
            "activity": "disaster",
            "site_id": "k1",
            "district_id": "kawamae",
            "date": "2026-10-05",
        },
    )
    rec.append(db, "disaster.apply", {"stop_id": "d", "people": 1})
    got = forecast(db, dists, sites, as_of=date(2026, 12, 1))["kawamae"]
    assert got.observed_stops == 2
    p = prior(
        dists[[d.id for d in dists].index("kawamae")],
        [s for s in sites if s.district_id == "kawamae"],
        [d for d in dists if d.id != "chuodai"],
    )
    from planner.demand import PRIOR_MIX

    expect_frailty = (12 + PRIOR_WEIGHT * p * PRIOR_MIX["frailty"]) / (2 + PRIOR_WEIGHT)
    assert abs(got.per_service["frailty"] - expect_frailty) < 1e-9
    expect_consult = (0 + PRIOR_WEIGHT * p * PRIOR_MIX["consultation"]) / (2 + PRIOR_WEIGHT)
    assert abs(got.per_service["consultation"] - expect_consult) < 1e-9


def test_demo_history_is_used(demo_dir: Path) -> None:
    db = connect(demo_dir / "hub.db")
    fc = forecast(db, _districts(db), load_sites(db, set()), as_of=date(2026, 12, 1))
    assert all(d.observed_stops > 0 for d in fc.values())
    # 久之浜・大久 has the demo's highest My Number rate (FY2022: 30 in 6 visits).
    assert max(fc.values(), key=lambda d: d.per_service["mynumber"]).district_id == "hisanohama"
