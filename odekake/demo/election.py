"""The demo's election: one early-voting election, its station on the demo van's stops, a small synthetic roll."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

import sqlite_utils

from odekake.demo.synthetic import (
    _GIVEN,
    _KANA_G,
    _KANA_S,
    _SURNAMES,
    JST,
    VAN_ID,
)
from odekake.masterdata import master
from odekake.storage.db import write
from odekake.storage.private_files import write_private

DEMO_ELECTION_ID = "demo-election"


DEMO_HUB_URL = "http://127.0.0.1:8765"


# The demo roll: (番号, index into the name tables, birth date). Women's given names
# are the ones at even positions in _GIVEN_SEX below; everyone lives at a デモ address.
_DEMO_VOTERS = (
    ("D0001", 0, 0, "1941-04-03"),
    ("D0002", 1, 1, "1938-11-20"),
    ("D0003", 2, 3, "1950-03-02"),
    ("D0004", 3, 5, "1946-07-15"),
    ("D0005", 4, 6, "1944-01-05"),
    ("D0006", 5, 7, "1952-09-30"),
    ("D0007", 6, 8, "1939-12-12"),
    ("D0008", 7, 9, "1948-05-06"),
)


_FEMALE_GIVEN = {"ヨシ子", "和子", "トミ", "幸子", "節子", "キヨ"}


def _demo_election(
    hub: sqlite_utils.Database, van: sqlite_utils.Database, directory: Path, today: date
) -> int:
    """An election whose early voting covers the demo's days, with today's stop as a
    mobile station served by the demo van, a synthetic roll (デモ addresses) on both,
    and one voter who already voted at 平支所 yesterday (so 投票不可 can be seen).

    The demo station is open all day so that the demo can be tried at any hour; a
    real mobile station has its own hours (e.g. 10:00–17:00). Returns the roll size.
    """
    from odekake.voting import checkin as ck
    from odekake.voting import elections as el
    from odekake.voting import roll as rl

    row = hub.execute(
        "SELECT id, site_id, district_id FROM plan_visits WHERE date = ? AND van_id = ? "
        "ORDER BY order_in_day LIMIT 1",
        [today.isoformat(), VAN_ID],
    ).fetchone()
    visit_id, site_id, district_id = row
    district = master.district(hub, district_id)
    site_name = master.site(hub, site_id)["name"]
    election = el.election_from_dict(
        {
            "id": DEMO_ELECTION_ID,
            "name": "いわき市長選挙(デモ)",
            "early_from": (today - timedelta(days=3)).isoformat(),
            "early_to": (today + timedelta(days=3)).isoformat(),
            "election_day": (today + timedelta(days=4)).isoformat(),
            "ballots": [{"kind": "shicho", "label": "市長"}],
            "stations": [
                {
                    "id": "taira",
                    "name": "平支所",
                    "kind": "fixed",
                    "opens": "08:30",
                    "closes": "20:00",
                    "vans": ["taira-counter"],
                },
                {
                    "id": "demo-van",
                    "name": f"移動期日前投票所({site_name})",
                    "kind": "mobile",
                    "date": today.isoformat(),
                    "opens": "00:00",
                    "closes": "23:59",
                    "district": district_id,
                    "site_id": site_id,
                    "precincts": [f"{district.name}第1"],
                    "vans": [VAN_ID],
                },
            ],
        }
    )
    lines = ["選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区"]
    for k, (no, i, j, born) in enumerate(_DEMO_VOTERS):
        sex = "女" if _GIVEN[j] in _FEMALE_GIVEN else "男"
        address = f"いわき市{district.name}町デモ{k % 3 + 1}丁目{k * 4 + 3}番地"
        lines.append(
            f"{no},{_SURNAMES[i]} {_GIVEN[j]},{_KANA_S[i]} {_KANA_G[j]},{born},{sex},"
            f"{address},{district.name}第1"
        )
    roll_csv = directory / "demo-roll.csv"
    write_private(roll_csv, ("\n".join(lines) + "\n").encode("utf-8"))  # the roll: 0600
    el.save_election(hub, election)
    n = rl.import_roll(hub, DEMO_ELECTION_ID, roll_csv)
    # today's first stop offers early voting (on the hub and on the van alike)
    for db in (hub, van):
        services = json.loads(
            db.execute("SELECT services FROM plan_visits WHERE id = ?", [visit_id]).fetchone()[0]
        )
        with write(db):
            db.execute(
                "UPDATE plan_visits SET services = ? WHERE id = ?",
                [json.dumps(["voting", *services]), visit_id],
            )
    # D0008 already voted at 平支所 yesterday: the hub says 投票不可 for them
    yesterday = datetime.combine(today - timedelta(days=1), time(10, 30), tzinfo=JST)
    ck.checkin(
        hub,
        ck.CheckinRequest(
            request_id=f"demo-{today.isoformat()}-taira-1",
            election_id=DEMO_ELECTION_ID,
            voter_no=_DEMO_VOTERS[-1][0],
            station_id="taira",
            clerk_id="cl001",
            device_id="taira-counter",
            reason="work",
        ),
        now=yesterday,
    )
    # the van holds what its first pull would bring: the election and the roll copy
    el.import_election(van, el.export_election(hub, DEMO_ELECTION_ID))
    rl.load_roll(van, DEMO_ELECTION_ID, rl.roll_snapshot(hub, DEMO_ELECTION_ID))
    return n
