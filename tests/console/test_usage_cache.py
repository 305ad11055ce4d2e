"""利用実績 served from a cache: new records show at once, sign-ins and downloads keep
the built report, and sessions asking at once for a report not built yet wait for
one build."""

from __future__ import annotations

import re
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from console.pages import usage
from odekake.reports.counting import Period
from odekake.reports.export import to_csv
from odekake.reports.table import build_report
from odekake.storage.db import connect
from odekake.sync.client import export_bundle
from odekake.sync.ingest import ingest_file
from tests.console.conftest import TODAY, Browser, copy_db

MONTH = "kind=month&month=2026-11"


@pytest.fixture
def manager(browser: Browser) -> Browser:
    assert browser.login("mgr").status_code == 303
    return browser


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[Period]:
    """Every report the console builds (the real function, counted)."""
    seen: list[Period] = []

    def counted(db: Any, period: Period, **kw: Any) -> Any:
        seen.append(period)
        return build_report(db, period, **kw)

    monkeypatch.setattr(usage, "build_report", counted)
    return seen


def _token(html: str) -> str:
    m = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert m
    return m.group(1)


def _fresh_csv(hub_path: Path) -> str:
    db = connect(hub_path, role="hub")
    try:
        return to_csv(build_report(db, Period.month(2026, 11), today=TODAY.date()))
    finally:
        db.close()


def test_a_cached_report_shows_newly_synced_records_at_once(
    manager: Browser, hub_path: Path, demo_dir: Path, tmp_path: Path, builds: list[Period]
) -> None:
    before_csv = manager.client.get(f"/console/usage/report.csv?{MONTH}")
    before_page = manager.client.get(f"/console/usage?{MONTH}").text
    assert manager.client.get(f"/console/usage?{MONTH}").text == before_page
    assert len(builds) == 1  # the page and the download share one built report
    # The demo van holds its last three working days, not yet synced: bring them
    # to the hub as a USB bundle would.
    van = tmp_path / "van.db"
    copy_db(demo_dir / "van.db", van)
    key = tmp_path / "van.db.key"
    key.write_bytes((demo_dir / "van.db.key").read_bytes())
    key.chmod(0o600)
    export_bundle(van, tmp_path / "bundle.odk")
    hub = connect(hub_path, role="hub")
    assert ingest_file(hub, tmp_path / "bundle.odk").stored > 0
    hub.close()
    after_csv = manager.client.get(f"/console/usage/report.csv?{MONTH}")
    after_page = manager.client.get(f"/console/usage?{MONTH}").text
    fresh = _fresh_csv(hub_path)
    assert after_csv.content.decode("utf-8-sig") == fresh != before_csv.content.decode("utf-8-sig")
    assert after_page != before_page
    assert len(builds) == 2


def test_sign_ins_and_downloads_keep_the_built_report(
    hub_app: Any, manager: Browser, builds: list[Period]
) -> None:
    first = manager.client.get(f"/console/usage?{MONTH}")
    assert first.status_code == 200
    with TestClient(hub_app, base_url="http://testserver") as other:
        second = Browser(other)
        assert second.login("mgr").status_code == 303  # audited: login
        assert other.get(f"/console/usage/report.csv?{MONTH}").status_code == 200  # export
        assert other.get("/console/staff").status_code == 403  # audited: role.denied
        theirs = other.get(f"/console/usage?{MONTH}")
    again = manager.client.get(f"/console/usage?{MONTH}")
    assert again.status_code == 200 and again.text == first.text
    assert len(builds) == 1
    # one built report, but each session's page carries its own form token
    assert _token(theirs.text) != _token(first.text) == _token(again.text)
    assert again.headers["cache-control"] == "no-store"


def test_sessions_asking_at_once_wait_for_one_build(
    hub_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Period] = []

    def slow(db: Any, period: Period, **kw: Any) -> Any:
        calls.append(period)
        time.sleep(0.2)  # long enough that every thread asks before it is built
        return build_report(db, period, **kw)

    monkeypatch.setattr(usage, "build_report", slow)
    start = threading.Barrier(6)
    got: list[Any] = []

    def ask() -> None:
        db = connect(hub_path, role="hub")
        start.wait()
        got.append(usage.cached_report(db, Period.month(2026, 11), date(2026, 11, 20)))
        db.close()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 6 and all(r is got[0] for r in got)
    assert len(calls) == 1
