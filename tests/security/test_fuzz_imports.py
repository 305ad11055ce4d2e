"""Fuzz the CSV import paths: any input gets a clear error or imports; nothing half-done."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odekake import master
from odekake.db import memory_db
from odekake.errors import OdekakeError

_cells = st.sampled_from(
    [
        "kawamae-01",
        "川前",
        "tabito",
        "東京",
        "公民館",
        "集会所",
        "37.2",
        "140.7",
        "abc",
        "",
        "月水金",
        "X",
        "09:00",
        "25:00",
        "17:00",
        '"',
        ",",
        "\n",
        "0",
        "-1",
        "1e9",
    ]
) | st.text(max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(_cells, min_size=0, max_size=11), max_size=6),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
    raw_tail=st.binary(max_size=20),
)
def test_sites_import_is_all_or_nothing(
    rows: list[list[str]], encoding: str, raw_tail: bytes
) -> None:
    db = memory_db()
    master.seed_districts(db)
    header = "id,district,name,kind,lat,lon,open_weekdays,open_from,open_to,notes\n"
    body = "\n".join(",".join(r) for r in rows)
    try:
        data = (header + body).encode(encoding, errors="replace")
    except (UnicodeEncodeError, LookupError):
        data = (header + body).encode("utf-8")
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "s.csv"
        f.write_bytes(data + raw_tail)
        try:
            n = master.import_sites(db, f)
        except OdekakeError as exc:
            assert str(exc).strip() and "\n" not in str(exc).strip().splitlines()[0]
            assert master.sites(db) == []
        else:
            assert len(master.sites(db)) == n
