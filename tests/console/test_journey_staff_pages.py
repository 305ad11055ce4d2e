"""The staff pages' journeys in a real browser (Playwright driving Debian's Chromium) against a
real ``odekake hub serve`` over a fresh demo:

- a manager uploads the example tallies, opens FY2022 and sees the very cells of
  ``odekake report --csv`` with the printed inconsistencies flagged;
- an administrator enrols a new van, revokes it and resolves a quarantined record;
- election staff upload a roll with one bad line (refused, the line named), fix it, and
  watch the 速報 count rise while the demo van checks voters in through the hub.

Screenshots go to ``docs/console/`` (``2-…``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from odekake.access.staff import add_staff
from odekake.demo import DEMO_ELECTION_ID
from odekake.storage.db import connect
from odekake.sync.auth import DeviceAuth
from odekake.sync.keys import generate_key, key_path_for, load_private_key, public_key_text
from odekake.sync.wire import ensure_hub_key
from odekake.voting import elections as el
from odekake.voting.client import Confirmed, VotingClient
from tests.console.test_device_pages import quarantine_one
from tests.console.test_journey import shot
from tests.sync.conftest import HubProcess, cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tallies_fy2022_fy2023.csv"
ADMIN = ("kanri", "kanri-demo-2026")
CLERK = ("senkyo", "senkyo-demo-2026")


@pytest.fixture
def demo_hub(tmp_path: Path) -> Iterator[tuple[HubProcess, Path]]:
    """A fresh demo with an administrator and an election-staff account, served for real."""
    out = cli("demo", "--dir", str(tmp_path / "demo"), "--no-kiosk", "--force")
    assert out.returncode == 0, out.stderr
    db = connect(tmp_path / "demo" / "hub.db", role="hub")
    add_staff(db, ADMIN[0], "情報 太郎", "admin", ADMIN[1], actor="test")
    add_staff(db, CLERK[0], "選挙 花子", "election", CLERK[1], actor="test")
    db.close()
    hub = HubProcess(tmp_path / "demo" / "hub.db").start()
    yield hub, tmp_path / "demo"
    hub.stop()


def _bare(text: str) -> str:
    """A cell as the CSV writes it: ``12人`` → ``12`` (▲ and ``–`` kept)."""
    return text.removesuffix("人").removesuffix("回")


def login(page, base: str, user: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/")
    page.fill("input[name=login]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit] >> text=ログイン")
    page.wait_for_selector("text=今日の車両")


def test_manager_imports_tallies_and_reads_fy2022(chromium, demo_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hub, demo = demo_hub
    page = chromium.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    page.set_default_timeout(60_000)
    base = f"{hub.url}/console"
    login(page, base, "manager", "manager-demo-2026")
    page.click("nav >> text=利用実績")
    page.click("text=過去の集計を取り込む")
    page.set_input_files("#import-file", str(EXAMPLE))
    page.click("#import-preview")
    page.wait_for_selector("#preview")
    assert "2022年4月1日〜2023年3月31日" in page.inner_text("#preview")
    shot(page, "2-01-tally-preview")
    page.click("#import-commit")
    page.wait_for_selector("#usage-sheet")
    assert "取り込みました" in page.inner_text("body")
    # The same report from the command line, on the hub's database.
    out = cli("report", "--db", str(demo / "hub.db"), "--fiscal-year", "2022",
              "--out", str(tmp_path / "fy2022.pdf"), "--csv", str(tmp_path / "fy2022.csv"))  # fmt: skip
    assert out.returncode == 0, out.stderr
    expected = list(csv.reader(io.StringIO((tmp_path / "fy2022.csv").read_text("utf-8-sig"))))
    # The page lays the table out as the PDF does (units, 地区定期巡回 once); every
    # value is the CLI's CSV value, ▲ where the CSV has it.
    shown = page.evaluate(
        "() => Array.from(document.querySelectorAll('#usage-sheet tbody tr')).map("
        "tr => Array.from(tr.querySelectorAll('td.num')).map(td => td.textContent))"
    )
    start = expected.index(next(r for r in expected if r[:1] == ["活動"])) + 1
    table = expected[start : start + len(shown)]
    assert [[_bare(v) for v in row] for row in shown] == [row[2:-1] for row in table]
    flagged_csv = sum(c.startswith("▲") for row in table for c in row)
    assert page.locator("#usage-sheet td.flag").count() == flagged_csv
    summary = page.locator("#usage-summary li").all_inner_texts()
    assert any("▲" in line for line in summary)  # FY2022's printed summary does not add up
    printed = [
        ln.removeprefix("注意: ") for ln in out.stderr.splitlines() if ln.startswith("注意: ")
    ]
    assert printed and page.locator("#flags li").all_inner_texts() == printed
    assert page.locator("#charts svg").count() == 2
    page.locator("#flags").scroll_into_view_if_needed()
    shot(page, "2-02-fy2022")
    page.locator("#charts").scroll_into_view_if_needed()
    shot(page, "2-03-fy2022-charts")


def test_admin_enrols_revokes_and_resolves(chromium, demo_hub) -> None:  # type: ignore[no-untyped-def]
    hub, demo = demo_hub
    quarantine_one(demo / "hub.db", demo / "van.db")
    page = chromium.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    page.set_default_timeout(60_000)
    page.on("dialog", lambda d: d.accept())
    base = f"{hub.url}/console"
    login(page, base, *ADMIN)
    page.click("nav >> text=車両・同期")
    page.wait_for_selector("#device-list")
    shot(page, "2-04-devices")
    pub = public_key_text(generate_key())
    page.fill("#enrol-form input[name=device_id]", "van-2-tablet")
    page.select_option("#enrol-form select[name=van_id]", "van-1")
    page.fill("#enrol-form input[name=public_key]", pub)
    page.fill("#enrol-form input[name=confirm_password]", ADMIN[1])  # the admin proves it
    page.click("#enrol-form button[type=submit]")
    page.wait_for_selector("#enrolled")
    hub_key = public_key_text(ensure_hub_key(demo / "hub.db"))
    assert page.inner_text("#hub-key") == hub_key
    assert hub_key in page.inner_text("#van-command")
    shot(page, "2-05-enrolled")
    row = page.locator('tr[data-device="van-2-tablet"]')
    assert "有効" in row.locator(".state").inner_text()
    row.locator("button >> text=失効").click()
    page.wait_for_selector("text=端末を失効させました")
    assert "失効" in page.locator('tr[data-device="van-2-tablet"] .state').inner_text()
    page.click("text=開いて解決")
    page.wait_for_selector("#van-version")
    assert "rewritten" in page.inner_text("#van-version")
    page.check("input[name=keep][value=hub]")
    page.fill("input[name=reason]", "車両の端末の時計ずれによる再送。ハブの版が正しいと確認")
    shot(page, "2-06-quarantine")
    page.click("#resolve-form button[type=submit]")
    page.wait_for_selector("text=隔離された記録の扱いを記録しました")
    assert "解決済み: ハブにある版を正とする" in page.inner_text("#quarantine-list")
    shot(page, "2-07-resolved")
    db = connect(demo / "hub.db", role="hub")
    acts = [
        r[0]
        for r in db.execute(
            f"SELECT action FROM audit_log WHERE actor = 'staff:{ADMIN[0]}' AND action != 'login' "
            "ORDER BY seq"
        )
    ]
    assert acts == ["device.enrol", "device.revoke", "view.personal", "sync.resolve"]
    # The administrator's other pages: sites on the map, staff, the audit log checked.
    page.click("nav >> text=地点・地区")
    page.wait_for_selector("#site-list")
    assert page.locator("svg [data-site]").count() == page.locator("#site-list tbody tr").count()
    shot(page, "2-10-sites")
    page.click("nav >> text=職員")
    assert page.locator(f'tr[data-login="{CLERK[0]}"]').count() == 1
    shot(page, "2-11-staff")
    page.click("nav >> text=監査ログ")
    page.click("#verify")
    assert "つながっています" in page.inner_text("#verify-result")
    page.select_option("select[name=action]", "sync.resolve")
    page.click("#audit-filter button[type=submit]")
    assert page.locator("#audit-entries tbody tr").count() == 1
    shot(page, "2-12-audit")


ROLL = [
    "選挙人番号,氏名,フリガナ,生年月日,性別,住所,投票区",
    "E0001,試験 一郎,シケン イチロウ,1950-03-02,男,いわき市デモ町1,デモ第1",
    "E0002,試験 花子,シケン ハナコ,1948-07-15,女,いわき市デモ町2,デモ第1",
    "E0003,試験 三郎,シケン サブロウ,1941-04-03,男,いわき市デモ町3,デモ第1",
]


def test_election_staff_roll_and_live_count(chromium, demo_hub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hub, demo = demo_hub
    page = chromium.new_page(viewport={"width": 1400, "height": 900}, locale="ja-JP")
    page.set_default_timeout(60_000)
    base = f"{hub.url}/console"
    login(page, base, *CLERK)
    page.click("nav >> text=選挙")
    page.click(f'tr[data-election="{DEMO_ELECTION_ID}"] a')
    page.wait_for_selector("#station-list")
    db = connect(demo / "hub.db", role="hub")
    precinct = el.get_election(db, DEMO_ELECTION_ID).station("demo-van").precincts[0]
    db.close()
    roll = [line.replace("デモ第1", precinct) for line in ROLL]
    bad = tmp_path / "roll-bad.csv"
    bad.write_text("\n".join([*roll[:2], roll[2].replace("1948-07-15", "1948-13-45"), roll[3]]) + "\n", "utf-8")  # fmt: skip
    page.set_input_files("#roll-file", str(bad))
    page.click("#roll-check")
    page.wait_for_selector("#problems")
    assert "3行目" in page.inner_text("#problems")
    assert "いま 8 人" in page.inner_text("body")  # nothing changed
    shot(page, "2-08-roll-refused")
    good = tmp_path / "roll.csv"
    good.write_text("\n".join(roll) + "\n", "utf-8")
    page.set_input_files("#roll-file", str(good))
    page.click("#roll-check")
    page.wait_for_selector("#roll-preview")
    assert "3 人(男 2 人、女 1 人)" in page.inner_text("#roll-preview")
    page.click("#roll-import")
    page.wait_for_selector("#roll-done")
    page.click("#open-live")
    total = page.locator('#live-summary tr[data-station="demo-van"] .total')
    assert total.inner_text() == "0"
    van = connect(demo / "van.db", role="van")
    from odekake.sync.wire import pinned_hub_key

    auth = DeviceAuth("van-1", load_private_key(key_path_for(demo / "van.db")), pinned_hub_key(van))
    van.close()
    client = VotingClient(hub.url, timeout=10, auth=auth)
    for n, voter in enumerate(("E0001", "E0002"), start=1):
        result = client.checkin(
            election_id=DEMO_ELECTION_ID, voter_no=voter, station_id="demo-van",
            clerk_id="cl001", device_id="van-1", reason="work",
        )  # fmt: skip
        assert isinstance(result, Confirmed), result
        # the page refreshes itself: no reload here
        # (a locator, not wait_for_function: the console's CSP allows no eval)
        expect(page.locator('#live-summary tr[data-station="demo-van"] .total')).to_have_text(
            str(n), timeout=30_000
        )
    row = page.locator('#live-summary tr[data-station="demo-van"]').inner_text()
    assert "66.7%" in row  # 2 of the 3 electors of the station's precinct
    shot(page, "2-09-live")
