"""The ``odekake staff`` commands: city-hall staff accounts for the console."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from odekake.access import audit, staff
from odekake.errors import OdekakeError
from odekake.storage.db import connect

_DB = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="市役所(ハブ)のデータベース hub.db",
)
_STDIN = click.option(
    "--password-stdin",
    is_flag=True,
    help="パスワードを標準入力の1行目から読む(スクリプト用)",
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise OdekakeError("標準入力にパスワードがありません")
        staff.check_password(line)
        return line
    while True:
        text = click.prompt("パスワード(10文字以上)", hide_input=True)
        try:
            staff.check_password(text)
        except OdekakeError as exc:
            click.echo(f"エラー: {exc}", err=True)
            continue
        again = click.prompt("もう一度入力してください", hide_input=True)
        if again == text:
            return str(text)
        click.echo("エラー: 2回の入力が一致しません", err=True)


def _hub(db_path: Path):  # type: ignore[no-untyped-def]
    if not db_path.exists():
        raise OdekakeError(f"データベースがありません: {db_path}")
    return connect(db_path, role="hub")


@click.group("staff")
def staff_group() -> None:
    """市役所職員のアカウント(ブラウザの管理画面 /console/ 用)。"""


@staff_group.command("add")
@_DB
@click.argument("login")
@click.option("--name", required=True, help="氏名")
@click.option(
    "--role",
    required=True,
    type=click.Choice(list(staff.STAFF_ROLES)),
    help="役割: coordinator 企画担当 / manager 管理職 / election 選挙事務 / admin システム管理者",
)
@_STDIN
def staff_add(db_path: Path, login: str, name: str, role: str, password_stdin: bool) -> None:
    """職員アカウントを作る(パスワードは入力を求めます)。"""
    db = _hub(db_path)
    password = _password(password_stdin)
    member = staff.add_staff(db, login, name, role, password, actor=audit.cli_actor())
    click.echo(f"職員アカウントを作成しました: {member.login}({member.name}、{member.role_label})")


@staff_group.command("list")
@_DB
def staff_list(db_path: Path) -> None:
    """職員アカウントの一覧(ログイン名、氏名、役割、状態)。"""
    members = staff.list_staff(_hub(db_path))
    if not members:
        click.echo("職員アカウントはまだありません。odekake staff add で作成してください。")
    for m in members:
        click.echo(m.describe())


@staff_group.command("disable")
@_DB
@click.argument("login")
def staff_disable(db_path: Path, login: str) -> None:
    """職員アカウントを無効にする(以後ログインできません)。"""
    staff.disable_staff(_hub(db_path), login, actor=audit.cli_actor())
    click.echo(f"{login} を無効にしました。")


@staff_group.command("reset")
@_DB
@click.argument("login")
@_STDIN
def staff_reset(db_path: Path, login: str, password_stdin: bool) -> None:
    """パスワードを設定し直す(ロックと無効も解除します)。"""
    db = _hub(db_path)
    staff.get_staff(db, login)
    password = _password(password_stdin)
    staff.reset_password(db, login, password, actor=audit.cli_actor())
    click.echo(f"{login} のパスワードを設定し直しました(ロックも解除しました)。")


COMMANDS: list[click.Command] = [staff_group]
