"""地点・地区: filters, the map by district, a site edited with the CSV's rules (audited),
CSV export equal to ``odekake sites export``, import previewed and refused whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from odekake.masterdata import master, site_files
from odekake.storage.db import connect
from tests.console.conftest import Browser


@pytest.fixture
def coord(browser: Browser) -> Browser:
    assert browser.login("coord").status_code == 303
    return browser


def test_filters_and_map(coord: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    everything = master.sites(db)
    d = master.districts(db)[0]
    of_d = master.sites(db, d.id)
    assert 0 < len(of_d) < len(everything)
    page = coord.client.get("/console/sites")
    assert page.status_code == 200
    assert page.text.count('<tr data-site="') == len(everything)
    assert page.text.count("<circle") == len(everything)
    one = coord.client.get(f"/console/sites?district={d.id}")
    assert one.text.count('<tr data-site="') == len(of_d)
    assert one.text.count('r="5"') == len(of_d)  # the filtered sites drawn large
    name = of_d[0]["name"]
    by_text = coord.client.get("/console/sites", params={"text": name})
    assert f'data-site="{of_d[0]["id"]}"' in by_text.text
    assert "車庫" in page.text  # depots on the map and in the table


def test_edit_a_site(coord: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    s = master.sites(db)[0]
    form = coord.client.get(f"/console/sites/edit?id={s['id']}")
    assert form.status_code == 200 and f'value="{s["name"]}"' in form.text
    fields = {
        "id": s["id"],
        "district": s["district_id"],
        "name": s["name"] + "(改)",
        "kind": s["kind"],
        "lat": str(s["lat"]),
        "lon": str(s["lon"]),
        "open_weekdays": "月水金",
        "open_from": "10:00",
        "open_to": "15:00",
        "notes": "",
    }
    bad = coord.post("/console/sites/edit", {**fields, "open_from": "16:00"}, page="/console/sites")
    assert bad.status_code == 400 and "開始時刻 16:00 が終了時刻 15:00 より後です" in bad.text
    assert master.site(db, s["id"])["name"] == s["name"]
    ok = coord.post("/console/sites/edit", fields, page="/console/sites")
    assert ok.status_code == 303
    after = master.site(db, s["id"])
    assert (after["name"], after["open_weekdays"], after["open_from"]) == (
        s["name"] + "(改)",
        "月水金",
        "10:00",
    )
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='site.change' AND actor='staff:coord' "
            "AND target=?",
            [s["id"]],
        ).fetchone()[0]
        == 1
    )


def test_export_is_the_cli_function(coord: Browser, hub_path: Path) -> None:
    got = coord.client.get("/console/sites.csv")
    db = connect(hub_path, role="hub")
    assert got.content.decode("utf-8-sig") == site_files.export_sites(db)


def test_import_preview_then_import(coord: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    text = site_files.export_sites(db)
    lines = text.splitlines()
    d = master.districts(db)[1]
    lines.append(f"new-site-1,{d.name},新しい集会所,集会所,37.05000,140.88000,火木,09:30,12:00,")
    body = "\r\n".join(lines) + "\r\n"
    tok = coord.token("/console/sites")
    prev = coord.client.post(
        "/console/sites/import/preview",
        data={"csrftoken": tok},
        files={"file": ("sites.csv", body.encode("utf-8"), "text/csv")},
    )
    assert prev.status_code == 200 and "新規 1 件" in prev.text
    assert db.execute("SELECT COUNT(*) FROM sites WHERE id='new-site-1'").fetchone()[0] == 0
    payload = re.search(r'name="payload" value="([^"]+)"', prev.text)
    assert payload
    done = coord.post("/console/sites/import", {"payload": payload.group(1)}, page="/console/sites")
    assert done.status_code == 303
    assert master.site(db, "new-site-1")["open_weekdays"] == "火木"
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='import' AND target='sites'"
        ).fetchone()[0]
        == 1
    )


def test_bad_import_names_lines_and_changes_nothing(coord: Browser, hub_path: Path) -> None:
    db = connect(hub_path, role="hub")
    before = site_files.export_sites(db)
    lines = before.splitlines()
    lines[2] = re.sub(r",\d+\.\d+,", ",北緯37度,", lines[2], count=1)
    lines.append("new-x,どこでもない地区,集会所Z,集会所,37.0,140.9,,,,")
    tok = coord.token("/console/sites")
    got = coord.client.post(
        "/console/sites/import/preview",
        data={"csrftoken": tok},
        files={"file": ("bad.csv", ("\r\n".join(lines) + "\r\n").encode(), "text/csv")},
    )
    assert got.status_code == 400
    assert "3行目" in got.text and "緯度が数値ではありません" in got.text
    assert f"{len(lines)}行目" in got.text and "どこでもない地区" in got.text
    assert site_files.export_sites(db) == before


def test_site_refusals(browser: Browser, hub_path: Path) -> None:
    assert browser.client.get("/console/sites", follow_redirects=False).status_code == 303
    for login in ("mgr", "elec"):
        assert browser.login(login).status_code == 303
        assert browser.client.get("/console/sites").status_code == 403
        browser.client.post("/console/logout", data={"csrftoken": browser.token("/console/")})
    assert browser.login("admin").status_code == 303
    assert browser.client.get("/console/sites").status_code == 200
    db = connect(hub_path, role="hub")
    s = master.sites(db)[0]
    no_csrf = browser.client.post("/console/sites/edit", data={"id": s["id"], "name": "x"})
    assert no_csrf.status_code == 403
    assert master.site(db, s["id"])["name"] == s["name"]


def test_change_a_van(coord: Browser, hub_path: Path) -> None:
    from odekake.masterdata import vans

    db = connect(hub_path, role="hub")
    v = vans.vans(db)[0]
    fields = {
        "id": v.id,
        "name": v.name,
        "depot_name": "新しい車庫",
        "lat": "37.05",
        "lon": "140.88",
        "shift": "08:00-17:00",
    }
    bad = coord.post(
        "/console/sites/vans", {**fields, "shift": "17:00-08:00"}, page="/console/sites"
    )
    assert bad.status_code == 400 and f"車両 {v.id}" in bad.text
    assert vans.van(db, v.id) == v
    ok = coord.post("/console/sites/vans", fields, page="/console/sites")
    assert ok.status_code == 303
    after = vans.van(db, v.id)
    assert (after.depot_name, after.shift) == ("新しい車庫", "08:00-17:00")
    assert (
        db.execute(
            "SELECT COUNT(*) FROM audit_log WHERE action='van.change' AND actor='staff:coord'"
        ).fetchone()[0]
        == 1
    )
    lat = coord.post("/console/sites/vans", {**fields, "lat": "北"}, page="/console/sites")
    assert lat.status_code == 400 and "車庫の緯度は数値" in lat.text


def test_the_sites_table_is_its_own_card_beside_the_map(coord: Browser) -> None:
    """Every <div> and <section> closes where it opens: the table is not inside the map."""
    from html.parser import HTMLParser

    class Nesting(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[str] = []
            self.table_in: list[str] = []
            self.unclosed_at_end: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("div", "section"):
                self.stack.append(f"{tag}.{dict(attrs).get('class', '')}")
            if tag == "table" and ("id", "site-list") in attrs:
                self.table_in = list(self.stack)

        def handle_endtag(self, tag: str) -> None:
            if tag in ("div", "section"):
                assert self.stack and self.stack[-1].startswith(tag), (tag, self.stack)
                self.stack.pop()

    p = Nesting()
    p.feed(coord.client.get("/console/sites").text)
    assert p.stack == []
    assert "div.svgbox" not in p.table_in and p.table_in[-1] == "section.card"
    page = coord.client.get("/console/sites").text
    for label in ("緯度", "経度", "勤務時間"):
        assert f'class="mid" aria-label="{label}"' in page
