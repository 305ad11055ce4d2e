"""``odekake staff add|list|disable|reset`` and the account rules in the core."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from odekake.access import audit
from odekake.access.staff import LoginRefused, add_staff, authenticate
from odekake.cli import main
from odekake.errors import ValidationError
from odekake.storage.db import connect


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    path = tmp_path / "hub.db"
    connect(path, role="hub", create=True).close()
    return path


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=input)


def test_add_list_disable_reset(hub: Path) -> None:
    r = run(
        "staff",
        "add",
        "--db",
        str(hub),
        "sato",
        "--name",
        "佐藤",
        "--role",
        "coordinator",
        input="long-enough-pw\nlong-enough-pw\n",
    )
    assert r.exit_code == 0, r.output
    assert "作成しました: sato(佐藤、企画担当" in r.output
    listed = run("staff", "list", "--db", str(hub))
    assert "sato\t佐藤\t企画担当(巡回計画)\t有効" in listed.output
    db = connect(hub)
    assert authenticate(db, "sato", "long-enough-pw").role == "coordinator"
    assert run("staff", "disable", "--db", str(hub), "sato").exit_code == 0
    assert "無効" in run("staff", "list", "--db", str(hub)).output
    with pytest.raises(LoginRefused, match="ログイン名またはパスワードが違います"):  # as unknown
        authenticate(db, "sato", "long-enough-pw")
    r = run(
        "staff", "reset", "--db", str(hub), "sato", "--password-stdin", input="another-pw-123\n"
    )
    assert r.exit_code == 0, r.output
    assert authenticate(db, "sato", "another-pw-123").login == "sato"
    actions = [e.action for e in audit.entries(db)]
    assert {"staff.add", "staff.disable", "staff.reset", "login"} <= set(actions)


def test_short_password_is_one_japanese_error_line(hub: Path) -> None:
    r = run(
        "staff",
        "add",
        "--db",
        str(hub),
        "ito",
        "--name",
        "伊藤",
        "--role",
        "manager",
        "--password-stdin",
        input="short\n",
    )
    assert r.exit_code == 1
    assert r.output.strip() == "エラー: パスワードは10文字以上にしてください(いま5文字)"


def test_prompt_asks_again_after_a_mismatch(hub: Path) -> None:
    r = run(
        "staff",
        "add",
        "--db",
        str(hub),
        "kato",
        "--name",
        "加藤",
        "--role",
        "admin",
        input="first-password\nsecond-password\nthird-password\nthird-password\n",
    )
    assert r.exit_code == 0
    assert "2回の入力が一致しません" in r.output


def test_rules_of_an_account(hub: Path) -> None:
    db = connect(hub)
    with pytest.raises(ValidationError, match="役割"):
        add_staff(db, "abe", "安倍", "mayor", "long-enough-pw", actor="t")
    with pytest.raises(ValidationError, match="ログイン名"):
        add_staff(db, "A B", "安倍", "manager", "long-enough-pw", actor="t")
    add_staff(db, "abe", "安倍", "manager", "long-enough-pw", actor="t")
    with pytest.raises(ValidationError, match="すでに使われています"):
        add_staff(db, "abe", "安倍", "manager", "long-enough-pw", actor="t")
    stored = db.execute("SELECT password_hash FROM staff WHERE login = 'abe'").fetchone()[0]
    assert stored.startswith("scrypt$") and "long-enough-pw" not in stored


def test_unknown_login_is_told_apart_from_nothing(hub: Path) -> None:
    with pytest.raises(LoginRefused, match="ログイン名またはパスワードが違います"):
        authenticate(connect(hub), "nobody", "whatever-password")


def test_every_staff_command_has_help() -> None:
    for sub in ("add", "list", "disable", "reset"):
        r = run("staff", sub, "--help")
        assert r.exit_code == 0 and len(r.output) > 50
