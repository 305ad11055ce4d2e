"""Security round two (data), on the van: sealing fails closed, short PINs must be
changed, unknown ids answer like known ones, the idle lock locks out like the
login, and a supervisor (or city hall's CLI) lifts a lock-out — all audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from textual.widgets import Input, Static

from kiosk.screens.certificate import CertificateScreen
from kiosk.screens.lock import LockScreen
from kiosk.screens.login import LoginScreen
from kiosk.screens.pin import ChangePinScreen
from kiosk.screens.today import TodayScreen
from kiosk.screens.unlock import SupervisorUnlock
from odekake.access import audit
from odekake.access.auth import LEGACY_KDF, hash_pin, params_of
from odekake.cli import main
from odekake.services import certificates, login, stops
from odekake.services.common import Actor
from odekake.storage.db import connect, write
from odekake.storage.records import SEAL_KEY_META
from odekake.storage.sealing import SealingKeyMissing

from .conftest import NOW, FixedClock
from .helpers import choose, records, type_into
from .helpers import login as type_login
from .test_app_flows import SIZE, app_for, open_first_stop
from .test_services import cert_form


def _drop_sealing_key(db: sqlite_utils.Database) -> None:
    with write(db):
        db.execute("DELETE FROM settings WHERE key = ?", [SEAL_KEY_META])
        db.execute("DELETE FROM meta WHERE key = ?", [SEAL_KEY_META])


def _actions(db: sqlite_utils.Database) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in audit.entries(db)]


# -- 1. sealing fails closed --------------------------------------------------------


def test_a_van_without_sealing_key_takes_no_personal_data(
    kdb: sqlite_utils.Database, open_stop: Callable[[], Actor]
) -> None:
    actor = open_stop()
    _drop_sealing_key(kdb)
    before = kdb.execute("SELECT count(*) FROM records").fetchone()[0]
    with pytest.raises(SealingKeyMissing) as err:
        certificates.issue(kdb, cert_form(), actor)
    assert "封印用の鍵" in str(err.value) and "odekake sync pull" in str(err.value)
    stops.close_stop(kdb, actor.stop_id, now=NOW)
    with pytest.raises(SealingKeyMissing):
        stops.open_unplanned(
            kdb,
            {
                "site_id": "tabito-01",
                "activity": "other",
                "window": "13:00-14:00",
                "reason": "要望",
            },
            operator_id="op001",
            now=NOW,
        )
    # Nothing personal was written; no receipt number was used up.
    types = [r[0] for r in kdb.execute("SELECT type FROM records ORDER BY seq")]
    assert types[before:] == ["stop.close"]


async def test_kiosk_tells_the_operator_why_and_what_to_do(
    kiosk_path: Path, clock: FixedClock
) -> None:
    db = connect(kiosk_path)
    _drop_sealing_key(db)
    db.close()
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, CertificateScreen)
        opening = str(app.screen.query_one("#form-message", Static).render())
        assert "封印用の鍵がないため" in opening and "同期" in opening  # before typing
        await type_into(pilot, "#f-name", "遠藤 ヨシ子")
        await type_into(pilot, "#f-address", "いわき市川前町デモ1-2")
        await choose(pilot, "id_doc1", "マイナンバーカード")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CertificateScreen)  # not saved
        after = str(app.screen.query_one("#form-message", Static).render())
        assert "個人情報を含む受付はできません" in after and "odekake sync pull" in after
    assert records(kiosk_path, "certificate.issue") == []


def test_doctor_reports_a_missing_sealing_key_as_an_error(kiosk_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["doctor", "--db", str(kiosk_path)])
    assert ok.exit_code == 0 and "正常です" in ok.output
    db = connect(kiosk_path)
    _drop_sealing_key(db)
    db.close()
    bad = runner.invoke(main, ["doctor", "--db", str(kiosk_path)])
    assert bad.exit_code == 1
    assert "封印用の鍵がない" in bad.output and "正常です" not in bad.output


# -- 5. PINs: at least 6 digits, short ones changed at the next login -------------------


def _legacy_short_pin(db: sqlite_utils.Database, operator_id: str, pin: str) -> None:
    """An operator as the old code made them: a 4-digit PIN, the cheap scrypt."""
    with write(db):
        db.execute(
            "UPDATE operators SET pin_hash = ? WHERE id = ?",
            [hash_pin(pin, kdf=LEGACY_KDF), operator_id],
        )


def test_a_short_pin_logs_in_once_and_must_be_changed(kdb: sqlite_utils.Database) -> None:
    _legacy_short_pin(kdb, "op001", "1234")
    op = login.login(kdb, "op001", "1234", now=NOW)
    assert op.must_change_pin
    # The old, cheaper hash was upgraded to the default KDF on this login.
    stored = kdb.execute("SELECT pin_hash FROM operators WHERE id = 'op001'").fetchone()[0]
    params = params_of(stored)
    assert params is not None and params.n == 2**17
    with pytest.raises(login.ValidationError, match="6〜8桁"):
        login.change_pin(kdb, "op001", "1234", "12345", now=NOW)
    with pytest.raises(login.LoginFailed):
        login.change_pin(kdb, "op001", "9999", "481516", now=NOW)
    login.change_pin(kdb, "op001", "1234", "481516", now=NOW)
    assert not login.login(kdb, "op001", "481516", now=NOW).must_change_pin
    with pytest.raises(login.LoginFailed):
        login.login(kdb, "op001", "1234", now=NOW)
    [change] = [
        r for r in kdb.execute("SELECT payload FROM records WHERE type = 'operator.pin_change'")
    ]
    assert '"operator_id":"op001"' in change[0]
    assert ("op001", "pin.change", "op001") in _actions(kdb)


async def test_kiosk_asks_for_a_new_pin_after_a_short_one(
    kiosk_path: Path, clock: FixedClock
) -> None:
    db = connect(kiosk_path)
    _legacy_short_pin(db, "op001", "1234")
    db.close()
    app = app_for(kiosk_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await type_login(pilot, "op001", "1234")
        assert isinstance(app.screen, ChangePinScreen)
        await pilot.press(*"1234", "enter", *"2718", "enter", *"2718", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ChangePinScreen)
        assert "6〜8桁" in str(app.screen.query_one("#pin-message", Static).render())
        await pilot.press(*"493817", "enter", *"493818", "enter")
        await pilot.pause()
        assert "一致しません" in str(app.screen.query_one("#pin-message", Static).render())
        await pilot.press(*"123456", "enter", *"123456", "enter")  # a thief's first guess
        await pilot.pause()
        assert isinstance(app.screen, ChangePinScreen)
        assert "推測されやすい" in str(app.screen.query_one("#pin-message", Static).render())
        await pilot.press(*"493817", "enter", *"493817", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TodayScreen)
    db = connect(kiosk_path)
    assert login.verify_pin(db, "op001", "493817") and not login.verify_pin(db, "op001", "1234")
    db.close()


# -- 7. unknown ids, the idle lock, unlocking -------------------------------------------


def test_unknown_ids_get_the_same_answers_as_known_ones(kdb: sqlite_utils.Database) -> None:
    def answers(operator_id: str) -> list[str]:
        out = []
        for _ in range(4):
            with pytest.raises(login.LoginFailed) as err:
                login.login(kdb, operator_id, "000000", now=NOW)
            out.append(str(err.value))
        for _ in range(2):  # the fifth locks; the sixth finds it locked
            with pytest.raises(login.LockedOut) as locked:
                login.login(kdb, operator_id, "000000", now=NOW)
            out.append(str(locked.value))
        return out

    known, unknown = answers("op001"), answers("nobody")
    assert known == unknown
    assert "あと4回" in known[0]


def test_idle_lock_has_the_login_lockout_and_audit(kdb: sqlite_utils.Database) -> None:
    for _ in range(4):
        with pytest.raises(login.LoginFailed):
            login.unlock_screen(kdb, "op001", "000000", now=NOW)
    with pytest.raises(login.LockedOut):
        login.unlock_screen(kdb, "op001", "000000", now=NOW)
    with pytest.raises(login.LockedOut):  # even the right PIN, while locked
        login.unlock_screen(kdb, "op001", "123456", now=NOW)
    failed = [e for e in audit.entries(kdb) if e.action == "login.failed"]
    assert len(failed) == 5 and all(e.detail["screen"] == "idle" for e in failed)
    assert ("op001", "login.locked", "op001") in _actions(kdb)


async def test_idle_lock_screen_locks_out_and_a_supervisor_unlocks(
    kiosk_path: Path, clock: FixedClock
) -> None:
    app = app_for(kiosk_path, clock, idle_minutes=1)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_stop(pilot)
        app.last_activity = time.monotonic() - 61
        app.lock_if_idle()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        for _ in range(5):
            await pilot.press(*"000000", "enter")
            await pilot.pause()
        message = str(app.screen.query_one("#lock-message", Static).render())
        assert "5回誤ったため15分間ロックしました" in message
        await pilot.press(*"123456", "enter")  # the right PIN is refused while locked
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        assert "ロック中" in str(app.screen.query_one("#lock-message", Static).render())
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert isinstance(app.screen, SupervisorUnlock)
        assert app.screen.query_one("#unlock-target", Input).value == "op001"
        await pilot.press(*"op001", "enter", *"123456", "enter")  # not a supervisor
        await pilot.pause()
        assert isinstance(app.screen, SupervisorUnlock)
        assert "監督者" in str(app.screen.query_one("#unlock-message", Static).render())
        app.screen.query_one("#supervisor-id", Input).value = "sv001"
        app.screen.set_focus(app.screen.query_one("#supervisor-pin", Input))
        await pilot.press(*"999999", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"123456", "enter")
        await pilot.pause()
        assert not isinstance(app.screen, LockScreen)
    db = connect(kiosk_path)
    acts = _actions(db)
    assert ("sv001", "operator.unlock", "op001") in acts
    assert ("op001", "role.denied", "op001") in acts
    db.close()


async def test_supervisor_unlock_from_the_login_screen(kiosk_path: Path, clock: FixedClock) -> None:
    app = app_for(kiosk_path, clock)

    async def attempt(pin: str) -> None:
        app.screen.query_one("#operator", Input).value = "op001"
        app.screen.set_focus(app.screen.query_one("#pin", Input))
        await pilot.press(*pin, "enter")
        await pilot.pause()

    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            await attempt("000000")
        await attempt("123456")
        assert isinstance(app.screen, LoginScreen)
        assert "ロック中" in str(app.screen.query_one("#login-message", Static).render())
        await pilot.press("ctrl+u")
        await pilot.pause()
        assert isinstance(app.screen, SupervisorUnlock)
        assert app.screen.query_one("#unlock-target", Input).value == "op001"
        await pilot.press(*"sv001", "enter", *"999999", "enter")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert "解除しました" in str(app.screen.query_one("#login-message", Static).render())
        await attempt("123456")
        assert isinstance(app.screen, TodayScreen)


def test_operators_unlock_command_is_audited(kiosk_path: Path) -> None:
    db = connect(kiosk_path)
    for _ in range(5):
        with pytest.raises(login.OdekakeError):
            login.login(db, "op001", "000000", now=NOW)
    with pytest.raises(login.LockedOut):
        login.login(db, "op001", "123456", now=NOW)
    result = CliRunner().invoke(main, ["operators", "unlock", "--db", str(kiosk_path), "op001"])
    assert result.exit_code == 0, result.output
    assert login.login(db, "op001", "123456", now=NOW).id == "op001"
    [entry] = [e for e in audit.entries(db) if e.action == "operator.unlock"]
    assert entry.actor.startswith("cli") and entry.target == "op001"
    assert entry.detail["device"] == "van-1"
    missing = CliRunner().invoke(main, ["operators", "unlock", "--db", str(kiosk_path), "x9"])
    assert missing.exit_code == 1 and "エラー: " in missing.output
    db.close()
