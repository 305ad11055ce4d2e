"""Fuzz the CSV import paths: any input gets a clear error or imports; nothing half-done."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odekake.errors import OdekakeError
from odekake.masterdata import master, site_files
from odekake.storage.db import memory_db

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
            n = site_files.import_sites(db, f)
        except OdekakeError as exc:
            assert str(exc).strip() and "\n" not in str(exc).strip().splitlines()[0]
            assert master.sites(db) == []
        else:
            assert len(master.sites(db)) == n


_ROLL_CELLS = st.sampled_from(
    [
        "000101",
        "山田 太郎",
        "ヤマダ タロウ",
        "1950-03-02",
        "昭和25年3月2日",
        "男",
        "女",
        "X",
        "",
        "いわき市小川町1",
        "小川第3",
        "19501302",
        '"',
        ",",
        "abc",
    ]
) | st.text(max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(_ROLL_CELLS, min_size=0, max_size=8), max_size=5),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
    tail=st.binary(max_size=12),
)
def test_roll_import_is_all_or_nothing(rows: list[list[str]], encoding: str, tail: bytes) -> None:
    from odekake.voting import elections as el
    from odekake.voting import roll as rl
    from tests.voting.conftest import ELECTION_ID, election_data

    db = memory_db("hub")
    master.seed_districts(db)
    el.save_election(db, el.election_from_dict(election_data()))
    text = "選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区\n" + "\n".join(
        ",".join(r) for r in rows
    )
    data = text.encode(encoding, errors="replace")
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "roll.csv"
        f.write_bytes(data + tail)
        try:
            n = rl.import_roll(db, ELECTION_ID, f)
        except OdekakeError as exc:
            assert str(exc).strip()
            assert db.execute("SELECT count(*) FROM roll").fetchone()[0] == 0
        else:
            assert db.execute("SELECT count(*) FROM roll").fetchone()[0] == n


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=4000),
    junk=st.binary(min_size=0, max_size=16),
    line=st.integers(min_value=0, max_value=40),
)
def test_tallies_import_is_all_or_nothing(cut: int, junk: bytes, line: int) -> None:
    from odekake.reports.tally_store import import_file

    good = (Path(__file__).parents[2] / "examples" / "tallies_fy2022_fy2023.csv").read_bytes()
    lines = good.split(b"\n")
    i = min(line, len(lines) - 1)
    lines[i] = lines[i][: cut % (len(lines[i]) + 1)] + junk
    db = memory_db("hub")
    master.seed_districts(db)
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "t.csv"
        f.write_bytes(b"\n".join(lines))
        try:
            import_file(db, f)
        except OdekakeError as exc:
            assert str(exc).strip()
            assert db.execute("SELECT count(*) FROM report_tallies").fetchone()[0] == 0
            assert db.execute("SELECT count(*) FROM report_tally_sheets").fetchone()[0] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=10**6),
    value=st.integers(min_value=0, max_value=255),
)
def test_a_flipped_bundle_byte_is_refused_and_changes_nothing(position: int, value: int) -> None:
    import io

    from odekake.storage import records as rec
    from odekake.sync.bundle import export_range
    from odekake.sync.ingest import hub_state, ingest_bytes
    from odekake.sync.keys import generate_key, public_key_text, register_device

    van = memory_db("van", device_id="van-f")
    for i in range(5):
        rec.append(van, "consultation.hold", {"stop_id": "s", "people": 1, "i": i})
    key = generate_key()
    buf = io.BytesIO()
    export_range(van, buf, device_id="van-f", from_seq=1, to_seq=5, key=key)
    data = bytearray(buf.getvalue())
    pos = position % len(data)
    if data[pos] == value:
        return
    data[pos] = value
    hub = memory_db("hub")
    register_device(hub, "van-f", public_key_text(key))
    before = hub_state(hub)
    try:
        result = ingest_bytes(hub, bytes(data), expected_device="van-f")
    except OdekakeError as exc:
        assert str(exc).strip()
        assert hub_state(hub) == before
    else:  # a flip the format tolerates (e.g. JSON whitespace) must still store the exact records
        assert result.stored in (0, 5)
        assert rec.verify(hub).ok
