"""The van's background sync against a real hub that is down, then up."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from odekake.storage.db import connect, write
from odekake.sync.auto import IDLE, NO_HUB, OFFLINE, AutoSync, describe

from .conftest import HubProcess, Site, add_records, free_port, rows


class FakeTime:
    """A monotonic clock the test moves by hand (the back-off is in seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def set_hub(van: Path, url: str) -> None:
    db = connect(van)
    with write(db):
        db.execute(
            "INSERT INTO settings(key, value) VALUES ('hub_url', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [url],
        )
    db.close()


def test_records_saved_while_the_hub_is_down_go_up_when_it_comes_back(
    site: Site, hub_process: Callable[[int], HubProcess]
) -> None:
    van = site.van("van-a", 0)
    clock = FakeTime()
    auto = AutoSync(van, monotonic=clock)
    assert auto.tick().phase == NO_HUB
    port = free_port()
    set_hub(van, f"http://127.0.0.1:{port}")
    db = connect(van)
    add_records(db, 12)
    db.close()

    state = auto.tick()
    assert state.phase == OFFLINE and state.unsynced == 12
    assert "接続なし 未送信12件" in describe(state, datetime.now(UTC))
    # within the back-off nothing is tried (and nothing blocks)
    clock.now += 1
    assert auto.tick().phase == OFFLINE
    hub = hub_process(port)
    clock.now += 1
    assert auto.tick().phase == OFFLINE  # still backing off: 5 s after the first failure
    seen: list[str] = []
    clock.now += 10
    state = auto.tick(on_change=lambda s: seen.append(s.phase))
    assert seen == ["sending"]
    assert state.phase == IDLE and state.unsynced == 0 and state.message == ""
    assert rows(site.hub, "van-a") == rows(van, "van-a")
    assert describe(state, datetime.now(UTC)).startswith("未送信0件 最終同期")
    # master data came down on the first good tick of the day
    db = connect(van)
    assert db.execute("SELECT last_pull_at FROM sync_state").fetchone()[0] is not None
    db.close()
    # a record saved later goes up on the next tick, with no key pressed anywhere
    db = connect(van)
    add_records(db, 3)
    db.close()
    clock.now += 5
    assert auto.tick().unsynced == 0
    assert len(rows(site.hub, "van-a")) == 15
    hub.stop()
    db = connect(van)
    add_records(db, 1)
    db.close()
    clock.now += 5
    assert auto.tick().phase == OFFLINE


def test_nothing_to_do_is_idle_without_a_network_call(site: Site) -> None:
    van = site.van("van-a", 0)
    set_hub(van, "http://127.0.0.1:9")
    calls: list[str] = []
    auto = AutoSync(
        van,
        push=lambda p, u: calls.append("push"),
        pull=lambda p, u: calls.append("pull"),
        monotonic=FakeTime(),
    )
    auto.tick()
    assert calls == ["push", "pull"]  # the day's first pull, and a first push
    calls.clear()
    assert auto.tick().phase == IDLE and calls == []


async def test_the_kiosk_pushes_by_itself_when_the_hub_comes_up(site: Site) -> None:
    """Records saved while the hub is down go up with no key pressed; the top bar follows."""
    from kiosk.app import KioskSettings, make_app
    from kiosk.widgets.field import TopBar

    from .conftest import HubProcess

    van = site.van("van-a", 0)
    port = free_port()
    set_hub(van, f"http://127.0.0.1:{port}")
    db = connect(van)
    add_records(db, 7)
    db.close()
    settings = KioskSettings(sync_every=0.2, sync_first_backoff=0.2, sync_max_backoff=0.5)
    app = make_app(van, settings=settings)
    hub: HubProcess | None = None

    def bar() -> str:
        return str(app.screen.query_one("#topbar", TopBar).render())

    try:
        async with app.run_test(size=(80, 24)) as pilot:
            for _ in range(300):
                await pilot.pause(0.05)
                if "接続なし" in bar():
                    break
            assert "接続なし" in bar() and "未送信7件" in bar()
            hub = HubProcess(site.hub, port).start()
            for _ in range(600):
                await pilot.pause(0.05)
                if "未送信0件" in bar():
                    break
            assert "未送信0件" in bar() and "接続なし" not in bar(), bar()
    finally:
        if hub is not None:
            hub.stop()
    assert rows(site.hub, "van-a") == rows(van, "van-a")
