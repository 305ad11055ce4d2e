"""Roll import, lookup with kana normalisation, snapshot, and deletion at close."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from odekake.cli import main
from odekake.errors import ImportRejected
from odekake.storage.db import memory_db
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import roll as rl
from tests.voting.conftest import (
    ELECTION_ID,
    ROLL_ROWS,
    clerk_van,
    election_data,
    make_hub,
    write_roll,
)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("すずき きょうこ", "スズキ キョウコ"),
        ("ｽｽﾞｷ ｷｮｳｺ", "スズキ キョウコ"),  # half-width katakana, voiced mark composed
        ("スズキ　キヨウコ", "スズキ キョウコ"),  # full-width space, large ヨ for small ョ
        ("すずききょうこ", "スズキ・キョウコ"),
        ("ヴァイオリン", "ゔぁいおりん"),
    ],
)
def test_normalise_kana_matches_every_way_of_typing(typed: str, stored: str) -> None:
    assert rl.normalise_kana(typed) == rl.normalise_kana(stored)


def test_normalise_kana_keeps_different_names_apart() -> None:
    assert rl.normalise_kana("サトウ") != rl.normalise_kana("サイトウ")
    assert rl.normalise_kana("オオノ") != rl.normalise_kana("オノ")


@pytest.mark.parametrize(
    "text",
    ["1945-01-05", "1945/1/5", "19450105", "昭和20年1月5日", "S20.1.5", "１９４５－０１－０５"],
)
def test_birth_dates_in_common_formats(text: str) -> None:
    assert rl.parse_birth_date(text) == "1945-01-05"


def test_import_and_lookup(hub_db: sqlite_utils.Database) -> None:
    assert rl.roll_size(hub_db, ELECTION_ID) == 4
    assert rl.roll_size(hub_db, ELECTION_ID, ["小川第3"]) == 3
    v = rl.find_by_voter_no(hub_db, ELECTION_ID, " ０００１０３\n")  # scanner adds noise
    assert v is not None and v.name == "鈴木 京子" and v.birth_date == "1945-01-05"
    assert v.sex_label == "女"
    found = rl.find_by_kana(hub_db, ELECTION_ID, "ｽｽﾞｷｷｮｳｺ", "S20.1.5")
    assert [f.voter_no for f in found] == ["000103"]
    assert rl.find_by_kana(hub_db, ELECTION_ID, "すずききょうこ", "1945-01-06") == []
    assert rl.find_by_voter_no(hub_db, ELECTION_ID, "999999") is None


def test_shift_jis_roll_is_accepted(tmp_path: Path) -> None:
    db = memory_db("hub")
    el.save_election(db, el.election_from_dict(election_data()))
    path = write_roll(tmp_path / "sjis.csv", encoding="cp932")
    assert path.read_bytes().decode("cp932").startswith("選挙人番号")
    assert rl.import_roll(db, ELECTION_ID, path) == 4
    assert rl.find_by_voter_no(db, ELECTION_ID, "000102").name == "佐藤 花子"  # type: ignore[union-attr]


def test_bad_rows_are_all_reported_and_nothing_is_imported(tmp_path: Path) -> None:
    db = memory_db("hub")
    el.save_election(db, el.election_from_dict(election_data()))
    rl.import_roll(db, ELECTION_ID, write_roll(tmp_path / "ok.csv"))
    rows = [
        "000201,新井 一,アライ ハジメ,1950-01-01,男,小川1,小川第3",
        "000202,井上 二,イノウエ ジ,1950-02-30,男,小川2,小川第3",  # line 3: no such date
        "000203,,ウエダ,1950-01-01,女,小川3,小川第3",  # line 4: no name
        "000201,江藤 三,エトウ サン,1950-01-01,X,小川4,小川第3",  # line 5: duplicate + sex
        "000205,大野 四,オオノ,1950-01-01,女",  # line 6: too few columns
    ]
    with pytest.raises(ImportRejected) as err:
        rl.import_roll(db, ELECTION_ID, write_roll(tmp_path / "bad.csv", rows))
    lines = [n for n, _ in err.value.problems]
    assert lines == [3, 4, 5, 5, 6]
    assert "2行目と重複" in err.value.problems[2][1]
    assert "1件も登録していません" in str(err.value)
    # the previous roll is untouched: nothing half-imported
    assert rl.roll_size(db, ELECTION_ID) == 4
    assert rl.find_by_voter_no(db, ELECTION_ID, "000201") is None


def test_cli_roll_import_reports_lines(tmp_path: Path) -> None:
    hub = make_hub(tmp_path / "hub.db")
    bad = write_roll(tmp_path / "bad.csv", [*ROLL_ROWS, "000105,,,1950-01-01,男,,"])
    result = CliRunner().invoke(
        main, ["roll", "import", "--db", str(hub), "--election", ELECTION_ID, str(bad)]
    )
    assert result.exit_code == 1
    assert "6行目: 氏名が空です" in result.output
    assert "Traceback" not in result.output
    good = write_roll(tmp_path / "good.csv", ROLL_ROWS[:2], encoding="cp932")
    result = CliRunner().invoke(
        main, ["roll", "import", "--db", str(hub), "--election", ELECTION_ID, str(good)]
    )
    assert result.exit_code == 0, result.output
    assert "2 人を取り込みました" in result.output


def test_roll_reaches_the_van_for_lookup_only_and_is_gone_after_close(
    hub_db: sqlite_utils.Database,
) -> None:
    van = clerk_van(hub_db, "van-1")
    snapshot = rl.roll_snapshot(hub_db, ELECTION_ID)
    assert set(snapshot[0]) == set(rl.SNAPSHOT_FIELDS)
    assert rl.roll_size(van, ELECTION_ID) == 4

    election = el.get_election(van, ELECTION_ID)
    voter = rl.find_by_kana(van, ELECTION_ID, "やまだたろう", "1950-03-02")[0]
    ck.record_provisional(
        van,
        election=election,
        station_id="ogawa-van",
        voter=voter,
        reason="illness",
        clerk_id="cl001",
        request_id=ck.new_request_id(),
        cause="offline",
    )
    ck.record_cast(
        van,
        election=election,
        station_id="ogawa-van",
        voter=rl.find_by_voter_no(van, ELECTION_ID, "000102"),  # type: ignore[arg-type]
        request_id=ck.new_request_id(),
        ballots=["senkyoku"],
        clerk_id="cl001",
        checked_at="2026-01-01T10:00:00+09:00",
    )
    # Everything an up-sync bundle carries is in `records`; no roll data is in there.
    payloads = " ".join(p for (p,) in van.execute("SELECT payload FROM records"))
    assert payloads
    for row in snapshot:
        for field in ("name", "kana", "address", "birth_date"):
            assert row[field] not in payloads
    assert van.execute("SELECT COUNT(*) FROM records WHERE type LIKE 'roll%'").fetchone()[0] == 0

    assert rl.close_election(van, ELECTION_ID) == 1  # the one sealed copy
    assert van.execute("SELECT COUNT(*) FROM roll").fetchone()[0] == 0
    assert van.execute("SELECT COUNT(*) FROM roll_sealed").fetchone()[0] == 0
    assert el.get_election(van, ELECTION_ID).closed
    assert rl.delete_roll(van, ELECTION_ID) == 0
    # the hub keeps its roll (the election board's copy)
    assert rl.roll_size(hub_db, ELECTION_ID) == 4


def test_election_toml_and_ballot_opening_days(tmp_path: Path) -> None:
    toml = tmp_path / "e.toml"
    toml.write_text(
        """
id = "fukushima-2023"
name = "令和5年福島県議会議員一般選挙"
election_day = "2023-11-12"
early_from = "2023-11-04"
early_to = "2023-11-11"

[[ballots]]
kind = "senkyoku"
label = "選挙区"

[[ballots]]
kind = "shinsa"
label = "国民審査"
opens_on = "2023-11-08"

[[stations]]
id = "ogawa-van"
name = "移動期日前投票所(小川)"
kind = "mobile"
date = "2023-11-08"
opens = "10:00"
closes = "17:00"
district = "ogawa"
electors = 190
""",
        encoding="utf-8",
    )
    hub = tmp_path / "hub.db"
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--db", str(hub), "--role", "hub"]).exit_code == 0
    result = runner.invoke(main, ["election", "add", "--db", str(hub), str(toml)])
    assert result.exit_code == 0, result.output
    from datetime import date

    from odekake.storage.db import connect

    e = el.get_election(connect(hub), "fukushima-2023")
    assert [b.label for b in e.ballots_on(date(2023, 11, 7))] == ["選挙区"]
    assert [b.label for b in e.ballots_on(date(2023, 11, 8))] == ["選挙区", "国民審査"]
    st = e.station("ogawa-van")
    assert (st.date_from, st.date_to, st.electors) == ("2023-11-08", "2023-11-08", 190)
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('date = "2023-11-08"', 'date = "2023-11-20"'),
        encoding="utf-8",
    )
    result = runner.invoke(main, ["election", "add", "--db", str(hub), str(toml)])
    assert result.exit_code == 1
    assert "期日前投票の期間外" in result.output


def test_voting_core_never_imports_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import odekake.voting.elections, odekake.voting.roll, odekake.voting.checkin, "
        "odekake.voting.tally, odekake.voting.report, odekake.voting.http, odekake.voting.client, "
        "odekake.commands.vote; print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_voting_command_has_help() -> None:
    from odekake.commands.vote import COMMANDS

    for group in COMMANDS:
        assert group.help
        for command in group.commands.values():  # type: ignore[attr-defined]
            assert command.help, command.name


def test_down_synced_close_deletes_the_van_roll(hub_db: sqlite_utils.Database) -> None:
    van = clerk_van(hub_db, "van-1")
    assert rl.roll_size(van, ELECTION_ID) == 4
    assert rl.close_election(hub_db, ELECTION_ID) == 0  # the hub keeps its roll
    el.import_election(van, el.export_election(hub_db, ELECTION_ID))
    assert van.execute("SELECT COUNT(*) FROM roll").fetchone()[0] == 0
    assert van.execute("SELECT COUNT(*) FROM roll_sealed").fetchone()[0] == 0
    assert van.execute("SELECT COUNT(*) FROM roll_wraps").fetchone()[0] == 0
    assert rl.voters_of(van, ELECTION_ID) == []
    assert rl.roll_size(hub_db, ELECTION_ID) == 4
