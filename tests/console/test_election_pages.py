"""選挙: elections from TOML (form or file), stations' vans, the roll upload (one bad line
refused and named, fixed, imported), 速報 as the tally counts it, incidents (audited view),
the turnout report as PDF/CSV, and the refusals."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from odekake.demo import DEMO_ELECTION_ID
from odekake.storage.db import connect
from odekake.voting import checkin as ck
from odekake.voting import elections as el
from odekake.voting import report as vr
from odekake.voting import roll as rl
from odekake.voting.elections import JST
from odekake.voting.tally import tally
from tests.console.conftest import Browser

ROLL = (
    "選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区\n"
    "000101,山田 太郎,ヤマダ タロウ,1950-03-02,男,いわき市小川町高萩1,小川第3\n"
    "000102,佐藤 花子,サトウ ハナコ,1948/07/15,女,いわき市小川町上小川2,小川第3\n"
    "000103,鈴木 京子,スズキ キョウコ,昭和20年1月5日,女,いわき市小川町西小川3,小川第3\n"
)
BASE = f"/console/elections/{DEMO_ELECTION_ID}"


@pytest.fixture
def clerk(browser: Browser) -> Browser:
    assert browser.login("elec").status_code == 303
    return browser


def _roll_upload(b: Browser, text: str):  # type: ignore[no-untyped-def]
    return b.client.post(
        f"{BASE}/roll/preview",
        data={"csrftoken": b.token(BASE)},
        files={"file": ("roll.csv", text.encode("utf-8"), "text/csv")},
    )


def test_list_and_add_from_the_form(clerk: Browser, hub_path: Path) -> None:
    page = clerk.client.get("/console/elections")
    assert page.status_code == 200 and f'data-election="{DEMO_ELECTION_ID}"' in page.text
    toml = re.search(r"<textarea[^>]*>(.*?)</textarea>", page.text, re.S)
    assert toml
    text = toml.group(1).replace("&#34;", '"').replace("&quot;", '"')
    done = clerk.post("/console/elections", {"toml": text}, page="/console/elections")
    assert done.status_code == 303 and done.headers["location"].endswith(
        "/elections/iwaki-2027?done=saved"
    )
    db = connect(hub_path, role="hub")
    e = el.get_election(db, "iwaki-2027")
    assert e.station("ogawa-van").vans == ("van-1",)
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='election.add' AND actor='staff:elec' "
            "AND target='iwaki-2027'"
        ).fetchone()[0]
        == 1
    )


def test_bad_toml_is_refused_and_kept(clerk: Browser, hub_path: Path) -> None:
    bad = 'id = "x-1"\nname = "試験"\nelection_day = "2027-13-01"\n'
    got = clerk.post("/console/elections", {"toml": bad}, page="/console/elections")
    assert got.status_code == 400 and 'id="election-error"' in got.text
    assert "2027-13-01" in got.text  # what was typed stays in the form
    broken = clerk.post("/console/elections", {"toml": "id = "}, page="/console/elections")
    assert broken.status_code == 400 and "TOMLとして読めません: election.toml" in broken.text
    assert "/tmp" not in broken.text
    db = connect(hub_path, role="hub")
    assert db.execute("SELECT COUNT(*) FROM elections WHERE id='x-1'").fetchone()[0] == 0


def test_assign_and_remove_a_van(clerk: Browser, hub_path: Path) -> None:
    page = clerk.client.get(BASE)
    assert page.status_code == 200 and 'data-station="demo-van"' in page.text
    add = clerk.post(f"{BASE}/assign", {"station": "taira", "van": "van-9"}, page=BASE)
    assert add.status_code == 303
    db = connect(hub_path, role="hub")
    assert "van-9" in el.get_election(db, DEMO_ELECTION_ID).station("taira").vans
    rm = clerk.post(
        f"{BASE}/assign", {"station": "taira", "van": "van-9", "remove": "1"}, page=BASE
    )
    assert rm.status_code == 303
    assert "van-9" not in el.get_election(db, DEMO_ELECTION_ID).station("taira").vans
    details = [
        r[0]
        for r in db.execute(
            "SELECT detail FROM audit_log WHERE action='election.assign' AND actor='staff:elec'"
        )
    ]
    assert [('"remove":true' in d) for d in details] == [False, True]
    bad = clerk.post(f"{BASE}/assign", {"station": "nowhere", "van": "van-9"}, page=BASE)
    assert bad.status_code == 404 and "nowhere" in bad.text


def test_roll_bad_line_refused_then_fixed(clerk: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    before = rl.roll_snapshot(db, DEMO_ELECTION_ID)
    broken = ROLL.replace("1948/07/15,女", "1948/07/15,不明")
    got = _roll_upload(clerk, broken)
    assert got.status_code == 400
    assert "3行目" in got.text and "性別は 男 か 女 です" in got.text
    assert rl.roll_snapshot(db, DEMO_ELECTION_ID) == before
    ok = _roll_upload(clerk, ROLL)
    assert ok.status_code == 200 and "3 人(男 1 人、女 2 人)" in ok.text
    assert "山田" not in ok.text  # the preview shows counts, not the residents
    assert rl.roll_snapshot(db, DEMO_ELECTION_ID) == before
    payload = re.search(r'name="payload" value="([^"]+)"', ok.text)
    assert payload
    done = clerk.post(f"{BASE}/roll", {"payload": payload.group(1)}, page=BASE)
    assert done.status_code == 303
    assert rl.roll_size(db, DEMO_ELECTION_ID) == 3
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='roll.import' AND target=?",
            [DEMO_ELECTION_ID],
        ).fetchone()[0]
        == 1
    )


def test_live_counts_as_the_tally(clerk: Browser, hub_path: Path) -> None:
    def shown() -> int:
        page = clerk.client.get(f"{BASE}/live")
        assert page.status_code == 200 and "<svg" in page.text
        row = page.text.split('<tr data-station="demo-van">', 1)[1].split("</tr>", 1)[0]
        m = re.search(r'class="num total">(\d+)<', row)
        assert m
        return int(m.group(1))

    assert shown() == 0
    db = connect(hub_path, role="hub")
    answer = ck.checkin(
        db,
        ck.CheckinRequest(
            "req-live-1", DEMO_ELECTION_ID, "D0001", "demo-van", "cl001", "van-1", "work"
        ),
        now=datetime(2026, 11, 20, 11, 5, tzinfo=JST),
    )
    assert answer.status_code == 200
    assert shown() == 1
    t = tally(db, DEMO_ELECTION_ID)
    st = next(s for s in t.stations if s.station.id == "demo-van")
    assert st.total == 1
    page = clerk.client.get(f"{BASE}/live")
    assert 'data-hour="2026-11-20 11" data-total="1"' in page.text


def test_incidents_view_is_audited(clerk: Browser, hub_path: Path) -> None:
    got = clerk.client.get(f"{BASE}/incidents")
    assert got.status_code == 200
    db = connect(hub_path, role="hub")
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='view.personal' AND actor='staff:elec' "
            "AND target=?",
            [f"incidents:{DEMO_ELECTION_ID}"],
        ).fetchone()[0]
        == 1
    )


def test_report_downloads(clerk: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    got = clerk.client.get(f"{BASE}/report.csv")
    assert got.content.decode("utf-8-sig") == vr.csv_text(tally(db, DEMO_ELECTION_ID))
    pdf = clerk.client.get(f"{BASE}/report.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "平支所" in text
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='export' AND actor='staff:elec'"
        ).fetchone()[0]
        == 2
    )
    assert clerk.client.get("/console/elections/nope/live").status_code == 404


def test_election_refusals(browser: Browser, hub_path: Path) -> None:
    assert browser.client.get("/console/elections", follow_redirects=False).status_code == 303
    for login in ("mgr", "coord", "admin"):
        assert browser.login(login).status_code == 303
        assert browser.client.get(f"{BASE}/live").status_code == 403
        browser.client.post("/console/logout", data={"csrftoken": browser.token("/console/")})
    assert browser.login("elec").status_code == 303
    no_csrf = browser.client.post(
        f"{BASE}/roll/preview", files={"file": ("roll.csv", ROLL.encode(), "text/csv")}
    )
    assert no_csrf.status_code == 403
    db = connect(hub_path, role="hub")
    assert rl.roll_size(db, DEMO_ELECTION_ID) == 8


def test_live_leaves_the_hours_to_come_blank(clerk: Browser, hub_app) -> None:  # type: ignore[no-untyped-def]
    """At 11:30 the 12時 row and later are empty, not the running total carried forward."""
    from tests.console.conftest import console_state

    console_state(hub_app).clock = lambda: datetime(2026, 11, 20, 11, 30, tzinfo=JST)
    page = clerk.client.get(f"{BASE}/live").text
    table = page.split('<table class="hours" data-station="demo-van">', 1)[1].split("</table>")[0]
    rows = re.findall(r'<tr(?: class="(future)")? data-hour="2026-11-20 (\d+)">(.*?)</tr>', table)
    assert rows
    for future, hour, cells in rows:
        numbers = re.findall(r'<td class="num[^"]*">([^<]*)</td>', cells)
        if int(hour) > 11:
            assert future and numbers == [""] * 5, (hour, numbers)
        else:
            assert not future and numbers[3] != "", (hour, numbers)
    assert "まだ来ていない時間は空欄です" in page and 'id="live-stopped"' in page
